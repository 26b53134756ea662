//===- Embeddings.cpp - token/patch embeddings and positions to linalg ----===//
//
// attn.embed, attn.patch_embed, attn.sinusoidal_add,
// attn.learned_position_add and attn.rope.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::lowering;

namespace {

/// Map onto a positions tensor that is [seq] (rank 1) or [batch, seq]
/// (rank 2), from an iteration space where batch is dim `batchDim` and the
/// sequence dim `seqDim`.
AffineMap positionsMap(OpBuilder &b, Value positions, unsigned rank,
                       unsigned batchDim, unsigned seqDim) {
  if (cast<RankedTensorType>(positions.getType()).getRank() == 1)
    return project(b, rank, {seqDim});
  return project(b, rank, {batchDim, seqDim});
}

/// Row `row` (an integer scalar), column `col` (index) of a 2-D table.
Value gather(OpBuilder &b, Location loc, Value table, Value row, Value col) {
  Value r = row.getType().isIndex()
                ? row
                : arith::IndexCastOp::create(b, loc, b.getIndexType(), row);
  return tensor::ExtractOp::create(b, loc, table, ValueRange{r, col});
}

struct EmbedLowering : OpConversionPattern<EmbedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(
        rewriter, loc, adaptor.getIds());
    sizes.push_back(tensor::getMixedSize(rewriter, loc, adaptor.getTable(), 1));
    Value init = empty(rewriter, loc, sizes, type.getElementType());
    std::optional<APFloat> scale = op.getScale();
    Value table = adaptor.getTable();
    Value result = mapGeneric(
        rewriter, loc, ValueRange{adaptor.getIds()}, {project(rewriter, 3, {0, 1})},
        init, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value col = linalg::IndexOp::create(b, l, 2);
          Value v = gather(b, l, table, args[0], col);
          if (scale)
            v = computeWide(b, l, v, [&](Value x) -> Value {
              return arith::MulFOp::create(
                  b, l, x,
                  floatConst(b, l, x.getType(), scale->convertToDouble()));
            });
          return v;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct PatchEmbedLowering : OpConversionPattern<PatchEmbedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PatchEmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value images = adaptor.getImages(), weight = adaptor.getWeight();
    auto imgType = cast<RankedTensorType>(images.getType());
    auto wType = cast<RankedTensorType>(weight.getType());
    Type et = op.getType().getElementType();
    int64_t p = wType.getDimSize(2);

    // Convolution with stride = patch: [B, H/P, W/P, D]. The weight is
    // PyTorch's [D, C, P, P], which no named linalg conv takes with NHWC
    // images, so this is the generic form:
    //   out[b, y, x, d] += img[b, y*P + i, x*P + j, c] * w[d, c, i, j]
    SmallVector<OpFoldResult> imgSizes =
        tensor::getMixedSizes(rewriter, loc, images);
    SmallVector<OpFoldResult> convSizes = {imgSizes[0]};
    for (int i : {1, 2}) {
      int64_t size = imgType.getDimSize(i);
      if (ShapedType::isDynamic(size)) {
        Value d = getValueOrCreateConstantIndexOp(rewriter, loc, imgSizes[i]);
        Value pv = arith::ConstantIndexOp::create(rewriter, loc, p);
        convSizes.push_back(
            arith::DivUIOp::create(rewriter, loc, d, pv).getResult());
      } else {
        convSizes.push_back(rewriter.getIndexAttr(size / p));
      }
    }
    convSizes.push_back(tensor::getMixedSize(rewriter, loc, weight, 0));
    Type ct = accumulatorType(et);
    Value acc = filled(rewriter, loc, convSizes, ct, 0.0);
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr b, y, x, d, i, j, c;
    bindDims(ctx, b, y, x, d, i, j, c);
    SmallVector<AffineMap> maps = {
        AffineMap::get(7, 0, {b, y * p + i, x * p + j, c}, ctx),
        AffineMap::get(7, 0, {d, c, i, j}, ctx),
        AffineMap::get(7, 0, {b, y, x, d}, ctx)};
    SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
    iters.append(3, utils::IteratorType::reduction);
    Value conv =
        multiplyAccumulate(rewriter, loc, images, weight, acc, maps, iters);
    // [B, H/P, W/P, D] -> [B, N, D], patches in row-major order.
    Value result = tensor::CollapseShapeOp::create(
        rewriter, loc, conv,
        SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}});
    if (Value bias = adaptor.getBias()) {
      result = mapGeneric(
          rewriter, loc, ValueRange{result, bias},
          {identity(rewriter, 3), project(rewriter, 3, {2})},
          empty(rewriter, loc, tensor::getMixedSizes(rewriter, loc, result),
                et),
          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
            return castFloat(
                b, l,
                arith::AddFOp::create(b, l, a[0], castFloat(b, l, a[1], ct)),
                et);
          });
    } else {
      result = convertElements(rewriter, loc, result, et);
    }
    return replaceWithCast(rewriter, op, result);
  }
};

/// base^(-2i / dim) for a float pair index `i` (as float) and a float `dim`.
Value inverseFrequency(OpBuilder &b, Location l, Value i, Value dim,
                       double base) {
  Type t = i.getType();
  Value two = floatConst(b, l, t, 2.0);
  Value exponent =
      arith::DivFOp::create(b, l, arith::MulFOp::create(b, l, two, i), dim);
  Value logBase = floatConst(b, l, t, -std::log(base));
  return math::ExpOp::create(b, l,
                             arith::MulFOp::create(b, l, exponent, logBase));
}

struct SinusoidalAddLowering : OpConversionPattern<SinusoidalAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SinusoidalAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    Type et = op.getType().getElementType();
    // The angles in f32 for narrow types (bf16 cannot hold positions).
    Type ct = accumulatorType(et);
    Value hidden = dimAsFloat(rewriter, loc, x, 2, ct);
    double base = op.getBase().convertToDouble();
    Value init =
        empty(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), et);
    Value result = mapGeneric(
        rewriter, loc, ValueRange{x, adaptor.getPositions()},
        {identity(rewriter, 3),
         positionsMap(rewriter, adaptor.getPositions(), 3, 0, 1)},
        init, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          // Interleaved: dim d uses pair i = d / 2; even d sin, odd d cos.
          Value d = linalg::IndexOp::create(b, l, 2);
          Value two = arith::ConstantIndexOp::create(b, l, 2);
          Value i = arith::DivUIOp::create(b, l, d, two);
          Value odd = arith::RemUIOp::create(b, l, d, two);
          Value isEven = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, odd,
              arith::ConstantIndexOp::create(b, l, 0));
          Value freq =
              inverseFrequency(b, l, intToFloat(b, l, i, ct), hidden, base);
          Value angle =
              arith::MulFOp::create(b, l, intToFloat(b, l, a[1], ct), freq);
          Value pe = arith::SelectOp::create(
              b, l, isEven, math::SinOp::create(b, l, angle),
              math::CosOp::create(b, l, angle));
          return castFloat(
              b, l, arith::AddFOp::create(b, l, castFloat(b, l, a[0], ct), pe),
              et);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LearnedPositionAddLowering
    : OpConversionPattern<LearnedPositionAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LearnedPositionAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), table = adaptor.getTable();
    Value init = empty(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x),
                       op.getType().getElementType());
    Value result = mapGeneric(
        rewriter, loc, ValueRange{x, adaptor.getPositions()},
        {identity(rewriter, 3),
         positionsMap(rewriter, adaptor.getPositions(), 3, 0, 1)},
        init, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value col = linalg::IndexOp::create(b, l, 2);
          return arith::AddFOp::create(b, l, a[0], gather(b, l, table, a[1], col));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// RoPE: one cos/sin table per (batch?, position, pair), broadcast over the
/// heads; the rotated halves (or even/odd dims) are written back into x, so
/// the dims beyond the rotary dim pass through untouched.
struct RopeLowering : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), positions = adaptor.getPositions();
    int64_t rotary = op.getRotaryDim();
    if (rotary == 0) {
      rewriter.replaceOp(op, x);
      return success();
    }
    // Dynamic head_dim: only fraction 1 is allowed (verifier).
    Type et = op.getType().getElementType();
    // Tables and rotation in f32 for narrow types (bf16 cannot hold
    // positions); the rotated values are rounded once.
    Type ct = accumulatorType(et);
    auto posType = cast<RankedTensorType>(positions.getType());
    bool batched = posType.getRank() == 2;
    SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(rewriter, loc, x);
    OpFoldResult half;
    if (rotary > 0) {
      half = rewriter.getIndexAttr(rotary / 2);
    } else {
      Value d = getValueOrCreateConstantIndexOp(rewriter, loc, xSizes[3]);
      half = arith::DivUIOp::create(rewriter, loc, d,
                                    arith::ConstantIndexOp::create(rewriter, loc, 2))
                 .getResult();
    }
    Value rotaryF =
        rotary > 0 ? floatConst(rewriter, loc, ct, static_cast<double>(rotary))
                   : dimAsFloat(rewriter, loc, x, 3, ct);

    // cos/sin tables: [B, S, R/2] or [S, R/2].
    SmallVector<OpFoldResult> tableSizes;
    if (batched)
      tableSizes.push_back(tensor::getMixedSize(rewriter, loc, positions, 0));
    tableSizes.push_back(tensor::getMixedSize(rewriter, loc, positions,
                                              batched ? 1 : 0));
    tableSizes.push_back(half);
    unsigned tRank = tableSizes.size();
    double base = op.getBase().convertToDouble();
    double scaleFactor = op.getScaleFactor().convertToDouble();
    SmallVector<unsigned> posDims;
    for (unsigned i = 0; i + 1 < tRank; ++i)
      posDims.push_back(i);
    SmallVector<AffineMap> tableMaps = {project(rewriter, tRank, posDims),
                                        identity(rewriter, tRank),
                                        identity(rewriter, tRank)};
    Value cosInit = empty(rewriter, loc, tableSizes, ct);
    Value sinInit = empty(rewriter, loc, tableSizes, ct);
    SmallVector<utils::IteratorType> tIters(tRank,
                                            utils::IteratorType::parallel);
    auto table = linalg::GenericOp::create(
        rewriter, loc, TypeRange{cosInit.getType(), sinInit.getType()},
        ValueRange{positions}, ValueRange{cosInit, sinInit}, tableMaps, tIters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = intToFloat(b, l, linalg::IndexOp::create(b, l, tRank - 1),
                               ct);
          Value pos = intToFloat(b, l, a[0], ct);
          if (scaleFactor != 1.0)
            pos = arith::DivFOp::create(b, l, pos,
                                        floatConst(b, l, ct, scaleFactor));
          Value angle = arith::MulFOp::create(
              b, l, pos, inverseFrequency(b, l, i, rotaryF, base));
          linalg::YieldOp::create(b, l,
                                  ValueRange{math::CosOp::create(b, l, angle),
                                             math::SinOp::create(b, l, angle)});
        });
    Value cosT = table.getResult(0), sinT = table.getResult(1);

    // The two members of each pair: halves (split_half) or even/odd dims.
    bool interleaved = op.getStyle() == RopeStyle::Interleaved;
    SmallVector<OpFoldResult> zero4(4, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> one4(4, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> pairSizes(xSizes.begin(), xSizes.end());
    pairSizes[3] = half;
    SmallVector<OpFoldResult> off1(zero4), off2(zero4), strides(one4);
    if (interleaved) {
      off2[3] = rewriter.getIndexAttr(1);
      strides[3] = rewriter.getIndexAttr(2);
    } else {
      off2[3] = half;
    }
    Value x1 = tensor::ExtractSliceOp::create(rewriter, loc, x, off1,
                                              pairSizes, strides);
    Value x2 = tensor::ExtractSliceOp::create(rewriter, loc, x, off2,
                                              pairSizes, strides);
    AffineMap id4 = identity(rewriter, 4);
    AffineMap tMap = batched ? project(rewriter, 4, {0, 2, 3})
                             : project(rewriter, 4, {2, 3});
    SmallVector<AffineMap> maps = {id4, id4, tMap, tMap};
    auto rotate = [&](bool first) {
      Value init = empty(rewriter, loc, pairSizes, et);
      return mapGeneric(rewriter, loc, ValueRange{x1, x2, cosT, sinT}, maps,
                        init,
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          // first:  x1 cos - x2 sin; second: x2 cos + x1 sin
                          Value x1 = castFloat(b, l, a[0], ct);
                          Value x2 = castFloat(b, l, a[1], ct);
                          Value y;
                          if (first)
                            y = arith::SubFOp::create(
                                b, l, arith::MulFOp::create(b, l, x1, a[2]),
                                arith::MulFOp::create(b, l, x2, a[3]));
                          else
                            y = arith::AddFOp::create(
                                b, l, arith::MulFOp::create(b, l, x2, a[2]),
                                arith::MulFOp::create(b, l, x1, a[3]));
                          return castFloat(b, l, y, et);
                        });
    };
    Value y1 = rotate(true), y2 = rotate(false);
    Value result = tensor::InsertSliceOp::create(rewriter, loc, y1, x, off1,
                                                 pairSizes, strides);
    result = tensor::InsertSliceOp::create(rewriter, loc, y2, result, off2,
                                           pairSizes, strides);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::attn::populateEmbeddingLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<EmbedLowering, PatchEmbedLowering, SinusoidalAddLowering,
               LearnedPositionAddLowering, RopeLowering>(
      patterns.getContext());
}
