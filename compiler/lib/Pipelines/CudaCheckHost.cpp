//===- CudaCheckHost.cpp - attnc-cuda-check-host --------------------------===//
//
// Fails when host code still reads or writes a memref (device memory).
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDACHECKHOST
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// Host code must not dereference its memrefs: they are device memory.
struct CheckHostPass
    : attnc::cuda::impl::AttncCudaCheckHostBase<CheckHostPass> {
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>())
      f.walk([&](Operation *op) {
        if (auto load = dyn_cast<memref::LoadOp>(op))
          if (load.getMemRef().getDefiningOp<memref::AllocaOp>())
            return;
        // Memory the kernels cannot reach: host globals, host stack.
        if (isa<memref::GetGlobalOp>(op)) {
          op->emitError("the CUDA target does not support constant tensors "
                        "yet (they would stay in host memory)");
          signalPassFailure();
          return;
        }
        if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op))
          for (Value v : launch.getKernelOperands())
            if (v.getDefiningOp<memref::AllocaOp>()) {
              launch.emitError("internal compiler error: a kernel would "
                               "read host stack memory");
              signalPassFailure();
            }
        if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp,
                linalg::LinalgOp, vector::TransferReadOp,
                vector::TransferWriteOp, vector::LoadOp, vector::StoreOp>(
                op)) {
          op->emitError("internal compiler error: this op would touch device "
                        "memory from the host after GPU mapping");
          signalPassFailure();
        }
      });
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createCheckHostPass() {
  return std::make_unique<CheckHostPass>();
}
