//===- CudaEmulationHoistAllocas.cpp - attnc-cuda-emulation-hoist-allocas -===//
//
// --emit=cpu-emulation: private buffers in front of the mapped loops.
// A pass of the CUDA emulation pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDAEMULATIONHOISTALLOCAS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// --emit=cpu-emulation runs the mapped loops sequentially on the host: a
/// thread-private buffer (see hoistPrivateBuffers) moves in front of its
/// top-level loop, so that the loops reuse one stack slot instead of
/// allocating per iteration.
struct EmulationHoistAllocasPass
    : attnc::cuda::impl::AttncCudaEmulationHoistAllocasBase<EmulationHoistAllocasPass> {
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>())
      for (Block &block : f.getBody())
        for (auto p : block.getOps<scf::ParallelOp>()) {
          SmallVector<memref::AllocaOp> allocas;
          p.walk([&](memref::AllocaOp a) {
            if (a.getType().hasStaticShape() && a->getNumOperands() == 0)
              allocas.push_back(a);
          });
          for (memref::AllocaOp a : allocas)
            a->moveBefore(p);
        }
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createEmulationHoistAllocasPass() {
  return std::make_unique<EmulationHoistAllocasPass>();
}
