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
  const TokenSpec *input = nullptr, *cache = nullptr;
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache() && !cache) {
      cache = &t;
      continue;
    }
    if (t.input == TokenInput::Image) {
      unsupported(t.loc, "tokens." + t.name,
                  "prefill/decode do not support image groups yet (compile "
                  "without --incremental for the full forward)");
      return false;
    }
    if (t.input != TokenInput::Tokens || !t.dynamic || input) {
      unsupported(t.loc, "tokens." + t.name,
                  "prefill/decode need exactly one token group, with input "
                  "tokens and a dynamic size (a text decoder), and at most "
                  "one cache group");
      return false;
    }
    input = &t;
  }
  if (!input) {
    unsupported(c.loc, "tokens",
                "prefill/decode need one dynamic group with input tokens");
    return false;
  }
  if (c.patterns.size() != 1 || c.patterns.front().mask == MaskKind::Full) {
    unsupported(c.patterns.empty() ? c.loc : c.patterns.front().loc,
                "patterns",
                "prefill/decode need one causal or sliding-window pattern");
    return false;
  }
  if (cache && !llvm::is_contained(c.patterns.front().keyValueTokens,
                                   cache->name)) {
    unsupported(c.patterns.front().loc, "attention_patterns",
                "prefill/decode with the cache group '" + cache->name +
                    "' need the pattern to list it in key_value_tokens");
    return false;
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
  for (const TokenSpec &t : c.tokens)
    if (!t.fromCache())
      ports.push_back({"tokens." + t.name, tensor({kDyn, n}, i32)});
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
