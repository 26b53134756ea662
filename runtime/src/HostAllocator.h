//===- HostAllocator.h - The CPU artifacts' heap buffers --------*- C++ -*-===//
//
// A compiled CPU artifact allocates its intermediate buffers through three
// exported pointer slots (attnc_host_alloc_fn, attnc_host_aligned_alloc_fn,
// attnc_host_free_fn; compiler pass attnc-route-allocations) that start at
// malloc / aligned_alloc / free. The runtime points them here after dlopen.
//
// Why: a forward pass allocates the same large buffers on every call, and
// glibc hands blocks above its mmap threshold back to the kernel at free, so
// every call page-faulted its ~160 MB of activations in again (llama-style,
// 256 tokens: 39 ms of 520). Blocks from 64 KiB on are kept on free lists by
// size class (4 classes per power of two, <= 25% slack) and reused; smaller
// ones go to malloc. At most hostCacheLimit() bytes are kept; the cache is
// emptied when the last CPU artifact closes.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_HOSTALLOCATOR_H
#define ATTNC_RUNTIME_HOSTALLOCATOR_H

#include <cstddef>
#include <cstdint>

namespace attnc::rt {

void *hostAlloc(int64_t bytes);
void *hostAlignedAlloc(int64_t alignment, int64_t bytes);
void hostFree(void *p);

/// Points the artifact's slots (those it exports) at the functions above and
/// counts it as a user of the cache.
void routeHostAllocations(void *artifactHandle);
/// The artifact no longer runs: the last one to go empties the cache.
void releaseHostAllocations();

struct HostCacheStats {
  size_t cachedBytes = 0, cachedBlocks = 0, hits = 0, misses = 0;
};
HostCacheStats hostCacheStats();
/// Bytes the free lists may hold (default 1 GiB, or ATTNC_HOST_CACHE_MB).
size_t hostCacheLimit();
void setHostCacheLimit(size_t bytes);
/// Returns every cached block to the system.
void hostCacheTrim();

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_HOSTALLOCATOR_H
