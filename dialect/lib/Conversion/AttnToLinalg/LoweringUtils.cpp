//===- LoweringUtils.cpp - helpers for the attn -> linalg patterns --------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

Value lowering::floatConst(OpBuilder &b, Location loc, Type type,
                           double value) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
}

Value lowering::maskedLogit(OpBuilder &b, Location loc, Type type) {
  auto floatType = cast<FloatType>(type);
  APFloat lowest = APFloat::getLargest(floatType.getFloatSemantics(),
                                       /*Negative=*/true);
  double fill = -2.3819763e38;
  double limit = lowest.convertToDouble();
  return floatConst(b, loc, type, std::max(fill, limit));
}

Value lowering::empty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                      Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value lowering::filled(OpBuilder &b, Location loc,
                       ArrayRef<OpFoldResult> sizes, Type elementType,
                       double value) {
  Value init = empty(b, loc, sizes, elementType);
  Value scalar = floatConst(b, loc, elementType, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{init})
      .getResult(0);
}

SmallVector<OpFoldResult> lowering::sizesWithout(OpBuilder &b, Location loc,
                                                 Value t, int64_t dim) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  sizes.erase(sizes.begin() + dim);
  return sizes;
}

Value lowering::intToFloat(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType().isIndex())
    v = arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  return arith::SIToFPOp::create(b, loc, type, v);
}

Value lowering::dimAsFloat(OpBuilder &b, Location loc, Value t, int64_t dim,
                           Type type) {
  int64_t size = cast<RankedTensorType>(t.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size))
    return floatConst(b, loc, type, static_cast<double>(size));
  Value d = tensor::DimOp::create(b, loc, t, dim);
  return intToFloat(b, loc, d, type);
}

AffineMap lowering::identity(OpBuilder &b, unsigned rank) {
  return b.getMultiDimIdentityMap(rank);
}

AffineMap lowering::project(OpBuilder &b, unsigned rank,
                            ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value lowering::mapGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                           ArrayRef<AffineMap> inputMaps, Value init,
                           BodyFn body) {
  unsigned rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(identity(b, rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return generic.getResult(0);
}

Value lowering::mapElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                               BodyFn body) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  Value init = empty(b, loc, tensor::getMixedSizes(b, loc, inputs.front()),
                     type.getElementType());
  SmallVector<AffineMap> maps(inputs.size(), identity(b, type.getRank()));
  return mapGeneric(b, loc, inputs, maps, init, body);
}

Value lowering::reduceLastDim(OpBuilder &b, Location loc, Value x,
                              double initValue, BodyFn body, Type accType) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  if (!accType)
    accType = type.getElementType();
  Value init = filled(b, loc, sizesWithout(b, loc, x, rank - 1), accType,
                      initValue);
  SmallVector<unsigned> outer;
  for (unsigned i = 0; i + 1 < rank; ++i)
    outer.push_back(i);
  SmallVector<AffineMap> maps = {identity(b, rank), project(b, rank, outer)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{x}, ValueRange{init},
      maps, iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value elem = castFloat(nb, nloc, args[0], accType);
        linalg::YieldOp::create(nb, nloc,
                                body(nb, nloc, ValueRange{elem, args[1]}));
      });
  return generic.getResult(0);
}

bool lowering::isNarrowFloat(Type t) {
  auto ft = dyn_cast<FloatType>(t);
  return ft && ft.getWidth() < 32;
}

Type lowering::accumulatorType(Type t) {
  return isNarrowFloat(t) ? Float32Type::get(t.getContext()) : t;
}

Value lowering::castFloat(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  if (cast<FloatType>(v.getType()).getWidth() < cast<FloatType>(t).getWidth())
    return arith::ExtFOp::create(b, loc, t, v);
  return arith::TruncFOp::create(b, loc, t, v);
}

Value lowering::convertElements(OpBuilder &b, Location loc, Value x,
                                Type et) {
  auto type = cast<RankedTensorType>(x.getType());
  if (type.getElementType() == et)
    return x;
  Value init = empty(b, loc, tensor::getMixedSizes(b, loc, x), et);
  return mapGeneric(b, loc, ValueRange{x}, {identity(b, type.getRank())},
                    init, [&](OpBuilder &nb, Location l, ValueRange a) {
                      return castFloat(nb, l, a[0], et);
                    });
}

Value lowering::computeWide(OpBuilder &b, Location loc, Value x,
                            function_ref<Value(Value)> fn) {
  Type t = x.getType();
  Type wide = accumulatorType(t);
  return castFloat(b, loc, fn(castFloat(b, loc, x, wide)), t);
}

/// Adds `bias` (last dim) to `y`.
static Value addBias(OpBuilder &b, Location loc, Value y, Value bias) {
  auto type = cast<RankedTensorType>(y.getType());
  unsigned rank = type.getRank();
  return lowering::mapGeneric(
      b, loc, ValueRange{y, bias},
      {lowering::identity(b, rank), lowering::project(b, rank, {rank - 1})},
      lowering::empty(b, loc, tensor::getMixedSizes(b, loc, y),
                      type.getElementType()),
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, nloc, a[0], a[1]);
      });
}

/// `y` (the accumulator type) plus `bias` if any, as element type `et`.
static Value finishLinear(OpBuilder &b, Location loc, Value y, Value bias,
                          Type et) {
  auto type = cast<RankedTensorType>(y.getType());
  Type acc = type.getElementType();
  if (!bias)
    return acc == et ? y : lowering::convertElements(b, loc, y, et);
  // A narrow bias of an f32 result (the MLP's hidden layer) is extended in
  // the sum below.
  if (acc == et && cast<RankedTensorType>(bias.getType()).getElementType() == et)
    return addBias(b, loc, y, bias);
  unsigned rank = type.getRank();
  return lowering::mapGeneric(
      b, loc, ValueRange{y, bias},
      {lowering::identity(b, rank), lowering::project(b, rank, {rank - 1})},
      lowering::empty(b, loc, tensor::getMixedSizes(b, loc, y), et),
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value sum = arith::AddFOp::create(
            nb, nloc, a[0], lowering::castFloat(nb, nloc, a[1], acc));
        return lowering::castFloat(nb, nloc, sum, et);
      });
}

Value lowering::linearLastDim(OpBuilder &b, Location loc, Value x, Value w,
                              Value bias, Type resultType) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  Type et = resultType ? resultType : xType.getElementType();
  // The accumulator: f32 when any operand is narrow (matmul's body extends
  // its inputs to the output type), the common type otherwise.
  Type accType = accumulatorType(xType.getElementType());
  if (accumulatorType(wType.getElementType()) != accType ||
      accumulatorType(et) != accType)
    accType = Float32Type::get(b.getContext());
  // Narrow operands are extended once, before the contraction (exact), so
  // that it is an all-f32 contraction that the CPU pipeline vectorizes.
  x = convertElements(b, loc, x, accType);
  w = convertElements(b, loc, w, accType);
  xType = cast<RankedTensorType>(x.getType());
  wType = cast<RankedTensorType>(w.getType());
  int64_t rank = xType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
  OpFoldResult outSize = tensor::getMixedSize(b, loc, w, 0);
  SmallVector<int64_t> outShape(xType.getShape());
  outShape.back() = wType.getDimSize(0);
  auto outType = RankedTensorType::get(outShape, et);

  // Several dynamic leading dims: one linalg.contract over all of them. (A
  // collapse to [M, in] would need an expand_shape of M back into several
  // dynamic dims, which upstream expand-strided-metadata mishandles in
  // MLIR 22.)
  int64_t dynamicLead = 0;
  for (int64_t i = 0; i + 1 < rank; ++i)
    dynamicLead += xType.isDynamicDim(i);
  if (dynamicLead > 1) {
    SmallVector<OpFoldResult> sizes(xSizes);
    sizes.back() = outSize;
    Value acc = filled(b, loc, sizes, accType, 0.0);
    // dims: leading..., n, k
    int64_t numDims = rank + 1;
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(b.getAffineDimExpr(i));
    AffineExpr n = b.getAffineDimExpr(rank - 1), k = b.getAffineDimExpr(rank);
    SmallVector<AffineExpr> xExprs(lead), outExprs(lead);
    xExprs.push_back(k);
    outExprs.push_back(n);
    ArrayAttr maps = b.getAffineMapArrayAttr(
        {AffineMap::get(numDims, 0, xExprs, ctx),
         AffineMap::get(numDims, 0, {n, k}, ctx),
         AffineMap::get(numDims, 0, outExprs, ctx)});
    Value y = linalg::ContractOp::create(b, loc, TypeRange{acc.getType()},
                                         ValueRange{x, w}, ValueRange{acc},
                                         maps)
                  .getResult(0);
    y = finishLinear(b, loc, y, bias, et);
    if (y.getType() != outType)
      y = tensor::CastOp::create(b, loc, outType, y);
    return y;
  }

  // [d0, ..., dn-2, in] -> [M, in]
  Value x2 = x;
  if (rank == 1) {
    auto t = RankedTensorType::get({1, xType.getDimSize(0)},
                                   xType.getElementType());
    x2 = tensor::ExpandShapeOp::create(
        b, loc, t, x, SmallVector<ReassociationIndices>{{0, 1}},
        SmallVector<OpFoldResult>{b.getIndexAttr(1), xSizes[0]});
  } else if (rank > 2) {
    ReassociationIndices leadDims;
    for (int64_t i = 0; i + 1 < rank; ++i)
      leadDims.push_back(i);
    x2 = tensor::CollapseShapeOp::create(
        b, loc, x, SmallVector<ReassociationIndices>{leadDims, {rank - 1}});
  }
  SmallVector<OpFoldResult> mSizes = {tensor::getMixedSize(b, loc, x2, 0),
                                      outSize};
  Value acc = filled(b, loc, mSizes, accType, 0.0);
  // y[m, n] = sum_k x[m, k] * w[n, k]: w is [out, in] (PyTorch layout).
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  ArrayAttr maps = b.getAffineMapArrayAttr(
      {AffineMap::get(3, 0, {m, k}, ctx), AffineMap::get(3, 0, {n, k}, ctx),
       AffineMap::get(3, 0, {m, n}, ctx)});
  auto matmul = linalg::MatmulOp::create(b, loc, TypeRange{acc.getType()},
                                         ValueRange{x2, w}, ValueRange{acc});
  matmul.setIndexingMapsAttr(maps);
  Value y = finishLinear(b, loc, matmul.getResult(0), bias, et);
  if (rank == 2)
    return y;
  // [M, out] -> [d0, ..., dn-2, out]
  SmallVector<OpFoldResult> outSizes(xSizes);
  outSizes.back() = outSize;
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, outType, y, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices leadDims;
  for (int64_t i = 0; i + 1 < rank; ++i)
    leadDims.push_back(i);
  return tensor::ExpandShapeOp::create(
      b, loc, outType, y,
      SmallVector<ReassociationIndices>{leadDims, {rank - 1}}, outSizes);
}

Value lowering::activation(OpBuilder &b, Location loc, Activation kind,
                           Value x) {
  Type t = x.getType();
  auto c = [&](double v) { return floatConst(b, loc, t, v); };
  switch (kind) {
  case Activation::Gelu: {
    // 0.5 x (1 + erf(x / sqrt(2)))
    Value e = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, c(M_SQRT1_2)));
    Value s = arith::AddFOp::create(b, loc, c(1.0), e);
    return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, c(0.5), x),
                                 s);
  }
  case Activation::GeluTanh: {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value x3 = arith::MulFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value inner = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), x3));
    Value th = math::TanhOp::create(
        b, loc, arith::MulFOp::create(b, loc, c(std::sqrt(2.0 / M_PI)), inner));
    Value s = arith::AddFOp::create(b, loc, c(1.0), th);
    return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, c(0.5), x),
                                 s);
  }
  case Activation::Relu:
    return arith::MaximumFOp::create(b, loc, x, c(0.0));
  case Activation::Silu: {
    // x / (1 + exp(-x))
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
    return arith::DivFOp::create(b, loc, x,
                                 arith::AddFOp::create(b, loc, c(1.0), e));
  }
  case Activation::Tanh:
    return math::TanhOp::create(b, loc, x);
  }
  llvm_unreachable("unknown activation");
}

Value lowering::groupHeads(OpBuilder &b, Location loc, Value t,
                           int64_t kvHeads) {
  auto type = cast<RankedTensorType>(t.getType());
  int64_t heads = type.getDimSize(1);
  int64_t group = heads / kvHeads;
  SmallVector<int64_t> shape = {type.getDimSize(0), kvHeads, group,
                                type.getDimSize(2), type.getDimSize(3)};
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, t);
  SmallVector<OpFoldResult> outShape = {sizes[0], b.getIndexAttr(kvHeads),
                                        b.getIndexAttr(group), sizes[2],
                                        sizes[3]};
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), t,
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}}, outShape);
}

Value lowering::ungroupHeads(OpBuilder &b, Location loc, Value t) {
  return tensor::CollapseShapeOp::create(
      b, loc, t, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
}

Value lowering::multiplyAccumulate(OpBuilder &b, Location loc, Value lhs,
                                   Value rhs, Value acc,
                                   ArrayRef<AffineMap> maps,
                                   ArrayRef<utils::IteratorType> iterators) {
  return linalg::GenericOp::create(
             b, loc, TypeRange{acc.getType()}, ValueRange{lhs, rhs},
             ValueRange{acc}, maps, iterators,
             [](OpBuilder &nb, Location l, ValueRange a) {
               Type t = a[2].getType();
               Value m = arith::MulFOp::create(nb, l, castFloat(nb, l, a[0], t),
                                               castFloat(nb, l, a[1], t));
               linalg::YieldOp::create(
                   nb, l, ValueRange{arith::AddFOp::create(nb, l, a[2], m)});
             })
      .getResult(0);
}

Value lowering::contract(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         ArrayRef<OpFoldResult> sizes, Type et,
                         ArrayRef<AffineMap> maps,
                         ArrayRef<utils::IteratorType> iterators) {
  Type accType = accumulatorType(et);
  Value acc = filled(b, loc, sizes, accType, 0.0);
  // Narrow operands extended once, before the contraction (see
  // linearLastDim).
  lhs = convertElements(b, loc, lhs, accType);
  rhs = convertElements(b, loc, rhs, accType);
  Value sum = multiplyAccumulate(b, loc, lhs, rhs, acc, maps, iterators);
  return convertElements(b, loc, sum, et);
}

LogicalResult lowering::replaceWithCast(ConversionPatternRewriter &rewriter,
                                        Operation *op, Value value) {
  Type type = op->getResult(0).getType();
  if (value.getType() != type)
    value = tensor::CastOp::create(rewriter, op->getLoc(), type, value);
  rewriter.replaceOp(op, value);
  return success();
}

Value lowering::toI64(OpBuilder &b, Location loc, Value v) {
  Type i64 = b.getI64Type();
  if (v.getType().isIndex())
    return arith::IndexCastOp::create(b, loc, i64, v);
  unsigned width = v.getType().getIntOrFloatBitWidth();
  if (width < 64)
    return arith::ExtSIOp::create(b, loc, i64, v);
  if (width > 64)
    return arith::TruncIOp::create(b, loc, i64, v);
  return v;
}

std::pair<Value, Value> lowering::keyBand(OpBuilder &b, Location l,
                                          MaskAttr mask, Value prefix,
                                          Value qBegin, Value qEnd,
                                          Value keys) {
  auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
  Value lo = idx(0), hi = keys;
  int64_t w = mask.isFull() ? 0 : mask.getWindow();
  if (mask.getKind() == MaskKind::Local ||
      mask.getKind() == MaskKind::SlidingWindow)
    lo = arith::MaxSIOp::create(
        b, l, arith::SubIOp::create(b, l, qBegin, idx(w - 1)), idx(0));
  if (mask.getKind() == MaskKind::Local)
    hi = arith::MinUIOp::create(
        b, l, keys, arith::AddIOp::create(b, l, qEnd, idx(w - 1)));
  else if (!mask.isFull())
    hi = arith::MinUIOp::create(b, l, keys, qEnd);
  if (prefix) {
    lo = idx(0);
    hi = arith::MaxUIOp::create(b, l, hi,
                                arith::MinUIOp::create(b, l, prefix, keys));
  }
  return {lo, hi};
}

Value lowering::attentionLogit(OpBuilder &b, Location l, const LogitSpec &spec,
                               Value score, const LogitOperands &in) {
  Type et = spec.et;
  MaskAttr mask = spec.mask;
  Value prefix = spec.prefix;
  Value s = arith::MulFOp::create(b, l, score, floatConst(b, l, et, spec.scale));
  if (spec.softcap) {
    Value cap = floatConst(b, l, et, spec.softcap->convertToDouble());
    s = arith::MulFOp::create(
        b, l, math::TanhOp::create(b, l, arith::DivFOp::create(b, l, s, cap)),
        cap);
  }
  if (spec.alibi) {
    // s - slope * (qa - ka), |qa - ka| under full and local masks; keys of
    // the unmasked prefix get no bias.
    Value qa = toI64(b, l, in.alibiQuery());
    Value ka = toI64(b, l, in.alibiKey());
    Value dist =
        arith::SIToFPOp::create(b, l, et, arith::SubIOp::create(b, l, qa, ka));
    if (spec.alibiAbs())
      dist = math::AbsFOp::create(b, l, dist);
    Value biased = arith::SubFOp::create(
        b, l, s, arith::MulFOp::create(b, l, in.slope(), dist));
    if (prefix) {
      Value inPrefix = arith::CmpIOp::create(
          b, l, arith::CmpIPredicate::ult, in.keyIndex(), prefix);
      biased = arith::SelectOp::create(b, l, inPrefix, s, biased);
    }
    s = biased;
  }
  Value ok;
  auto both = [&](Value c) {
    ok = ok ? arith::AndIOp::create(b, l, ok, c).getResult() : c;
  };
  Value qi = toI64(b, l, in.queryPos());
  Value kj = toI64(b, l, in.keyPos());
  Value zero = arith::ConstantIntOp::create(b, l, b.getI64Type(), 0);
  if (spec.explicitPositions)
    both(arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, kj, zero));
  if (mask.getKind() == MaskKind::Local) {
    // |i - j| < W
    Value w =
        arith::ConstantIntOp::create(b, l, b.getI64Type(), mask.getWindow());
    Value d1 = arith::SubIOp::create(b, l, qi, kj);
    Value d2 = arith::SubIOp::create(b, l, kj, qi);
    both(arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, d1, w));
    both(arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, d2, w));
  } else if (!mask.isFull()) {
    both(arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, kj, qi));
  }
  if (mask.getKind() == MaskKind::SlidingWindow) {
    Value w =
        arith::ConstantIntOp::create(b, l, b.getI64Type(), mask.getWindow());
    Value dist = arith::SubIOp::create(b, l, qi, kj);
    both(arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, dist, w));
  }
  // Keys of the unmasked prefix pass whatever the mask says.
  if (prefix && ok) {
    Value inPrefix = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                           in.keyIndex(), prefix);
    ok = arith::OrIOp::create(b, l, ok, inPrefix);
  }
  if (spec.hasAllowed)
    both(in.allowed());
  if (ok)
    s = arith::SelectOp::create(b, l, ok, s, maskedLogit(b, l, et));
  return s;
}
