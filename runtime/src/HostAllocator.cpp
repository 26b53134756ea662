//===- HostAllocator.cpp - Cached heap buffers for CPU artifacts ----------===//
//
// Every user pointer is 64-byte aligned and preceded by a 64-byte prefix whose
// last 16 bytes are a Header (the malloc'ed base and the size class, 0 for an
// uncached block), so free needs no lookup.
//
//===----------------------------------------------------------------------===//

#include "HostAllocator.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace attnc::rt {
namespace {

struct Header {
  void *base;
  size_t sizeClass;
};

constexpr size_t kPrefix = 64;
constexpr size_t kMinCached = size_t(64) << 10;

/// Rounds up to one of 4 steps per power of two (0: not cached).
size_t sizeClassOf(size_t bytes) {
  if (bytes < kMinCached)
    return 0;
  size_t top = size_t(1) << (63 - __builtin_clzll(bytes));
  size_t step = top / 4;
  return (bytes + step - 1) / step * step;
}

Header *headerOf(void *user) {
  return reinterpret_cast<Header *>(static_cast<char *>(user) -
                                    sizeof(Header));
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void *>> freeLists; // class -> bases
  size_t cachedBytes = 0, cachedBlocks = 0, hits = 0, misses = 0;
  size_t limit = [] {
    const char *mb = std::getenv("ATTNC_HOST_CACHE_MB");
    return mb ? size_t(std::strtoull(mb, nullptr, 10)) << 20
              : size_t(1) << 30;
  }();
  int users = 0;

  void trimLocked() {
    for (auto &[cls, bases] : freeLists)
      for (void *base : bases)
        std::free(base);
    freeLists.clear();
    cachedBytes = cachedBlocks = 0;
  }
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed: artifacts may outlive exit
  return *c;
}

void *place(void *base, size_t prefix, size_t sizeClass) {
  if (!base)
    return nullptr;
  void *user = static_cast<char *>(base) + prefix;
  *headerOf(user) = Header{base, sizeClass};
  return user;
}

} // namespace

void *hostAlloc(int64_t bytes) {
  size_t n = bytes > 0 ? size_t(bytes) : 1;
  size_t cls = sizeClassOf(n);
  if (cls) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.freeLists.find(cls);
    if (it != c.freeLists.end() && !it->second.empty()) {
      void *base = it->second.back();
      it->second.pop_back();
      c.cachedBytes -= cls;
      --c.cachedBlocks;
      ++c.hits;
      return place(base, kPrefix, cls);
    }
    ++c.misses;
  }
  if (!cls) {
    // Small and uncached: plain malloc, aligned by hand. glibc's
    // aligned_alloc bypasses its per-thread cache and takes the arena lock
    // (decode's flash-attention tiles allocate ~30 small buffers per head and
    // step: 1-1.5% of decode time went to _int_malloc/_int_free).
    void *raw = std::malloc(n + 2 * kPrefix - 1);
    size_t skew = reinterpret_cast<uintptr_t>(raw) % kPrefix;
    return place(raw, kPrefix + (skew ? kPrefix - skew : 0), 0);
  }
  size_t total = cls + kPrefix;
  return place(std::aligned_alloc(kPrefix, (total + kPrefix - 1) / kPrefix *
                                               kPrefix),
               kPrefix, cls);
}

void *hostAlignedAlloc(int64_t alignment, int64_t bytes) {
  size_t align = alignment > 0 ? size_t(alignment) : 1;
  if (align <= kPrefix)
    return hostAlloc(bytes);
  // Rare (alignment above a cache line): an uncached block whose prefix is
  // one alignment unit.
  size_t n = bytes > 0 ? size_t(bytes) : 1;
  size_t total = (n + 2 * align - 1) / align * align;
  return place(std::aligned_alloc(align, total), align, 0);
}

void hostFree(void *p) {
  if (!p)
    return;
  Header h = *headerOf(p);
  if (h.sizeClass) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cachedBytes + h.sizeClass <= c.limit) {
      c.freeLists[h.sizeClass].push_back(h.base);
      c.cachedBytes += h.sizeClass;
      ++c.cachedBlocks;
      return;
    }
  }
  std::free(h.base);
}

void routeHostAllocations(void *artifactHandle) {
  struct Slot {
    const char *name;
    void *fn;
  };
  const Slot slots[] = {
      {"attnc_host_alloc_fn", reinterpret_cast<void *>(&hostAlloc)},
      {"attnc_host_aligned_alloc_fn",
       reinterpret_cast<void *>(&hostAlignedAlloc)},
      {"attnc_host_free_fn", reinterpret_cast<void *>(&hostFree)},
  };
  for (const Slot &s : slots)
    if (auto *slot = static_cast<void **>(dlsym(artifactHandle, s.name)))
      *slot = s.fn;
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  ++c.users;
}

void releaseHostAllocations() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (--c.users <= 0) {
    c.users = 0;
    c.trimLocked();
  }
}

HostCacheStats hostCacheStats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return HostCacheStats{c.cachedBytes, c.cachedBlocks, c.hits, c.misses};
}

size_t hostCacheLimit() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.limit;
}

void setHostCacheLimit(size_t bytes) {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
}

void hostCacheTrim() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.trimLocked();
}

} // namespace attnc::rt
