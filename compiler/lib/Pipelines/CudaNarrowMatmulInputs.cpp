//===- CudaNarrowMatmulInputs.cpp - attnc-cuda-narrow-matmul-inputs -------===//
//
// A linalg.contract whose inputs are bf16/f16 tensors widened to f32 by an
// elementwise arith.extf reads the narrow tensors instead (the contraction
// widens each element as it multiplies). A pass of the attnc-cuda-pipeline
// (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDANARROWMATMULINPUTS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

/// The narrow tensor `v` was widened from: `v` is the result of an
/// all-parallel linalg.generic with identity maps whose body is only
/// `arith.extf` of a bf16/f16 input. Null otherwise.
Value widenedFrom(Value v) {
  auto generic = v.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || !generic.hasPureTensorSemantics() ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return {};
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return {};
  auto ext = dyn_cast<arith::ExtFOp>(body.front());
  if (!ext || ext.getIn() != body.getArgument(0))
    return {};
  Type narrow = ext.getIn().getType();
  if (!narrow.isBF16() && !narrow.isF16())
    return {};
  return generic.getDpsInputOperand(0)->get();
}

/// Every f32 linalg.contract on tensors is rebuilt on the narrow tensors
/// its inputs were widened from (either or both). The widening generics are
/// left to canonicalization (they die when nothing else uses them), so a
/// bf16 weight is no longer copied into an f32 buffer per call, and
/// attnc-cuda-matmul-kernels sees bf16/f16 operands where both are.
struct NarrowMatmulInputsPass
    : attnc::cuda::impl::AttncCudaNarrowMatmulInputsBase<
          NarrowMatmulInputsPass> {
  void runOnOperation() override {
    SmallVector<linalg::ContractOp> contracts;
    getOperation().walk([&](linalg::ContractOp op) {
      if (op.hasPureTensorSemantics() && op.getNumDpsInputs() == 2 &&
          getElementTypeOrSelf(op.getDpsInits()[0].getType()).isF32())
        contracts.push_back(op);
    });
    for (linalg::ContractOp op : contracts) {
      Value lhs = widenedFrom(op.getDpsInputs()[0]);
      Value rhs = widenedFrom(op.getDpsInputs()[1]);
      if (!lhs && !rhs)
        continue;
      if (!lhs)
        lhs = op.getDpsInputs()[0];
      if (!rhs)
        rhs = op.getDpsInputs()[1];
      OpBuilder b(op);
      auto narrow = linalg::ContractOp::create(
          b, op.getLoc(), op->getResultTypes(), ValueRange{lhs, rhs},
          op.getDpsInits(), op.getIndexingMaps());
      op->replaceAllUsesWith(narrow);
      op.erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> attnc::cuda::createNarrowMatmulInputsPass() {
  return std::make_unique<NarrowMatmulInputsPass>();
}
