//===- ImportLayer.cpp - one transformer block in the attn dialect --------===//
//
// Block structure (schema BlockConfig; gemma 5.3, BERT, GPT-NeoX):
//   pre_norm   h = x + PostAttnNorm?(Attn(AttnNorm(x)))
//              out = h + PostMlpNorm?(MLP(MlpNorm(h)))
//   post_norm  h = AttnNorm(x + PostAttnNorm?(Attn(x)))
//              out = MlpNorm(h + PostMlpNorm?(MLP(h)))
//   parallel   out = x + PostAttnNorm?(Attn(AttnNorm(x)))
//                  + PostMlpNorm?(MLP(MlpNorm(x)))
// Attention: q/k/v projections -> heads -> qk norm -> RoPE (the layer's
// base and scale) -> attn.mixed_sdpa over the config's token groups and
// patterns (the layer's window folded into each pattern's mask) -> merged
// heads -> output projection.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace attnc;
using namespace attnc::import;

static constexpr int64_t kDyn = ShapedType::kDynamic;

/// A pattern's mask on a layer with an optional window (schema
/// LayerSettings.window: |i - j| < W on top of the pattern's mask).
static attn::MaskAttr layerMask(MLIRContext *ctx, const AttentionPattern &p,
                                std::optional<int64_t> window) {
  switch (p.mask) {
  case MaskKind::Full:
    if (window)
      return attn::MaskAttr::get(ctx, attn::MaskKind::Local, *window);
    return attn::MaskAttr::get(ctx, attn::MaskKind::Full);
  case MaskKind::Causal:
    if (window)
      return attn::MaskAttr::get(ctx, attn::MaskKind::SlidingWindow, *window);
    return attn::MaskAttr::get(ctx, attn::MaskKind::Causal);
  case MaskKind::SlidingWindow: {
    int64_t w = p.window.value_or(1);
    if (window)
      w = std::min(w, *window);
    return attn::MaskAttr::get(ctx, attn::MaskKind::SlidingWindow, w);
  }
  }
  return attn::MaskAttr::get(ctx, attn::MaskKind::Full);
}

/// ALiBi slopes (Press et al. 2022), as the reference interpreter has them:
/// 2^(-8 (h + 1) / H) for H a power of two; otherwise those of the largest
/// power of two below H, then every other slope of twice that power.
static SmallVector<double> alibiSlopes(int64_t heads) {
  auto powerOfTwo = [](int64_t n) {
    SmallVector<double> s;
    for (int64_t h = 0; h < n; ++h)
      s.push_back(std::pow(2.0, -8.0 * double(h + 1) / double(n)));
    return s;
  };
  int64_t closest = 1;
  while (closest * 2 <= heads)
    closest *= 2;
  SmallVector<double> slopes = powerOfTwo(closest);
  if (closest < heads) {
    SmallVector<double> extra = powerOfTwo(2 * closest);
    for (int64_t i = 0; i < heads - closest; ++i)
      slopes.push_back(extra[size_t(2 * i)]);
  }
  return slopes;
}

static attn::Activation activationOf(Activation a) {
  switch (a) {
  case Activation::Gelu:
    return attn::Activation::Gelu;
  case Activation::GeluTanh:
    return attn::Activation::GeluTanh;
  case Activation::Relu:
    return attn::Activation::Relu;
  case Activation::Silu:
    return attn::Activation::Silu;
  }
  return attn::Activation::Gelu;
}

namespace {

/// One layer's pieces, sharing the builder state of the Importer.
class LayerBuilder {
public:
  LayerBuilder(Importer &im, int64_t index)
      : im(im), b(im.b), c(im.c), i(index),
        settings(c.layers[size_t(index)]),
        path("layers[" + std::to_string(index) + "]"),
        prefix("layers." + std::to_string(index) + ".") {}

  Value build(Value x) {
    Location blockLoc = im.loc(c.block.loc, path + ".block");
    auto residual = [&](Value r, Value branch) -> Value {
      return attn::ResidualAddOp::create(b, blockLoc, r.getType(), r, branch);
    };
    switch (c.block.structure) {
    case BlockStructure::PreNorm: {
      Value h = residual(x, postAttn(attention(norm(x, "attn_norm"))));
      return residual(h, postMlp(mlp(norm(h, "mlp_norm"))));
    }
    case BlockStructure::PostNorm: {
      Value h = norm(residual(x, postAttn(attention(x))), "attn_norm");
      return norm(residual(h, postMlp(mlp(h))), "mlp_norm");
    }
    case BlockStructure::Parallel: {
      Value a = postAttn(attention(norm(x, "attn_norm")));
      Value m = postMlp(mlp(norm(x, "mlp_norm")));
      return residual(residual(x, a), m);
    }
    }
    return x;
  }

private:
  Value norm(Value x, const std::string &name) {
    return im.norm(x, prefix + name, im.loc(c.norm.loc, path + "." + name));
  }
  Value postAttn(Value x) {
    return c.block.postAttentionNorm ? norm(x, "post_attn_norm") : x;
  }
  Value postMlp(Value x) {
    return c.block.postMlpNorm ? norm(x, "post_mlp_norm") : x;
  }

  Value attention(Value x) {
    const AttentionConfig &a = c.attention;
    Location attnLoc = im.loc(a.loc, path + ".attention");
    int64_t S = im.seqLen, H = im.heads, K = im.kvHeads, hd = im.headDim;
    std::string p = prefix + "attn.";
    Value q = im.linear(x, p + "q", H * hd, attnLoc);
    Value k = im.linear(x, p + "k", K * hd, attnLoc);
    Value v = im.linear(x, p + "v", K * hd, attnLoc);
    Value qh = attn::SplitHeadsOp::create(b, attnLoc, im.tensor({kDyn, H, S, hd}), q);
    Value kh = attn::SplitHeadsOp::create(b, attnLoc, im.tensor({kDyn, K, S, hd}), k);
    Value vh = attn::SplitHeadsOp::create(b, attnLoc, im.tensor({kDyn, K, S, hd}), v);
    if (a.qkNorm) {
      Location qkLoc = im.loc(a.loc, path + ".attention.qk_norm");
      qh = im.norm(qh, p + "q_norm", qkLoc, /*qkNorm=*/true);
      kh = im.norm(kh, p + "k_norm", qkLoc, /*qkNorm=*/true);
    }
    if (settings.useRope && c.position.ropeFraction > 0) {
      // Per-layer settings point at their `layers` entry when there is one.
      bool ownSettings = settings.loc.known() &&
                         settings.loc.pointer.rfind("/layers", 0) == 0;
      Location ropeLoc = im.loc(ownSettings ? settings.loc : c.position.loc,
                                path + ".rope");
      auto style = c.position.ropeStyle == RopeStyle::SplitHalf
                       ? attn::RopeStyle::SplitHalf
                       : attn::RopeStyle::Interleaved;
      auto rope = [&](Value t) -> Value {
        return attn::RopeOp::create(b, ropeLoc, t.getType(), style, t,
                                    im.positions, APFloat(settings.ropeBase),
                                    APFloat(c.position.ropeFraction),
                                    APFloat(settings.ropeScaleFactor));
      };
      qh = rope(qh);
      kh = rope(kh);
    }
    if (im.incremental) {
      Value o = cachedAttention(qh, kh, vh, attnLoc);
      Value merged = attn::MergeHeadsOp::create(
          b, attnLoc, im.tensor({kDyn, S, H * hd}), o);
      return im.linear(merged, p + "o", im.hidden, attnLoc);
    }
    im.layerKV.push_back({kh, vh});

    // Token groups and patterns, the layer's window folded into the masks.
    MLIRContext *ctx = b.getContext();
    SmallVector<Attribute> groups, patterns;
    for (const TokenSpec &t : c.tokens) {
      int64_t size = t.dynamic || !t.size ? kDyn : *t.size;
      if (t.input == TokenInput::Image && !t.size && c.patchEmbedding)
        size = c.patchEmbedding->numPatches();
      groups.push_back(attn::TokenGroupAttr::get(
          ctx, t.name, t.fromCache() ? kDyn : size, t.fromCache()));
    }
    auto names = [&](const std::vector<std::string> &list) {
      SmallVector<Attribute> attrs;
      for (const std::string &n : list)
        attrs.push_back(b.getStringAttr(n));
      return b.getArrayAttr(attrs);
    };
    for (const AttentionPattern &pat : c.patterns)
      patterns.push_back(attn::AttentionPatternAttr::get(
          ctx, names(pat.queryTokens), names(pat.keyValueTokens),
          layerMask(ctx, pat, settings.window)));
    SmallVector<Value> cached;
    for (auto [keys, values] : im.cacheArgs[size_t(i)]) {
      cached.push_back(keys);
      cached.push_back(values);
    }
    FloatAttr softcap;
    if (a.logitSoftcap)
      softcap = b.getF64FloatAttr(*a.logitSoftcap);
    Value alibi;
    DenseF64ArrayAttr slopes;
    if (c.position.kind == PositionKind::Alibi) {
      alibi = im.positions;
      slopes = b.getDenseF64ArrayAttr(alibiSlopes(H));
    }
    Value o = attn::MixedSdpaOp::create(
        b, attnLoc, im.tensor({kDyn, H, S, hd}), qh, kh, vh, cached, alibi,
        b.getArrayAttr(groups), b.getArrayAttr(patterns),
        b.getF64FloatAttr(a.queryScale), softcap, slopes);
    Value merged = attn::MergeHeadsOp::create(
        b, attnLoc, im.tensor({kDyn, S, H * hd}), o);
    return im.linear(merged, p + "o", im.hidden, attnLoc);
  }

  /// prefill/decode: see Importer::cachedAttention.
  Value cachedAttention(Value q, Value k, Value v, Location where) {
    const AttentionConfig &a = c.attention;
    FloatAttr softcap;
    if (a.logitSoftcap)
      softcap = b.getF64FloatAttr(*a.logitSoftcap);
    DenseF64ArrayAttr slopes;
    if (c.position.kind == PositionKind::Alibi)
      slopes = b.getDenseF64ArrayAttr(alibiSlopes(im.heads));
    return im.cachedAttention(i, q, k, v, where, softcap, slopes);
  }

  Value mlp(Value x) {
    const MlpConfig &m = c.mlp;
    Location mlpLoc = im.loc(m.loc, path + ".mlp");
    std::string p = prefix + "mlp.";
    attn::Activation act = activationOf(m.activation);
    if (m.kind == MlpKind::Gated)
      return attn::GatedMlpOp::create(
          b, mlpLoc, x.getType(), act, x, im.weight(p + "gate.weight"),
          im.weight(p + "up.weight"), im.weight(p + "down.weight"),
          im.weight(p + "gate.bias"), im.weight(p + "up.bias"),
          im.weight(p + "down.bias"));
    return attn::MlpOp::create(b, mlpLoc, x.getType(), act, x,
                               im.weight(p + "up.weight"),
                               im.weight(p + "down.weight"),
                               im.weight(p + "up.bias"),
                               im.weight(p + "down.bias"));
  }

  Importer &im;
  OpBuilder &b;
  const ModelConfig &c;
  int64_t i;
  const LayerSettings &settings;
  std::string path, prefix;
};

} // namespace

Value Importer::layer(int64_t index, Value x) {
  return LayerBuilder(*this, index).build(x);
}
