//===- Weights.cpp - The weight table of a config -------------------------===//

#include "attnc/Schema/Weights.h"

namespace attnc {

int64_t WeightSpec::elements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

namespace {

class TableBuilder {
public:
  explicit TableBuilder(const ModelConfig &c) : c_(c), d_(c.attention.hiddenDim) {}

  std::vector<WeightSpec> build() {
    embeddings();
    for (int64_t i = 0; i < c_.numLayers; ++i)
      layer("layers." + std::to_string(i) + ".");
    if (c_.finalNorm)
      norm("final_norm");
    head();
    return std::move(table_);
  }

private:
  void add(std::string name, std::vector<int64_t> shape, WeightRole role,
           int64_t fanIn) {
    table_.push_back({std::move(name), std::move(shape), role, fanIn});
  }

  void linear(const std::string &name, int64_t out, int64_t in, bool bias,
              WeightRole role = WeightRole::Linear) {
    add(name + ".weight", {out, in}, role, in);
    if (bias)
      add(name + ".bias", {out}, WeightRole::Bias, in);
  }

  void norm(const std::string &name, int64_t size = 0) {
    int64_t n = size ? size : d_;
    add(name + ".weight", {n}, WeightRole::NormScale, n);
    if (c_.norm.kind == NormKind::Layer && c_.norm.bias && !size)
      add(name + ".bias", {n}, WeightRole::NormBias, n);
  }

  void embeddings() {
    bool tiedHead =
        c_.embedding.tiedOutput && c_.output.kind == OutputKind::Logits;
    int64_t vocab = c_.vocabSize.value_or(0);
    if (c_.hasInput(TokenInput::Tokens) || tiedHead)
      add("embed.tokens", {vocab, d_}, WeightRole::Embedding, d_);
    if (c_.embedding.tokenTypes > 0)
      add("embed.token_types", {c_.embedding.tokenTypes, d_},
          WeightRole::Embedding, d_);
    if (c_.position.kind == PositionKind::Learned)
      add("embed.positions", {c_.position.size, d_}, WeightRole::Embedding, d_);
    if (c_.patchEmbedding && c_.hasInput(TokenInput::Image)) {
      const PatchEmbeddingConfig &pe = *c_.patchEmbedding;
      int64_t fanIn = pe.channels * pe.patchSize * pe.patchSize;
      add("embed.patch.weight", {d_, pe.channels, pe.patchSize, pe.patchSize},
          WeightRole::Linear, fanIn);
      if (pe.bias)
        add("embed.patch.bias", {d_}, WeightRole::Bias, fanIn);
    }
    for (const TokenSpec &t : c_.tokens)
      if (t.input == TokenInput::Learned)
        add("embed.learned." + t.name, {t.size.value_or(0), d_},
            WeightRole::Embedding, d_);
    if (c_.embedding.norm)
      norm("embed.norm");
  }

  void layer(const std::string &p) {
    const AttentionConfig &a = c_.attention;
    int64_t q = a.numHeads * a.headDim, kv = a.numKvHeads * a.headDim;
    norm(p + "attn_norm");
    linear(p + "attn.q", q, d_, a.bias);
    linear(p + "attn.k", kv, d_, a.bias);
    linear(p + "attn.v", kv, d_, a.bias);
    linear(p + "attn.o", d_, q, a.bias, WeightRole::OutputProjection);
    if (a.qkNorm) {
      add(p + "attn.q_norm.weight", {a.headDim}, WeightRole::NormScale,
          a.headDim);
      add(p + "attn.k_norm.weight", {a.headDim}, WeightRole::NormScale,
          a.headDim);
    }
    if (c_.block.postAttentionNorm)
      norm(p + "post_attn_norm");
    norm(p + "mlp_norm");
    int64_t f = c_.mlp.hiddenDim;
    if (c_.mlp.kind == MlpKind::Gated)
      linear(p + "mlp.gate", f, d_, c_.mlp.bias);
    linear(p + "mlp.up", f, d_, c_.mlp.bias);
    linear(p + "mlp.down", d_, f, c_.mlp.bias, WeightRole::OutputProjection);
    if (c_.block.postMlpNorm)
      norm(p + "post_mlp_norm");
  }

  void head() {
    bool tiedHead =
        c_.embedding.tiedOutput && c_.output.kind == OutputKind::Logits;
    if (c_.output.kind == OutputKind::Logits && !tiedHead)
      add("head.weight", {c_.vocabSize.value_or(0), d_}, WeightRole::Linear,
          d_);
    if (c_.output.kind == OutputKind::Classifier)
      linear("classifier", c_.output.numClasses, d_, true);
    if (c_.output.pooler)
      linear("pooler", d_, d_, true);
  }

  const ModelConfig &c_;
  int64_t d_;
  std::vector<WeightSpec> table_;
};

} // namespace

std::vector<WeightSpec> weightTable(const ModelConfig &config) {
  return TableBuilder(config).build();
}

} // namespace attnc
