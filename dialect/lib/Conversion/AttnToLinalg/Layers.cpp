//===- Layers.cpp - norms, projections, MLPs and outputs to linalg --------===//
//
// attn.norm, attn.linear, attn.activation, attn.softcap, attn.residual_add,
// attn.mlp, attn.gated_mlp, attn.unembed and attn.pool.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::lowering;

namespace {

/// Map of the last dim only (scale/bias vectors).
AffineMap lastDim(OpBuilder &b, unsigned rank) {
  return project(b, rank, {rank - 1});
}

/// Map dropping the last dim (per-row statistics).
AffineMap rowMap(OpBuilder &b, unsigned rank) {
  SmallVector<unsigned> dims;
  for (unsigned i = 0; i + 1 < rank; ++i)
    dims.push_back(i);
  return project(b, rank, dims);
}

struct NormLowering : OpConversionPattern<NormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(NormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value x = adaptor.getX();
    if (op.getKind() == NormKind::Identity) {
      rewriter.replaceOp(op, x);
      return success();
    }
    Location loc = op.getLoc();
    auto type = op.getType();
    Type et = type.getElementType();
    // The statistics and the normalisation in f32 for narrow types.
    Type ct = accumulatorType(et);
    unsigned rank = type.getRank();
    Value n = dimAsFloat(rewriter, loc, x, rank - 1, ct);
    Value eps = floatConst(rewriter, loc, ct, op.getEps().convertToDouble());
    Value one = floatConst(rewriter, loc, ct, 1.0);
    bool layer = op.getKind() == NormKind::Layer;
    bool zeroCentered = op.getZeroCentered();

    auto add = [](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::AddFOp::create(b, l, a[0], a[1]);
    };
    // Row mean (layer norm only).
    Value mean;
    if (layer) {
      Value sum = reduceLastDim(rewriter, loc, x, 0.0, add, ct);
      mean = mapElementwise(rewriter, loc, ValueRange{sum},
                            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                              return arith::DivFOp::create(b, l, a[0], n);
                            });
    }
    // Row mean of squares (rms) or of squared deviations (layer).
    Value init = filled(rewriter, loc, sizesWithout(rewriter, loc, x, rank - 1),
                        ct, 0.0);
    SmallVector<Value> ins = {x};
    SmallVector<AffineMap> maps = {identity(rewriter, rank)};
    if (layer) {
      ins.push_back(mean);
      maps.push_back(rowMap(rewriter, rank));
    }
    maps.push_back(rowMap(rewriter, rank));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    Value sumSq =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()}, ins, ValueRange{init},
            maps, iters,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value xv = castFloat(b, l, a[0], ct);
              Value d = layer ? arith::SubFOp::create(b, l, xv, a[1]) : xv;
              Value sq = arith::MulFOp::create(b, l, d, d);
              linalg::YieldOp::create(
                  b, l, ValueRange{arith::AddFOp::create(b, l, a.back(), sq)});
            })
            .getResult(0);

    // y = (x - mean) * rsqrt(sumSq / n + eps) * g (+ bias)
    SmallVector<Value> inputs = {x, sumSq, adaptor.getScale()};
    SmallVector<AffineMap> inMaps = {identity(rewriter, rank),
                                     rowMap(rewriter, rank),
                                     lastDim(rewriter, rank)};
    if (layer) {
      inputs.push_back(mean);
      inMaps.push_back(rowMap(rewriter, rank));
    }
    Value bias = adaptor.getBias();
    if (bias) {
      inputs.push_back(bias);
      inMaps.push_back(lastDim(rewriter, rank));
    }
    Value out = empty(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), et);
    Value result = mapGeneric(
        rewriter, loc, inputs, inMaps, out,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value var = arith::DivFOp::create(b, l, a[1], n);
          Value inv = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, var, eps));
          Value xv = castFloat(b, l, a[0], ct);
          Value centred = layer ? arith::SubFOp::create(b, l, xv, a[3]) : xv;
          Value gv = castFloat(b, l, a[2], ct);
          Value g = zeroCentered ? arith::AddFOp::create(b, l, one, gv) : gv;
          Value y = arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, centred, inv), g);
          if (bias)
            y = arith::AddFOp::create(
                b, l, y, castFloat(b, l, a[layer ? 4 : 3], ct));
          return castFloat(b, l, y, et);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value y = linearLastDim(rewriter, op.getLoc(), adaptor.getX(),
                            adaptor.getWeight(), adaptor.getBias());
    if (y.getType() != op.getType())
      y = tensor::CastOp::create(rewriter, op.getLoc(), op.getType(), y);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct ActivationLowering : OpConversionPattern<ActivationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ActivationOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Activation kind = op.getKind();
    rewriter.replaceOp(
        op, mapElementwise(rewriter, op.getLoc(), ValueRange{adaptor.getX()},
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return computeWide(b, l, a[0], [&](Value v) {
                               return activation(b, l, kind, v);
                             });
                           }));
    return success();
  }
};

struct SoftcapLowering : OpConversionPattern<SoftcapOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftcapOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    double cap = op.getCap().convertToDouble();
    rewriter.replaceOp(
        op, mapElementwise(
                rewriter, op.getLoc(), ValueRange{adaptor.getX()},
                [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                  return computeWide(b, l, a[0], [&](Value x) -> Value {
                    Type t = x.getType();
                    Value th = math::TanhOp::create(
                        b, l,
                        arith::DivFOp::create(b, l, x, floatConst(b, l, t, cap)));
                    return arith::MulFOp::create(b, l, th,
                                                 floatConst(b, l, t, cap));
                  });
                }));
    return success();
  }
};

struct ResidualAddLowering : OpConversionPattern<ResidualAddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ResidualAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, mapElementwise(rewriter, op.getLoc(),
                           ValueRange{adaptor.getResidual(), adaptor.getBranch()},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::AddFOp::create(b, l, a[0], a[1]);
                           }));
    return success();
  }
};

struct MlpLowering : OpConversionPattern<MlpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MlpOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Activation kind = op.getActivation();
    // The hidden activations stay in f32 for narrow types (no rounding
    // inside the op).
    Type et = op.getType().getElementType();
    Type ct = accumulatorType(et);
    Value h = linearLastDim(rewriter, loc, adaptor.getX(), adaptor.getUp(),
                            adaptor.getUpBias(), ct);
    h = mapElementwise(rewriter, loc, ValueRange{h},
                       [&](OpBuilder &b, Location l, ValueRange a) {
                         return activation(b, l, kind, a[0]);
                       });
    Value y = linearLastDim(rewriter, loc, h, adaptor.getDown(),
                            adaptor.getDownBias(), et);
    return replaceWithCast(rewriter, op, y);
  }
};

struct GatedMlpLowering : OpConversionPattern<GatedMlpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatedMlpOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Activation kind = op.getActivation();
    Type et = op.getType().getElementType();
    Type ct = accumulatorType(et);
    Value gate = linearLastDim(rewriter, loc, adaptor.getX(), adaptor.getGate(),
                               adaptor.getGateBias(), ct);
    Value up = linearLastDim(rewriter, loc, adaptor.getX(), adaptor.getUp(),
                             adaptor.getUpBias(), ct);
    Value h = mapElementwise(
        rewriter, loc, ValueRange{gate, up},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MulFOp::create(b, l, activation(b, l, kind, a[0]), a[1]);
        });
    Value y = linearLastDim(rewriter, loc, h, adaptor.getDown(),
                            adaptor.getDownBias(), et);
    return replaceWithCast(rewriter, op, y);
  }
};

/// logits[b, s, v] = sum_k x[b, s, k] * table[v, k]
struct UnembedLowering : OpConversionPattern<UnembedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnembedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), table = adaptor.getTable();
    SmallVector<OpFoldResult> sizes = sizesWithout(rewriter, loc, x, 2);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, table, 0));
    SmallVector<AffineMap> maps = {project(rewriter, 4, {0, 1, 3}),
                                   project(rewriter, 4, {2, 3}),
                                   project(rewriter, 4, {0, 1, 2})};
    SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value y = contract(rewriter, loc, x, table, sizes,
                       op.getType().getElementType(), maps, iters);
    return replaceWithCast(rewriter, op, y);
  }
};

struct PoolLowering : OpConversionPattern<PoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    Type et = op.getType().getElementType();
    Value result;
    if (op.getKind() == PoolKind::Cls) {
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
      sizes[1] = rewriter.getIndexAttr(1);
      SmallVector<OpFoldResult> offsets(3, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
      auto xType = cast<RankedTensorType>(x.getType());
      auto rType = RankedTensorType::get(
          {xType.getDimSize(0), xType.getDimSize(2)}, et);
      result = tensor::ExtractSliceOp::create(rewriter, loc, rType, x, offsets,
                                              sizes, strides);
    } else {
      // Mean over the sequence: [B, S, D] -> [B, D].
      Type ct = accumulatorType(et);
      Value n = dimAsFloat(rewriter, loc, x, 1, ct);
      Value acc = filled(rewriter, loc, sizesWithout(rewriter, loc, x, 1), ct,
                         0.0);
      SmallVector<AffineMap> maps = {identity(rewriter, 3),
                                     project(rewriter, 3, {0, 2})};
      SmallVector<utils::IteratorType> iters = {
          utils::IteratorType::parallel, utils::IteratorType::reduction,
          utils::IteratorType::parallel};
      Value sum = linalg::GenericOp::create(
                      rewriter, loc, TypeRange{acc.getType()}, ValueRange{x},
                      ValueRange{acc}, maps, iters,
                      [](OpBuilder &b, Location l, ValueRange a) {
                        linalg::YieldOp::create(
                            b, l,
                            ValueRange{arith::AddFOp::create(
                                b, l, a[1], castFloat(b, l, a[0], a[1].getType()))});
                      })
                      .getResult(0);
      result = mapGeneric(
          rewriter, loc, ValueRange{sum}, {identity(rewriter, 2)},
          empty(rewriter, loc, tensor::getMixedSizes(rewriter, loc, sum), et),
          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
            return castFloat(b, l, arith::DivFOp::create(b, l, a[0], n), et);
          });
    }
    return replaceWithCast(rewriter, op, result);
  }
};

} // namespace

void mlir::attn::populateLayerLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<NormLowering, LinearLowering, ActivationLowering,
               SoftcapLowering, ResidualAddLowering, MlpLowering,
               GatedMlpLowering, UnembedLowering, PoolLowering>(
      patterns.getContext());
}
