//===- CudaReplaceLibdevice.cpp - attnc-cuda-replace-libdevice ------------===//
//
// Remaining libdevice calls (__nv_*) -> LLVM intrinsics.
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDAREPLACELIBDEVICE
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// convert-gpu-to-nvvm turns what is left of math (sqrt, floor, ...) into
/// calls to libdevice (__nv_sqrtf, ...), which is not linked (a machine
/// without CUDA has none): the simple ones become LLVM intrinsics NVPTX
/// selects directly; any other __nv_ call is an error.
struct ReplaceLibdevicePass
    : attnc::cuda::impl::AttncCudaReplaceLibdeviceBase<ReplaceLibdevicePass> {
  void runOnOperation() override {
    gpu::GPUModuleOp gm = getOperation();
    SmallVector<LLVM::CallOp> calls;
    gm.walk([&](LLVM::CallOp call) {
      if (auto callee = call.getCallee(); callee && callee->starts_with("__nv_"))
        calls.push_back(call);
    });
    for (LLVM::CallOp call : calls) {
      StringRef name = *call.getCallee();
      name.consume_front("__nv_");
      bool f32 = name.consume_back("f");
      (void)f32;
      OpBuilder b(call);
      Location loc = call.getLoc();
      ValueRange a = call.getArgOperands();
      Type t = call.getNumResults() ? call.getResult().getType() : Type();
      Value r;
      if (name == "sqrt")
        r = LLVM::SqrtOp::create(b, loc, a[0]);
      else if (name == "rsqrt")
        r = LLVM::FDivOp::create(
            b, loc, LLVM::ConstantOp::create(b, loc, t, b.getFloatAttr(t, 1.0)),
            LLVM::SqrtOp::create(b, loc, a[0]));
      else if (name == "fabs")
        r = LLVM::FAbsOp::create(b, loc, a[0]);
      else if (name == "floor")
        r = LLVM::FFloorOp::create(b, loc, a[0]);
      else if (name == "ceil")
        r = LLVM::FCeilOp::create(b, loc, a[0]);
      else if (name == "trunc")
        r = LLVM::FTruncOp::create(b, loc, a[0]);
      else if (name == "round")
        r = LLVM::RoundOp::create(b, loc, a[0]);
      else if (name == "rint")
        r = LLVM::RoundEvenOp::create(b, loc, a[0]);
      else if (name == "exp2")
        r = LLVM::Exp2Op::create(b, loc, a[0]);
      else if (name == "fma")
        r = LLVM::FMAOp::create(b, loc, a[0], a[1], a[2]);
      else if (name == "fmax")
        r = LLVM::MaxNumOp::create(b, loc, a[0], a[1]);
      else if (name == "fmin")
        r = LLVM::MinNumOp::create(b, loc, a[0], a[1]);
      else if (name == "copysign")
        r = LLVM::CopySignOp::create(b, loc, a[0], a[1]);
      if (!r) {
        call.emitError("the CUDA target has no replacement for libdevice's ")
            << *call.getCallee() << " (libdevice is not linked)";
        return signalPassFailure();
      }
      call.getResult().replaceAllUsesWith(r);
      call.erase();
    }
    SymbolTableCollection symbols;
    for (auto fn : llvm::make_early_inc_range(gm.getOps<LLVM::LLVMFuncOp>()))
      if (fn.isExternal() && fn.getName().starts_with("__nv_") &&
          SymbolTable::symbolKnownUseEmpty(fn, gm))
        fn.erase();
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createReplaceLibdevicePass() {
  return std::make_unique<ReplaceLibdevicePass>();
}
