//===- HostAllocatorTest.cpp - The CPU artifacts' cached heap buffers -----===//
//
// runtime/src/HostAllocator.cpp, compiled into this test: blocks from 64 KiB
// on are reused by size class, alignment is kept, the cache respects its
// limit and empties when the last artifact lets go, and blocks handed out
// concurrently never overlap.
//
//===----------------------------------------------------------------------===//

#include "HostAllocator.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

using namespace attnc::rt;

namespace {
bool aligned(void *p, size_t a) { return uintptr_t(p) % a == 0; }
} // namespace

TEST_CASE("large blocks are reused by size class, small ones are not cached",
          "[host-allocator]") {
  hostCacheTrim();
  HostCacheStats before = hostCacheStats();
  void *a = hostAlloc(1 << 20);
  REQUIRE(a);
  CHECK(aligned(a, 64));
  std::memset(a, 0x5a, 1 << 20);
  hostFree(a);
  CHECK(hostCacheStats().cachedBlocks == 1);
  // Classes step by a quarter of the power of two: ..., 896 KiB, 1 MiB,
  // 1.25 MiB, ...
  void *b = hostAlloc((1 << 20) - 1000); // same class (1 MiB)
  CHECK(b == a);
  void *c = hostAlloc((1 << 20) + 1000); // 1.25 MiB class: fresh
  CHECK(c != a);
  std::memset(c, 1, (1 << 20) + 1000);
  hostFree(b);
  hostFree(c);
  HostCacheStats after = hostCacheStats();
  CHECK(after.hits - before.hits == 1);
  CHECK(after.misses - before.misses == 2);
  CHECK(after.cachedBlocks == 2);
  CHECK(after.cachedBytes == (1 << 20) + (5 << 18));

  void *small = hostAlloc(1000);
  REQUIRE(small);
  CHECK(aligned(small, 64));
  hostFree(small);
  CHECK(hostCacheStats().cachedBlocks == 2);
  hostFree(nullptr);
  hostCacheTrim();
  CHECK(hostCacheStats().cachedBytes == 0);
}

TEST_CASE("aligned allocations keep their alignment", "[host-allocator]") {
  for (int64_t align : {1, 16, 64, 128, 4096})
    for (int64_t bytes : {1, 100, 70000, 3 << 20}) {
      void *p = hostAlignedAlloc(align, bytes);
      INFO("align " << align << ", bytes " << bytes);
      REQUIRE(p);
      CHECK(aligned(p, align < 64 ? 64 : size_t(align)));
      std::memset(p, 0xff, size_t(bytes));
      hostFree(p);
    }
  hostCacheTrim();
}

TEST_CASE("the cache holds at most its limit and empties with its last user",
          "[host-allocator]") {
  hostCacheTrim();
  size_t old = hostCacheLimit();
  setHostCacheLimit(3 << 20);
  std::vector<void *> blocks;
  for (int i = 0; i < 5; ++i)
    blocks.push_back(hostAlloc(1 << 20));
  for (void *p : blocks)
    hostFree(p);
  CHECK(hostCacheStats().cachedBytes == 3 << 20);
  CHECK(hostCacheStats().cachedBlocks == 3);
  setHostCacheLimit(old);

  // Two artifacts use the cache; it survives the first close. (A null
  // handle is dlsym's RTLD_DEFAULT: this test exports no slots to set.)
  routeHostAllocations(nullptr);
  routeHostAllocations(nullptr);
  releaseHostAllocations();
  CHECK(hostCacheStats().cachedBlocks == 3);
  releaseHostAllocations();
  CHECK(hostCacheStats().cachedBlocks == 0);
}

TEST_CASE("blocks handed out to concurrent threads never overlap",
          "[host-allocator]") {
  hostCacheTrim();
  constexpr int kThreads = 4, kRounds = 200;
  std::vector<std::thread> threads;
  std::vector<int> bad(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &bad] {
      std::mt19937 rng(std::random_device{}() + t);
      std::uniform_int_distribution<int64_t> size(1000, 600000);
      for (int r = 0; r < kRounds; ++r) {
        int64_t n = size(rng);
        auto *p = static_cast<unsigned char *>(hostAlloc(n));
        std::memset(p, t + 1, size_t(n));
        std::this_thread::yield();
        for (int64_t i = 0; i < n; i += 997)
          bad[t] += p[i] != t + 1;
        bad[t] += p[n - 1] != t + 1;
        hostFree(p);
      }
    });
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    CHECK(bad[t] == 0);
  CHECK(hostCacheStats().hits > 0);
  hostCacheTrim();
}
