//===- WeightCopyTest.cpp - A CPU artifact's weights on huge pages --------===//
//
// runtime/src/WeightCopy.cpp, compiled into this test: the copy holds every
// tensor's bytes, starts on a 2 MiB boundary with each tensor 64-byte
// aligned, repoints exactly the listed weights, and is refused (nothing
// repointed) above its limit; allocateHugePages (also the decoder's KV
// caches) starts on 2 MiB and spans whole huge pages. Whether the kernel
// then backs them with huge pages depends on the machine; bench/README.md
// has the decode figures.
//
//===----------------------------------------------------------------------===//

#include "WeightCopy.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>

using attnc::rt::copyToHugePages;
using attnc::runtime::TensorView;

namespace {
TensorView viewOf(const std::vector<uint8_t> &bytes) {
  TensorView t;
  t.data = bytes.data();
  t.bytes = bytes.size();
  return t;
}
} // namespace

TEST_CASE("weights are copied whole into one aligned buffer",
          "[weight-copy]") {
  std::mt19937 rng(std::random_device{}());
  // Odd sizes, so that the 64-byte padding between tensors is exercised.
  std::vector<std::vector<uint8_t>> tensors;
  for (size_t n : {size_t(1), size_t(100), size_t(3) << 20, size_t(4097)}) {
    std::vector<uint8_t> t(n);
    for (auto &b : t)
      b = uint8_t(rng());
    tensors.push_back(std::move(t));
  }
  std::vector<TensorView> views;
  for (const auto &t : tensors)
    views.push_back(viewOf(t));
  // Weights 1..4 are listed; weight 0 (say, converted elsewhere) is not.
  std::vector<const void *> data(5, nullptr);
  const void *untouched = &rng;
  data[0] = untouched;
  std::vector<std::pair<size_t, const TensorView *>> sources;
  for (size_t i = 0; i < views.size(); ++i)
    sources.emplace_back(i + 1, &views[i]);

  auto copy = copyToHugePages(sources, data, size_t(1) << 30);
  REQUIRE(copy);
  CHECK(uintptr_t(copy.get()) % (size_t(2) << 20) == 0);
  CHECK(data[0] == untouched);
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO("tensor " << i << ", " << tensors[i].size() << " bytes");
    REQUIRE(data[i + 1]);
    CHECK(data[i + 1] != tensors[i].data());
    CHECK(uintptr_t(data[i + 1]) % 64 == 0);
    CHECK(std::memcmp(data[i + 1], tensors[i].data(), tensors[i].size()) ==
          0);
    if (i)
      CHECK(data[i + 1] > data[i]);
  }
  // The copy is the artifact's own: changing the source changes nothing.
  uint8_t before = static_cast<const uint8_t *>(data[3])[5];
  tensors[2][5] ^= 0xff;
  CHECK(static_cast<const uint8_t *>(data[3])[5] == before);
}

TEST_CASE("a copy over the limit is refused and nothing is repointed",
          "[weight-copy]") {
  std::vector<uint8_t> big(size_t(3) << 20, 7);
  TensorView view = viewOf(big);
  std::vector<const void *> data = {big.data()};
  // 3 MiB round up to 4 MiB of huge pages: a 3 MiB limit refuses, 4 takes.
  CHECK_FALSE(copyToHugePages({{0, &view}}, data, size_t(3) << 20));
  CHECK(data[0] == big.data());
  auto copy = copyToHugePages({{0, &view}}, data, size_t(4) << 20);
  REQUIRE(copy);
  CHECK(data[0] == copy.get());
  CHECK(attnc::rt::weightCopyLimit() > 0);
}

TEST_CASE("huge-page buffers start on 2 MiB and span whole huge pages",
          "[weights]") {
  // The decoder's KV caches live in one such buffer (Decoder.cpp).
  constexpr size_t kHuge = size_t(2) << 20;
  for (size_t bytes : {size_t(1), kHuge - 1, kHuge + 64}) {
    std::shared_ptr<void> buffer = attnc::rt::allocateHugePages(bytes);
    REQUIRE(buffer);
    CHECK(reinterpret_cast<uintptr_t>(buffer.get()) % kHuge == 0);
    // Every byte up to the rounded size is ours to write.
    size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    std::memset(buffer.get(), 0x5a, rounded);
    CHECK(static_cast<unsigned char *>(buffer.get())[rounded - 1] == 0x5a);
  }
}
