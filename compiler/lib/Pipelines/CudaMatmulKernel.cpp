//===- CudaMatmulKernel.cpp - tiled matmul kernels ------------------------===//
//
// The kernel of one matmul against a weight (CudaMatmulKernel.h): the
// per-thread code (copies into shared memory, fragments or FMAs, stores),
// the gpu.launch with its k-block loop, the host-side sizes. Used by
// attnc-cuda-matmul-kernels.
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

void MatmulKernelBuilder::loop(int64_t n, function_ref<void(Value)> body) {
  loop(index(n), 1, body);
}

void MatmulKernelBuilder::loop(Value n, int64_t step,
                               function_ref<void(Value)> body) {
  auto forOp = scf::ForOp::create(b, loc, index(0), n, index(step));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  body(forOp.getInductionVar());
}

MemRefType MatmulKernelBuilder::sharedType(bool workgroup) {
  Attribute space;
  if (workgroup)
    space = gpu::AddressSpaceAttr::get(b.getContext(),
                                       gpu::AddressSpace::Workgroup);
  return MemRefType::get({kBlockRows, sharedRow()},
                         b.getIntegerType(bitWidth()), AffineMap(), space);
}

void MatmulKernelBuilder::enterLane(Value bx, Value by, Value warp,
                                    Value lane) {
  rowCache.clear();
  group = div(lane, 4);
  quad = rem(lane, 4);
  blockRow = mul(by, kBlockRows);
  blockCol = mul(bx, kBlockCols);
  warpRowInBlock = mul(div(warp, kWarpsN), kWarpRows);
  warpColInBlock = mul(rem(warp, kWarpsN), kWarpCols);
  warpRow = add(blockRow, warpRowInBlock);
  warpCol = add(blockCol, warpColInBlock);
}

SmallVector<Value> MatmulKernelBuilder::rowIndices(Value r) {
  // Row-major delinearization over A's leading dims (C has the same ones).
  Value rest = clamp(r, lastRow);
  SmallVector<Value> indices(rowDims.size());
  for (int64_t d = rowDims.size() - 1; d > 0; --d) {
    indices[d] = arith::RemUIOp::create(b, loc, rest, rowDims[d]);
    rest = arith::DivUIOp::create(b, loc, rest, rowDims[d]);
  }
  indices[0] = rest;
  return indices;
}

const MatmulKernelBuilder::Row &MatmulKernelBuilder::row(int64_t offset) {
  auto it = rowCache.find(offset);
  if (it != rowCache.end())
    return it->second;
  Value r = add(add(warpRow, offset), group);
  Row out{rowIndices(r), less(r, rows)};
  return rowCache.try_emplace(offset, std::move(out)).first->second;
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

MatmulKernelBuilder::CopyPart MatmulKernelBuilder::copyPart(Value tid) {
  int64_t threadsPerRow = kBlock() / kCopyRun;
  int64_t rowsPerPass = kThreads / threadsPerRow;
  CopyPart part;
  part.firstK = mul(rem(tid, threadsPerRow), kCopyRun);
  Value firstRow = div(tid, threadsPerRow);
  for (int64_t pass = 0; pass * rowsPerPass < kBlockRows; ++pass) {
    Value tileRow = add(firstRow, pass * rowsPerPass);
    part.tileRows.push_back(tileRow);
    part.aRows.push_back(rowIndices(add(blockRow, tileRow)));
    part.bRows.push_back(clamp(add(blockCol, tileRow), lastCol));
  }
  return part;
}

Value MatmulKernelBuilder::loadBits(Value memref, SmallVector<Value> indices,
                                    Value k) {
  Type bits = b.getIntegerType(bitWidth());
  if (!kTail) {
    indices.push_back(k);
    Value v = memref::LoadOp::create(b, loc, memref, indices);
    return arith::BitcastOp::create(b, loc, bits, v);
  }
  indices.push_back(clamp(k, lastK));
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(bits));
  return arith::SelectOp::create(
      b, loc, less(k, depth), arith::BitcastOp::create(b, loc, bits, v), zero);
}

void MatmulKernelBuilder::copyToShared(const CopyPart &part, Value kb,
                                       Value sharedA, Value sharedB) {
  for (size_t pass = 0; pass < part.tileRows.size(); ++pass)
    for (int64_t e = 0; e < kCopyRun; ++e) {
      Value kInBlock = add(part.firstK, e);
      Value k = add(kb, kInBlock);
      SmallVector<Value, 2> to{part.tileRows[pass], kInBlock};
      memref::StoreOp::create(b, loc, loadBits(a, part.aRows[pass], k), sharedA,
                              to);
      memref::StoreOp::create(b, loc, loadBits(w, {part.bRows[pass]}, k),
                              sharedB, to);
    }
}

SmallVector<Value> MatmulKernelBuilder::fragment(Value shared,
                                                 const FragmentLayout &layout,
                                                 Value warpFirstRow,
                                                 int64_t tileRows, int64_t ks,
                                                 int64_t tile) {
  Value kLane = add(mul(quad, layout.perRegister), ks);
  Value tileRow = add(add(warpFirstRow, group), tile * tileRows);
  SmallVector<Value> values;
  for (auto [r, col] : layout.base)
    values.push_back(memref::LoadOp::create(
        b, loc, shared, ValueRange{add(tileRow, r), add(kLane, col)}));
  return values;
}

SmallVector<Value> MatmulKernelBuilder::pack(ArrayRef<Value> bits) {
  auto i32 = b.getI32Type();
  if (kind.ptxType == NVVM::MMATypes::tf32)
    return SmallVector<Value>(bits);
  SmallVector<Value> regs;
  Value sixteen = arith::ConstantIntOp::create(b, loc, i32, 16);
  for (size_t i = 0; i + 1 < bits.size(); i += 2) {
    Value low = arith::ExtUIOp::create(b, loc, i32, bits[i]);
    Value high = arith::ShLIOp::create(
        b, loc, arith::ExtUIOp::create(b, loc, i32, bits[i + 1]), sixteen);
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
        Value col = add(add(warpCol, tn * kTileN + colBase), quadCol);
        storeIfInside(row(tm * kTileM + r), col, acc[i++]);
      }
}

void MatmulKernelBuilder::storeIfInside(const Row &row, Value col,
                                        Value value) {
  Value inside = arith::AndIOp::create(b, loc, row.valid, less(col, cols));
  auto guard = scf::IfOp::create(b, loc, inside);
  OpBuilder::InsertionGuard ig(b);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  SmallVector<Value> indices = row.indices;
  indices.push_back(col);
  memref::StoreOp::create(b, loc, value, c, indices);
}

gpu::LaunchOp MatmulKernelBuilder::openLaunch(Value &sharedA, Value &sharedB) {
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, loc, gridX, gridY, one, index(kThreads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{},
      /*workgroupAttributions=*/
      TypeRange{sharedType(true), sharedType(true)});
  sharedA = launch.getWorkgroupAttributions()[0];
  sharedB = launch.getWorkgroupAttributions()[1];
  b.setInsertionPointToStart(&launch.getBody().front());
  lastRow = arith::SubIOp::create(b, loc, rows, one);
  lastCol = arith::SubIOp::create(b, loc, cols, one);
  lastK = arith::SubIOp::create(b, loc, depth, one);
  return launch;
}

SmallVector<Value> MatmulKernelBuilder::mmaStep(Value sharedA, Value sharedB,
                                                ValueRange accumulators) {
  SmallVector<Value> acc(accumulators);
  size_t perTile = fc.base.size();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(perTile, b.getF32Type()));
  for (int64_t ks = 0; ks < kBlock(); ks += kind.k) {
    SmallVector<SmallVector<Value>> aRegs, bRegs;
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      aRegs.push_back(
          pack(fragment(sharedA, fa, warpRowInBlock, kTileM, ks, tm)));
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      bRegs.push_back(
          pack(fragment(sharedB, fb, warpColInBlock, kTileN, ks, tn)));
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      for (int64_t tn = 0; tn < kTilesN; ++tn) {
        size_t first = (tm * kTilesN + tn) * perTile;
        auto mma = NVVM::MmaOp::create(
            b, loc, resultType, aRegs[tm], bRegs[tn],
            ArrayRef<Value>(acc).slice(first, perTile),
            {kTileM, kTileN, kind.k}, std::nullopt, std::nullopt,
            std::array<NVVM::MMATypes, 2>{kind.ptxType, kind.ptxType},
            std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                           NVVM::MMALayout::col});
        for (size_t v = 0; v < perTile; ++v)
          acc[first + v] = LLVM::ExtractValueOp::create(b, loc, mma, v);
      }
  }
  return acc;
}

void MatmulKernelBuilder::buildKernel(bool startFromZero) {
  Value sharedA, sharedB;
  gpu::LaunchOp launch = openLaunch(sharedA, sharedB);
  Value tid = launch.getThreadIds().x;
  Value bx = launch.getBlockIds().x, by = launch.getBlockIds().y;
  SmallVector<Value> init;
  if (kind.simt) {
    enterThread(bx, by, tid);
    init = simtInitial(startFromZero);
  } else {
    enterLane(bx, by, div(tid, kWarpSize), rem(tid, kWarpSize));
    init = initialAccumulators(startFromZero);
  }
  CopyPart part = copyPart(tid);

  auto kLoop =
      scf::ForOp::create(b, loc, index(0), depth, index(kBlock()), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kLoop.getBody());
    copyToShared(part, kLoop.getInductionVar(), sharedA, sharedB);
    gpu::BarrierOp::create(b, loc);
    ValueRange acc = kLoop.getRegionIterArgs();
    SmallVector<Value> next = kind.simt ? simtStep(sharedA, sharedB, acc)
                                        : mmaStep(sharedA, sharedB, acc);
    // The next k-block's copy must not overwrite what a thread still reads.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, next);
  }
  if (kind.simt)
    simtStore(kLoop.getResults());
  else
    storeAccumulators(kLoop.getResults());
  gpu::TerminatorOp::create(b, loc);
}

Value MatmulKernelBuilder::widen(Value bits, bool tf32) {
  if (!tf32 && kind.input.isF32())
    return arith::BitcastOp::create(b, loc, kind.input, bits);
  if (!tf32)
    return arith::ExtFOp::create(
        b, loc, b.getF32Type(),
        arith::BitcastOp::create(b, loc, kind.input, bits).getResult());
  // tf32 keeps the top 19 bits (sign, exponent, 10 mantissa bits).
  auto i32 = b.getI32Type();
  Value mask = arith::ConstantIntOp::create(b, loc, i32, 0xFFFFE000);
  return arith::BitcastOp::create(b, loc, b.getF32Type(),
                                  arith::AndIOp::create(b, loc, bits, mask));
}

void MatmulKernelBuilder::enterThread(Value bx, Value by, Value tid) {
  blockRow = mul(by, kBlockRows);
  blockCol = mul(bx, kBlockCols);
  threadRow = div(tid, kSimtThreadsX);
  threadCol = rem(tid, kSimtThreadsX);
}

MatmulKernelBuilder::Row MatmulKernelBuilder::simtRow(int64_t i) {
  Value r = add(add(blockRow, threadRow), i * kSimtThreadsY);
  return Row{rowIndices(r), less(r, rows)};
}

Value MatmulKernelBuilder::simtCol(int64_t j) {
  return add(add(blockCol, threadCol), j * kSimtThreadsX);
}

SmallVector<Value> MatmulKernelBuilder::simtInitial(bool startFromZero) {
  Value f32Zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  if (startFromZero)
    return SmallVector<Value>(kSimtRows * kSimtCols, f32Zero);
  SmallVector<Value> init;
  for (int64_t i = 0; i < kSimtRows; ++i) {
    Row r = simtRow(i);
    for (int64_t j = 0; j < kSimtCols; ++j) {
      SmallVector<Value> at = r.indices;
      at.push_back(clamp(simtCol(j), lastCol));
      init.push_back(memref::LoadOp::create(b, loc, c, at));
    }
  }
  return init;
}

SmallVector<Value> MatmulKernelBuilder::simtStep(Value sharedA, Value sharedB,
                                                 ValueRange acc) {
  // A loop over the k-block's k, not 16 copies of its body: the IR of
  // every matmul stays small (compile time); LLVM unrolls it for the GPU.
  auto kLoop =
      scf::ForOp::create(b, loc, index(0), index(kBlock()), index(1), acc);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(kLoop.getBody());
  Value k = kLoop.getInductionVar();
  SmallVector<Value> next(kLoop.getRegionIterArgs());
  SmallVector<Value> x, y;
  for (int64_t i = 0; i < kSimtRows; ++i)
    x.push_back(widen(memref::LoadOp::create(
        b, loc, sharedA, ValueRange{add(threadRow, i * kSimtThreadsY), k})));
  for (int64_t j = 0; j < kSimtCols; ++j)
    y.push_back(widen(memref::LoadOp::create(
        b, loc, sharedB, ValueRange{add(threadCol, j * kSimtThreadsX), k})));
  for (int64_t i = 0; i < kSimtRows; ++i)
    for (int64_t j = 0; j < kSimtCols; ++j) {
      // mul + add that may contract into one FMA: NVPTX fuses them, the CPU
      // emulation (generic x86-64) keeps two ops instead of calling fmaf.
      Value &sum = next[i * kSimtCols + j];
      auto contract = arith::FastMathFlags::contract;
      Value product = arith::MulFOp::create(b, loc, x[i], y[j], contract);
      sum = arith::AddFOp::create(b, loc, sum, product, contract);
    }
  scf::YieldOp::create(b, loc, next);
  return SmallVector<Value>(kLoop.getResults());
}

void MatmulKernelBuilder::simtStore(ValueRange acc) {
  for (int64_t i = 0; i < kSimtRows; ++i) {
    Row r = simtRow(i);
    for (int64_t j = 0; j < kSimtCols; ++j)
      storeIfInside(r, simtCol(j), acc[i * kSimtCols + j]);
  }
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
  kTail = ShapedType::isDynamic(staticDepth) || staticDepth % kBlock() != 0;
  Value zero = index(0);
  Value empty = arith::OrIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rows, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cols, zero));
  auto ifOp = scf::IfOp::create(b, loc, empty, /*withElseRegion=*/true);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  gridX = arith::CeilDivUIOp::create(b, loc, cols, index(kBlockCols));
  gridY = arith::CeilDivUIOp::create(b, loc, rows, index(kBlockRows));
  if (!emulate)
    buildKernel(startFromZero);
  else if (kind.simt)
    buildSimtEmulation(startFromZero);
  else
    buildEmulation(startFromZero);
}
