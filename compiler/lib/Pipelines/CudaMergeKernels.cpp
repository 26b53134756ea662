//===- CudaMergeKernels.cpp - attnc-cuda-merge-kernels --------------------===//
//
// One gpu.module @attnc_kernels; identical kernels shared.
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDAMERGEKERNELS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// All outlined kernels into one gpu.module @attnc_kernels (one PTX, one
/// module load); a kernel identical to an earlier one (same body, same
/// argument types: the same op in another layer) is dropped and its launches
/// go to the earlier one.
struct MergeKernelsPass
    : attnc::cuda::impl::AttncCudaMergeKernelsBase<MergeKernelsPass> {
  void runOnOperation() override {
    ModuleOp m = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<gpu::GPUModuleOp> modules(m.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(m.getBody());
    auto merged = gpu::GPUModuleOp::create(b, m.getLoc(), "attnc_kernels");
    SymbolTable table(merged);
    llvm::StringMap<std::string> bodies;     // printed body -> kernel name
    llvm::StringMap<std::string> renamed;    // old module -> kernel name
    for (gpu::GPUModuleOp gm : modules) {
      for (auto fn : llvm::make_early_inc_range(gm.getOps<gpu::GPUFuncOp>())) {
        std::string oldName = fn.getName().str();
        std::string key;
        {
          llvm::raw_string_ostream os(key);
          fn.setName("k");
          fn->print(os, OpPrintingFlags().printGenericOpForm()
                            .useLocalScope()
                            .elideLargeElementsAttrs(1 << 30));
          fn.setName(oldName);
        }
        auto [it, fresh] = bodies.try_emplace(key, oldName);
        if (fresh) {
          fn->moveBefore(merged.getBody(), merged.getBody()->end());
          table.insert(fn); // renames on a clash
          it->second = fn.getName().str();
        }
        renamed[gm.getName().str() + "::" + oldName] = it->second;
      }
      gm.erase();
    }
    m.walk([&](gpu::LaunchFuncOp launch) {
      std::string oldKey = launch.getKernelModuleName().str() +
                           "::" + launch.getKernelName().str();
      auto it = renamed.find(oldKey);
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          ctx, "attnc_kernels",
          {FlatSymbolRefAttr::get(ctx, it->second)}));
    });
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createMergeKernelsPass() {
  return std::make_unique<MergeKernelsPass>();
}
