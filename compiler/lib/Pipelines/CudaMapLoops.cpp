//===- CudaMapLoops.cpp - attnc-cuda-map-loops ----------------------------===//
//
// Tiles each top-level scf.parallel into blocks of threads, maps it.
// A pass of the attnc-cuda-pipeline (CUDA.cpp, compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace attnc::cuda {
#define GEN_PASS_DEF_ATTNCCUDAMAPLOOPS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

constexpr int64_t kThreadsPerBlock = 256;

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

bool containsLaunch(Operation *op) {
  return op->walk([](gpu::LaunchOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
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
    : attnc::cuda::impl::AttncCudaMapLoopsBase<MapLoopsPass> {
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
        if (containsLaunch(&op))
          continue; // already a kernel (attnc-cuda-matmul-kernels)
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

} // namespace

std::unique_ptr<Pass> attnc::cuda::createMapLoopsPass() {
  return std::make_unique<MapLoopsPass>();
}
