//===- CudaMatmulEmulation.cpp - matmul kernels on the CPU ----------------===//
//
// attnc-cuda-matmul-kernels{emulate=true} (--emit=cpu-emulation): the
// kernels' per-thread code in loops over blocks, threads, warps and lanes,
// with each mma.sync computed from the PTX ISA's fragment tables.
//
//===----------------------------------------------------------------------===//

#include "CudaMatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace attnc::cuda;

namespace {
/// Where element (row, col) of an mma.sync operand tile lives: which lane,
/// which of its values. Written from the PTX ISA's fragment tables for
/// mma.m16n8k16 (.f16/.bf16) and mma.m16n8k8 (.tf32), independently of
/// nvgpu's map that the kernel uses, so that the emulation checks it.
struct Holder {
  Value lane, value;
};

} // namespace

void MatmulKernelBuilder::emulateMma(Value fragA, Value fragB, Value acc,
                                     Value warp, int64_t tm, int64_t tn) {
  bool tf32 = kind.ptxType == NVVM::MMATypes::tf32;
  auto lane = [&](Value g, Value t) { return add(mul(g, 4), t); };
  // A[row, k]: 16-bit a_i: row g + 8 (i / 2 % 2), k 2t + i % 2 + 8 (i / 4);
  // tf32 a_i: row g + 8 (i % 2), k t + 4 (i / 2).
  auto holderA = [&](Value r, Value k) {
    Value g = rem(r, 8), rHalf = div(r, 8);
    if (tf32)
      return Holder{lane(g, rem(k, 4)), add(rHalf, mul(div(k, 4), 2))};
    return Holder{lane(g, div(rem(k, 8), 2)),
                  add(add(rem(k, 2), mul(rHalf, 2)), mul(div(k, 8), 4))};
  };
  // B[k, n]: 16-bit b_i: k 2t + i % 2 + 8 (i / 2), n g; tf32 b_i: k t + 4 i.
  auto holderB = [&](Value k, Value n) {
    if (tf32)
      return Holder{lane(n, rem(k, 4)), div(k, 4)};
    return Holder{lane(n, div(rem(k, 8), 2)),
                  add(rem(k, 2), mul(div(k, 8), 2))};
  };
  int64_t perTile = fc.base.size();
  Value tileA = index(tm), tileB = index(tn);
  loop(kWarpSize, [&](Value l) {
    loop(perTile, [&](Value v) {
      // C: c_i at row g + 8 (i / 2), column 2t + i % 2.
      Value r = add(div(l, 4), mul(div(v, 2), 8));
      Value n = add(mul(rem(l, 4), 2), rem(v, 2));
      Value slot = add(v, (tm * kTilesN + tn) * perTile);
      Value sum0 =
          memref::LoadOp::create(b, loc, acc, ValueRange{warp, l, slot});
      auto kLoop = scf::ForOp::create(b, loc, index(0), index(kind.k), index(1),
                                      ValueRange{sum0});
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(kLoop.getBody());
        Value k = kLoop.getInductionVar();
        Holder ha = holderA(r, k), hb = holderB(k, n);
        Value x = memref::LoadOp::create(b, loc, fragA,
                                         ValueRange{tileA, ha.lane, ha.value});
        Value y = memref::LoadOp::create(b, loc, fragB,
                                         ValueRange{tileB, hb.lane, hb.value});
        Value sum = arith::AddFOp::create(
            b, loc, kLoop.getRegionIterArgs()[0],
            arith::MulFOp::create(b, loc, widen(x, tf32), widen(y, tf32)));
        scf::YieldOp::create(b, loc, sum);
      }
      memref::StoreOp::create(b, loc, kLoop.getResult(0), acc,
                              ValueRange{warp, l, slot});
    });
  });
}

void MatmulKernelBuilder::openEmulation(Value &sharedA, Value &sharedB) {
  Value one = index(1);
  lastRow = arith::SubIOp::create(b, loc, rows, one);
  lastCol = arith::SubIOp::create(b, loc, cols, one);
  lastK = arith::SubIOp::create(b, loc, depth, one);
  sharedA = memref::AllocaOp::create(b, loc, sharedType(false));
  sharedB = memref::AllocaOp::create(b, loc, sharedType(false));
}

void MatmulKernelBuilder::buildSimtEmulation(bool startFromZero) {
  Value sharedA, sharedB;
  openEmulation(sharedA, sharedB);
  int64_t perThread = kSimtRows * kSimtCols;
  Value acc = memref::AllocaOp::create(
      b, loc, MemRefType::get({kThreads, perThread}, b.getF32Type()));
  auto accumulators = [&](Value tid) {
    SmallVector<Value> values;
    for (int64_t i = 0; i < perThread; ++i)
      values.push_back(
          memref::LoadOp::create(b, loc, acc, ValueRange{tid, index(i)}));
    return values;
  };
  auto keep = [&](Value tid, ValueRange values) {
    for (auto [i, v] : llvm::enumerate(values))
      memref::StoreOp::create(b, loc, v, acc, ValueRange{tid, index(i)});
  };
  loop(gridY, 1, [&](Value by) {
    loop(gridX, 1, [&](Value bx) {
      loop(kThreads, [&](Value tid) {
        enterThread(bx, by, tid);
        keep(tid, simtInitial(startFromZero));
      });
      loop(depth, kBlock(), [&](Value kb) {
        // The block's copy, all threads, then (the barrier) the FMAs.
        loop(kThreads, [&](Value tid) {
          enterThread(bx, by, tid);
          copyToShared(copyPart(tid), kb, sharedA, sharedB);
        });
        loop(kThreads, [&](Value tid) {
          enterThread(bx, by, tid);
          keep(tid, simtStep(sharedA, sharedB, accumulators(tid)));
        });
      });
      loop(kThreads, [&](Value tid) {
        enterThread(bx, by, tid);
        simtStore(accumulators(tid));
      });
    });
  });
}

void MatmulKernelBuilder::buildEmulation(bool startFromZero) {
  Value sharedA, sharedB;
  openEmulation(sharedA, sharedB);
  int64_t warps = kWarpsM * kWarpsN;
  int64_t perLane = kTilesM * kTilesN * fc.base.size();
  auto stage = [&](MemRefType type) {
    return memref::AllocaOp::create(b, loc, type).getResult();
  };
  Type bits = b.getIntegerType(bitWidth());
  Value acc =
      stage(MemRefType::get({warps, kWarpSize, perLane}, b.getF32Type()));
  Value fragA = stage(
      MemRefType::get({kTilesM, kWarpSize, int64_t(fa.base.size())}, bits));
  Value fragB = stage(
      MemRefType::get({kTilesN, kWarpSize, int64_t(fb.base.size())}, bits));
  auto eachLane = [&](Value bx, Value by, function_ref<void(Value, Value)> f) {
    loop(warps, [&](Value warp) {
      loop(kWarpSize, [&](Value l) {
        enterLane(bx, by, warp, l);
        f(warp, l);
      });
    });
  };
  loop(gridY, 1, [&](Value by) {
    loop(gridX, 1, [&](Value bx) {
      eachLane(bx, by, [&](Value warp, Value l) {
        for (auto [i, v] : llvm::enumerate(initialAccumulators(startFromZero)))
          memref::StoreOp::create(b, loc, v, acc,
                                  ValueRange{warp, l, index(i)});
      });
      loop(depth, kBlock(), [&](Value kb) {
        // The block's copy, all threads, then (the barrier) the warps.
        loop(kThreads, [&](Value tid) {
          enterLane(bx, by, div(tid, kWarpSize), rem(tid, kWarpSize));
          copyToShared(copyPart(tid), kb, sharedA, sharedB);
        });
        loop(warps, [&](Value warp) {
          for (int64_t ks = 0; ks < kBlock(); ks += kind.k) {
            loop(kWarpSize, [&](Value l) {
              enterLane(bx, by, warp, l);
              for (int64_t tm = 0; tm < kTilesM; ++tm)
                for (auto [i, v] : llvm::enumerate(
                         fragment(sharedA, fa, warpRowInBlock, kTileM, ks, tm)))
                  memref::StoreOp::create(b, loc, v, fragA,
                                          ValueRange{index(tm), l, index(i)});
              for (int64_t tn = 0; tn < kTilesN; ++tn)
                for (auto [i, v] : llvm::enumerate(
                         fragment(sharedB, fb, warpColInBlock, kTileN, ks, tn)))
                  memref::StoreOp::create(b, loc, v, fragB,
                                          ValueRange{index(tn), l, index(i)});
            });
            for (int64_t tm = 0; tm < kTilesM; ++tm)
              for (int64_t tn = 0; tn < kTilesN; ++tn)
                emulateMma(fragA, fragB, acc, warp, tm, tn);
          }
        });
      });
      eachLane(bx, by, [&](Value warp, Value l) {
        SmallVector<Value> values;
        for (int64_t i = 0; i < perLane; ++i)
          values.push_back(memref::LoadOp::create(
              b, loc, acc, ValueRange{warp, l, index(i)}));
        storeAccumulators(values);
      });
    });
  });
}
