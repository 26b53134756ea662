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

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCOUTLINEKERNELS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

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
      for (linalg::LinalgOp op : ops)
        outline(f, op, n, symbols);
    }
  }

  /// Kernels by their text with a placeholder name: the layers of a model
  /// share their kernels instead of compiling one copy each.
  llvm::StringMap<func::FuncOp> kernels;

  void outline(func::FuncOp parent, linalg::LinalgOp op, unsigned &index,
               SymbolTable &symbols) {
    llvm::SetVector<Value> captured;
    for (Value v : op->getOperands())
      captured.insert(v);
    getUsedValuesDefinedAbove(op->getRegions(), captured);
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
    kb.clone(*op, map);
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
    op->erase();
  }
};

} // namespace
