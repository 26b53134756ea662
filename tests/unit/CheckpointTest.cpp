//===- CheckpointTest.cpp - checkpoints vs the weight table; HF names -----===//

#include "ConfigTestUtil.h"

#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Runtime/HalfFloat.h"
#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>

#include <map>

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

ModelConfig e2eConfig(const std::string &name) {
  LoadResult r = loadConfigFile(std::string(ATTNC_SOURCE_DIR) + "/tests/e2e/" +
                                name + "/model.yaml");
  REQUIRE(r.config);
  return *r.config;
}

using Values = std::map<std::string, std::pair<std::vector<int64_t>,
                                               std::vector<float>>>;

Values canonical(const ModelConfig &c, uint64_t seed = 3) {
  Values v;
  for (InitializedWeight &w : initWeights(c, {seed, InitWeights::Torch, 0.1}))
    v[w.spec.name] = {w.spec.shape, std::move(w.values)};
  return v;
}

std::shared_ptr<const SafetensorsFile>
fileOf(const std::vector<TensorBytes> &tensors) {
  std::vector<uint8_t> bytes;
  std::string error;
  REQUIRE(serializeSafetensors(tensors, {}, bytes, error));
  std::vector<std::string> errors;
  std::shared_ptr<const SafetensorsFile> file =
      SafetensorsFile::fromBytes(bytes, "ckpt", errors);
  REQUIRE(file);
  return file;
}

std::vector<TensorBytes> encodeAll(const Values &v,
                                   StDType dtype = StDType::F32) {
  std::vector<TensorBytes> out;
  for (const auto &[name, t] : v)
    out.push_back(encodeTensor(name, t.first, t.second, dtype));
  return out;
}

std::vector<float> transpose(const std::vector<float> &m, int64_t rows,
                             int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      t[size_t(j * rows + i)] = m[size_t(i * cols + j)];
  return t;
}

/// Loads `tensors` for `c` and checks every weight equals `expected`.
void expectLoads(const ModelConfig &c, const std::vector<TensorBytes> &tensors,
                 const Values &expected, CheckpointNaming naming) {
  std::shared_ptr<const SafetensorsFile> file = fileOf(tensors);
  CHECK(detectNaming(*file) == naming);
  std::vector<std::string> errors;
  std::optional<WeightSet> set =
      loadWeights(c, file, CheckpointNaming::Auto, errors);
  std::string all;
  for (const std::string &e : errors)
    all += e + "\n";
  INFO(all);
  REQUIRE(set);
  CHECK(set->size() == expected.size());
  for (const auto &[name, t] : expected) {
    const WeightTensor *w = set->find(name);
    INFO(name);
    REQUIRE(w);
    CHECK(w->shape == t.first);
    CHECK(std::vector<float>(w->data, w->data + w->elements()) == t.second);
  }
}

std::vector<WeightProblem::Kind> kinds(const std::vector<WeightProblem> &ps) {
  std::vector<WeightProblem::Kind> k;
  for (const WeightProblem &p : ps)
    k.push_back(p.kind);
  return k;
}

} // namespace

TEST_CASE("checkpoint: a canonical file loads, F32 in place", "[checkpoint]") {
  ModelConfig c = configOf(R"({"num_layers": 1})");
  Values v = canonical(c);
  std::shared_ptr<const SafetensorsFile> file = fileOf(encodeAll(v));
  CHECK(checkCheckpoint(c, *file).empty());
  CHECK(checkCheckpoint(c, *file, StDType::F32).empty());
  std::vector<std::string> errors;
  std::optional<WeightSet> set =
      loadWeights(c, file, CheckpointNaming::Canonical, errors);
  REQUIRE(set);
  const WeightTensor *q = set->find("layers.0.attn.q.weight");
  REQUIRE(q);
  CHECK(static_cast<const void *>(q->data) ==
        file->find("layers.0.attn.q.weight")->data); // zero-copy
}

TEST_CASE("checkpoint: BF16/F16 are converted; a required dtype is enforced",
          "[checkpoint]") {
  ModelConfig c = configOf(R"({"num_layers": 1})");
  Values v = canonical(c);
  std::shared_ptr<const SafetensorsFile> file =
      fileOf(encodeAll(v, StDType::BF16));
  std::vector<std::string> errors;
  std::optional<WeightSet> set =
      loadWeights(c, file, CheckpointNaming::Auto, errors);
  REQUIRE(set);
  const WeightTensor *e = set->find("embed.tokens");
  CHECK(e->data[5] == bf16ToFloat(floatToBf16(v["embed.tokens"].second[5])));
  std::vector<WeightProblem> ps = checkCheckpoint(c, *file, StDType::F32);
  CHECK(ps.size() == v.size());
  CHECK(ps[0].kind == WeightProblem::Kind::WrongDType);
  CHECK(ps[0].message == "weight 'embed.tokens' has dtype BF16; expected F32");
}

TEST_CASE("checkpoint: missing, unexpected, mis-shaped and mistyped weights "
          "are all reported at once",
          "[checkpoint]") {
  ModelConfig c = configOf(R"({"num_layers": 1})");
  Values v = canonical(c);
  v.erase("layers.0.attn.k.bias");
  v["layers.0.attn.q.weight"].first = {16, 64}; // same size, other shape
  v["layers.7.attn.q.weight"] = {{2}, {1, 2}};
  std::vector<TensorBytes> tensors = encodeAll(v);
  for (TensorBytes &t : tensors)
    if (t.name == "head.weight")
      t.dtype = StDType::I32; // same byte size as F32
  std::shared_ptr<const SafetensorsFile> file = fileOf(tensors);
  std::vector<WeightProblem> ps = checkCheckpoint(c, *file);
  using K = WeightProblem::Kind;
  CHECK(kinds(ps) == std::vector<K>{K::WrongShape, K::Missing, K::WrongDType,
                                    K::Unexpected});
  CHECK(ps[0].message == "weight 'layers.0.attn.q.weight' has shape [16, 64]; "
                         "expected [32, 32]");
  CHECK(ps[1].message == "missing weight 'layers.0.attn.k.bias' [32]");
  CHECK(ps[2].message ==
        "weight 'head.weight' has dtype I32; expected F32, BF16 or F16");
  CHECK(ps[3].message == "unexpected tensor 'layers.7.attn.q.weight' [2]: not "
                         "a weight of this config (is the checkpoint for "
                         "another config?)");
  std::vector<std::string> errors;
  CHECK_FALSE(loadWeights(c, file, CheckpointNaming::Auto, errors));
  REQUIRE(errors.size() == 5);
  CHECK(errors[4] == "ckpt: 4 problems with the canonical checkpoint for "
                     "'the config'");
}

TEST_CASE("HF names: llama (model.layers.N.self_attn.q_proj ...)",
          "[checkpoint][hf]") {
  ModelConfig c = e2eConfig("llama");
  Values v = canonical(c);
  std::vector<TensorBytes> hf;
  auto add = [&](const std::string &hfName, const std::string &ours) {
    hf.push_back(encodeTensor(hfName, v[ours].first, v[ours].second,
                              StDType::F32));
  };
  add("model.embed_tokens.weight", "embed.tokens");
  add("model.norm.weight", "final_norm.weight");
  add("lm_head.weight", "head.weight");
  for (int l = 0; l < 2; ++l) {
    std::string m = "model.layers." + std::to_string(l) + ".",
                o = "layers." + std::to_string(l) + ".";
    for (const char *p : {"q", "k", "v", "o"})
      add(m + "self_attn." + p + "_proj.weight", o + "attn." + p + ".weight");
    for (const char *p : {"gate", "up", "down"})
      add(m + "mlp." + p + "_proj.weight", o + "mlp." + p + ".weight");
    add(m + "input_layernorm.weight", o + "attn_norm.weight");
    add(m + "post_attention_layernorm.weight", o + "mlp_norm.weight");
    hf.push_back(encodeTensor(m + "self_attn.rotary_emb.inv_freq", {3},
                              {1, 2, 3}, StDType::F32)); // ignored buffer
  }
  expectLoads(c, hf, v, CheckpointNaming::Llama);

  // The same names under gemma's sandwich norms mean something else.
  ModelConfig g = e2eConfig("gemma");
  CHECK(hfSource(CheckpointNaming::Llama, g, "layers.1.post_attn_norm.weight")
            ->name == "model.layers.1.post_attention_layernorm.weight");
  CHECK(hfSource(CheckpointNaming::Llama, g, "layers.1.mlp_norm.weight")->name ==
        "model.layers.1.pre_feedforward_layernorm.weight");
  CHECK(hfSource(CheckpointNaming::Llama, c, "layers.1.mlp_norm.weight")->name ==
        "model.layers.1.post_attention_layernorm.weight");

  // A missing tensor is named by its HF name; an unknown one is unexpected.
  hf.erase(hf.begin() + 1);
  hf.push_back(encodeTensor("model.extra", {1}, {0}, StDType::F32));
  std::vector<std::string> errors;
  CHECK_FALSE(loadWeights(c, fileOf(hf), CheckpointNaming::Auto, errors));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == "ckpt: missing tensor 'model.norm.weight' for "
                     "'final_norm.weight' [24]");
  CHECK(errors[1].find("unexpected tensor 'model.extra' [1]: the llama "
                       "mapping does not use it") != std::string::npos);
}

TEST_CASE("HF names: GPT-2 (Conv1D [in, out], fused c_attn split)",
          "[checkpoint][hf]") {
  ModelConfig c = e2eConfig("gpt2");
  Values v = canonical(c);
  const int64_t d = 24, f = 48;
  for (bool prefixed : {true, false}) {
    std::string t = prefixed ? "transformer." : "";
    std::vector<TensorBytes> hf;
    auto add = [&](const std::string &name, std::vector<int64_t> shape,
                   std::vector<float> values) {
      hf.push_back(encodeTensor(name, shape, values, StDType::F32));
    };
    add(t + "wte.weight", {40, d}, v["embed.tokens"].second);
    add(t + "wpe.weight", {12, d}, v["embed.positions"].second);
    add(t + "ln_f.weight", {d}, v["final_norm.weight"].second);
    add(t + "ln_f.bias", {d}, v["final_norm.bias"].second);
    add("lm_head.weight", {40, d}, v["embed.tokens"].second); // tied: ignored
    for (int l = 0; l < 2; ++l) {
      std::string h = t + "h." + std::to_string(l) + ".",
                  o = "layers." + std::to_string(l) + ".";
      // c_attn: [q; k; v] stacked as [3d, d], stored transposed [d, 3d].
      std::vector<float> qkv, qkvBias;
      for (const char *p : {"q", "k", "v"}) {
        const auto &w = v[o + "attn." + p + ".weight"].second;
        const auto &b = v[o + "attn." + p + ".bias"].second;
        qkv.insert(qkv.end(), w.begin(), w.end());
        qkvBias.insert(qkvBias.end(), b.begin(), b.end());
      }
      add(h + "attn.c_attn.weight", {d, 3 * d}, transpose(qkv, 3 * d, d));
      add(h + "attn.c_attn.bias", {3 * d}, qkvBias);
      add(h + "attn.c_proj.weight", {d, d},
          transpose(v[o + "attn.o.weight"].second, d, d));
      add(h + "attn.c_proj.bias", {d}, v[o + "attn.o.bias"].second);
      add(h + "mlp.c_fc.weight", {d, f},
          transpose(v[o + "mlp.up.weight"].second, f, d));
      add(h + "mlp.c_fc.bias", {f}, v[o + "mlp.up.bias"].second);
      add(h + "mlp.c_proj.weight", {f, d},
          transpose(v[o + "mlp.down.weight"].second, d, f));
      add(h + "mlp.c_proj.bias", {d}, v[o + "mlp.down.bias"].second);
      for (const char *n : {"ln_1", "ln_2"})
        for (const char *s : {"weight", "bias"})
          add(h + n + "." + s, {d},
              v[o + (n[3] == '1' ? "attn_norm." : "mlp_norm.") + s].second);
      add(h + "attn.bias", {1, 1, 12, 12}, std::vector<float>(144, 1.f));
    }
    INFO("prefixed " << prefixed);
    expectLoads(c, hf, v, CheckpointNaming::Gpt2);
  }
  std::optional<HfSource> k =
      hfSource(CheckpointNaming::Gpt2, c, "layers.1.attn.k.bias");
  REQUIRE(k);
  CHECK(k->name == "transformer.h.1.attn.c_attn.bias");
  CHECK(k->rowBegin == 24);
  CHECK(k->rowCount == 24);
}

TEST_CASE("HF names: BERT (bert.encoder.layer.N.attention.self.query ...)",
          "[checkpoint][hf]") {
  ModelConfig c = e2eConfig("bert");
  Values v = canonical(c);
  std::vector<TensorBytes> hf;
  auto add = [&](const std::string &name, const std::string &ours) {
    hf.push_back(encodeTensor(name, v[ours].first, v[ours].second,
                              StDType::F32));
  };
  add("bert.embeddings.word_embeddings.weight", "embed.tokens");
  add("bert.embeddings.position_embeddings.weight", "embed.positions");
  add("bert.embeddings.token_type_embeddings.weight", "embed.token_types");
  add("bert.embeddings.LayerNorm.gamma", "embed.norm.weight"); // old names
  add("bert.embeddings.LayerNorm.beta", "embed.norm.bias");
  add("bert.pooler.dense.weight", "pooler.weight");
  add("bert.pooler.dense.bias", "pooler.bias");
  for (int l = 0; l < 2; ++l) {
    std::string b = "bert.encoder.layer." + std::to_string(l) + ".",
                o = "layers." + std::to_string(l) + ".";
    for (const char *s : {".weight", ".bias"}) {
      add(b + "attention.self.query" + s, o + "attn.q" + s);
      add(b + "attention.self.key" + s, o + "attn.k" + s);
      add(b + "attention.self.value" + s, o + "attn.v" + s);
      add(b + "attention.output.dense" + s, o + "attn.o" + s);
      add(b + "attention.output.LayerNorm" + s, o + "attn_norm" + s);
      add(b + "intermediate.dense" + s, o + "mlp.up" + s);
      add(b + "output.dense" + s, o + "mlp.down" + s);
      add(b + "output.LayerNorm" + s, o + "mlp_norm" + s);
    }
  }
  // Buffers and pre-training heads the mapping leaves out.
  TensorBytes ids;
  ids.name = "bert.embeddings.position_ids";
  ids.dtype = StDType::I64;
  ids.shape = {1, 12};
  ids.data.resize(96);
  hf.push_back(ids);
  hf.push_back(encodeTensor("cls.predictions.bias", {40},
                            std::vector<float>(40), StDType::F32));
  expectLoads(c, hf, v, CheckpointNaming::Bert);
  CHECK(hfSource(CheckpointNaming::Bert, c, "layers.0.mlp_norm.bias")->name ==
        "bert.encoder.layer.0.output.LayerNorm.bias");
  CHECK_FALSE(hfSource(CheckpointNaming::Bert, c, "head.weight"));
}
