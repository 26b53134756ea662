//===- ExpandBF16Conversions.cpp - bf16 <-> f32 as integer bit operations -===//
//
// See AttncExpandBF16Conversions in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCEXPANDBF16CONVERSIONS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

struct ExpandBF16Conversions
    : public attnc::impl::AttncExpandBF16ConversionsBase<
          ExpandBF16Conversions> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
