//===- FoldZeroFills.cpp - contractions that start from zero themselves ---===//
//
// See AttncFoldZeroFills in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCFOLDZEROFILLS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// A buffer nothing else can alias at this point: a fresh allocation or an
/// argument of the function (an out-parameter).
bool isRootBuffer(Value v) {
  if (v.getDefiningOp<memref::AllocOp>())
    return true;
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && isa<func::FuncOp>(arg.getOwner()->getParentOp());
}

/// The op that reads the zeros `fill` wrote, when it can start from zero
/// itself: the one later op of the block that uses the buffer before every
/// other user, a linalg op with two inputs, one reduction dimension and the
/// buffer as its only init (not also an input).
linalg::LinalgOp foldableReader(linalg::FillOp fill) {
  if (!fill.hasPureBufferSemantics() ||
      !matchPattern(fill.value(), m_AnyZeroFloat()))
    return {};
  Value buffer = fill.getDpsInitOperand(0)->get();
  if (!isRootBuffer(buffer))
    return {};
  Block *block = fill->getBlock();
  linalg::LinalgOp reader;
  for (Operation *user : buffer.getUsers()) {
    auto op = dyn_cast<linalg::LinalgOp>(user);
    if (op && op != fill && op->getBlock() == block &&
        fill->isBeforeInBlock(op) &&
        (!reader || op->isBeforeInBlock(reader)))
      reader = op;
  }
  if (!reader || reader.getNumDpsInputs() != 2 ||
      reader.getNumDpsInits() != 1 || reader.getNumReductionLoops() != 1 ||
      reader.getDpsInitOperand(0)->get() != buffer ||
      llvm::is_contained(reader.getDpsInputs(), buffer))
    return {};
  // Every other use of the buffer comes after the reader.
  for (Operation *user : buffer.getUsers()) {
    if (user == fill || user == reader)
      continue;
    Operation *mine = block->findAncestorOpInBlock(*user);
    if (!mine || !reader->isBeforeInBlock(mine))
      return {};
  }
  return reader;
}

struct FoldZeroFills
    : public attnc::impl::AttncFoldZeroFillsBase<FoldZeroFills> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::FillOp, linalg::LinalgOp>> folds;
    getOperation()->walk([&](linalg::FillOp fill) {
      if (linalg::LinalgOp reader = foldableReader(fill))
        folds.push_back({fill, reader});
    });
    UnitAttr unit = UnitAttr::get(&getContext());
    for (auto [fill, reader] : folds) {
      reader->setAttr(attnc::kZeroInitAttrName, unit);
      Operation *zero = fill.value().getDefiningOp();
      fill->erase();
      if (zero && zero->use_empty())
        zero->erase();
    }
  }
};

} // namespace
