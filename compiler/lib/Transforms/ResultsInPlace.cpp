//===- ResultsInPlace.cpp - compute results in their out-params -----------===//
//
// See AttncResultsInPlace in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCRESULTSINPLACE
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// `copy` is the last use of a fresh allocation of the same type, into an
/// argument used by nothing else: the allocation can be the argument.
memref::AllocOp forwardable(memref::CopyOp copy, Block &entry) {
  auto target = dyn_cast<BlockArgument>(copy.getTarget());
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  if (!target || target.getOwner() != &entry || !target.hasOneUse() ||
      !alloc || alloc->getBlock() != &entry ||
      alloc.getType() != target.getType())
    return nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == copy)
      continue;
    Operation *top = entry.findAncestorOpInBlock(*user);
    if (!top || !top->isBeforeInBlock(copy))
      return nullptr;
  }
  return alloc;
}

struct ResultsInPlace
    : public attnc::impl::AttncResultsInPlaceBase<ResultsInPlace> {
  void runOnOperation() override {
    getOperation()->walk([](func::FuncOp fn) {
      if (fn.isExternal())
        return;
      Block &entry = fn.getBody().front();
      SmallVector<memref::CopyOp> copies;
      for (auto copy : entry.getOps<memref::CopyOp>())
        copies.push_back(copy);
      for (memref::CopyOp copy : copies) {
        memref::AllocOp alloc = forwardable(copy, entry);
        if (!alloc)
          continue;
        Value target = copy.getTarget();
        copy.erase();
        alloc.getResult().replaceAllUsesWith(target);
        alloc.erase();
      }
    });
  }
};

} // namespace
