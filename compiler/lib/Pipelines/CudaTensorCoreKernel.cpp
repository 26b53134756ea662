//===- CudaTensorCoreKernel.cpp - mma.sync matmul kernels -----------------===//
//
// The kernel of one matmul against a weight (CudaTensorCoreKernel.h): the
// per-lane code, the gpu.launch with its mma.sync loop, the host-side
// sizes. Used by attnc-cuda-tensor-core-matmuls.
//
//===----------------------------------------------------------------------===//

#include "CudaTensorCoreKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace attnc::cuda;

void MatmulKernelBuilder::loop(int64_t n, function_ref<void(Value)> body) {
  auto forOp = scf::ForOp::create(b, loc, index(0), index(n), index(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  body(forOp.getInductionVar());
}

void MatmulKernelBuilder::enterLane(Value bx, Value by, Value warp,
                                    Value lane) {
  rowCache.clear();
  weightRowCache.clear();
  group = div(lane, 4);
  quad = rem(lane, 4);
  warpRow = add(mul(by, kBlockRows), mul(div(warp, kWarpsN), kWarpRows));
  warpCol = add(mul(bx, kBlockCols), mul(rem(warp, kWarpsN), kWarpCols));
}

const MatmulKernelBuilder::Row &MatmulKernelBuilder::row(int64_t offset) {
  auto it = rowCache.find(offset);
  if (it != rowCache.end())
    return it->second;
  Value r = add(add(warpRow, offset), group);
  Row out;
  out.valid = less(r, rows);
  // Row-major delinearization over A's leading dims (C has the same ones).
  Value rest = clamp(r, lastRow);
  out.indices.resize(rowDims.size());
  for (int64_t d = rowDims.size() - 1; d > 0; --d) {
    out.indices[d] = arith::RemUIOp::create(b, loc, rest, rowDims[d]);
    rest = arith::DivUIOp::create(b, loc, rest, rowDims[d]);
  }
  out.indices[0] = rest;
  return rowCache.try_emplace(offset, std::move(out)).first->second;
}

Value MatmulKernelBuilder::weightRow(int64_t offset) {
  Value &slot = weightRowCache[offset];
  if (!slot)
    slot = clamp(add(add(warpCol, offset), group), lastCol);
  return slot;
}

void MatmulKernelBuilder::prefetchRows() {
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (auto [r, col] : fa.base)
      (void)row(tm * kTileM + r);
  for (int64_t tn = 0; tn < kTilesN; ++tn)
    for (auto [n, col] : fb.base)
      (void)weightRow(tn * kTileN + n);
}

SmallVector<Value>
MatmulKernelBuilder::initialAccumulators(bool startFromZero) {
  SmallVector<Value> init;
  Value f32Zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value quadCol = mul(quad, fc.perRegister);
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      for (auto [r, col] : fc.base) {
        if (startFromZero) {
          init.push_back(f32Zero);
          continue;
        }
        SmallVector<Value> at = row(tm * kTileM + r).indices;
        at.push_back(
            clamp(add(add(warpCol, tn * kTileN + col), quadCol), lastCol));
        init.push_back(memref::LoadOp::create(b, loc, c, at));
      }
  return init;
}

Value MatmulKernelBuilder::loadInput(Value memref, SmallVector<Value> indices,
                                     Value k) {
  if (!kTail) {
    indices.push_back(k);
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  indices.push_back(clamp(k, lastK));
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  // The select is on the bits: a bf16 select is legalized through f32 on a
  // CPU without bf16 arithmetic, i.e. with a __truncsfbf2 call (emulation).
  auto bits = b.getIntegerType(kind.input.getIntOrFloatBitWidth());
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(bits));
  Value picked = arith::SelectOp::create(
      b, loc, less(k, depth), arith::BitcastOp::create(b, loc, bits, v), zero);
  return arith::BitcastOp::create(b, loc, kind.input, picked);
}

SmallVector<Value> MatmulKernelBuilder::fragmentA(Value k0, int64_t tile) {
  Value kLane = add(k0, mul(quad, fa.perRegister));
  SmallVector<Value> values;
  for (auto [r, col] : fa.base)
    values.push_back(
        loadInput(a, row(tile * kTileM + r).indices, add(kLane, col)));
  return values;
}

SmallVector<Value> MatmulKernelBuilder::fragmentB(Value k0, int64_t tile) {
  Value kLane = add(k0, mul(quad, fb.perRegister));
  SmallVector<Value> values;
  for (auto [n, col] : fb.base)
    values.push_back(
        loadInput(w, {weightRow(tile * kTileN + n)}, add(kLane, col)));
  return values;
}

SmallVector<Value> MatmulKernelBuilder::pack(ArrayRef<Value> values) {
  auto i32 = b.getI32Type();
  SmallVector<Value> regs;
  if (kind.ptxType == NVVM::MMATypes::tf32) {
    for (Value v : values)
      regs.push_back(arith::BitcastOp::create(b, loc, i32, v));
    return regs;
  }
  auto i16 = b.getI16Type();
  Value sixteen = arith::ConstantIntOp::create(b, loc, i32, 16);
  for (size_t i = 0; i + 1 < values.size(); i += 2) {
    auto bits = [&](Value v) {
      return arith::ExtUIOp::create(b, loc, i32,
                                    arith::BitcastOp::create(b, loc, i16, v));
    };
    Value low = bits(values[i]);
    Value high = arith::ShLIOp::create(b, loc, bits(values[i + 1]), sixteen);
    Value reg = arith::OrIOp::create(b, loc, low, high);
    // nvvm.mma.sync takes f16 pairs as vector<2xf16>, bf16 pairs as i32.
    if (kind.ptxType == NVVM::MMATypes::f16)
      reg = LLVM::BitcastOp::create(b, loc,
                                    VectorType::get({2}, b.getF16Type()), reg);
    regs.push_back(reg);
  }
  return regs;
}

void MatmulKernelBuilder::storeAccumulators(ValueRange acc) {
  Value quadCol = mul(quad, fc.perRegister);
  size_t i = 0;
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      for (auto [r, colBase] : fc.base) {
        const Row &at = row(tm * kTileM + r);
        Value col = add(add(warpCol, tn * kTileN + colBase), quadCol);
        Value inside = arith::AndIOp::create(b, loc, at.valid, less(col, cols));
        auto guard = scf::IfOp::create(b, loc, inside);
        OpBuilder::InsertionGuard ig(b);
        b.setInsertionPointToStart(&guard.getThenRegion().front());
        SmallVector<Value> indices = at.indices;
        indices.push_back(col);
        memref::StoreOp::create(b, loc, acc[i++], c, indices);
      }
}

void MatmulKernelBuilder::buildKernel(bool startFromZero) {
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(b, loc, gridX, gridY, one,
                                      index(kThreads), one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  lastRow = arith::SubIOp::create(b, loc, rows, one);
  lastCol = arith::SubIOp::create(b, loc, cols, one);
  lastK = arith::SubIOp::create(b, loc, depth, one);
  Value tid = launch.getThreadIds().x;
  enterLane(launch.getBlockIds().x, launch.getBlockIds().y, div(tid, kWarpSize),
            rem(tid, kWarpSize));
  SmallVector<Value> init = initialAccumulators(startFromZero);
  prefetchRows();

  auto kLoop = scf::ForOp::create(b, loc, index(0), depth, index(kind.k), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value k0 = kLoop.getInductionVar();
    SmallVector<SmallVector<Value>> aRegs, bRegs;
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      aRegs.push_back(pack(fragmentA(k0, tm)));
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      bRegs.push_back(pack(fragmentB(k0, tn)));
    SmallVector<Value> next;
    size_t perTile = fc.base.size();
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(perTile, b.getF32Type()));
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      for (int64_t tn = 0; tn < kTilesN; ++tn) {
        ValueRange acc = kLoop.getRegionIterArgs().slice(
            (tm * kTilesN + tn) * perTile, perTile);
        auto mma = NVVM::MmaOp::create(
            b, loc, resultType, aRegs[tm], bRegs[tn], acc,
            {kTileM, kTileN, kind.k}, std::nullopt, std::nullopt,
            std::array<NVVM::MMATypes, 2>{kind.ptxType, kind.ptxType},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                           NVVM::MMALayout::col});
        for (size_t v = 0; v < perTile; ++v)
          next.push_back(LLVM::ExtractValueOp::create(b, loc, mma, v));
      }
    scf::YieldOp::create(b, loc, next);
  }
  storeAccumulators(kLoop.getResults());
  gpu::TerminatorOp::create(b, loc);
}

void MatmulKernelBuilder::build(linalg::ContractOp op, bool startFromZero,
                                bool emulate) {
  a = op.getDpsInputs()[0];
  w = op.getDpsInputs()[1];
  c = op.getDpsInits()[0];
  auto aType = cast<MemRefType>(a.getType());
  int64_t rank = aType.getRank();

  // Host side: sizes (constants where the types know them), an empty
  // matmul launches nothing.
  auto dim = [&](Value memref, int64_t d) -> Value {
    int64_t size = cast<MemRefType>(memref.getType()).getDimSize(d);
    if (ShapedType::isDynamic(size))
      return memref::DimOp::create(b, loc, memref, d);
    return index(size);
  };
  for (int64_t d = 0; d + 1 < rank; ++d)
    rowDims.push_back(dim(a, d));
  rows = rowDims[0];
  for (size_t d = 1; d < rowDims.size(); ++d)
    rows = arith::MulIOp::create(b, loc, rows, rowDims[d]);
  cols = dim(w, 0);
  depth = dim(w, 1);
  int64_t staticDepth = cast<MemRefType>(w.getType()).getDimSize(1);
  kTail = ShapedType::isDynamic(staticDepth) || staticDepth % kind.k != 0;
  Value zero = index(0);
  Value empty = arith::OrIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rows, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cols, zero));
  auto ifOp = scf::IfOp::create(b, loc, empty, /*withElseRegion=*/true);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  gridX = arith::CeilDivUIOp::create(b, loc, cols, index(kBlockCols));
  gridY = arith::CeilDivUIOp::create(b, loc, rows, index(kBlockRows));
  if (emulate)
    buildEmulation(startFromZero);
  else
    buildKernel(startFromZero);
}
