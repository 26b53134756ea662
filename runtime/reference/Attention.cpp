//===- Attention.cpp - One layer's attention, masks from the patterns -----===//

#include "Internal.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace attnc::reference {

std::vector<double> alibiSlopes(int64_t numHeads) {
  // Press et al. 2022: for H a power of two, slope_h = 2^(-8 (h + 1) / H);
  // otherwise the slopes of the largest power of two below H, then every
  // other slope of twice that power (the reference implementation's rule).
  auto powerOfTwo = [](int64_t n) {
    std::vector<double> s;
    for (int64_t h = 0; h < n; ++h)
      s.push_back(std::pow(2.0, -8.0 * double(h + 1) / double(n)));
    return s;
  };
  int64_t closest = 1;
  while (closest * 2 <= numHeads)
    closest *= 2;
  std::vector<double> slopes = powerOfTwo(closest);
  if (closest < numHeads) {
    std::vector<double> extra = powerOfTwo(2 * closest);
    for (int64_t i = 0; i < numHeads - closest; ++i)
      slopes.push_back(extra[size_t(2 * i)]);
  }
  return slopes;
}

namespace detail {

void projectQKV(const ModelConfig &config, const Weights &weights,
                int64_t layer, const Matrix &x,
                const std::vector<int64_t> &positions, Matrix &q, Matrix &k,
                Matrix &v) {
  const AttentionConfig &a = config.attention;
  const LayerSettings &settings = config.layers[size_t(layer)];
  const int64_t H = a.numHeads, K = a.numKvHeads, hd = a.headDim;
  const std::string p = "layers." + std::to_string(layer) + ".attn.";

  q = linear(x, weights.get(p + "q.weight"), weights.find(p + "q.bias"));
  k = linear(x, weights.get(p + "k.weight"), weights.find(p + "k.bias"));
  v = linear(x, weights.get(p + "v.weight"), weights.find(p + "v.bias"));
  if (a.qkNorm) {
    const float *qn = weights.get(p + "q_norm.weight").data;
    const float *kn = weights.get(p + "k_norm.weight").data;
    for (int64_t i = 0; i < x.rows; ++i) {
      for (int64_t h = 0; h < H; ++h)
        rmsNorm(q.row(i) + h * hd, hd, qn, config.norm.eps,
                config.norm.zeroCentered);
      for (int64_t h = 0; h < K; ++h)
        rmsNorm(k.row(i) + h * hd, hd, kn, config.norm.eps,
                config.norm.zeroCentered);
    }
  }
  if (settings.useRope) {
    applyRope(q, H, hd, positions, config.position, settings);
    applyRope(k, K, hd, positions, config.position, settings);
  }
}

void attendQuery(const ModelConfig &config, const float *query,
                 const std::vector<KeyRef> &keys,
                 const std::vector<double> &slopes, float *out) {
  const AttentionConfig &a = config.attention;
  const int64_t H = a.numHeads, K = a.numKvHeads, hd = a.headDim;
  std::vector<double> logits;
  for (int64_t h = 0; h < H; ++h) {
    int64_t g = h / (H / K); // query head h uses kv head h / (H / K)
    const float *qh = query + h * hd;
    float *oh = out + h * hd;
    if (keys.empty()) {
      std::fill(oh, oh + hd, 0.f); // nothing visible: a zero output
      continue;
    }
    logits.assign(keys.size(), 0.0);
    double maxLogit = -INFINITY;
    for (size_t j = 0; j < keys.size(); ++j) {
      const float *kj = keys[j].k + g * hd;
      double dot = 0;
      for (int64_t c = 0; c < hd; ++c)
        dot += double(qh[c]) * double(kj[c]);
      double s = dot * a.queryScale;
      if (a.logitSoftcap)
        s = *a.logitSoftcap * std::tanh(s / *a.logitSoftcap);
      if (!slopes.empty())
        s += slopes[size_t(h)] * keys[j].bias;
      logits[j] = s;
      maxLogit = std::max(maxLogit, s);
    }
    double sum = 0;
    for (double &l : logits) {
      l = std::exp(l - maxLogit);
      sum += l;
    }
    for (int64_t c = 0; c < hd; ++c) {
      double acc = 0;
      for (size_t j = 0; j < keys.size(); ++j)
        acc += logits[j] * double(keys[j].v[g * hd + c]);
      oh[c] = float(acc / sum);
    }
  }
}

Matrix attention(const ModelConfig &config, const Weights &weights,
                 int64_t layer, const Matrix &x, const Sequence &seq,
                 const ReferenceInputs &inputs, LayerKV &kvOut) {
  const AttentionConfig &a = config.attention;
  const LayerSettings &settings = config.layers[size_t(layer)];
  const int64_t H = a.numHeads, hd = a.headDim;
  const std::string p = "layers." + std::to_string(layer) + ".attn.";

  // Projections, qk-norm, RoPE.
  Matrix q, k, v;
  projectQKV(config, weights, layer, x, seq.positions, q, k, v);
  kvOut.k = k;
  kvOut.v = v;

  std::vector<double> slopes;
  bool alibi = config.position.kind == PositionKind::Alibi;
  if (alibi)
    slopes = alibiSlopes(H);

  Matrix out(x.rows, H * hd);
  std::vector<KeyRef> keys;
  for (int64_t i = 0; i < x.rows; ++i) {
    // The pattern of this query's group.
    const std::string &group = seq.layout[seq.groupOf[size_t(i)]].name;
    const AttentionPattern *pattern = nullptr;
    for (const AttentionPattern &pat : config.patterns)
      if (std::count(pat.queryTokens.begin(), pat.queryTokens.end(), group))
        pattern = &pat;
    if (!pattern)
      throw ReferenceError("token group '" + group +
                           "' is a query in no attention pattern");

    // The keys it sees, group by group in pattern order.
    keys.clear();
    std::set<std::string> seen;
    for (const std::string &name : pattern->keyValueTokens) {
      if (!seen.insert(name).second)
        continue;
      auto cache = inputs.cache.find(name);
      if (cache != inputs.cache.end()) {
        const LayerKV &kv = cache->second[size_t(layer)];
        for (int64_t j = 0; j < kv.k.rows; ++j)
          keys.push_back({kv.k.row(j), kv.v.row(j), 0.0});
        continue;
      }
      for (const GroupRange &g : seq.layout) {
        if (g.name != name)
          continue;
        for (int64_t j = g.begin; j < g.begin + g.length; ++j) {
          if (pattern->mask == MaskKind::Causal && j > i)
            continue;
          if (pattern->mask == MaskKind::SlidingWindow &&
              (j > i || i - j >= pattern->window.value_or(INT64_MAX)))
            continue;
          if (settings.window && std::llabs(i - j) >= *settings.window)
            continue;
          double dist = double(seq.positions[size_t(i)]) -
                        double(seq.positions[size_t(j)]);
          if (pattern->mask == MaskKind::Full)
            dist = std::fabs(dist);
          keys.push_back({k.row(j), v.row(j), -dist});
        }
      }
    }

    attendQuery(config, q.row(i), keys, slopes, out.row(i));
  }
  return linear(out, weights.get(p + "o.weight"), weights.find(p + "o.bias"));
}

} // namespace detail
} // namespace attnc::reference
