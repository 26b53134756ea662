//===- WeightsTest.cpp - The weight table agrees with the parameter count -===//

#include "ConfigTestUtil.h"

#include "attnc/Schema/Stats.h"
#include "attnc/Schema/Weights.h"

#include <catch2/catch.hpp>

#include <set>

using namespace attnc;
using namespace attnc::test;

TEST_CASE("weight table: every sample's elements sum to its parameter count",
          "[weights]") {
  std::vector<std::string> samples = samplePaths();
  CHECK(samples.size() >= 8);
  for (const std::string &path : samples) {
    LoadResult r = loadConfigFile(path);
    INFO(path << "\n" << allMessages(r));
    REQUIRE(r.config);
    int64_t total = 0;
    std::set<std::string> names;
    for (const WeightSpec &w : weightTable(*r.config)) {
      total += w.elements();
      CHECK(names.insert(w.name).second); // names are unique
    }
    CHECK(total == countParameters(*r.config).total);
  }
}

TEST_CASE("weight table: names and shapes of a GQA layer", "[weights]") {
  LoadResult r = validatePatched(R"({"attention": {"num_kv_heads": 2,
      "bias": false, "qk_norm": true}, "mlp": {"kind": "gated",
      "hidden_dim": 48}, "norm": {"kind": "rms"}, "num_layers": 1})");
  REQUIRE(r.config);
  std::vector<WeightSpec> table = weightTable(*r.config);
  std::vector<std::string> names;
  for (const WeightSpec &w : table)
    names.push_back(w.name);
  CHECK(names == std::vector<std::string>{
                     "embed.tokens", "layers.0.attn_norm.weight",
                     "layers.0.attn.q.weight", "layers.0.attn.k.weight",
                     "layers.0.attn.v.weight", "layers.0.attn.o.weight",
                     "layers.0.attn.q_norm.weight",
                     "layers.0.attn.k_norm.weight",
                     "layers.0.mlp_norm.weight", "layers.0.mlp.gate.weight",
                     "layers.0.mlp.up.weight", "layers.0.mlp.down.weight",
                     "final_norm.weight", "head.weight"});
  CHECK(table[3].shape == std::vector<int64_t>{16, 32}); // K*hd x d
  CHECK(table[5].shape == std::vector<int64_t>{32, 32});
  CHECK(table[5].role == WeightRole::OutputProjection);
  CHECK(table[11].shape == std::vector<int64_t>{32, 48});
}
