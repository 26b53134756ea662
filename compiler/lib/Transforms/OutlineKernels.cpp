//===- OutlineKernels.cpp - One private function per linalg op on buffers -===//
//
// See AttncOutlineKernels in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCOUTLINEKERNELS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// Ops that may move up past a linalg op on buffers: they only make a
/// buffer or a view of one, and read nothing the op writes.
bool isAllocationOrView(Operation *op) {
  return isa<memref::AllocOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::DimOp>(op) ||
         op->hasTrait<OpTrait::ConstantLike>();
}

/// Whether `op` may join the kernel of `group`: a contraction shaped like
/// the first one (same maps, same iterators) over the same input 0, and
/// independent of every member (neither writes what the other reads).
bool isSibling(linalg::LinalgOp op, ArrayRef<linalg::LinalgOp> group) {
  linalg::LinalgOp first = group.front();
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 ||
      op.getDpsInputOperand(0)->get() != first.getDpsInputOperand(0)->get() ||
      op.getIndexingMapsArray() != first.getIndexingMapsArray() ||
      op.getIteratorTypesArray() != first.getIteratorTypesArray() ||
      !linalg::isaContractionOpInterface(op))
    return false;
  auto writes = [](linalg::LinalgOp o, Value v) {
    return o.getDpsInitOperand(0)->get() == v;
  };
  for (linalg::LinalgOp member : group)
    for (Value v : op->getOperands())
      if (writes(member, v) ||
          llvm::is_contained(member->getOperands(),
                             op.getDpsInitOperand(0)->get()))
        return false;
  return true;
}

/// `first` and the sibling contractions that follow it in its block, with
/// only allocations and views between them (those move above `first`):
/// decode's q/k/v and gate/up projections of one activation. One kernel
/// for all of them lets attnc-vectorize-contractions split their column
/// chunks over the threads in one parallel loop instead of one each.
SmallVector<linalg::LinalgOp> siblingGroup(linalg::LinalgOp first) {
  SmallVector<linalg::LinalgOp> group = {first};
  if (!linalg::isaContractionOpInterface(first) ||
      first.getNumDpsInputs() != 2 || first.getNumDpsInits() != 1)
    return group;
  SmallVector<Operation *> between, movable;
  for (Operation *op = first->getNextNode(); op; op = op->getNextNode()) {
    if (isAllocationOrView(op)) {
      between.push_back(op);
      continue;
    }
    auto next = dyn_cast<linalg::LinalgOp>(op);
    if (!next || !isSibling(next, group))
      break;
    group.push_back(next);
    movable.append(between);
    between.clear();
  }
  for (Operation *op : movable)
    op->moveBefore(first);
  return group;
}

struct OutlineKernels
    : public attnc::impl::AttncOutlineKernelsBase<OutlineKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    kernels.clear();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp f : funcs) {
      if (f.isExternal())
        continue;
      // memref.copy -> linalg.copy: no memrefCopy runtime call, and the
      // copy becomes a kernel like every other op.
      SmallVector<memref::CopyOp> copies;
      f.walk([&](memref::CopyOp op) { copies.push_back(op); });
      for (memref::CopyOp op : copies) {
        OpBuilder b(op);
        linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
        op.erase();
      }
      SmallVector<linalg::LinalgOp> ops;
      f.walk([&](linalg::LinalgOp op) {
        if (op.hasPureBufferSemantics() &&
            !op->getParentOfType<linalg::LinalgOp>())
          ops.push_back(op);
      });
      unsigned n = 0;
      llvm::DenseSet<Operation *> grouped;
      for (linalg::LinalgOp op : ops) {
        if (grouped.contains(op))
          continue;
        SmallVector<linalg::LinalgOp> group = siblingGroup(op);
        for (linalg::LinalgOp member : group)
          grouped.insert(member);
        outline(f, group, n, symbols);
      }
    }
  }

  /// Kernels by their text with a placeholder name: the layers of a model
  /// share their kernels instead of compiling one copy each.
  llvm::StringMap<func::FuncOp> kernels;

  void outline(func::FuncOp parent, ArrayRef<linalg::LinalgOp> group,
               unsigned &index, SymbolTable &symbols) {
    linalg::LinalgOp op = group.front();
    llvm::SetVector<Value> captured;
    for (linalg::LinalgOp member : group) {
      for (Value v : member->getOperands())
        captured.insert(v);
      getUsedValuesDefinedAbove(member->getRegions(), captured);
    }
    SmallVector<Value> args;
    SmallVector<Operation *> constants;
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>() &&
          def->getNumResults() == 1)
        constants.push_back(def);
      else
        args.push_back(v);
    }
    SmallVector<Type> types;
    for (Value v : args)
      types.push_back(v.getType());

    MLIRContext *ctx = op->getContext();
    OpBuilder b(ctx);
    b.setInsertionPointAfter(parent);
    auto kernel = func::FuncOp::create(b, op->getLoc(), "kernel",
                                       FunctionType::get(ctx, types, {}));
    kernel.setPrivate();
    kernel->setAttr("passthrough",
                    b.getArrayAttr({b.getStringAttr("noinline")}));
    Block *body = kernel.addEntryBlock();
    IRMapping map;
    for (auto [v, arg] : llvm::zip(args, body->getArguments()))
      map.map(v, arg);
    OpBuilder kb = OpBuilder::atBlockBegin(body);
    for (Operation *c : constants)
      map.map(c->getResult(0), kb.clone(*c)->getResult(0));
    for (linalg::LinalgOp member : group)
      kb.clone(*member, map);
    func::ReturnOp::create(kb, op->getLoc());

    std::string key;
    llvm::raw_string_ostream os(key);
    kernel->print(os, OpPrintingFlags().useLocalScope());
    auto [it, added] = kernels.try_emplace(key, kernel);
    if (added) {
      kernel.setName((parent.getName() + "__k" + llvm::Twine(index++)).str());
      symbols.insert(kernel); // renames on a clash
    } else {
      kernel.erase();
      kernel = it->second;
    }

    OpBuilder cb(op);
    func::CallOp::create(cb, op->getLoc(), kernel, args);
    for (linalg::LinalgOp member : group)
      member->erase();
  }
};

} // namespace
