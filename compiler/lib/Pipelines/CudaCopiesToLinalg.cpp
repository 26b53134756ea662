//===- CudaCopiesToLinalg.cpp - attnc-cuda-copies-to-linalg ---------------===//
//
// memref.copy -> a linalg copy, so that a copy is a kernel too.
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDACOPIESTOLINALG
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// memref.copy -> a linalg.generic copy, so that it becomes a kernel like
/// every other linalg op (finalize-memref-to-llvm would make it a host
/// memcpy on device pointers).
struct CopiesToLinalgPass
    : attnc::cuda::impl::AttncCudaCopiesToLinalgBase<CopiesToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::makeMemRefCopyOp(b, op.getLoc(), op.getSource(),
                               op.getTarget());
      op.erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createCopiesToLinalgPass() {
  return std::make_unique<CopiesToLinalgPass>();
}
