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

std::shared_ptr<void> allocateHugePages(size_t bytes) {
  size_t total = roundUp(bytes ? bytes : 1, kHugePage);
  void *raw = std::aligned_alloc(kHugePage, total);
  if (!raw)
    return nullptr;
  // Without transparent huge pages this fails and the buffer is still one
  // dense allocation.
  (void)madvise(raw, total, MADV_HUGEPAGE);
  return std::shared_ptr<void>(raw, std::free);
}

std::shared_ptr<const void> copyToHugePages(
    const std::vector<std::pair<size_t, const runtime::TensorView *>> &sources,
    std::vector<const void *> &data, size_t limitBytes) {
  size_t total = 0;
  for (const auto &source : sources)
    total += roundUp(source.second->bytes, 64);
  if (total == 0 || roundUp(total, kHugePage) > limitBytes)
    return nullptr;
  std::shared_ptr<void> buffer = allocateHugePages(total);
  if (!buffer)
    return nullptr;
  auto *out = static_cast<uint8_t *>(buffer.get());
  for (const auto &[index, tensor] : sources) {
    std::memcpy(out, tensor->data, tensor->bytes);
    data[index] = out;
    out += roundUp(tensor->bytes, 64);
  }
  return buffer;
}

size_t weightCopyLimit() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return 0;
  return size_t(pages) * size_t(pageSize) / 2;
}

} // namespace attnc::rt
