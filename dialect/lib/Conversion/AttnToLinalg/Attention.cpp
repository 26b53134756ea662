//===- Attention.cpp - attention core, head layout and KV cache to linalg -===//
//
// attn.query_key, attn.weights_value, attn.repeat_kv, attn.split_heads,
// attn.merge_heads, attn.kv_append and attn.kv_read. (attn.sdpa and
// attn.mixed_sdpa reach linalg through their decomposition/expansion
// patterns; see ConvertAttnToLinalg.cpp.)
//
// Grouped-query attention never copies keys/values: the query heads are
// reshaped to [B, K, G, S, D] (head h = k * G + g, so h floordiv G = k) and
// the contractions index the kv head directly.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::lowering;

namespace {

/// Positions tensor [S] or [B, S] read from the 5-D logits space
/// (b, k, g, i, j) at sequence dim `seqDim`.
AffineMap positionsMap5(OpBuilder &b, Value positions, unsigned seqDim) {
  if (cast<RankedTensorType>(positions.getType()).getRank() == 1)
    return project(b, 5, {seqDim});
  return project(b, 5, {0, seqDim});
}

struct QueryKeyLowering : OpConversionPattern<QueryKeyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QueryKeyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = adaptor.getQuery(), k = adaptor.getKey();
    // Scores, logits and the softmax in f32 for narrow types (`ct`); the
    // weights are rounded to the result type `et` at the end.
    Type et = op.getType().getElementType();
    Type ct = accumulatorType(et);
    int64_t kvHeads = op.getKey().getType().getDimSize(1);
    Value q5 = groupHeads(rewriter, loc, q, kvHeads);
    // Narrow q/k extended once (exact): an all-f32 contraction, which the
    // CPU pipeline vectorizes.
    q5 = convertElements(rewriter, loc, q5, ct);
    k = convertElements(rewriter, loc, k, ct);

    // scores[b, k, g, i, j] = sum_d q[b, k, g, i, d] * key[b, k, j, d]
    SmallVector<OpFoldResult> sizes = sizesWithout(rewriter, loc, q5, 4);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, k, 2));
    Value acc = filled(rewriter, loc, sizes, ct, 0.0);
    SmallVector<AffineMap> maps = {project(rewriter, 6, {0, 1, 2, 3, 5}),
                                   project(rewriter, 6, {0, 1, 4, 5}),
                                   project(rewriter, 6, {0, 1, 2, 3, 4})};
    SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value scores =
        multiplyAccumulate(rewriter, loc, q5, k, acc, maps, iters);

    // logits = mask(softcap(scale * scores))
    SmallVector<Value> ins = {scores};
    SmallVector<AffineMap> inMaps = {identity(rewriter, 5)};
    Value qPos = adaptor.getQueryPositions(), kPos = adaptor.getKeyPositions();
    if (qPos) {
      ins.append({qPos, kPos});
      inMaps.append({positionsMap5(rewriter, qPos, 3),
                     positionsMap5(rewriter, kPos, 4)});
    }
    Value allowed = adaptor.getAllowed();
    if (allowed) {
      ins.push_back(allowed);
      inMaps.push_back(project(rewriter, 5, {0, 3, 4}));
    }
    Value prefix = adaptor.getUnmaskedPrefix();
    // ALiBi: positions of queries and keys, and the slopes as [K, G].
    Value alibiQ = adaptor.getAlibiQueryPositions();
    Value alibiK = adaptor.getAlibiKeyPositions();
    unsigned alibiIndex = ins.size();
    if (alibiQ) {
      int64_t group = op.getQuery().getType().getDimSize(1) / kvHeads;
      SmallVector<Attribute> slopes;
      for (double slope : op.getAlibiSlopesAttr().asArrayRef())
        slopes.push_back(rewriter.getFloatAttr(ct, slope));
      auto slopeType = RankedTensorType::get({kvHeads, group}, ct);
      Value slopeTable = arith::ConstantOp::create(
          rewriter, loc, slopeType, DenseElementsAttr::get(slopeType, slopes));
      ins.append({alibiQ, alibiK, slopeTable});
      inMaps.append({positionsMap5(rewriter, alibiQ, 3),
                     positionsMap5(rewriter, alibiK, 4),
                     project(rewriter, 5, {1, 2})});
    }
    LogitSpec spec{ct,
                   op.getScale().convertToDouble(),
                   op.getSoftcap() ? std::optional<APFloat>(*op.getSoftcap())
                                   : std::nullopt,
                   op.getMask(),
                   static_cast<bool>(qPos),
                   static_cast<bool>(allowed),
                   prefix,
                   static_cast<bool>(alibiQ)};
    MaskAttr mask = spec.mask;
    Value logits = mapGeneric(
        rewriter, loc, ins, inMaps, empty(rewriter, loc, sizes, ct),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          auto index = [&b, l](unsigned d) -> std::function<Value()> {
            return [&b, l, d]() -> Value {
              return linalg::IndexOp::create(b, l, d);
            };
          };
          auto arg = [a](unsigned i) -> std::function<Value()> {
            return [a, i]() { return a[i]; };
          };
          LogitOperands in{qPos ? arg(1) : index(3),
                           qPos ? arg(2) : index(4),
                           index(4),
                           arg(qPos ? 3 : 1),
                           arg(alibiIndex),
                           arg(alibiIndex + 1),
                           arg(alibiIndex + 2)};
          return attentionLogit(b, l, spec, a[0], in);
        });

    // softmax over j, max-subtracted.
    Value max = reduceLastDim(
        rewriter, loc, logits, -std::numeric_limits<double>::infinity(),
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MaximumFOp::create(b, l, a[0], a[1]);
        });
    AffineMap row = project(rewriter, 5, {0, 1, 2, 3});
    Value exps = mapGeneric(
        rewriter, loc, ValueRange{logits, max}, {identity(rewriter, 5), row},
        empty(rewriter, loc, sizes, ct),
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], a[1]));
        });
    Value sum = reduceLastDim(rewriter, loc, exps, 0.0,
                              [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                return arith::AddFOp::create(b, l, a[0], a[1]);
                              });
    // A query that sees no key at all (every logit masked, so the row max is
    // the masked value) gets zero weights, hence a zero output.
    bool anyMask = !mask.isFull() || qPos || allowed;
    Value weights = mapGeneric(
        rewriter, loc, ValueRange{exps, sum, max},
        {identity(rewriter, 5), row, row}, empty(rewriter, loc, sizes, et),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value w = arith::DivFOp::create(b, l, a[0], a[1]);
          if (!anyMask)
            return castFloat(b, l, w, et);
          Value none = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                             a[2], maskedLogit(b, l, ct));
          return castFloat(b, l,
                           arith::SelectOp::create(
                               b, l, none, floatConst(b, l, ct, 0.0), w),
                           et);
        });
    Value result = ungroupHeads(rewriter, loc, weights);
    return replaceWithCast(rewriter, op, result);
  }
};

/// out[b, k, g, i, e] = sum_j w[b, k, g, i, j] * v[b, k, j, e]
struct WeightsValueLowering : OpConversionPattern<WeightsValueOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WeightsValueOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value v = adaptor.getValue();
    Type et = op.getType().getElementType();
    int64_t kvHeads = op.getValue().getType().getDimSize(1);
    Value w5 = groupHeads(rewriter, loc, adaptor.getWeights(), kvHeads);
    SmallVector<OpFoldResult> sizes = sizesWithout(rewriter, loc, w5, 4);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, v, 3));
    SmallVector<AffineMap> maps = {project(rewriter, 6, {0, 1, 2, 3, 5}),
                                   project(rewriter, 6, {0, 1, 5, 4}),
                                   project(rewriter, 6, {0, 1, 2, 3, 4})};
    SmallVector<utils::IteratorType> iters(5, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value out = contract(rewriter, loc, w5, v, sizes, et, maps, iters);
    Value result = ungroupHeads(rewriter, loc, out);
    return replaceWithCast(rewriter, op, result);
  }
};

struct RepeatKVLowering : OpConversionPattern<RepeatKVOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RepeatKVOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    int64_t kvHeads = op.getX().getType().getDimSize(1);
    int64_t group = op.getType().getDimSize(1) / kvHeads;
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    sizes.insert(sizes.begin() + 2, rewriter.getIndexAttr(group));
    Value init = empty(rewriter, loc, sizes, op.getType().getElementType());
    Value b5 = linalg::BroadcastOp::create(rewriter, loc, x, init,
                                           ArrayRef<int64_t>{2})
                   .getResult()[0];
    Value result = ungroupHeads(rewriter, loc, b5);
    return replaceWithCast(rewriter, op, result);
  }
};

struct SplitHeadsLowering : OpConversionPattern<SplitHeadsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplitHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    RankedTensorType type = op.getType();
    int64_t heads = type.getDimSize(1);
    SmallVector<OpFoldResult> xs = tensor::getMixedSizes(rewriter, loc, x);
    OpFoldResult headDim;
    if (!type.isDynamicDim(3)) {
      headDim = rewriter.getIndexAttr(type.getDimSize(3));
    } else {
      Value e = getValueOrCreateConstantIndexOp(rewriter, loc, xs[2]);
      headDim = arith::DivUIOp::create(
                    rewriter, loc, e,
                    arith::ConstantIndexOp::create(rewriter, loc, heads))
                    .getResult();
    }
    // [B, S, H*D] -> [B, S, H, D] -> [B, H, S, D]
    auto xType = cast<RankedTensorType>(x.getType());
    auto expandedType = RankedTensorType::get(
        {xType.getDimSize(0), xType.getDimSize(1), heads, type.getDimSize(3)},
        type.getElementType());
    Value expanded = tensor::ExpandShapeOp::create(
        rewriter, loc, expandedType, x,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}},
        SmallVector<OpFoldResult>{xs[0], xs[1], rewriter.getIndexAttr(heads),
                                  headDim});
    Value init = empty(rewriter, loc,
                       {xs[0], rewriter.getIndexAttr(heads), xs[1], headDim},
                       type.getElementType());
    Value result = linalg::TransposeOp::create(rewriter, loc, expanded, init,
                                               ArrayRef<int64_t>{0, 2, 1, 3})
                       .getResult()[0];
    if (result.getType() != type)
      result = tensor::CastOp::create(rewriter, loc, type, result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MergeHeadsLowering : OpConversionPattern<MergeHeadsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MergeHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    SmallVector<OpFoldResult> xs = tensor::getMixedSizes(rewriter, loc, x);
    // [B, H, S, D] -> [B, S, H, D] -> [B, S, H*D]
    Value init = empty(rewriter, loc, {xs[0], xs[2], xs[1], xs[3]},
                       op.getType().getElementType());
    Value transposed = linalg::TransposeOp::create(rewriter, loc, x, init,
                                                   ArrayRef<int64_t>{0, 2, 1, 3})
                           .getResult()[0];
    Value result = tensor::CollapseShapeOp::create(
        rewriter, loc, transposed,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    return replaceWithCast(rewriter, op, result);
  }
};

struct KVAppendLowering : OpConversionPattern<KVAppendOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVAppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value update = adaptor.getUpdate();
    SmallVector<OpFoldResult> offsets(4, rewriter.getIndexAttr(0));
    offsets[2] = adaptor.getOffset();
    SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
    rewriter.replaceOpWithNewOp<tensor::InsertSliceOp>(
        op, update, adaptor.getCache(), offsets,
        tensor::getMixedSizes(rewriter, loc, update), strides);
    return success();
  }
};

struct KVReadLowering : OpConversionPattern<KVReadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVReadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value cache = adaptor.getCache();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, cache);
    int64_t len = op.getType().getDimSize(2);
    sizes[2] = ShapedType::isDynamic(len) ? OpFoldResult(adaptor.getLength())
                                          : rewriter.getIndexAttr(len);
    SmallVector<OpFoldResult> offsets(4, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(4, rewriter.getIndexAttr(1));
    Value result = tensor::ExtractSliceOp::create(rewriter, loc, cache, offsets,
                                                  sizes, strides);
    return replaceWithCast(rewriter, op, result);
  }
};

} // namespace

void mlir::attn::populateAttentionLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<QueryKeyLowering, WeightsValueLowering, RepeatKVLowering,
               SplitHeadsLowering, MergeHeadsLowering, KVAppendLowering,
               KVReadLowering>(patterns.getContext());
}
