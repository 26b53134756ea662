//===- RouteAllocations.cpp - heap allocations through runtime slots ------===//
//
// See AttncRouteAllocations in attnc/Compiler/Transforms/Passes.td.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCROUTEALLOCATIONS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// `name`, declared with `type` unless the module already has it.
LLVM::LLVMFuncOp declare(OpBuilder &b, ModuleOp m, StringRef name,
                         LLVM::LLVMFunctionType type) {
  if (auto fn = m.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return fn;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(m.getBody());
  return LLVM::LLVMFuncOp::create(b, m.getLoc(), name, type);
}

struct RouteAllocations
    : public attnc::impl::AttncRouteAllocationsBase<RouteAllocations> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp m = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidTy = LLVM::LLVMVoidType::get(ctx);
    // generic function -> (slot suffix, libc default, its type)
    struct Route {
      StringRef generic, slot, libc;
      LLVM::LLVMFunctionType type;
    };
    Route routes[] = {
        {"_mlir_memref_to_llvm_alloc", "alloc_fn", "malloc",
         LLVM::LLVMFunctionType::get(ptrTy, {i64})},
        {"_mlir_memref_to_llvm_aligned_alloc", "aligned_alloc_fn",
         "aligned_alloc", LLVM::LLVMFunctionType::get(ptrTy, {i64, i64})},
        {"_mlir_memref_to_llvm_free", "free_fn", "free",
         LLVM::LLVMFunctionType::get(voidTy, {ptrTy})},
    };
    for (const Route &r : routes) {
      auto fn = m.lookupSymbol<LLVM::LLVMFuncOp>(r.generic);
      if (!fn || !fn.isExternal())
        continue;
      if (fn.getFunctionType() != r.type) {
        fn.emitOpError() << "has type " << fn.getFunctionType()
                         << "; expected " << r.type;
        return signalPassFailure();
      }
      LLVM::LLVMFuncOp libc = declare(b, m, r.libc, r.type);
      // The slot: an exported pointer that starts at libc's function.
      std::string slotName = prefix + r.slot.str();
      LLVM::GlobalOp slot;
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(m.getBody());
        slot = LLVM::GlobalOp::create(b, m.getLoc(), ptrTy,
                                      /*isConstant=*/false,
                                      LLVM::Linkage::External, slotName,
                                      Attribute());
        b.createBlock(&slot.getInitializerRegion());
        Value addr = LLVM::AddressOfOp::create(b, m.getLoc(), libc);
        LLVM::ReturnOp::create(b, m.getLoc(), addr);
      }
      // The generic function: a private body calling through the slot.
      OpBuilder::InsertionGuard guard(b);
      Block *entry = fn.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Location loc = fn.getLoc();
      Value slotAddr = LLVM::AddressOfOp::create(b, loc, slot);
      Value callee = LLVM::LoadOp::create(b, loc, ptrTy, slotAddr);
      SmallVector<Value> args{callee};
      llvm::append_range(args, entry->getArguments());
      auto call = LLVM::CallOp::create(b, loc, r.type, args);
      if (r.type.getReturnType() == voidTy)
        LLVM::ReturnOp::create(b, loc, ValueRange{});
      else
        LLVM::ReturnOp::create(b, loc, call.getResult());
      fn.setLinkage(LLVM::Linkage::Internal);
    }
  }
};

} // namespace
