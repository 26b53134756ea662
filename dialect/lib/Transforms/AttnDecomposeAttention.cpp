//===- AttnDecomposeAttention.cpp - sdpa -> query_key + weights_value -----===//
//
// penzai's decomposition of attention: query_key_to_attn (scale, softcap,
// mask, softmax) then attn_value_to_output.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Dialect/Attn/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNDECOMPOSEATTENTION
#include "attnc/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

struct DecomposeSdpa : OpRewritePattern<SdpaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SdpaOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType qType = op.getQuery().getType();
    // weights: [batch, heads, seq, kv_seq]
    SmallVector<int64_t> shape(qType.getShape());
    shape[3] = op.getKey().getType().getShape()[2];
    auto weightsType = RankedTensorType::get(shape, qType.getElementType());
    Value weights = QueryKeyOp::create(
        rewriter, op.getLoc(), weightsType, op.getQuery(), op.getKey(),
        op.getQueryPositions(), op.getKeyPositions(), op.getAllowed(),
        op.getUnmaskedPrefix(), op.getAlibiQueryPositions(),
        op.getAlibiKeyPositions(), op.getMaskAttr(), op.getScaleAttr(),
        op.getSoftcapAttr(), op.getAlibiSlopesAttr());
    rewriter.replaceOpWithNewOp<WeightsValueOp>(op, op.getType(), weights,
                                                op.getValue());
    return success();
  }
};

struct AttnDecomposeAttentionPass
    : attn::impl::AttnDecomposeAttentionBase<AttnDecomposeAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposeAttentionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::attn::populateDecomposeAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeSdpa>(patterns.getContext());
}
