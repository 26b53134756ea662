//===- ImportIncremental.cpp - prefill / decode entry points --------------===//
//
// ImportOptions::incremental: instead of `forward`, two entry points that run
// a decoder against a KV cache the caller owns (destination passing: the
// caches come in and the updated caches come back):
//
//   prefill  tokens.<g> [B, n] i32, positions [B, n] i32,
//            cache_positions [B, L] i32 (slot positions after this call's
//            tokens are written; -1 = empty or padding), end_index [1] i32
//            (the slot of this call's first token), per layer
//            cache.layers.<i>.k / .v [B, K, L, hd], then the weights.
//            Returns logits [B, 1, V] (return_last_only; [B, n, V] without)
//            and layers.<i>.k / .v [B, K, L, hd], the updated caches.
//   decode   the same with n = 1.
//
// A cache group (size null; at most one) has no K/V arguments of its own:
// the runtime writes its keys and values into the first slots of the cache
// (attnc_decoder_set_cache_group) and passes their number as cache_prefix
// [1] i32, the sdpa's unmasked_prefix: visible to every query whatever the
// mask, window and positions say, without ALiBi bias (the reference's
// cache-group semantics).
//
// A leading image group (fixed size N, samples/multimodal.yaml) is an input
// of `prefill` only (image.<g> [B, H, W, C] before the tokens; positions
// [B, N + n]): its tokens go through the patch embedding into slots [0, N)
// of the first prefill, and every sdpa gets unmasked_prefix(N): the image
// tokens see the whole image (its full pattern) and no text (causal by
// position), the text sees the image and, causally, the text.
//
// Per layer: attn.kv_append of the new (post-RoPE) keys and values at the
// end index, then attn.sdpa over the whole cache with the pattern's mask by
// position (causal: key position <= query position; the layer's window:
// query - key < W; a negative key position is never attended). Local layers
// keep full-length caches (the window is applied by position, so results
// are those of a ring buffer of the window).
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "attnc/Schema/Weights.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::import;

static constexpr int64_t kDyn = ShapedType::kDynamic;

bool Importer::checkIncremental() {
  const TokenSpec *input = nullptr, *cache = nullptr, *image = nullptr;
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache() && !cache) {
      cache = &t;
      continue;
    }
    if (t.input == TokenInput::Image && !image && !input && !cache &&
        c.patchEmbedding) {
      image = &t;
      continue;
    }
    if (t.input != TokenInput::Tokens || !t.dynamic || input) {
      unsupported(t.loc, "tokens." + t.name,
                  "prefill/decode need exactly one token group, with input "
                  "tokens and a dynamic size (a text decoder), and at most "
                  "one cache group or one leading image group");
      return false;
    }
    input = &t;
  }
  if (!input) {
    unsupported(c.loc, "tokens",
                "prefill/decode need one dynamic group with input tokens");
    return false;
  }
  if (image && cache) {
    unsupported(image->loc, "tokens." + image->name,
                "prefill/decode do not support an image group together "
                "with a cache group");
    return false;
  }
  textPattern = nullptr;
  const AttentionPattern *imagePattern = nullptr;
  for (const AttentionPattern &pat : c.patterns) {
    if (llvm::is_contained(pat.queryTokens, input->name))
      textPattern = &pat;
    if (image && llvm::is_contained(pat.queryTokens, image->name))
      imagePattern = &pat;
  }
  size_t expected = image ? 2 : 1;
  if (c.patterns.size() != expected || !textPattern ||
      textPattern->mask == MaskKind::Full ||
      (image && textPattern == imagePattern)) {
    unsupported(c.patterns.empty() ? c.loc : c.patterns.front().loc,
                "patterns",
                "prefill/decode need one causal or sliding-window pattern" +
                    std::string(image ? " for the text and one full pattern "
                                        "for the image"
                                      : ""));
    return false;
  }
  if (cache && !llvm::is_contained(textPattern->keyValueTokens,
                                   cache->name)) {
    unsupported(textPattern->loc, "attention_patterns",
                "prefill/decode with the cache group '" + cache->name +
                    "' need the pattern to list it in key_value_tokens");
    return false;
  }
  imageTokens = 0;
  if (image) {
    // The image takes slots [0, N) of the first prefill and is an unmasked
    // prefix: it sees itself whole, the text sees it whole; exact only when
    // the image pattern is full over the image alone and the text's pattern
    // is causal over image and text, without windows or ALiBi.
    bool ok = imagePattern->mask == MaskKind::Full &&
              imagePattern->keyValueTokens ==
                  std::vector<std::string>{image->name} &&
              textPattern->mask == MaskKind::Causal &&
              llvm::is_contained(textPattern->keyValueTokens, image->name) &&
              c.position.kind != PositionKind::Alibi &&
              llvm::none_of(c.layers, [](const LayerSettings &l) {
                return l.window.has_value();
              });
    if (!ok) {
      unsupported(imagePattern->loc, "attention_patterns",
                  "prefill/decode with the image group '" + image->name +
                      "' need a full pattern over the image alone and a "
                      "causal pattern for the text over image and text, "
                      "without layer windows or ALiBi");
      return false;
    }
    imageTokens = c.patchEmbedding->numPatches();
  }
  if (c.output.kind != OutputKind::Logits) {
    unsupported(c.output.loc, "output",
                "prefill/decode need output.kind: logits");
    return false;
  }
  if (c.embedding.tokenTypes > 0) {
    unsupported(c.embedding.loc, "embedding.token_types",
                "prefill/decode do not take token types");
    return false;
  }
  return true;
}

std::vector<Port> Importer::incrementalSignature(int64_t n) {
  std::vector<Port> ports;
  Type i32 = b.getI32Type();
  for (const TokenSpec &t : c.tokens) {
    if (t.input == TokenInput::Image && n == kDyn) {
      // Only the prefill takes the image.
      const PatchEmbeddingConfig &pe = *c.patchEmbedding;
      ports.push_back({"image." + t.name,
                       tensor({kDyn, pe.imageHeight, pe.imageWidth,
                               pe.channels})});
    }
    if (t.input == TokenInput::Tokens)
      ports.push_back({"tokens." + t.name, tensor({kDyn, n}, i32)});
  }
  ports.push_back({"positions", tensor({kDyn, n}, i32)});
  ports.push_back({"cache_positions", tensor({kDyn, kDyn}, i32)});
  ports.push_back({"end_index", tensor({1}, i32)});
  if (llvm::any_of(c.tokens, [](const TokenSpec &t) { return t.fromCache(); }))
    ports.push_back({"cache_prefix", tensor({1}, i32)});
  for (int64_t i = 0; i < c.numLayers; ++i)
    for (const char *kv : {".k", ".v"})
      ports.push_back({"cache.layers." + std::to_string(i) + kv,
                       tensor({kDyn, kvHeads, kDyn, headDim})});
  for (const WeightSpec &w : weightTable(c))
    ports.push_back({w.name, tensor(w.shape), /*weight=*/true});
  return ports;
}
