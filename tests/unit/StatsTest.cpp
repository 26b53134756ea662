//===- StatsTest.cpp - Parameter counts, FLOPs and memory of the samples --===//
//
// The parameter counts are the published ones (HF/timm checkpoints); the
// FLOPs and KV-cache sizes are computed by hand in the comments.
//
//===----------------------------------------------------------------------===//

#include "ConfigTestUtil.h"

#include "attnc/Schema/Stats.h"

#include <catch2/catch.hpp>

using namespace attnc;
using namespace attnc::test;

namespace {

ModelConfig loadSample(const std::string &name) {
  LoadResult r =
      loadConfigFile(std::string(ATTNC_SOURCE_DIR) + "/samples/" + name);
  INFO(name << "\n" << allMessages(r));
  REQUIRE(r.config);
  return *r.config;
}

int64_t groupCount(const ParamCounts &p, const std::string &name) {
  for (const ParamGroup &g : p.groups)
    if (g.name == name)
      return g.count;
  return -1;
}

/// The categories and the groups both add up to the total.
void checkSums(const ParamCounts &p) {
  int64_t groups = 0;
  for (const ParamGroup &g : p.groups)
    groups += g.count;
  CHECK(groups == p.total);
  CHECK(p.embedding + p.attention + p.mlp + p.norms + p.head == p.total);
}

} // namespace

TEST_CASE("GPT-2 small has 124,439,808 parameters", "[stats]") {
  ParamCounts p = countParameters(loadSample("gpt2-small.json"));
  checkSums(p);
  CHECK(p.total == 124439808);
  CHECK(groupCount(p, "token embedding") == 50257 * 768);
  CHECK(groupCount(p, "position embedding") == 1024 * 768);
  CHECK(groupCount(p, "output projection") == -1); // tied
  CHECK(groupCount(p, "layer 0 attention") == 4 * 768 * 768 + 4 * 768);
  CHECK(groupCount(p, "layer 11 mlp") == 2 * 768 * 3072 + 3072 + 768);
  CHECK(groupCount(p, "layer 5 norms") == 4 * 768);
  CHECK(groupCount(p, "final norm") == 2 * 768);
}

TEST_CASE("BERT-base: 108,891,648 plus a 590,592 pooler", "[stats]") {
  ModelConfig bert = loadSample("bert-base.yaml");
  ParamCounts with = countParameters(bert);
  checkSums(with);
  CHECK(with.total == 109482240);
  CHECK(groupCount(with, "pooler") == 590592);
  CHECK(groupCount(with, "token type embedding") == 2 * 768);
  CHECK(groupCount(with, "embedding norm") == 2 * 768);
  CHECK(groupCount(with, "final norm") == -1); // post-norm
  bert.output.pooler = false;
  CHECK(countParameters(bert).total == 108891648);
}

TEST_CASE("Llama-2-7B has 6,738,415,616 parameters", "[stats]") {
  ModelConfig llama = loadSample("llama2-7b.yaml");
  ParamCounts p = countParameters(llama);
  checkSums(p);
  CHECK(p.total == 6738415616);
  CHECK(p.head == 32000LL * 4096);
  CHECK(p.norms == 65 * 4096); // 2 per layer + final, no bias
  CHECK(estimateMemory(llama, 1, 4096).weightBytes == 2 * 6738415616);
  // 32 layers x K and V x 4096 x 2 bytes x 4096 positions = 2 GiB.
  CHECK(estimateMemory(llama, 1, 4096).kvCacheBytes == 2147483648LL);
}

TEST_CASE("ViT-B/16 has 86,567,656 parameters", "[stats]") {
  ParamCounts p = countParameters(loadSample("vit-b16.yaml"));
  checkSums(p);
  CHECK(p.total == 86567656);
  CHECK(groupCount(p, "patch embedding") == 3 * 16 * 16 * 768 + 768);
  CHECK(groupCount(p, "learned tokens 'cls'") == 768);
  CHECK(groupCount(p, "position embedding") == 197 * 768);
  CHECK(groupCount(p, "classifier") == 768 * 1000 + 1000);
}

TEST_CASE("gemma-2-2B shape: 2,614,341,888 parameters", "[stats]") {
  ParamCounts p = countParameters(loadSample("gemma2-style.yaml"));
  checkSums(p);
  CHECK(p.total == 2614341888);
  CHECK(groupCount(p, "layer 0 norms") == 4 * 2304); // sandwich norms
  CHECK(p.head == 0);                                // tied
}

TEST_CASE("llama-style benchmark model: parameters and FLOPs", "[stats]") {
  ModelConfig c = loadSample("llama-style.yaml");
  CHECK(countParameters(c).total == 124668672);
  // Per layer: q, o 768*768 each, k, v 768*256 each, MLP 3*768*2048
  // = 6,291,456; 12 layers + logits 32000*768 = 100,073,472 weights a token
  // goes through, 2 FLOPs each. Attention: 4 * 12 heads * 64 = 3072 per key
  // per layer; prefill of 1024 averages (1024 + 1) / 2 keys, decode 1024.
  FlopCounts f = countFlops(c, 1024);
  CHECK(f.prefillPerToken == Approx(2.0 * 100073472 + 12 * 3072 * 512.5));
  CHECK(f.decodePerToken == Approx(2.0 * 100073472 + 12 * 3072 * 1024.0));
  // Weights are float32: 4 bytes each.
  CHECK(estimateMemory(c, 1, 1024).weightBytes == 4 * 124668672LL);
}

TEST_CASE("KV cache of a GQA model with sliding-window layers", "[stats]") {
  // 4 layers alternating local (window 128) and global; 2 KV heads of 32;
  // float16; batch 3; cache 512. Per position and layer: K and V x 2 heads x
  // 32 x 2 bytes x 3 = 768 bytes. Local layers keep 128 positions, global
  // ones 512: 768 * (128 + 512 + 128 + 512) = 983,040.
  LoadResult r = validatePatched(R"({
    "dtype": "float16", "num_layers": 4, "max_seq_len": 512,
    "attention": {"hidden_dim": 256, "num_heads": 8, "num_kv_heads": 2},
    "position": {"kind": "rope"},
    "layers": {"kinds": {"local": {"window": 128}, "global": {"window": null}},
               "pattern": ["local", "global"]}})");
  INFO(allMessages(r));
  REQUIRE(r.config);
  CHECK(estimateMemory(*r.config, 3, 512).kvCacheBytes == 983040);
  // A cache shorter than the window is not cut further: 768 * 64 * 4.
  CHECK(estimateMemory(*r.config, 3, 64).kvCacheBytes == 768 * 64 * 4);

  // FLOPs: a local layer sees min(i, 128) keys at position i (1-based).
  // Prefill of 512: (sum_{i=1..128} i + 384 * 128) / 512 = 112.125 keys on
  // average; global layers (512 + 1) / 2 = 256.5. Per key 4 * 8 * 32 = 1024.
  FlopCounts f = countFlops(*r.config, 512);
  // Matmuls per layer: q, o 256*256, k, v 256*64, MLP 2*256*1024; logits
  // 100*256 (the base config's vocabulary).
  double matmul = 4.0 * (2 * 256 * 256 + 2 * 256 * 64 + 2 * 256 * 1024) +
                  100.0 * 256;
  CHECK(f.prefillPerToken ==
        Approx(2 * matmul + 1024.0 * 2 * (112.125 + 256.5)));
  CHECK(f.decodePerToken == Approx(2 * matmul + 1024.0 * 2 * (128 + 512)));
}

TEST_CASE("FLOPs follow the token groups and patterns", "[stats]") {
  // Anchor attention: each of the 290 queries sees its branch's anchors:
  // 150 queries x 100 surface anchors + 140 x 80 volume anchors.
  ModelConfig anchor = loadSample("anchor-attention.yaml");
  double perKey = 4.0 * 3 * 64;
  double matmul = 2.0 * 12 * (4 * 192 * 192 + 2 * 192 * 768);
  FlopCounts f = countFlops(anchor, 290);
  CHECK(f.prefillPerToken ==
        Approx(matmul + 12 * perKey * (150.0 * 100 + 140 * 80) / 290));
  // The last query is a volume query: 80 anchors.
  CHECK(f.decodePerToken == Approx(matmul + 12 * perKey * 80));

  // Cache groups are visible to every query and hold seqLen keys.
  ModelConfig cross = loadSample("cross-attention.yaml");
  FlopCounts g = countFlops(cross, 100);
  CHECK(g.decodePerToken - g.prefillPerToken ==
        Approx(6 * 4.0 * 8 * 64 * ((100 + 100) - (100 + 50.5))));
}

TEST_CASE("parameter counts follow the options", "[stats]") {
  // Base: d 32, 4 heads, vocab 100, plain MLP 128, LayerNorm with bias.
  auto total = [](const std::string &patch) {
    LoadResult r = validatePatched(patch);
    INFO(allMessages(r));
    REQUIRE(r.config);
    return countParameters(*r.config).total;
  };
  int64_t base = total("{}");
  // 100*32 embed + 2 x (4*32*32 + 4*32 + 2*32*128 + 128 + 32 + 4*32)
  // + 2*32 final norm + 100*32 head.
  CHECK(base == 3200 + 2 * (4096 + 128 + 8192 + 160 + 128) + 64 + 3200);
  CHECK(total(R"({"attention": {"qk_norm": true}})") == base + 2 * 2 * 8);
  CHECK(total(R"({"norm": {"kind": "rms"}})") == base - 5 * 32);
  CHECK(total(R"({"block": {"post_attention_norm": true}})") == base + 2 * 64);
  CHECK(total(R"({"mlp": {"kind": "gated"}})") ==
        base + 2 * (32 * 128 + 128));
  CHECK(total(R"({"embedding": {"tied_output": true}})") == base - 3200);
  CHECK(total(R"({"attention": {"num_kv_heads": 1}})") ==
        base - 2 * 2 * (32 * 24 + 24));
}
