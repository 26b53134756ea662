//===- AttnFolds.cpp - folds of attn ops ----------------------------------===//
//
// Each fold removes an op that does nothing:
//   rope with fraction 0, identity norms, residual adds of zero,
//   split_heads/merge_heads pairs, repeat_kv with H == K, and kv_read of the
//   whole cache.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::attn;

OpFoldResult RopeOp::fold(FoldAdaptor) {
  if (getFraction().isZero())
    return getX();
  return {};
}

OpFoldResult NormOp::fold(FoldAdaptor) {
  if (getKind() == NormKind::Identity)
    return getX();
  return {};
}

OpFoldResult ResidualAddOp::fold(FoldAdaptor) {
  if (matchPattern(getBranch(), m_AnyZeroFloat()))
    return getResidual();
  if (matchPattern(getResidual(), m_AnyZeroFloat()))
    return getBranch();
  return {};
}

OpFoldResult SplitHeadsOp::fold(FoldAdaptor) {
  if (auto merge = getX().getDefiningOp<MergeHeadsOp>())
    if (merge.getX().getType() == getType())
      return merge.getX();
  return {};
}

OpFoldResult MergeHeadsOp::fold(FoldAdaptor) {
  if (auto split = getX().getDefiningOp<SplitHeadsOp>())
    if (split.getX().getType() == getType())
      return split.getX();
  return {};
}

OpFoldResult RepeatKVOp::fold(FoldAdaptor) {
  if (getX().getType() == getType())
    return getX();
  return {};
}

OpFoldResult KVReadOp::fold(FoldAdaptor) {
  RankedTensorType cacheType = getCache().getType();
  int64_t cacheLen = cacheType.getShape()[2];
  APInt length;
  if (cacheType == getType() && !ShapedType::isDynamic(cacheLen) &&
      matchPattern(getLength(), m_ConstantInt(&length)) &&
      length.getSExtValue() == cacheLen)
    return getCache();
  return {};
}
