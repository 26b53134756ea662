//===- WeightCopy.h - A CPU artifact's weights on huge pages ----*- C++ -*-===//
//
// Why a CPU artifact copies its weights instead of reading the mapped
// checkpoint: a decode step streams every weight once, and the page cache
// backs a mapping with 4 KiB pages scattered over physical memory. In this
// project's KVM guest the llama-style artifact (400 MB of weights) decoded at
// 2 threads at 53-65 tok/s from the mapping, depending on where the file's
// pages happened to be, and at 69-75 tok/s from one copy on transparent 2 MiB
// pages (a plain copy on 4 KiB pages: 58-60). ATTNC_MAP_WEIGHTS=1 keeps the
// mapping (BindWeights.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_WEIGHTCOPY_H
#define ATTNC_RUNTIME_WEIGHTCOPY_H

#include "attnc/Runtime/Safetensors.h"

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace attnc::rt {

/// At least `bytes` (rounded up to 2 MiB) starting on a 2 MiB boundary,
/// advised MADV_HUGEPAGE before its first touch, so that the faults take
/// whole huge pages where transparent huge pages are on (`madvise` mode);
/// null when it cannot be allocated. Freed with the last reference.
std::shared_ptr<void> allocateHugePages(size_t bytes);

/// Copies the tensors of `sources` ({weight index, tensor}) one after another
/// (each 64-byte aligned) into one buffer that starts on a 2 MiB boundary and
/// is advised MADV_HUGEPAGE before its first touch, and points
/// `data[index]` at each copy. Returns that buffer; null, leaving `data`
/// alone, when the copy would take more than `limitBytes` or cannot be
/// allocated.
std::shared_ptr<const void> copyToHugePages(
    const std::vector<std::pair<size_t, const runtime::TensorView *>> &sources,
    std::vector<const void *> &data, size_t limitBytes);

/// Half of physical memory: above that a copy is not worth it (the mapping
/// can be paged out and in again; the copy cannot, there is no swap to
/// count on).
size_t weightCopyLimit();

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_WEIGHTCOPY_H
