//===- CudaMatmulKernels.cpp - attnc-cuda-matmul-kernels ------------------===//
//
// Matmuls against a weight (C[..., m, n] += A[..., m, k] * B[n, k]) as one
// tiled gpu.launch each: mma.sync on the tensor cores or FMAs (the kernel:
// CudaMatmulKernel.h). A pass of the attnc-cuda-pipeline (CUDA.cpp,
// compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaMatmulKernel.h"
#include "CudaPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/Utils/MMAUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DECL_ATTNCCUDAMATMULKERNELS
#define GEN_PASS_DEF_ATTNCCUDAMATMULKERNELS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;
using namespace attnc::cuda;

namespace {

/// The layout of MLIR's own mma.sync lowering
/// (nvgpu::getLaneIdAndValueIdToOperandCoord, which follows the PTX ISA's
/// fragment tables), evaluated for every lane and value; fails if it does
/// not have the (row + l / 4, column + (l % 4) * perRegister) form the
/// kernel computes with. bf16 is asked as f16: upstream's table has no bf16
/// entry, and the layout depends only on the element width.
FailureOr<FragmentLayout> fragmentLayout(OpBuilder &b, Location loc,
                                         nvgpu::MatMulOperandRole role,
                                         ArrayRef<int64_t> shape,
                                         Type element) {
  if (element.isBF16())
    element = b.getF16Type();
  nvgpu::WarpMatrixInfo info{VectorType::get(shape, element), role};
  FailureOr<nvgpu::FragmentElementInfo> regs =
      nvgpu::getMmaSyncRegisterType(info);
  FailureOr<AffineMap> map =
      nvgpu::getLaneIdAndValueIdToOperandCoord(b, loc, info);
  if (failed(regs) || failed(map))
    return failure();
  FragmentLayout layout;
  layout.perRegister = regs->elementsPerRegister;
  int64_t values = regs->numRegistersPerFragment * regs->elementsPerRegister;
  for (int64_t v = 0; v < values; ++v)
    layout.base.push_back({0, 0});
  for (int64_t lane = 0; lane < kWarpSize; ++lane)
    for (int64_t v = 0; v < values; ++v) {
      SmallVector<int64_t> at = map->compose(ArrayRef<int64_t>{lane, v});
      if (lane == 0)
        layout.base[v] = {at[0], at[1]};
      if (at[0] != layout.base[v].first + lane / 4 ||
          at[1] != layout.base[v].second + (lane % 4) * layout.perRegister)
        return failure();
    }
  return layout;
}

/// The dims of `map`'s results when each result is a plain dim.
std::optional<SmallVector<unsigned>> resultDims(AffineMap map) {
  SmallVector<unsigned> dims;
  for (AffineExpr e : map.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d)
      return std::nullopt;
    dims.push_back(d.getPosition());
  }
  return dims;
}

/// C[p..., m, n] += A[p..., m, k] * B[n, k] on memrefs: the rows of A and C
/// (every dim but the last) are the same dims, B is a 2-D [n, k] weight.
bool isRowsTimesTransposedWeight(linalg::ContractOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2)
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto a = resultDims(maps[0]), b = resultDims(maps[1]),
       c = resultDims(maps[2]);
  if (!a || !b || !c || b->size() != 2 || a->size() < 2 ||
      a->size() != c->size() || op.getNumLoops() != c->size() + 1 ||
      op.getNumReductionLoops() != 1)
    return false;
  unsigned k = a->back(), n = c->back();
  return (*b)[0] == n && (*b)[1] == k && k != n &&
         ArrayRef<unsigned>(*a).drop_back() ==
             ArrayRef<unsigned>(*c).drop_back() &&
         !llvm::is_contained(*c, k);
}

/// How a matmul with `input` elements (A and B alike) runs: mma.sync for
/// bf16/f16 unless `tensorCores` is "off", for f32 only with "tf32"; the
/// FMA kernel otherwise.
std::optional<MmaKind> mmaKindFor(Type input, StringRef tensorCores) {
  bool cores = tensorCores != "off";
  if (input.isBF16() && cores)
    return MmaKind{input, NVVM::MMATypes::bf16, 16};
  if (input.isF16() && cores)
    return MmaKind{input, NVVM::MMATypes::f16, 16};
  if (input.isF32() && tensorCores == "tf32")
    return MmaKind{input, NVVM::MMATypes::tf32, 8};
  if (input.isBF16() || input.isF16() || input.isF32())
    return MmaKind{input, NVVM::MMATypes::f32, 8, /*simt=*/true};
  return std::nullopt;
}

/// The linalg.fill of zero that writes `out` right before `op`, if any: the
/// kernel then starts from zero instead of reading `out`.
linalg::FillOp zeroFillBefore(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || fill.getDpsInits()[0] != out)
    return {};
  return matchPattern(fill.getDpsInputs()[0], m_AnyZeroFloat())
             ? fill
             : linalg::FillOp();
}

struct MatmulKernelsPass
    : attnc::cuda::impl::AttncCudaMatmulKernelsBase<MatmulKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tensorCores != "auto" && tensorCores != "tf32" &&
        tensorCores != "off") {
      getOperation().emitError("tensor-cores must be auto, tf32 or off, not '")
          << tensorCores << "'";
      return signalPassFailure();
    }
    SmallVector<linalg::ContractOp> matmuls;
    getOperation().walk([&](linalg::ContractOp op) {
      if (isRowsTimesTransposedWeight(op))
        matmuls.push_back(op);
    });
    for (linalg::ContractOp op : matmuls) {
      Type aElem = getElementTypeOrSelf(op.getDpsInputs()[0].getType());
      Type bElem = getElementTypeOrSelf(op.getDpsInputs()[1].getType());
      Type cElem = getElementTypeOrSelf(op.getDpsInits()[0].getType());
      std::optional<MmaKind> kind = mmaKindFor(aElem, tensorCores);
      if (!kind || aElem != bElem || !cElem.isF32())
        continue;
      OpBuilder b(op);
      Location loc = op.getLoc();
      using Role = nvgpu::MatMulOperandRole;
      FailureOr<FragmentLayout> fa = FragmentLayout(), fb = FragmentLayout(),
                                fc = FragmentLayout();
      if (!kind->simt) {
        fa = fragmentLayout(b, loc, Role::A, {kTileM, kind->k}, kind->input);
        fb = fragmentLayout(b, loc, Role::B, {kTileN, kind->k}, kind->input);
        fc = fragmentLayout(b, loc, Role::C, {kTileM, kTileN}, cElem);
      }
      if (failed(fa) || failed(fb) || failed(fc)) {
        op.emitError("internal error: MLIR's mma.sync fragment layout for ")
            << kind->input << " is not the one this pass expects";
        return signalPassFailure();
      }
      linalg::FillOp fill = zeroFillBefore(op, op.getDpsInits()[0]);
      MatmulKernelBuilder(b, loc, *kind, *fa, *fb, *fc)
          .build(op, bool(fill), emulate);
      op.erase();
      if (fill)
        fill.erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass>
attnc::cuda::createMatmulKernelsPass(StringRef tensorCores, bool emulate) {
  attnc::cuda::AttncCudaMatmulKernelsOptions options;
  options.tensorCores = tensorCores.str();
  options.emulate = emulate;
  return std::make_unique<MatmulKernelsPass>(options);
}
