//===- InlineAllocaScopes.cpp - drop memref.alloca_scope without allocas --===//
//
// See AttncInlineAllocaScopes in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCINLINEALLOCASCOPES
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

struct InlineAllocaScopes
    : public attnc::impl::AttncInlineAllocaScopesBase<InlineAllocaScopes> {
  void runOnOperation() override {
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation()->walk([&](memref::AllocaScopeOp op) {
      bool allocates = false;
      op.getBodyRegion().walk([&](Operation *inner) {
        if (isa<memref::AllocaOp>(inner) &&
            inner->getParentOfType<memref::AllocaScopeOp>() == op)
          allocates = true;
      });
      if (!allocates && op.getBodyRegion().hasOneBlock())
        scopes.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (memref::AllocaScopeOp op : scopes) {
      Block &body = op.getBodyRegion().front();
      auto ret = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
      SmallVector<Value> results(ret.getResults());
      rewriter.eraseOp(ret);
      rewriter.setInsertionPoint(op);
      rewriter.inlineBlockBefore(&body, op);
      rewriter.replaceOp(op, results);
    }
  }
};

} // namespace
