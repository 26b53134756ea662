//===- Reference.cpp - The reference interpreter: blocks and outputs ------===//
//
// Semantics: attnc/Reference/Reference.h.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cmath>

namespace attnc::reference {

namespace detail {
namespace {

Matrix mlp(const ModelConfig &config, const Weights &weights,
           const std::string &p, const Matrix &x) {
  Matrix up =
      linear(x, weights.get(p + "mlp.up.weight"), weights.find(p + "mlp.up.bias"));
  if (config.mlp.kind == MlpKind::Gated) {
    Matrix gate = linear(x, weights.get(p + "mlp.gate.weight"),
                         weights.find(p + "mlp.gate.bias"));
    for (size_t i = 0; i < up.data.size(); ++i)
      up.data[i] = float(double(activate(config.mlp.activation, gate.data[i])) *
                         double(up.data[i]));
  } else {
    for (float &v : up.data)
      v = activate(config.mlp.activation, v);
  }
  return linear(up, weights.get(p + "mlp.down.weight"),
                weights.find(p + "mlp.down.bias"));
}

void addInto(Matrix &x, const Matrix &y) {
  for (size_t i = 0; i < x.data.size(); ++i)
    x.data[i] += y.data[i];
}

} // namespace

void block(const ModelConfig &config, const Weights &weights, int64_t layer,
           Matrix &x, const AttentionFn &attend) {
  const std::string p = "layers." + std::to_string(layer) + ".";
  auto norm = [&](Matrix m, const char *name) {
    applyNorm(m, config, weights, p + name);
    return m;
  };
  auto attnBranch = [&](const Matrix &in) {
    Matrix out = attend(in);
    return config.block.postAttentionNorm ? norm(std::move(out), "post_attn_norm")
                                          : out;
  };
  auto mlpBranch = [&](const Matrix &in) {
    Matrix out = mlp(config, weights, p, in);
    return config.block.postMlpNorm ? norm(std::move(out), "post_mlp_norm")
                                    : out;
  };
  switch (config.block.structure) {
  case BlockStructure::PreNorm:
    addInto(x, attnBranch(norm(x, "attn_norm")));
    addInto(x, mlpBranch(norm(x, "mlp_norm")));
    break;
  case BlockStructure::PostNorm:
    addInto(x, attnBranch(x));
    applyNorm(x, config, weights, p + "attn_norm");
    addInto(x, mlpBranch(x));
    applyNorm(x, config, weights, p + "mlp_norm");
    break;
  case BlockStructure::Parallel: {
    Matrix attn = attnBranch(norm(x, "attn_norm"));
    Matrix ff = mlpBranch(norm(x, "mlp_norm"));
    for (size_t i = 0; i < x.data.size(); ++i)
      x.data[i] = float(double(x.data[i]) + double(attn.data[i]) +
                        double(ff.data[i]));
    break;
  }
  }
}

namespace {

/// y = W x + b for one vector; W is [out, in].
std::vector<float> dense(const runtime::WeightTensor &w,
                         const runtime::WeightTensor &b,
                         const std::vector<float> &x) {
  std::vector<float> y(size_t(w.shape[0]));
  for (int64_t o = 0; o < w.shape[0]; ++o) {
    double acc = b.data[o];
    for (int64_t k = 0; k < w.shape[1]; ++k)
      acc += double(w.data[o * w.shape[1] + k]) * double(x[size_t(k)]);
    y[size_t(o)] = float(acc);
  }
  return y;
}

std::vector<float> pool(const ModelConfig &config, const Weights &weights,
                        const Matrix &x) {
  std::vector<float> pooled(size_t(x.cols));
  for (int64_t k = 0; k < x.cols; ++k) {
    if (config.output.pooling == Pooling::Cls) {
      pooled[size_t(k)] = x.at(0, k);
      continue;
    }
    double sum = 0;
    for (int64_t i = 0; i < x.rows; ++i)
      sum += x.at(i, k);
    pooled[size_t(k)] = float(sum / double(x.rows));
  }
  if (config.output.pooler) {
    pooled = dense(weights.get("pooler.weight"), weights.get("pooler.bias"),
                   pooled);
    for (float &v : pooled)
      v = float(std::tanh(double(v)));
  }
  return pooled;
}

} // namespace

void finishOutputs(const ModelConfig &config, const Weights &weights,
                   Matrix x, ReferenceOutputs &out) {
  if (config.finalNorm)
    applyNorm(x, config, weights, "final_norm");

  switch (config.output.kind) {
  case OutputKind::Logits: {
    bool tied = config.embedding.tiedOutput;
    out.logits =
        linear(x, weights.get(tied ? "embed.tokens" : "head.weight"), nullptr);
    if (config.finalLogitSoftcap) {
      double cap = *config.finalLogitSoftcap;
      for (float &v : out.logits.data)
        v = float(cap * std::tanh(double(v) / cap));
    }
    break;
  }
  case OutputKind::HiddenStates:
    if (config.output.pooler)
      out.pooled = pool(config, weights, x);
    out.hiddenStates = std::move(x);
    break;
  case OutputKind::Classifier: {
    std::vector<float> pooled = pool(config, weights, x);
    out.classes = dense(weights.get("classifier.weight"),
                        weights.get("classifier.bias"), pooled);
    if (config.output.pooler)
      out.pooled = std::move(pooled);
    break;
  }
  }
}

} // namespace detail

ReferenceOutputs runReference(const ModelConfig &config,
                              const runtime::WeightSet &weightSet,
                              const ReferenceInputs &inputs) {
  using namespace detail;
  Weights weights(weightSet);
  checkWeights(config, weights);
  Sequence seq = layoutSequence(config, inputs);

  ReferenceOutputs out;
  out.layout = seq.layout;
  Matrix x = embed(config, weights, inputs, seq);
  out.kv.resize(size_t(config.numLayers));
  for (int64_t l = 0; l < config.numLayers; ++l)
    block(config, weights, l, x, [&](const Matrix &in) {
      return attention(config, weights, l, in, seq, inputs, out.kv[size_t(l)]);
    });
  finishOutputs(config, weights, std::move(x), out);
  return out;
}

std::vector<GroupRange> checkInputs(const ModelConfig &config,
                                    const ReferenceInputs &inputs) {
  return detail::layoutSequence(config, inputs).layout;
}

} // namespace attnc::reference
