//===- InitWeightsTest.cpp - init-weights: determinism and statistics -----===//

#include "ConfigTestUtil.h"

#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

using namespace attnc;
using namespace attnc::runtime;
using namespace attnc::test;

namespace {

ModelConfig configOf(const std::string &patch) {
  LoadResult r = validatePatched(patch);
  INFO(allMessages(r));
  REQUIRE(r.config);
  return *r.config;
}

/// A model with large enough tensors for statistics.
const char *kBig = R"({"attention": {"hidden_dim": 128, "num_heads": 4},
    "mlp": {"hidden_dim": 512}, "vocab_size": 300, "num_layers": 1})";

const std::vector<float> &values(const std::vector<InitializedWeight> &ws,
                                 const std::string &name) {
  for (const InitializedWeight &w : ws)
    if (w.spec.name == name)
      return w.values;
  FAIL("no weight " << name);
  static std::vector<float> none;
  return none;
}

struct Stats {
  double mean = 0, std = 0, maxAbs = 0;
};

Stats stats(const std::vector<float> &v) {
  Stats s;
  for (float x : v) {
    s.mean += x;
    s.maxAbs = std::max(s.maxAbs, double(std::fabs(x)));
  }
  s.mean /= double(v.size());
  for (float x : v)
    s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / double(v.size()));
  return s;
}

bool allEqual(const std::vector<float> &v, float x) {
  for (float y : v)
    if (y != x)
      return false;
  return !v.empty();
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

} // namespace

TEST_CASE("init-weights: the RNG is splitmix64 + xoshiro256**",
          "[init]") {
  uint64_t state = 0;
  CHECK(splitmix64(state) == 0xe220a8397b1dcdafull); // the published value
  Rng rng(42);
  double sum = 0, sumSq = 0;
  const int n = 200000;
  int outside = 0;
  for (int i = 0; i < n; ++i) {
    double u = rng.uniform();
    outside += u < 0.0 || u >= 1.0;
    double z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  CHECK(outside == 0);
  CHECK(std::fabs(sum / n) < 0.01);
  CHECK(std::fabs(std::sqrt(sumSq / n) - 1.0) < 0.01);
}

TEST_CASE("init-weights: deterministic, per tensor, pinned across machines",
          "[init]") {
  ModelConfig c = configOf(kBig);
  std::vector<InitializedWeight> a = initWeights(c, {7, {}, 0});
  std::vector<InitializedWeight> b = initWeights(c, {7, {}, 0});
  std::vector<InitializedWeight> other = initWeights(c, {8, {}, 0});
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    CHECK(a[i].values == b[i].values);
  CHECK(values(a, "layers.0.attn.q.weight") !=
        values(other, "layers.0.attn.q.weight"));
  // A tensor's values depend on its name and the seed only, not on the
  // other tensors of the model.
  ModelConfig twoLayers = configOf(R"({"attention": {"hidden_dim": 128,
      "num_heads": 4}, "mlp": {"hidden_dim": 512}, "vocab_size": 300,
      "num_layers": 2, "embedding": {"token_types": 2}})");
  CHECK(values(initWeights(twoLayers, {7, {}, 0}), "layers.0.mlp.up.weight") ==
        values(a, "layers.0.mlp.up.weight"));
  // Pinned: the same bits on every machine (IEEE double + correctly rounded
  // sqrt; log/sin/cos from libm; no fused multiply-adds).
  const std::vector<float> &q = values(a, "layers.0.attn.q.weight");
  INFO(std::hex << bits(q[0]) << " " << bits(q[1]) << " " << bits(q[2]));
  CHECK(bits(q[0]) == 0x3bba0921u);
  CHECK(bits(q[1]) == 0x3c042371u);
  CHECK(bits(q[2]) == 0x3bf94219u);
}

TEST_CASE("init-weights: truncnormal002 statistics", "[init]") {
  ModelConfig c = configOf(kBig);
  for (InitWeights mode :
       {InitWeights::TruncNormal002, InitWeights::TruncNormal}) {
    std::vector<InitializedWeight> w = initWeights(c, {1, mode, 0});
    for (const char *name : {"layers.0.attn.q.weight", "layers.0.mlp.up.weight",
                             "layers.0.attn.o.weight", "embed.tokens"}) {
      Stats s = stats(values(w, name));
      INFO(name << " mean " << s.mean << " std " << s.std);
      CHECK(std::fabs(s.mean) < 0.002);
      CHECK(std::fabs(s.std - 0.02) < 0.001);
      CHECK(s.maxAbs < 0.2); // ~ 6 sigma at most in a few 10^5 draws
    }
    CHECK(allEqual(values(w, "layers.0.attn.q.bias"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.mlp.down.bias"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.attn_norm.weight"), 1.0f));
    CHECK(allEqual(values(w, "layers.0.attn_norm.bias"), 0.0f));
  }
}

TEST_CASE("init-weights: identity, torch, zeros, zero-centred norms, noise",
          "[init]") {
  ModelConfig c = configOf(kBig);
  SECTION("truncnormal002-identity zeroes the output projections") {
    std::vector<InitializedWeight> w =
        initWeights(c, {1, InitWeights::TruncNormal002Identity, 0});
    CHECK(allEqual(values(w, "layers.0.attn.o.weight"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.mlp.down.weight"), 0.0f));
    CHECK(std::fabs(stats(values(w, "layers.0.attn.q.weight")).std - 0.02) <
          0.001);
  }
  SECTION("torch: U(+-1/sqrt(fan_in)) for linears and biases, N(0,1) "
          "embeddings") {
    std::vector<InitializedWeight> w = initWeights(c, {1, InitWeights::Torch, 0});
    for (auto [name, fanIn] : {std::pair<const char *, double>{
                                   "layers.0.attn.q.weight", 128},
                               {"layers.0.mlp.down.weight", 512},
                               {"layers.0.mlp.up.bias", 128}}) {
      double bound = 1.0 / std::sqrt(fanIn);
      Stats s = stats(values(w, name));
      INFO(name << " std " << s.std << " bound " << bound);
      CHECK(s.maxAbs <= bound);
      CHECK(s.maxAbs > 0.95 * bound);
      if (std::string(name).find("bias") == std::string::npos)
        CHECK(std::fabs(s.std - bound / std::sqrt(3.0)) < 0.03 * bound);
    }
    Stats e = stats(values(w, "embed.tokens"));
    CHECK(std::fabs(e.std - 1.0) < 0.02);
    CHECK(allEqual(values(w, "final_norm.weight"), 1.0f));
  }
  SECTION("zeros") {
    std::vector<InitializedWeight> w = initWeights(c, {1, InitWeights::Zeros, 0});
    CHECK(allEqual(values(w, "embed.tokens"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.attn.q.weight"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.attn.q.bias"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.mlp_norm.weight"), 1.0f));
  }
  SECTION("zero-centred norms start at 0, qk norms included") {
    ModelConfig z = configOf(R"({"norm": {"kind": "rms", "zero_centered": true},
        "attention": {"hidden_dim": 32, "num_heads": 4, "qk_norm": true}})");
    std::vector<InitializedWeight> w = initWeights(z, {1, {}, 0});
    CHECK(allEqual(values(w, "layers.0.attn_norm.weight"), 0.0f));
    CHECK(allEqual(values(w, "layers.0.attn.q_norm.weight"), 0.0f));
    CHECK(allEqual(values(w, "final_norm.weight"), 0.0f));
  }
  SECTION("attention.init_weights picks the mode; --norm-noise perturbs norms") {
    ModelConfig t = configOf(R"({"attention": {"hidden_dim": 128,
        "num_heads": 4, "init_weights": "zeros"}})");
    std::vector<InitializedWeight> w = initWeights(t, {1, {}, 0.1});
    CHECK(allEqual(values(w, "layers.0.attn.q.weight"), 0.0f));
    Stats n = stats(values(w, "layers.0.attn_norm.weight"));
    CHECK(std::fabs(n.mean - 1.0) < 0.05);
    CHECK(std::fabs(n.std - 0.1) < 0.03);
    CHECK(std::fabs(stats(values(w, "layers.0.attn_norm.bias")).std - 0.1) <
          0.03);
  }
}
