//===- Stats.cpp - What a config costs: parameters, FLOPs, memory ---------===//
//
// Conventions (the numbers `attnc inspect` prints; the tests pin them):
//
// Parameters, in the layout PyTorch/HF checkpoints use, d = hidden_dim,
// H/K = query/kv heads, hd = head_dim, F = mlp.hidden_dim:
//  * token embedding V*d, when a group has input `tokens` or the output is a
//    tied projection (the table exists once; a tied head adds nothing);
//    token types T*d; learned positions size*d (none for rope, sinusoidal,
//    alibi); patch embedding C*p*p*d (+ d with bias); each `learned` token
//    group size*d.
//  * per layer, attention: q d*H*hd, k and v d*K*hd each, o H*hd*d, and with
//    attention.bias H*hd + 2*K*hd + d. MLP: plain 2*d*F (+ F + d with bias),
//    gated 3*d*F (+ 2F + d).
//  * norms: d for RMSNorm or LayerNorm without bias, 2d for LayerNorm with
//    bias (zero-centred scales are the same size). Every block has two
//    (pre-norm, post-norm and parallel alike), plus post_attention_norm and
//    post_mlp_norm when set; qk_norm adds an RMSNorm over hd for q and one
//    for k (2*hd, the schema's definition). Embedding norm and final norm
//    when set. All of these count as `norms` (group "layer i norms").
//  * head: untied logits V*d (no bias); classifier d*C + C; pooler d*d + d.
//
// FLOPs (a multiply-add is 2) per token:
//  * 2 x the matrix-product parameters a token goes through: q/k/v/o and MLP
//    weights of every layer and the logits projection (tied or not). Biases,
//    norms, activations, softmax and embedding lookups are not counted.
//  * attention: 4*H*hd*c per layer (QK^T and PV), c = keys the query sees.
//    c comes from the token groups and patterns: a query sees the key groups
//    of its pattern, limited by the pattern mask (causal j <= i, sliding
//    window 0 <= i - j < W) and by the layer's window (|i - j| < W); cache
//    groups are visible to every query and hold seqLen keys.
//  * prefill: the attention term averaged over the seqLen input positions
//    (for a plain causal decoder c averages (L + 1) / 2: positions 1..L).
//    What runs once per sequence (patch embedding of the image groups,
//    classifier, pooler) is spread over those positions.
//  * decode: the query at the last input position (c = L for a plain causal
//    decoder, min(W, L) on a local layer); nothing once-per-sequence.
//  * sequence layout for seqLen L: fixed groups keep their size, `dynamic`
//    groups share L minus the fixed sizes (evenly, earlier groups take the
//    remainder), positions count the input groups in `tokens` order.
//
// Memory: weights = parameters x bytes(dtype). KV cache = sum over layers of
// 2 (K and V) x K x hd x bytes(dtype) x batch x length, with length =
// cacheLen, or min(W, cacheLen) on a layer that only ever sees W keys (a
// local layer, or every pattern a sliding window: the largest pattern window).
//
//===----------------------------------------------------------------------===//

#include "attnc/Schema/Stats.h"

#include <algorithm>
#include <map>
#include <set>

namespace attnc {

namespace {

int64_t normSize(const NormConfig &n, int64_t d) {
  return n.kind == NormKind::Layer && n.bias ? 2 * d : d;
}

/// Counts, for a query at input position i, the keys it sees.
class KeyCounter {
public:
  KeyCounter(const ModelConfig &c, int64_t seqLen)
      : c_(c), spans_(layoutGroups(c, seqLen)) {
    for (const GroupSpan &s : spans_)
      if (!s.cache)
        inputLen_ = std::max(inputLen_, s.begin + s.length);
  }

  int64_t inputLength() const { return inputLen_; }

  int64_t keysSeen(int64_t i, std::optional<int64_t> layerWindow) const {
    const GroupSpan *query = nullptr;
    for (const GroupSpan &s : spans_)
      if (!s.cache && i >= s.begin && i < s.begin + s.length)
        query = &s;
    if (!query)
      return 0;
    const AttentionPattern *pattern = nullptr;
    for (const AttentionPattern &p : c_.patterns)
      if (std::count(p.queryTokens.begin(), p.queryTokens.end(), query->name))
        pattern = &p;
    if (!pattern)
      return 0;
    int64_t count = 0;
    std::set<std::string> seen;
    for (const std::string &name : pattern->keyValueTokens) {
      if (!seen.insert(name).second)
        continue;
      for (const GroupSpan &k : spans_) {
        if (k.name != name)
          continue;
        if (k.cache) {
          count += k.length;
          continue;
        }
        int64_t lo = k.begin, hi = k.begin + k.length; // [lo, hi)
        if (pattern->mask != MaskKind::Full)
          hi = std::min(hi, i + 1);
        if (pattern->mask == MaskKind::SlidingWindow && pattern->window)
          lo = std::max(lo, i - *pattern->window + 1);
        if (layerWindow) {
          lo = std::max(lo, i - *layerWindow + 1);
          hi = std::min(hi, i + *layerWindow);
        }
        count += std::max<int64_t>(0, hi - lo);
      }
    }
    return count;
  }

private:
  const ModelConfig &c_;
  std::vector<GroupSpan> spans_;
  int64_t inputLen_ = 0;
};

/// Weights of the matrix products one token goes through, per layer.
int64_t layerMatmulParams(const ModelConfig &c) {
  const AttentionConfig &a = c.attention;
  int64_t d = a.hiddenDim, q = a.numHeads * a.headDim,
          kv = a.numKvHeads * a.headDim;
  int64_t mlp = (c.mlp.kind == MlpKind::Gated ? 3 : 2) * d * c.mlp.hiddenDim;
  return d * q + 2 * d * kv + q * d + mlp;
}

} // namespace

std::vector<GroupSpan> layoutGroups(const ModelConfig &c, int64_t seqLen) {
  int64_t fixed = 0, dynamicCount = 0;
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache())
      continue;
    if (t.dynamic)
      ++dynamicCount;
    else if (t.size)
      fixed += *t.size;
  }
  int64_t spare = std::max<int64_t>(0, seqLen - fixed);
  std::vector<GroupSpan> spans;
  int64_t position = 0, dynamicIndex = 0;
  for (const TokenSpec &t : c.tokens) {
    GroupSpan s;
    s.name = t.name;
    s.input = t.input;
    if (t.fromCache()) {
      s.cache = true;
      s.length = seqLen;
    } else {
      if (t.dynamic) {
        s.length = spare / dynamicCount +
                   (dynamicIndex < spare % dynamicCount ? 1 : 0);
        ++dynamicIndex;
      } else {
        s.length = t.size.value_or(0);
      }
      s.begin = position;
      position += s.length;
    }
    spans.push_back(s);
  }
  return spans;
}


ParamCounts countParameters(const ModelConfig &c) {
  ParamCounts out;
  const AttentionConfig &a = c.attention;
  const int64_t d = a.hiddenDim;
  const int64_t vocab = c.vocabSize.value_or(0);
  const int64_t norm = normSize(c.norm, d);
  auto add = [&out](std::string name, int64_t count, int64_t &category) {
    if (count == 0)
      return;
    out.groups.push_back({std::move(name), count});
    category += count;
  };

  // Embeddings.
  bool tiedHead = c.embedding.tiedOutput && c.output.kind == OutputKind::Logits;
  if (c.hasInput(TokenInput::Tokens) || tiedHead)
    add("token embedding", vocab * d, out.embedding);
  add("token type embedding", c.embedding.tokenTypes * d, out.embedding);
  if (c.embedding.norm)
    add("embedding norm", norm, out.norms);
  if (c.position.kind == PositionKind::Learned)
    add("position embedding", c.position.size * d, out.embedding);
  if (c.patchEmbedding && c.hasInput(TokenInput::Image)) {
    const PatchEmbeddingConfig &pe = *c.patchEmbedding;
    add("patch embedding",
        pe.channels * pe.patchSize * pe.patchSize * d + (pe.bias ? d : 0),
        out.embedding);
  }
  for (const TokenSpec &t : c.tokens)
    if (t.input == TokenInput::Learned)
      add("learned tokens '" + t.name + "'", t.size.value_or(0) * d,
          out.embedding);

  // Layers: every layer has the same weights; only windows and RoPE differ.
  const int64_t q = a.numHeads * a.headDim, kv = a.numKvHeads * a.headDim;
  int64_t attention = d * q + 2 * d * kv + q * d;
  if (a.bias)
    attention += q + 2 * kv + d;
  const int64_t f = c.mlp.hiddenDim;
  int64_t mlp = c.mlp.kind == MlpKind::Gated ? 3 * d * f : 2 * d * f;
  if (c.mlp.bias)
    mlp += (c.mlp.kind == MlpKind::Gated ? 2 * f : f) + d;
  int64_t norms = 2 * norm;
  norms += (c.block.postAttentionNorm ? norm : 0) +
           (c.block.postMlpNorm ? norm : 0);
  if (a.qkNorm)
    norms += 2 * a.headDim;
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string prefix = "layer " + std::to_string(i) + " ";
    add(prefix + "attention", attention, out.attention);
    add(prefix + "mlp", mlp, out.mlp);
    add(prefix + "norms", norms, out.norms);
  }

  // Final norm and head.
  if (c.finalNorm)
    add("final norm", norm, out.norms);
  if (c.output.kind == OutputKind::Logits && !tiedHead)
    add("output projection", vocab * d, out.head);
  if (c.output.kind == OutputKind::Classifier)
    add("classifier", d * c.output.numClasses + c.output.numClasses, out.head);
  if (c.output.pooler)
    add("pooler", d * d + d, out.head);

  out.total = out.embedding + out.attention + out.mlp + out.norms + out.head;
  return out;
}

FlopCounts countFlops(const ModelConfig &c, int64_t seqLen) {
  FlopCounts out;
  const AttentionConfig &a = c.attention;
  const int64_t d = a.hiddenDim;
  double matmul = double(c.numLayers) * double(layerMatmulParams(c));
  if (c.output.kind == OutputKind::Logits)
    matmul += double(c.vocabSize.value_or(0)) * double(d);
  out.prefillPerToken = out.decodePerToken = 2.0 * matmul;

  KeyCounter keys(c, std::max<int64_t>(seqLen, 1));
  const int64_t length = keys.inputLength();
  if (length == 0)
    return out;

  // Keys seen, summed over all queries (prefill) and for the last query
  // (decode); layers with the same window share the count.
  std::map<std::optional<int64_t>, std::pair<double, double>> byWindow;
  const double perKey = 4.0 * double(a.numHeads) * double(a.headDim);
  for (const LayerSettings &layer : c.layers) {
    auto [it, inserted] = byWindow.try_emplace(layer.window);
    if (inserted) {
      double sum = 0;
      for (int64_t i = 0; i < length; ++i)
        sum += double(keys.keysSeen(i, layer.window));
      it->second = {sum, double(keys.keysSeen(length - 1, layer.window))};
    }
    out.prefillPerToken += perKey * it->second.first / double(length);
    out.decodePerToken += perKey * it->second.second;
  }

  // Once per sequence, spread over the prefill.
  double once = 0;
  if (c.patchEmbedding) {
    const PatchEmbeddingConfig &pe = *c.patchEmbedding;
    double perPatch = double(pe.channels * pe.patchSize * pe.patchSize * d);
    for (const TokenSpec &t : c.tokens)
      if (t.input == TokenInput::Image)
        once += 2.0 * perPatch * double(t.size.value_or(0));
  }
  if (c.output.kind == OutputKind::Classifier)
    once += 2.0 * double(d) * double(c.output.numClasses);
  if (c.output.pooler)
    once += 2.0 * double(d) * double(d);
  out.prefillPerToken += once / double(length);
  return out;
}

MemoryEstimate estimateMemory(const ModelConfig &c, int64_t batch,
                              int64_t cacheLen) {
  MemoryEstimate out;
  const int64_t bytes = byteSize(c.dtype);
  out.weightBytes = countParameters(c).total * bytes;

  // A pattern window bounds the cache only when every pattern has one.
  std::optional<int64_t> patternWindow;
  bool allWindowed = !c.patterns.empty();
  for (const AttentionPattern &p : c.patterns) {
    if (p.mask != MaskKind::SlidingWindow || !p.window) {
      allWindowed = false;
      break;
    }
    patternWindow = std::max(patternWindow.value_or(0), *p.window);
  }
  if (!allWindowed)
    patternWindow.reset();

  const int64_t perPosition = 2 * c.attention.numKvHeads *
                              c.attention.headDim * bytes * batch;
  for (const LayerSettings &layer : c.layers) {
    int64_t length = cacheLen;
    if (layer.window)
      length = std::min(length, *layer.window);
    if (patternWindow)
      length = std::min(length, *patternWindow);
    out.kvCacheBytes += perPosition * length;
  }
  return out;
}

} // namespace attnc
