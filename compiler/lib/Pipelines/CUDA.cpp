//===- CUDA.cpp - the attnc-cuda-pipeline: linalg on tensors -> PTX -------===//
//
// Correctness-first GPU code: every linalg op becomes one kernel.
//
//   bufferize (as for the CPU: identity layouts, outputs as out-params)
//   memref.copy -> linalg copy (attnc-cuda-copies-to-linalg)
//   linalg -> scf.parallel over the parallel dims, scf.for over reductions
//   attnc-cuda-map-loops: each top-level scf.parallel is tiled so that one
//     block of up to 256 threads covers a [ty, tx] tile of the two innermost
//     parallel dims (tx = 32..256 along the innermost), the tiles go to the
//     grid (innermost tile index -> block x, then y, z; further outer dims
//     loop inside the kernel); memory ops outside any parallel loop are
//     wrapped in a one-thread launch so the host never touches device memory
//   convert-parallel-loops-to-gpu, gpu-kernel-outlining
//   attnc-cuda-merge-kernels: one gpu.module (@attnc_kernels) with
//     structurally identical kernels (the same op in every layer) shared
//   attnc-cuda-check-host: the host functions only compute sizes, allocate
//     and launch (no loads/stores: their memrefs are device memory)
//   nvvm-attach-target{chip=<arch>}, math -> polynomial approximations in
//     the kernels (attnc-cuda-expand-math: no libdevice needed), gpu -> nvvm
//   host: memref.alloc/dealloc -> _mlir_memref_to_llvm_alloc/free (the
//     runtime maps them to cuMemAlloc/cuMemFree), gpu.launch_func ->
//     mgpu* calls (gpu-to-llvm), gpu-module-to-binary{format=isa}: PTX.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

constexpr int64_t kThreadsPerBlock = 256;

/// memref.copy -> a linalg.generic copy, so that it becomes a kernel like
/// every other linalg op (finalize-memref-to-llvm would make it a host
/// memcpy on device pointers).
struct CopiesToLinalgPass
    : PassWrapper<CopiesToLinalgPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CopiesToLinalgPass)
  StringRef getArgument() const final { return "attnc-cuda-copies-to-linalg"; }
  StringRef getDescription() const final {
    return "memref.copy -> linalg.generic copy";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<linalg::LinalgDialect>();
  }
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

std::optional<int64_t> staticTripCount(scf::ParallelOp p, unsigned d) {
  auto lb = getConstantIntValue(p.getLowerBound()[d]);
  auto ub = getConstantIntValue(p.getUpperBound()[d]);
  auto st = getConstantIntValue(p.getStep()[d]);
  if (!lb || !ub || !st || *st <= 0)
    return std::nullopt;
  return (*ub - *lb + *st - 1) / *st;
}

int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

gpu::ParallelLoopDimMappingAttr dimMap(MLIRContext *ctx, gpu::Processor p) {
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id);
}

void mapSequential(scf::ParallelOp p) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> m(
      p.getNumLoops(), dimMap(p.getContext(), gpu::Processor::Sequential));
  (void)gpu::setMappingAttr(p, m);
}

bool touchesMemory(Operation *op) {
  bool found = false;
  op->walk([&](Operation *inner) {
    if (isa<memref::LoadOp, memref::StoreOp, linalg::LinalgOp,
            vector::TransferReadOp, vector::TransferWriteOp, vector::LoadOp,
            vector::StoreOp>(inner)) {
      found = true;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

/// A host read of one element of device memory (a scalar input such as the
/// cache end index, used for sizes and offsets): the element is copied into
/// a host stack slot by attnc_cuda_memcpy_dtoh(dst, src, bytes), which the
/// runtime provides (after the launches before it finish), and read there.
void readThroughHostCopy(memref::LoadOp load, func::FuncOp copyFn) {
  OpBuilder b(load);
  Location loc = load.getLoc();
  auto type = load.getMemRefType();
  Type elem = type.getElementType();
  auto i64 = b.getI64Type();
  auto slot = memref::AllocaOp::create(b, loc, MemRefType::get({1}, elem));
  auto meta =
      memref::ExtractStridedMetadataOp::create(b, loc, load.getMemRef());
  Value index = meta.getOffset();
  for (auto [i, stride] : llvm::zip(load.getIndices(), meta.getStrides()))
    index = arith::AddIOp::create(
        b, loc, index, arith::MulIOp::create(b, loc, i, stride));
  auto asI64 = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, i64, v).getResult();
  };
  int64_t bytes = (elem.getIntOrFloatBitWidth() + 7) / 8;
  Value bytesV = arith::ConstantIntOp::create(b, loc, i64, bytes);
  Value src = arith::AddIOp::create(
      b, loc,
      asI64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc,
                                                           load.getMemRef())),
      arith::MulIOp::create(b, loc, asI64(index), bytesV));
  Value dst = asI64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, slot));
  func::CallOp::create(b, loc, copyFn, ValueRange{dst, src, bytesV});
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value v = memref::LoadOp::create(b, loc, slot, ValueRange{c0});
  load.getResult().replaceAllUsesWith(v);
  load.erase();
}

/// Thread-private buffers (static memref.alloca, e.g. the fused attention's
/// accumulator) move to the start of the thread loop's body, out of the
/// bounds guard and any loop: the kernel's entry block, where LLVM makes
/// them static local-memory slots (an alloca elsewhere would be a dynamic
/// stack allocation, repeated per iteration).
void hoistPrivateBuffers(scf::ParallelOp inner) {
  SmallVector<memref::AllocaOp> allocas;
  inner.getBody()->walk([&](memref::AllocaOp a) {
    if (a.getType().hasStaticShape() && a->getNumOperands() == 0 &&
        a->getParentOp() != inner)
      allocas.push_back(a);
  });
  for (memref::AllocaOp a : allocas)
    a->moveBefore(&inner.getBody()->front());
}

/// Tiles and maps every top-level scf.parallel of a function onto blocks and
/// threads (see the file comment); wraps other memory-touching top-level
/// ops in a one-thread parallel loop.
struct MapLoopsPass
    : PassWrapper<MapLoopsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MapLoopsPass)
  StringRef getArgument() const final { return "attnc-cuda-map-loops"; }
  StringRef getDescription() const final {
    return "Tile top-level scf.parallel loops into blocks of threads and map "
           "them to the GPU";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<gpu::GPUDialect, scf::SCFDialect, arith::ArithDialect,
             func::FuncDialect>();
  }

  func::FuncOp copyFn;

  void runOnOperation() override {
    for (auto f : llvm::make_early_inc_range(
             getOperation().getOps<func::FuncOp>()))
      if (!f.isExternal() && failed(mapFunction(f)))
        return signalPassFailure();
  }

  func::FuncOp getCopyFn() {
    if (copyFn)
      return copyFn;
    ModuleOp m = getOperation();
    OpBuilder b(m.getBodyRegion());
    auto i64 = b.getI64Type();
    copyFn = func::FuncOp::create(b, m.getLoc(), "attnc_cuda_memcpy_dtoh",
                                  b.getFunctionType({i64, i64, i64}, {}));
    copyFn.setPrivate();
    return copyFn;
  }

  LogicalResult mapFunction(func::FuncOp f) {
    MLIRContext *ctx = &getContext();
    SmallVector<scf::ParallelOp> loops;
    SmallVector<Operation *> wrap;
    SmallVector<memref::LoadOp> reads;
    for (Block &block : f.getBody())
      for (Operation &op : block) {
        if (auto p = dyn_cast<scf::ParallelOp>(op))
          loops.push_back(p);
        else if (auto load = dyn_cast<memref::LoadOp>(op))
          reads.push_back(load);
        else if (touchesMemory(&op))
          wrap.push_back(&op);
      }
    for (memref::LoadOp load : reads)
      readThroughHostCopy(load, getCopyFn());
    for (Operation *op : wrap) {
      if (op->getNumResults() != 0)
        return op->emitError("the CUDA target cannot run this op on the "
                             "host (its result is used by host code)");
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      auto p = scf::ParallelOp::create(b, loc, ValueRange{c0}, ValueRange{c1},
                                       ValueRange{c1});
      op->moveBefore(p.getBody()->getTerminator());
      (void)gpu::setMappingAttr(p, {dimMap(ctx, gpu::Processor::BlockX)});
      p.walk([&](scf::ParallelOp inner) {
        if (inner != p)
          mapSequential(inner);
      });
    }
    for (scf::ParallelOp p : loops) {
      unsigned n = p.getNumLoops();
      SmallVector<int64_t> tiles(n, 1);
      std::optional<int64_t> ex = staticTripCount(p, n - 1);
      int64_t tx = ex ? std::min(kThreadsPerBlock, roundUp(*ex, 32))
                      : kThreadsPerBlock;
      int64_t ty = 1;
      if (n >= 2 && tx < kThreadsPerBlock) {
        ty = kThreadsPerBlock / tx;
        if (std::optional<int64_t> ey = staticTripCount(p, n - 2))
          ty = std::max<int64_t>(1, std::min(ty, *ey));
      }
      tiles[n - 1] = tx;
      if (n >= 2)
        tiles[n - 2] = ty;
      auto [outer, inner] =
          scf::tileParallelLoop(p, tiles, /*noMinMaxBounds=*/true);
      static const gpu::Processor blocks[] = {gpu::Processor::BlockX,
                                              gpu::Processor::BlockY,
                                              gpu::Processor::BlockZ};
      SmallVector<gpu::ParallelLoopDimMappingAttr> om, im;
      for (unsigned d = 0; d < n; ++d) {
        unsigned fromInner = n - 1 - d;
        om.push_back(dimMap(ctx, fromInner < 3 ? blocks[fromInner]
                                               : gpu::Processor::Sequential));
        im.push_back(dimMap(ctx, fromInner == 0 ? gpu::Processor::ThreadX
                                 : fromInner == 1 && ty > 1
                                     ? gpu::Processor::ThreadY
                                     : gpu::Processor::Sequential));
      }
      (void)gpu::setMappingAttr(outer, om);
      (void)gpu::setMappingAttr(inner, im);
      inner.getBody()->walk([&](scf::ParallelOp nested) {
        mapSequential(nested);
      });
      hoistPrivateBuffers(inner);
    }
    return success();
  }
};

/// --emit=cpu-emulation runs the mapped loops sequentially on the host: a
/// thread-private buffer (see hoistPrivateBuffers) moves in front of its
/// top-level loop, so that the loops reuse one stack slot instead of
/// allocating per iteration.
struct EmulationHoistAllocasPass
    : PassWrapper<EmulationHoistAllocasPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(EmulationHoistAllocasPass)
  StringRef getArgument() const final {
    return "attnc-cuda-emulation-hoist-allocas";
  }
  StringRef getDescription() const final {
    return "Move static allocas out of the top-level (mapped) scf.parallel "
           "loops (sequential CPU emulation only)";
  }
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

/// All outlined kernels into one gpu.module @attnc_kernels (one PTX, one
/// module load); a kernel identical to an earlier one (same body, same
/// argument types: the same op in another layer) is dropped and its launches
/// go to the earlier one.
struct MergeKernelsPass
    : PassWrapper<MergeKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MergeKernelsPass)
  StringRef getArgument() const final { return "attnc-cuda-merge-kernels"; }
  StringRef getDescription() const final {
    return "Merge the outlined gpu.modules into one, sharing identical "
           "kernels";
  }
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

/// Host code must not dereference its memrefs: they are device memory.
struct CheckHostPass : PassWrapper<CheckHostPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CheckHostPass)
  StringRef getArgument() const final { return "attnc-cuda-check-host"; }
  StringRef getDescription() const final {
    return "Fail when host code reads or writes a memref";
  }
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

/// math ops -> arith/polynomial forms inside the kernels, so that
/// convert-gpu-to-nvvm has nothing to call in libdevice; what remains
/// (sqrt, fabs, fma, floor, ...) lowers to LLVM intrinsics NVPTX supports.
struct ExpandMathPass : PassWrapper<ExpandMathPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExpandMathPass)
  StringRef getArgument() const final { return "attnc-cuda-expand-math"; }
  StringRef getDescription() const final {
    return "Expand math ops into polynomial approximations in gpu.modules";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<arith::ArithDialect, math::MathDialect, vector::VectorDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns);
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// convert-gpu-to-nvvm turns what is left of math (sqrt, floor, ...) into
/// calls to libdevice (__nv_sqrtf, ...), which is not linked (a machine
/// without CUDA has none): the simple ones become LLVM intrinsics NVPTX
/// selects directly; any other __nv_ call is an error.
struct ReplaceLibdevicePass
    : PassWrapper<ReplaceLibdevicePass, OperationPass<gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ReplaceLibdevicePass)
  StringRef getArgument() const final {
    return "attnc-cuda-replace-libdevice";
  }
  StringRef getDescription() const final {
    return "Replace libdevice calls by LLVM intrinsics in gpu.modules";
  }
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

void registerUpstreamPasses() {
  static bool done = [] {
    registerConversionPasses();
    arith::registerArithPasses();
    registerTransformsPasses();
    registerLinalgPasses();
    registerSCFPasses();
    registerGPUPasses();
    memref::registerMemRefPasses();
    bufferization::registerBufferizationPasses();
    if (!PassPipelineInfo::lookup("buffer-deallocation-pipeline"))
      bufferization::registerBufferizationPipelines();
    PassRegistration<CopiesToLinalgPass>();
    PassRegistration<MapLoopsPass>();
    PassRegistration<EmulationHoistAllocasPass>();
    PassRegistration<MergeKernelsPass>();
    PassRegistration<CheckHostPass>();
    PassRegistration<ExpandMathPass>();
    PassRegistration<ReplaceLibdevicePass>();
    return true;
  }();
  (void)done;
}

} // namespace

std::string attnc::cudaPipelineText(const std::string &arch) {
  return "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params{modify-public-functions "
         "hoist-static-allocs hoist-dynamic-allocs},"
         "buffer-deallocation-pipeline,"
         "canonicalize,"
         "scf-forall-to-parallel,"
         "attnc-cuda-copies-to-linalg,"
         "func.func(convert-linalg-to-parallel-loops),"
         "attnc-cuda-map-loops,"
         "func.func(convert-parallel-loops-to-gpu),"
         "gpu-launch-sink-index-computations,"
         "gpu-kernel-outlining,"
         "attnc-cuda-merge-kernels,"
         "attnc-cuda-check-host,"
         "nvvm-attach-target{chip=" +
         arch +
         " O=3},"
         "lower-affine,"
         "convert-scf-to-cf,"
         "gpu.module(attnc-cuda-expand-math,"
         "convert-gpu-to-nvvm,"
         "attnc-cuda-replace-libdevice,"
         "canonicalize,"
         "cse,"
         "reconcile-unrealized-casts),"
         "expand-strided-metadata,"
         "lower-affine,"
         "finalize-memref-to-llvm{use-generic-functions},"
         "convert-math-to-llvm,"
         "convert-arith-to-llvm,"
         "convert-cf-to-llvm,"
         "convert-func-to-llvm,"
         "gpu-to-llvm,"
         "reconcile-unrealized-casts,"
         "canonicalize";
}

std::string attnc::cudaEmulationPipelineText() {
  // The CUDA pipeline up to the mapped loops (what becomes the kernels and
  // the host code), then sequential loops on the CPU: scf.parallel ->
  // scf.for, the same polynomial math.
  std::string text = cudaPipelineText("sm_90");
  text = text.substr(0, text.find("func.func(convert-parallel-loops-to-gpu)"));
  return text +
         "attnc-cuda-emulation-hoist-allocas,"
         "attnc-cuda-expand-math,"
         "convert-scf-to-cf,"
         "lower-affine,"
         "expand-strided-metadata,"
         "lower-affine,"
         // bf16 conversions without a __truncsfbf2 libcall (see CPU.cpp).
         "arith-emulate-unsupported-floats{source-types=bf16 target-type=f32},"
         "arith-expand{include-bf16=true},"
         "finalize-memref-to-llvm,"
         "convert-math-to-llvm,"
         "convert-math-to-libm,"
         "convert-arith-to-llvm,"
         "convert-cf-to-llvm,"
         "convert-func-to-llvm,"
         "reconcile-unrealized-casts,"
         "canonicalize";
}

mlir::LogicalResult attnc::buildCudaEmulationPipeline(mlir::OpPassManager &pm) {
  registerUpstreamPasses();
  return parsePassPipeline(cudaEmulationPipelineText(), pm, llvm::errs());
}

mlir::LogicalResult attnc::buildCudaPipeline(mlir::OpPassManager &pm,
                                             const std::string &arch) {
  registerUpstreamPasses();
  return parsePassPipeline(cudaPipelineText(arch), pm, llvm::errs());
}

void attnc::registerAttncCudaPipeline() {
  registerUpstreamPasses();
  if (PassPipelineInfo::lookup("attnc-cuda-pipeline"))
    return;
  PassPipelineRegistration<>(
      "attnc-cuda-pipeline",
      "Lower linalg on tensors to host LLVM dialect + GPU kernels in the "
      "NVVM dialect for sm_90 (one kernel per linalg op; "
      "gpu-module-to-binary makes the PTX)",
      [](OpPassManager &pm) { (void)buildCudaPipeline(pm, "sm_90"); });
  PassPipelineRegistration<>(
      "attnc-cuda-emulation-pipeline",
      "The attnc-cuda-pipeline up to the block/thread mapping, then host "
      "LLVM with the mapped loops run sequentially (--emit=cpu-emulation)",
      [](OpPassManager &pm) { (void)buildCudaEmulationPipeline(pm); });
}
