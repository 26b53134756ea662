//===- PrivateInitFills.cpp - one linalg.fill per destination -------------===//
//
// See AttncPrivateInitFills in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCPRIVATEINITFILLS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

struct PrivateInitFills
    : public attnc::impl::AttncPrivateInitFillsBase<PrivateInitFills> {
  void runOnOperation() override {
    SmallVector<OpOperand *> shared;
    getOperation()->walk([&](DestinationStyleOpInterface op) {
      for (OpOperand &init : op.getDpsInitsMutable()) {
        auto fill = init.get().getDefiningOp<linalg::FillOp>();
        if (fill && fill.hasPureTensorSemantics() &&
            !fill->getResult(0).hasOneUse())
          shared.push_back(&init);
      }
    });
    OpBuilder b(&getContext());
    for (OpOperand *init : shared) {
      auto fill = init->get().getDefiningOp<linalg::FillOp>();
      // The last user keeps the original fill.
      if (fill->getResult(0).hasOneUse())
        continue;
      b.setInsertionPoint(init->getOwner());
      IRMapping map;
      // A fill of a tensor.empty gets its own empty too (one buffer each);
      // the empty's operands (dynamic sizes) dominate the fill, so they
      // dominate its users.
      Value dest = fill.getOutputs()[0];
      if (auto empty = dest.getDefiningOp<tensor::EmptyOp>())
        map.map(dest, b.clone(*empty)->getResult(0));
      Operation *copy = b.clone(*fill, map);
      init->set(copy->getResult(0));
    }
  }
};

} // namespace
