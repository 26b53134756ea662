//===- WeightCopy.cpp - A CPU artifact's weights on huge pages ------------===//

#include "WeightCopy.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

namespace attnc::rt {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
size_t roundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }
} // namespace

std::shared_ptr<const void> copyToHugePages(
    const std::vector<std::pair<size_t, const runtime::TensorView *>> &sources,
    std::vector<const void *> &data, size_t limitBytes) {
  size_t total = 0;
  for (const auto &source : sources)
    total += roundUp(source.second->bytes, 64);
  total = roundUp(total, kHugePage);
  if (total == 0 || total > limitBytes)
    return nullptr;
  void *raw = std::aligned_alloc(kHugePage, total);
  if (!raw)
    return nullptr;
  // Before the first touch, so that the faults take whole 2 MiB pages.
  // Without transparent huge pages this fails and the copy is still one
  // dense buffer.
  (void)madvise(raw, total, MADV_HUGEPAGE);
  auto *out = static_cast<uint8_t *>(raw);
  for (const auto &[index, tensor] : sources) {
    std::memcpy(out, tensor->data, tensor->bytes);
    data[index] = out;
    out += roundUp(tensor->bytes, 64);
  }
  return std::shared_ptr<void>(raw, std::free);
}

size_t weightCopyLimit() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return 0;
  return size_t(pages) * size_t(pageSize) / 2;
}

} // namespace attnc::rt
