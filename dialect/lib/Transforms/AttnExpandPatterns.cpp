//===- AttnExpandPatterns.cpp - mixed_sdpa -> per-pattern sdpa ------------===//
//
// noether's MixedAttention, as a rewrite: token groups are contiguous slices
// of the sequence in declaration order; each attention pattern becomes one
// attn.sdpa on the concatenated slices of its groups; the outputs are cut
// back into groups and concatenated in sequence order. No dense block mask is
// built; masked patterns carry the tokens' positions (indices in the input
// sequence), and the keys of cache groups, which every query of the pattern
// sees, come first as the sdpa's unmasked prefix.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNEXPANDPATTERNS
#include "attnc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Where one token group sits.
struct GroupInfo {
  TokenGroupAttr attr;
  /// Declaration index.
  unsigned index = 0;
  /// Offset in the input sequence, which is also the position of the
  /// group's first token (unused for cache groups), and size.
  OpFoldResult offset, size;
  /// Keys and values of a cache group.
  Value keys, values;
};

/// Consecutive groups of one side of a pattern that sit next to each other
/// in declaration order, taken as one slice (input groups) or one cache
/// group on its own.
struct Run {
  GroupInfo *first, *last;
  OpFoldResult size;
  bool isCache() const { return first->attr.getFromCache(); }
};

/// A piece of the final output: the tokens of `run`, cut from a pattern's
/// output.
struct Piece {
  unsigned index;
  Value value;
};

struct ExpandMixedSdpa : OpRewritePattern<MixedSdpaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MixedSdpaOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();

    // Group layout as OpFoldResults, so that fully static layouts produce
    // static slices.
    SmallVector<GroupInfo> groups;
    int64_t staticTotal = 0;
    for (auto [index, attr] : llvm::enumerate(op.getGroups())) {
      auto group = cast<TokenGroupAttr>(attr);
      if (group.isStatic())
        staticTotal += group.getSize();
      GroupInfo info;
      info.attr = group;
      info.index = index;
      groups.push_back(info);
    }
    OpFoldResult seqLen = tensor::getMixedSize(rewriter, loc, q, 2);
    OpFoldResult inputOffset = rewriter.getIndexAttr(0);
    unsigned cacheIndex = 0;
    llvm::StringMap<GroupInfo *> byName;
    for (GroupInfo &g : groups) {
      byName[g.attr.getName()] = &g;
      if (g.attr.getFromCache()) {
        g.keys = op.getCachedKeys(cacheIndex);
        g.values = op.getCachedValues(cacheIndex);
        ++cacheIndex;
        g.size = tensor::getMixedSize(rewriter, loc, g.keys, 2);
      } else {
        if (g.attr.isDynamic()) {
          Value len = getValueOrCreateConstantIndexOp(rewriter, loc, seqLen);
          Value fixed =
              arith::ConstantIndexOp::create(rewriter, loc, staticTotal);
          g.size = arith::SubIOp::create(rewriter, loc, len, fixed).getResult();
        } else {
          g.size = rewriter.getIndexAttr(g.attr.getSize());
        }
        g.offset = inputOffset;
        inputOffset = add(rewriter, loc, inputOffset, g.size);
      }
    }

    GroupInfo *firstInput = nullptr, *lastInput = nullptr;
    for (GroupInfo &g : groups) {
      if (g.attr.getFromCache())
        continue;
      if (!firstInput)
        firstInput = &g;
      lastInput = &g;
    }

    // One sdpa per pattern.
    SmallVector<Piece> pieces;
    for (Attribute attr : op.getPatterns()) {
      auto pattern = cast<AttentionPatternAttr>(attr);
      SmallVector<Run> qRuns = runsOf(rewriter, loc, pattern.getQueries(),
                                      byName);
      SmallVector<Run> kvRuns = runsOf(rewriter, loc, pattern.getKeyValues(),
                                       byName);
      // Cache keys first: they are the unmasked prefix. (The softmax runs
      // over a set of keys, so their order does not matter otherwise.)
      SmallVector<Run> ordered;
      for (bool cacheFirst : {true, false})
        for (const Run &r : kvRuns)
          if (r.isCache() == cacheFirst)
            ordered.push_back(r);
      kvRuns = std::move(ordered);
      OpFoldResult prefixSize = rewriter.getIndexAttr(0);
      bool hasCache = false;
      for (const Run &r : kvRuns)
        if (r.isCache()) {
          hasCache = true;
          prefixSize = add(rewriter, loc, prefixSize, r.size);
        }
      // A run of every input group is the whole tensor, no slice needed.
      auto slice = [&](Value t, const Run &r) {
        if (r.first == firstInput && r.last == lastInput)
          return t;
        return sliceSeq(rewriter, loc, t, r.first->offset, r.size);
      };
      SmallVector<Value> qParts, kParts, vParts;
      for (Run &r : qRuns)
        qParts.push_back(slice(q, r));
      for (Run &r : kvRuns) {
        if (r.isCache()) {
          kParts.push_back(r.first->keys);
          vParts.push_back(r.first->values);
        } else {
          kParts.push_back(slice(k, r));
          vParts.push_back(slice(v, r));
        }
      }
      Value qCat = concatSeq(rewriter, loc, qParts, 2);
      Value kCat = concatSeq(rewriter, loc, kParts, 2);
      Value vCat = concatSeq(rewriter, loc, vParts, 2);

      // Positions only where the mask compares them and indices would not
      // say the same (queries and keys one and the same range).
      Value qPos, kPos, prefix;
      bool masked = !pattern.getMask().isFull();
      bool sameRange = qRuns.size() == 1 && kvRuns.size() == 1 &&
                       qRuns[0].first == kvRuns[0].first &&
                       qRuns[0].last == kvRuns[0].last;
      if (masked && !sameRange) {
        qPos = positionsOf(rewriter, loc, qRuns);
        kPos = positionsOf(rewriter, loc, kvRuns);
      }
      if ((masked || op.getAlibiPositions()) && hasCache)
        prefix = getValueOrCreateConstantIndexOp(rewriter, loc, prefixSize);
      // ALiBi positions of the same tokens (cache keys: 0, no bias).
      Value alibiQ, alibiK;
      if (Value alibi = op.getAlibiPositions()) {
        alibiQ = alibiOf(rewriter, loc, alibi, qRuns, firstInput, lastInput);
        alibiK = alibiOf(rewriter, loc, alibi, kvRuns, firstInput, lastInput);
      }

      auto qType = cast<RankedTensorType>(qCat.getType());
      auto vType = cast<RankedTensorType>(vCat.getType());
      SmallVector<int64_t> outShape(qType.getShape());
      outShape[3] = vType.getShape()[3];
      auto outType = RankedTensorType::get(outShape, qType.getElementType());
      Value out = SdpaOp::create(rewriter, loc, outType, qCat, kCat, vCat,
                                 qPos, kPos, /*allowed=*/Value(), prefix,
                                 alibiQ, alibiK, pattern.getMask(),
                                 op.getScaleAttr(), op.getSoftcapAttr(),
                                 op.getAlibiSlopesAttr());

      // Cut the output back into the query runs.
      OpFoldResult local = rewriter.getIndexAttr(0);
      for (Run &r : qRuns) {
        Value piece = qRuns.size() == 1
                          ? out
                          : sliceSeq(rewriter, loc, out, local, r.size);
        pieces.push_back({r.first->index, piece});
        local = add(rewriter, loc, local, r.size);
      }
    }

    // The pieces tile the input sequence; put them back in order.
    llvm::sort(pieces, [](const Piece &a, const Piece &b) {
      return a.index < b.index;
    });
    SmallVector<Value> outputs;
    for (Piece &p : pieces)
      outputs.push_back(p.value);
    Value result = concatSeq(rewriter, loc, outputs, 2);
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Groups named by `names`, merged into runs of declaration-order
  /// neighbours (cache groups stay alone).
  static SmallVector<Run> runsOf(OpBuilder &b, Location loc, ArrayAttr names,
                                 const llvm::StringMap<GroupInfo *> &byName) {
    SmallVector<Run> runs;
    for (Attribute name : names) {
      GroupInfo *g = byName.lookup(cast<StringAttr>(name).getValue());
      if (!runs.empty() && !runs.back().isCache() &&
          !g->attr.getFromCache() && runs.back().last + 1 == g) {
        runs.back().last = g;
        runs.back().size = add(b, loc, runs.back().size, g->size);
        continue;
      }
      runs.push_back({g, g, g->size});
    }
    return runs;
  }

  static OpFoldResult add(OpBuilder &b, Location loc, OpFoldResult x,
                          OpFoldResult y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    if (cx && cy)
      return b.getIndexAttr(*cx + *cy);
    if (cx && *cx == 0)
      return y;
    if (cy && *cy == 0)
      return x;
    return arith::AddIOp::create(b, loc,
                                 getValueOrCreateConstantIndexOp(b, loc, x),
                                 getValueOrCreateConstantIndexOp(b, loc, y))
        .getResult();
  }

  /// t[:, :, offset : offset + size, :]
  static Value sliceSeq(OpBuilder &b, Location loc, Value t,
                        OpFoldResult offset, OpFoldResult size) {
    SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    offsets[2] = offset;
    sizes[2] = size;
    return tensor::ExtractSliceOp::create(b, loc, t, offsets, sizes, strides);
  }

  static Value concatSeq(OpBuilder &b, Location loc, ArrayRef<Value> parts,
                         int64_t dim) {
    if (parts.size() == 1)
      return parts.front();
    return tensor::ConcatOp::create(b, loc, dim, parts);
  }

  /// The entries of `positions` ([B, S] or [S]) for the tokens of `runs`;
  /// cache runs get zeros.
  static Value alibiOf(OpBuilder &b, Location loc, Value positions,
                       ArrayRef<Run> runs, GroupInfo *firstInput,
                       GroupInfo *lastInput) {
    auto type = cast<RankedTensorType>(positions.getType());
    int64_t rank = type.getRank();
    SmallVector<Value> parts;
    for (const Run &r : runs) {
      if (!r.isCache() && r.first == firstInput && r.last == lastInput) {
        parts.push_back(positions);
        continue;
      }
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, positions);
      sizes.back() = r.size;
      if (r.isCache()) {
        SmallVector<int64_t> shape;
        SmallVector<Value> dynamic;
        for (OpFoldResult s : sizes) {
          std::optional<int64_t> c = getConstantIntValue(s);
          shape.push_back(c ? *c : ShapedType::kDynamic);
          if (!c)
            dynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, s));
        }
        Type et = type.getElementType();
        parts.push_back(tensor::GenerateOp::create(
            b, loc, RankedTensorType::get(shape, et), dynamic,
            [&](OpBuilder &nb, Location nloc, ValueRange) {
              Value zero = arith::ConstantOp::create(
                  nb, nloc, et, nb.getIntegerAttr(et, 0));
              tensor::YieldOp::create(nb, nloc, zero);
            }));
        continue;
      }
      SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
      offsets.back() = r.first->offset;
      SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
      parts.push_back(tensor::ExtractSliceOp::create(b, loc, positions,
                                                     offsets, sizes, strides));
    }
    return concatSeq(b, loc, parts, rank - 1);
  }

  /// Positions (index in the input sequence) of the tokens of `runs`, as a
  /// rank-1 i64 tensor. Cache keys have no position: they get 0, which the
  /// unmasked prefix makes irrelevant.
  static Value positionsOf(OpBuilder &b, Location loc, ArrayRef<Run> runs) {
    SmallVector<Value> parts;
    for (const Run &r : runs) {
      std::optional<int64_t> staticSize = getConstantIntValue(r.size);
      auto type = RankedTensorType::get(
          {staticSize ? *staticSize : ShapedType::kDynamic}, b.getI64Type());
      SmallVector<Value> dynamic;
      if (!staticSize)
        dynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      bool cache = r.isCache();
      Value start = cache ? Value()
                          : getValueOrCreateConstantIndexOp(b, loc,
                                                            r.first->offset);
      parts.push_back(tensor::GenerateOp::create(
          b, loc, type, dynamic,
          [&](OpBuilder &nb, Location nloc, ValueRange indices) {
            Value i64;
            if (cache) {
              i64 = arith::ConstantIntOp::create(nb, nloc, nb.getI64Type(), 0);
            } else {
              Value pos = arith::AddIOp::create(nb, nloc, indices[0], start);
              i64 = arith::IndexCastOp::create(nb, nloc, nb.getI64Type(), pos);
            }
            tensor::YieldOp::create(nb, nloc, i64);
          }));
    }
    return concatSeq(b, loc, parts, 0);
  }
};

struct AttnExpandPatternsPass
    : attn::impl::AttnExpandPatternsBase<AttnExpandPatternsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandPatternsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::attn::populateExpandPatternsPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandMixedSdpa>(patterns.getContext());
}
