//===- ImportIncremental.cpp - prefill / decode entry points --------------===//
//
// ImportOptions::incremental: instead of `forward`, two entry points that run
// a decoder against KV caches the caller owns and that they update in place
// (compiler/docs/entry-points.md, "@prefill and @decode"):
//
//   prefill  tokens.<g> [B, n] i32, positions [B, n] i32,
//            cache_positions [B, L] i32 (slot positions after this call's
//            tokens are written; -1 = empty or padding), cache_mask
//            [B, n, L] i8 (1 = may attend), per ring window W
//            ring_positions.<W> [B, R] i32 and ring_mask.<W> [B, n, R] i8,
//            end_index [1] i32 (tokens written before this call), per layer
//            cache.layers.<i>.k / .v memref [B, K, L or R, hd] (written in
//            place), then the weights. Returns logits [B, 1, V]
//            (return_last_only; [B, n, V] without), nothing else.
//   decode   the same with n = 1.
//
// Caches: bufferization.to_tensor restrict writable of the memref,
// attn.kv_append of the step's post-RoPE keys and values, the sdpa, then
// bufferization.materialize_in_destination back into the same memref:
// bufferization writes the step's slots in place and copies nothing else.
// A layer with a window W (and no cache group in the config) keeps a ring
// (attnc.window = W on its cache arguments): token t goes to slot t mod R,
// R the cache's dim 2 (the runtime makes it min(L, W + C - 1) and splits
// prefills into steps of at most C tokens); a step that wraps writes its
// first R - (end mod R) tokens at the end of the ring, the rest at 0.
//
// Masks: each sdpa compares positions (positions vs the slot positions; a
// negative key position is never attended) under the mask kind full, or
// local W on a layer with a window, AND-ed with the runtime's mask for the
// slots (`allowed`): the pattern's causal / sliding-window mask by position
// when the caller gives none, or the caller's attention_mask, which
// replaces it (gemma semantics).
//
// A cache group (size null; at most one) has no K/V arguments of its own:
// the runtime writes its keys and values into the first slots of the cache
// (attnc_decoder_set_cache_group) and passes their number as cache_prefix
// [1] i32, the sdpa's unmasked_prefix: visible whatever the window and
// positions say, without ALiBi bias (the reference's cache-group
// semantics).
//
// A leading image group (fixed size N, samples/multimodal.yaml) is an input
// of `prefill` only (image.<g> [B, H, W, C] before the tokens; positions
// [B, N + n]): its tokens go through the patch embedding into slots [0, N)
// of the first prefill; the runtime's default mask lets every valid query
// see them (the image's full pattern; the text's causal pattern over image
// and text).
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "attnc/Schema/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"

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

bool Importer::hasCacheGroup() const {
  return llvm::any_of(c.tokens, [](const TokenSpec &t) { return t.fromCache(); });
}

std::optional<int64_t> Importer::ringWindow(int64_t layer) const {
  // Rings need the token number <-> slot map of an uncached session: a
  // cache group in the first slots keeps full-length caches.
  if (hasCacheGroup())
    return std::nullopt;
  return c.layers[size_t(layer)].window;
}

std::vector<int64_t> Importer::ringWindows() const {
  std::vector<int64_t> windows;
  for (int64_t i = 0; i < c.numLayers; ++i)
    if (std::optional<int64_t> w = ringWindow(i);
        w && !llvm::is_contained(windows, *w))
      windows.push_back(*w);
  llvm::sort(windows);
  return windows;
}

std::vector<Port> Importer::incrementalSignature(int64_t n) {
  std::vector<Port> ports;
  Type i32 = b.getI32Type(), i8 = b.getI8Type();
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
  ports.push_back({"cache_mask", tensor({kDyn, n, kDyn}, i8)});
  for (int64_t w : ringWindows()) {
    std::string suffix = "." + std::to_string(w);
    ports.push_back({"ring_positions" + suffix, tensor({kDyn, kDyn}, i32)});
    ports.push_back({"ring_mask" + suffix, tensor({kDyn, n, kDyn}, i8)});
  }
  ports.push_back({"end_index", tensor({1}, i32)});
  if (hasCacheGroup())
    ports.push_back({"cache_prefix", tensor({1}, i32)});
  // The caches are buffers the entry point updates in place.
  Type cacheType = MemRefType::get({kDyn, kvHeads, kDyn, headDim}, cacheEt);
  for (int64_t i = 0; i < c.numLayers; ++i)
    for (const char *kv : {".k", ".v"})
      ports.push_back({"cache.layers." + std::to_string(i) + kv, cacheType,
                       /*weight=*/false, ringWindow(i).value_or(0)});
  for (const WeightSpec &w : weightTable(c))
    ports.push_back({w.name, tensor(w.shape), /*weight=*/true});
  return ports;
}

/// An i8 mask [B, n, S] as i1 (nonzero = attend).
static Value toBool(OpBuilder &b, Location where, Value mask) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, where, mask);
  Value init = tensor::EmptyOp::create(b, where, sizes, b.getI1Type());
  AffineMap id = b.getMultiDimIdentityMap(3);
  SmallVector<utils::IteratorType> iterators(3, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, where, TypeRange{init.getType()}, ValueRange{mask},
             ValueRange{init}, ArrayRef<AffineMap>{id, id}, iterators,
             [](OpBuilder &nb, Location l, ValueRange a) {
               Value zero = arith::ConstantOp::create(
                   nb, l, nb.getIntegerAttr(nb.getI8Type(), 0));
               Value ne = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::ne, a[0], zero);
               linalg::YieldOp::create(nb, l, ne);
             })
      .getResult(0);
}

void Importer::setUpIncremental(Location where) {
  Value zero = arith::ConstantIndexOp::create(b, where, 0);
  Value end = tensor::ExtractOp::create(b, where, args.lookup("end_index"),
                                        ValueRange{zero});
  endIndex = arith::IndexCastOp::create(b, where, b.getIndexType(), end);
  unmaskedPrefix = Value();
  if (Value prefix = args.lookup("cache_prefix")) {
    Value n = tensor::ExtractOp::create(b, where, prefix, ValueRange{zero});
    unmaskedPrefix = arith::IndexCastOp::create(b, where, b.getIndexType(), n);
  }
  Value fullMask = toBool(b, where, args.lookup("cache_mask"));
  llvm::DenseMap<int64_t, Value> ringMasks;
  for (int64_t w : ringWindows())
    ringMasks[w] = toBool(b, where,
                          args.lookup("ring_mask." + std::to_string(w)));
  kvCaches.clear();
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "cache.layers." + std::to_string(i);
    CachedKV kv;
    kv.kBuffer = args.lookup(p + ".k");
    kv.vBuffer = args.lookup(p + ".v");
    RankedTensorType type = tensor({kDyn, kvHeads, kDyn, headDim}, cacheEt);
    kv.k = bufferization::ToTensorOp::create(b, where, type, kv.kBuffer,
                                             /*restrict=*/true,
                                             /*writable=*/true);
    kv.v = bufferization::ToTensorOp::create(b, where, type, kv.vBuffer,
                                             /*restrict=*/true,
                                             /*writable=*/true);
    if (std::optional<int64_t> w = ringWindow(i)) {
      kv.slotPositions = args.lookup("ring_positions." + std::to_string(*w));
      kv.allowed = ringMasks[*w];
    } else {
      kv.slotPositions = args.lookup("cache_positions");
      kv.allowed = fullMask;
    }
    kvCaches.push_back(kv);
  }
}

Value Importer::convert(Value x, Type to, Location where) {
  auto type = cast<RankedTensorType>(x.getType());
  Type from = type.getElementType();
  if (from == to)
    return x;
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, where, x);
  Value init = tensor::EmptyOp::create(b, where, sizes, to);
  AffineMap id = b.getMultiDimIdentityMap(unsigned(rank));
  SmallVector<utils::IteratorType> iterators(size_t(rank),
                                             utils::IteratorType::parallel);
  unsigned fromBits = from.getIntOrFloatBitWidth(),
           toBits = to.getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, where, TypeRange{init.getType()}, ValueRange{x},
             ValueRange{init}, ArrayRef<AffineMap>{id, id}, iterators,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value y = a[0];
               if (fromBits == toBits) // bf16 <-> f16 through f32
                 y = arith::ExtFOp::create(nb, l, nb.getF32Type(), y);
               if (fromBits < toBits)
                 y = arith::ExtFOp::create(nb, l, to, y);
               else
                 y = arith::TruncFOp::create(nb, l, to, y);
               linalg::YieldOp::create(nb, l, y);
             })
      .getResult(0);
}

Value Importer::append(Value update, Value cache, bool ring, Location where) {
  update = convert(update, cacheEt, where);
  if (!ring)
    return attn::KVAppendOp::create(b, where, cache.getType(), update, cache,
                                    endIndex);
  // A ring: token t goes to slot t mod R. A prefill step may wrap around:
  // its first min(n, R - slot) tokens go to [slot, R), the rest to [0, ...).
  Value two = arith::ConstantIndexOp::create(b, where, 2);
  Value capacity = tensor::DimOp::create(b, where, cache, two);
  Value slot = arith::RemUIOp::create(b, where, endIndex, capacity);
  if (seqLen == 1)
    return attn::KVAppendOp::create(b, where, cache.getType(), update, cache,
                                    slot);
  Value n = tensor::DimOp::create(b, where, update, two);
  Value room = arith::SubIOp::create(b, where, capacity, slot);
  Value first = arith::MinUIOp::create(b, where, n, room);
  Value rest = arith::SubIOp::create(b, where, n, first);
  auto type = cast<RankedTensorType>(update.getType());
  auto piece = [&](Value from, Value size) -> Value {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         from, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {
        tensor::getMixedSize(b, where, update, 0), b.getIndexAttr(kvHeads),
        size, b.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
        b, where, tensor({kDyn, kvHeads, kDyn, headDim},
                         type.getElementType()),
        update, offsets, sizes, strides);
  };
  Value zero = arith::ConstantIndexOp::create(b, where, 0);
  Value c1 = attn::KVAppendOp::create(b, where, cache.getType(),
                                      piece(zero, first), cache, slot);
  return attn::KVAppendOp::create(b, where, cache.getType(),
                                  piece(first, rest), c1, zero);
}

Value Importer::cachedAttention(int64_t layer, Value q, Value k, Value v,
                                Location where, FloatAttr softcap,
                                DenseF64ArrayAttr slopes) {
  const CachedKV &kv = kvCaches[size_t(layer)];
  Value kc = append(k, kv.k, ringWindow(layer).has_value(), where);
  Value vc = append(v, kv.v, ringWindow(layer).has_value(), where);
  // Slots at or past end + n hold no token yet (empty: the runtime's mask
  // never allows them), so attention reads only the first min(R, end + n)
  // slots: a short context in a long cache costs what it attends to, not
  // the cache's length. The slices are views of the caches (no copy).
  Value two = arith::ConstantIndexOp::create(b, where, 2);
  Value filled = arith::MinUIOp::create(
      b, where, tensor::DimOp::create(b, where, kc, two),
      arith::AddIOp::create(b, where, endIndex,
                            tensor::DimOp::create(b, where, q, two)));
  auto filledSlots = [&](Value t, unsigned slotDim) -> Value {
    auto type = cast<RankedTensorType>(t.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, where, t);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    sizes[slotDim] = filled;
    SmallVector<int64_t> shape(type.getShape());
    shape[slotDim] = kDyn;
    return tensor::ExtractSliceOp::create(
        b, where, RankedTensorType::get(shape, type.getElementType()), t,
        offsets, sizes, strides);
  };
  Value slotPositions = filledSlots(kv.slotPositions, 1);
  Value allowed = filledSlots(kv.allowed, 2);
  Value alibiQ, alibiK;
  if (slopes) {
    alibiQ = positions;
    alibiK = slotPositions;
  }
  // The runtime's mask replaces the pattern's (it holds the pattern's mask
  // when the caller gives none); the layer's window applies on top.
  std::optional<int64_t> window = c.layers[size_t(layer)].window;
  auto mask = window ? attn::MaskAttr::get(&ctx, attn::MaskKind::Local, *window)
                     : attn::MaskAttr::get(&ctx, attn::MaskKind::Full);
  // A cache of a narrower float (bf16 in an f32 model) goes to attn.sdpa
  // as it is: the lowering extends it tile by tile (flash) or as it reads
  // it. A wider cache is read back in the model's dtype (a full pass over
  // the cache per step; only with --cache-dtype).
  auto kvOperand = [&](Value cache) {
    Type cacheEt = cast<RankedTensorType>(cache.getType()).getElementType();
    if (cacheEt.getIntOrFloatBitWidth() < et.getIntOrFloatBitWidth())
      return cache;
    return convert(cache, et, where);
  };
  Value o = attn::SdpaOp::create(
      b, where, q.getType(), q, kvOperand(filledSlots(kc, 2)),
      kvOperand(filledSlots(vc, 2)), positions, slotPositions, allowed,
      unmaskedPrefix, alibiQ, alibiK, mask,
      b.getF64FloatAttr(c.attention.queryScale), softcap, slopes);
  // The updated caches go back into the caller's buffers: in place (the
  // kv_append writes the step's slots of the buffer; this copy folds away).
  bufferization::MaterializeInDestinationOp::create(
      b, where, TypeRange{}, kc, kv.kBuffer, /*restrict=*/true,
      /*writable=*/true);
  bufferization::MaterializeInDestinationOp::create(
      b, where, TypeRange{}, vc, kv.vBuffer, /*restrict=*/true,
      /*writable=*/true);
  return o;
}
