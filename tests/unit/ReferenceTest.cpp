//===- ReferenceTest.cpp - Properties of the reference interpreter --------===//
//
// The numbers are checked against PyTorch in E2EGoldenTest.cpp; here:
// properties that must hold whatever the weights (causality, KV-cache reuse,
// GQA as repeated heads) and the errors for inputs and weights that do not
// fit.
//
//===----------------------------------------------------------------------===//

#include "ReferenceTestUtil.h"

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace attnc;
using namespace attnc::reference;
using namespace attnc::test;

namespace {

double maxDiff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i)
    m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

std::string errorOf(const ModelConfig &c, const runtime::WeightSet &w,
                    const ReferenceInputs &in) {
  try {
    runReference(c, w, in);
  } catch (const ReferenceError &e) {
    return e.what();
  }
  return "no error";
}

/// A llama-like decoder; patches merge into it.
const char *kDecoder = R"({"attention": {"hidden_dim": 32, "num_heads": 4,
    "num_kv_heads": 2, "bias": false}, "position": {"kind": "rope"},
    "mlp": {"kind": "gated", "activation": "silu", "hidden_dim": 48},
    "norm": {"kind": "rms"}})";

} // namespace

TEST_CASE("reference: ALiBi slopes", "[reference]") {
  CHECK(alibiSlopes(8) == std::vector<double>{0.5, 0.25, 0.125, 0.0625,
                                              0.03125, 0.015625, 0.0078125,
                                              0.00390625});
  // Not a power of two: the slopes of 4 heads, then every other of 8.
  CHECK(alibiSlopes(6) == std::vector<double>{0.25, 0.0625, 0.015625,
                                              0.00390625, 0.5, 0.125});
}

TEST_CASE("reference: a causal decoder's outputs do not depend on later "
          "tokens",
          "[reference]") {
  ModelConfig c = configOf(kDecoder);
  runtime::WeightSet w = weightsOf(c);
  ReferenceInputs shortIn, longIn;
  shortIn.tokens["text"] = {5, 9, 1, 77, 3};
  longIn.tokens["text"] = {5, 9, 1, 77, 3, 42, 8, 99};
  ReferenceOutputs a = runReference(c, w, shortIn);
  ReferenceOutputs b = runReference(c, w, longIn);
  REQUIRE(a.logits.rows == 5);
  REQUIRE(b.logits.rows == 8);
  CHECK(maxDiff(a.logits.data.data(), b.logits.data.data(),
                a.logits.data.size()) == 0.0);
  REQUIRE(b.kv.size() == 2);
  CHECK(b.kv[0].k.rows == 8);
  CHECK(b.kv[0].k.cols == 16); // 2 kv heads x head_dim 8
}

TEST_CASE("reference: keys/values returned by a run, passed back as a cache "
          "group, give the same outputs",
          "[reference]") {
  // A: memory tokens in the input; B: the memory served from the cache.
  ModelConfig a = configOf(R"({"tokens": [{"memory": 3},
      {"text": "dynamic"}], "position": {"kind": "rope"},
      "attention_patterns": [
      {"query_tokens": ["memory"], "key_value_tokens": ["memory"],
       "mask": "full"},
      {"query_tokens": ["text"], "key_value_tokens": ["memory", "text"],
       "mask": "causal"}]})");
  ModelConfig b = configOf(R"({"tokens": [{"memory": null},
      {"text": "dynamic"}], "attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["memory", "text"],
       "mask": "causal"}], "position": {"kind": "rope"}})");
  REQUIRE(a.layers[0].useRope);
  runtime::WeightSet w = weightsOf(a);

  ReferenceInputs inA;
  inA.tokens["memory"] = {11, 12, 13};
  inA.tokens["text"] = {4, 8, 15, 16};
  ReferenceOutputs outA = runReference(a, w, inA);

  ReferenceInputs inB;
  inB.tokens["text"] = {4, 8, 15, 16};
  inB.positions = {3, 4, 5, 6}; // continue after the cached tokens
  for (const LayerKV &kv : outA.kv) {
    LayerKV mem;
    mem.k = Matrix(3, kv.k.cols);
    mem.v = Matrix(3, kv.v.cols);
    std::copy(kv.k.data.begin(), kv.k.data.begin() + 3 * kv.k.cols,
              mem.k.data.begin());
    std::copy(kv.v.data.begin(), kv.v.data.begin() + 3 * kv.v.cols,
              mem.v.data.begin());
    inB.cache["memory"].push_back(mem);
  }
  ReferenceOutputs outB = runReference(b, w, inB);
  REQUIRE(outB.logits.rows == 4);
  CHECK(maxDiff(outB.logits.data.data(), outA.logits.row(3),
                outB.logits.data.size()) < 1e-5);
  CHECK(outB.layout.size() == 1); // the cache group is not in the sequence
}

TEST_CASE("reference: grouped-query attention equals multi-head attention "
          "with each kv head repeated",
          "[reference]") {
  ModelConfig gqa = configOf(kDecoder);
  ModelConfig mha = configOf(R"({"attention": {"hidden_dim": 32,
      "num_heads": 4, "num_kv_heads": 4, "bias": false},
      "position": {"kind": "rope"}, "mlp": {"kind": "gated",
      "activation": "silu", "hidden_dim": 48}, "norm": {"kind": "rms"}})");
  runtime::WeightSet w = weightsOf(gqa);
  runtime::WeightSet wm;
  for (const std::string &name : w.names()) {
    const runtime::WeightTensor *t = w.find(name);
    std::vector<float> v(t->data, t->data + t->elements());
    std::vector<int64_t> shape = t->shape;
    bool kv = name.find("attn.k.weight") != std::string::npos ||
              name.find("attn.v.weight") != std::string::npos;
    if (kv) { // kv head g serves query heads 2g and 2g + 1
      std::vector<float> rep;
      for (int64_t g = 0; g < 2; ++g)
        for (int r = 0; r < 2; ++r)
          rep.insert(rep.end(), v.begin() + g * 8 * 32,
                     v.begin() + (g + 1) * 8 * 32);
      v = rep;
      shape = {32, 32};
    }
    wm.add(name, shape, v);
  }
  ReferenceInputs in;
  in.tokens["text"] = {1, 2, 3, 4, 5, 6};
  ReferenceOutputs a = runReference(gqa, w, in), b = runReference(mha, wm, in);
  CHECK(maxDiff(a.logits.data.data(), b.logits.data.data(),
                a.logits.data.size()) < 1e-5);
}

TEST_CASE("reference: inputs and weights that do not fit give clear errors",
          "[reference]") {
  ModelConfig c = configOf(kDecoder);
  runtime::WeightSet w = weightsOf(c);
  ReferenceInputs in;
  CHECK(errorOf(c, w, in) == "token group 'text' needs token ids");
  in.tokens["text"] = {1, 100};
  CHECK(errorOf(c, w, in) == "token id 100 (index 1 of group 'text') is out "
                             "of range; expected 0 <= id < vocab_size 100");
  in.tokens["text"] = std::vector<int64_t>(65, 1);
  CHECK(errorOf(c, w, in) == "the input has 65 tokens; max_seq_len is 64");
  in.tokens["text"] = {1, 2};
  in.positions = {0, -1};
  CHECK(errorOf(c, w, in) == "position -1 (index 1) is negative");
  in.positions = {};
  in.tokens["other"] = {1};
  CHECK(errorOf(c, w, in) == "token ids given for 'other', which is not a "
                             "token group of the config");
  in.tokens.erase("other");

  runtime::WeightSet missing;
  for (const std::string &name : w.names())
    if (name != "head.weight" && name != "layers.1.attn.q.weight")
      missing.add(name, w.find(name)->shape,
                  std::vector<float>(size_t(w.find(name)->elements())));
  missing.add("layers.1.attn.q.weight", {8, 8}, std::vector<float>(64));
  CHECK(errorOf(c, missing, in) ==
        "2 weights do not fit the config:\n"
        "  weight 'layers.1.attn.q.weight' has shape [8, 8]; expected [32, "
        "32]\n"
        "  missing weight 'head.weight' [100, 32]");

  ModelConfig vit = configOf(R"({"kind": "encoder", "vocab_size": null,
      "max_seq_len": 11,
      "tokens": [{"name": "cls", "size": 1, "input": "learned"},
                 {"name": "img", "size": 8, "input": "image"},
                 {"name": "extra", "size": 2, "input": "embeddings"}],
      "patch_embedding": {"image_size": [4, 8], "patch_size": 2,
                          "channels": 1},
      "position": {"kind": "learned", "size": 11},
      "output": {"kind": "classifier", "num_classes": 3}})");
  runtime::WeightSet wv = weightsOf(vit);
  ReferenceInputs im;
  im.images["img"] = {4, 8, 3, std::vector<float>(96)};
  im.embeddings["extra"] = Matrix(2, 32);
  CHECK(errorOf(vit, wv, im) == "the image for group 'img' is [4, 8, 3] "
                                "(HWC); expected [4, 8, 1]");
  im.images["img"] = {4, 8, 1, std::vector<float>(32)};
  im.embeddings["extra"] = Matrix(2, 16);
  CHECK(errorOf(vit, wv, im) == "the embeddings for group 'extra' have "
                                "width 16; expected hidden_dim 32");
  im.embeddings["extra"] = Matrix(3, 32);
  CHECK(errorOf(vit, wv, im) == "token group 'extra' has size 2 but 3 "
                                "embedding rows were given");
  im.embeddings["extra"] = Matrix(2, 32);
  CHECK(runReference(vit, wv, im).classes.size() == 3);
  im.positions = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11};
  CHECK(errorOf(vit, wv, im) == "position 11 (index 10) is past the learned "
                                "position table (11 rows)");
  im.positions = {};
  im.tokens["cls"] = {1};
  CHECK(errorOf(vit, wv, im) == "token ids given for token group 'cls', "
                                "whose input is 'learned'; expected 'tokens'");
}
