//===- CudaTensorCoreMatmuls.cpp - attnc-cuda-tensor-core-matmuls ---------===//
//
// Matmuls against a weight (C[..., m, n] += A[..., m, k] * B[n, k]) on the
// tensor cores: one gpu.launch per linalg.contract whose warps issue
// mma.sync. A pass of the attnc-cuda-pipeline (CUDA.cpp,
// compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

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
#define GEN_PASS_DECL_ATTNCCUDATENSORCOREMATMULS
#define GEN_PASS_DEF_ATTNCCUDATENSORCOREMATMULS
#include "CudaPasses.h.inc"
} // namespace attnc::cuda

using namespace mlir;

namespace {

// One warp computes kTilesM x kTilesN mma tiles of 16 x 8 outputs (32 x 32:
// an A fragment feeds four mmas, a B fragment two); a block is kWarpsM x
// kWarpsN warps (64 x 64 outputs, 128 threads).
constexpr int64_t kWarpSize = 32;
constexpr int64_t kTileM = 16, kTileN = 8;
constexpr int64_t kTilesM = 2, kTilesN = 4;
constexpr int64_t kWarpsM = 2, kWarpsN = 2;
constexpr int64_t kWarpRows = kTilesM * kTileM, kWarpCols = kTilesN * kTileN;
constexpr int64_t kBlockRows = kWarpsM * kWarpRows;
constexpr int64_t kBlockCols = kWarpsN * kWarpCols;
constexpr int64_t kThreads = kWarpsM * kWarpsN * kWarpSize;

/// Where the values of one lane's fragment of an mma.sync operand sit in
/// the operand's tile: value v of lane l is at row base[v].first + l / 4,
/// column base[v].second + (l % 4) * perRegister. A is [16, k] (m, k), B is
/// [8, k] (n, k: the weight's own layout), C is [16, 8].
struct FragmentLayout {
  SmallVector<std::pair<int64_t, int64_t>> base;
  int64_t perRegister = 1;
};

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

/// The element type and PTX type of one mma.sync's inputs, its k.
struct MmaKind {
  Type input;
  NVVM::MMATypes ptxType;
  int64_t k;
};

std::optional<MmaKind> mmaKindFor(Type input, bool tf32) {
  if (input.isBF16())
    return MmaKind{input, NVVM::MMATypes::bf16, 16};
  if (input.isF16())
    return MmaKind{input, NVVM::MMATypes::f16, 16};
  if (input.isF32() && tf32)
    return MmaKind{input, NVVM::MMATypes::tf32, 8};
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

/// Emits the kernel of one matmul (see the pass description), or its
/// emulation: the same per-lane code with the lanes of a warp as a loop and
/// mma.sync computed from the PTX ISA's fragment tables (emulateMma).
class MatmulKernelBuilder {
public:
  MatmulKernelBuilder(OpBuilder &b, Location loc, const MmaKind &kind,
                      const FragmentLayout &fa, const FragmentLayout &fb,
                      const FragmentLayout &fc)
      : b(b), loc(loc), kind(kind), fa(fa), fb(fb), fc(fc) {}

  /// Replaces `op` (matching isRowsTimesTransposedWeight).
  void build(linalg::ContractOp op, bool startFromZero, bool emulate);

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t c) { return c ? add(x, index(c)) : x; }
  Value mul(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, index(c));
  }
  Value div(Value x, int64_t c) {
    return arith::DivUIOp::create(b, loc, x, index(c));
  }
  Value rem(Value x, int64_t c) {
    return arith::RemUIOp::create(b, loc, x, index(c));
  }
  Value less(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value clamp(Value x, Value max) {
    return arith::MinUIOp::create(b, loc, x, max);
  }
  /// for (i = 0; i < n; ++i) body(i), at the insertion point.
  void loop(int64_t n, function_ref<void(Value)> body);

  /// The per-lane values of warp `warp`, lane `lane` of block (bx, by).
  void enterLane(Value bx, Value by, Value warp, Value lane);
  /// The indices of a row of A (and C) after the clamp to the last row,
  /// and whether the row exists; cached per offset from the warp's first
  /// row (per lane).
  struct Row {
    SmallVector<Value> indices;
    Value valid;
  };
  const Row &row(int64_t offset);
  /// The clamped weight row (output column) at `offset` from the warp's
  /// first column plus the lane's group.
  Value weightRow(int64_t offset);
  /// Every row and weight row the k loop reads, made before it (the caches
  /// must not fill inside the loop: the stores after it use them too).
  void prefetchRows();
  /// The lane's accumulators before the k loop: zeros or C's values.
  SmallVector<Value> initialAccumulators(bool startFromZero);
  /// One input element, zero past the last k when k does not divide.
  Value loadInput(Value memref, SmallVector<Value> indices, Value k);
  /// The lane's fragment values of A's m-tile / B's n-tile at k0.
  SmallVector<Value> fragmentA(Value k0, int64_t tile);
  SmallVector<Value> fragmentB(Value k0, int64_t tile);
  /// 32-bit registers of consecutive fragment values (two bf16/f16 packed
  /// low first, or one tf32).
  SmallVector<Value> pack(ArrayRef<Value> values);
  /// The lane's accumulators to C where their places exist.
  void storeAccumulators(ValueRange acc);

  void buildKernel(bool startFromZero);
  void buildEmulation(bool startFromZero);
  /// One mma.sync of the warp on the fragments staged per lane.
  void emulateMma(Value fragA, Value fragB, Value acc, int64_t tm,
                  int64_t tn);

  OpBuilder &b;
  Location loc;
  MmaKind kind;
  const FragmentLayout &fa, &fb, &fc;
  Value a, w, c;
  SmallVector<Value> rowDims;
  Value rows, lastRow, cols, lastCol, depth, lastK, gridX, gridY;
  bool kTail = true;
  Value group, quad, warpRow, warpCol;
  llvm::DenseMap<int64_t, Row> rowCache;
  llvm::DenseMap<int64_t, Value> weightRowCache;
};

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
    values.push_back(loadInput(a, row(tile * kTileM + r).indices,
                               add(kLane, col)));
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
      return arith::ExtUIOp::create(
          b, loc, i32, arith::BitcastOp::create(b, loc, i16, v));
    };
    Value low = bits(values[i]);
    Value high = arith::ShLIOp::create(b, loc, bits(values[i + 1]), sixteen);
    Value reg = arith::OrIOp::create(b, loc, low, high);
    // nvvm.mma.sync takes f16 pairs as vector<2xf16>, bf16 pairs as i32.
    if (kind.ptxType == NVVM::MMATypes::f16)
      reg = LLVM::BitcastOp::create(
          b, loc, VectorType::get({2}, b.getF16Type()), reg);
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
  enterLane(launch.getBlockIds().x, launch.getBlockIds().y,
            div(tid, kWarpSize), rem(tid, kWarpSize));
  SmallVector<Value> init = initialAccumulators(startFromZero);
  prefetchRows();

  auto kLoop = scf::ForOp::create(b, loc, index(0), depth, index(kind.k),
                                  init);
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

/// Where element (row, col) of an mma.sync operand tile lives: which lane,
/// which of its values. Written from the PTX ISA's fragment tables for
/// mma.m16n8k16 (.f16/.bf16) and mma.m16n8k8 (.tf32), independently of
/// nvgpu's map that the kernel uses, so that the emulation checks it.
struct Holder {
  Value lane, value;
};

void MatmulKernelBuilder::emulateMma(Value fragA, Value fragB, Value acc,
                                     int64_t tm, int64_t tn) {
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
    return Holder{lane(n, div(rem(k, 8), 2)), add(rem(k, 2), mul(div(k, 8), 2))};
  };
  // The staged bits of a value as f32.
  auto widen = [&](Value bits) -> Value {
    if (!tf32)
      return arith::ExtFOp::create(
          b, loc, b.getF32Type(),
          arith::BitcastOp::create(b, loc, kind.input, bits).getResult());
    // tf32 keeps the top 19 bits (sign, exponent, 10 mantissa bits).
    auto i32 = b.getI32Type();
    Value mask = arith::ConstantIntOp::create(b, loc, i32, 0xFFFFE000);
    return arith::BitcastOp::create(b, loc, b.getF32Type(),
                                    arith::AndIOp::create(b, loc, bits, mask));
  };
  int64_t perTile = fc.base.size();
  Value tileA = index(tm), tileB = index(tn);
  loop(kWarpSize, [&](Value l) {
    loop(perTile, [&](Value v) {
      // C: c_i at row g + 8 (i / 2), column 2t + i % 2.
      Value r = add(div(l, 4), mul(div(v, 2), 8));
      Value n = add(mul(rem(l, 4), 2), rem(v, 2));
      Value slot = add(v, (tm * kTilesN + tn) * perTile);
      Value sum0 = memref::LoadOp::create(b, loc, acc, ValueRange{l, slot});
      auto kLoop = scf::ForOp::create(b, loc, index(0), index(kind.k),
                                      index(1), ValueRange{sum0});
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
            arith::MulFOp::create(b, loc, widen(x), widen(y)));
        scf::YieldOp::create(b, loc, sum);
      }
      memref::StoreOp::create(b, loc, kLoop.getResult(0), acc,
                              ValueRange{l, slot});
    });
  });
}

void MatmulKernelBuilder::buildEmulation(bool startFromZero) {
  Value one = index(1);
  lastRow = arith::SubIOp::create(b, loc, rows, one);
  lastCol = arith::SubIOp::create(b, loc, cols, one);
  lastK = arith::SubIOp::create(b, loc, depth, one);
  int64_t perLane = kTilesM * kTilesN * fc.base.size();
  auto stage = [&](ArrayRef<int64_t> shape, Type type) {
    return memref::AllocaOp::create(b, loc, MemRefType::get(shape, type))
        .getResult();
  };
  Value acc = stage({kWarpSize, perLane}, b.getF32Type());
  // Fragment values are staged as their bits: bf16 values kept in memory
  // or registers make the x86 back end call __truncsfbf2, which libgcc 12
  // lacks (see attnc-expand-bf16-conversions).
  Type bits = b.getIntegerType(kind.input.getIntOrFloatBitWidth());
  Value fragA = stage({kTilesM, kWarpSize, int64_t(fa.base.size())}, bits);
  Value fragB = stage({kTilesN, kWarpSize, int64_t(fb.base.size())}, bits);
  auto asBits = [&](Value v) {
    return arith::BitcastOp::create(b, loc, bits, v).getResult();
  };
  auto forRange = [&](Value n, int64_t step, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, index(0), n, index(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    body(forOp.getInductionVar());
  };
  forRange(gridY, 1, [&](Value by) {
    forRange(gridX, 1, [&](Value bx) {
      loop(kWarpsM * kWarpsN, [&](Value warp) {
        loop(kWarpSize, [&](Value l) {
          enterLane(bx, by, warp, l);
          for (auto [i, v] : llvm::enumerate(initialAccumulators(startFromZero)))
            memref::StoreOp::create(b, loc, v, acc, ValueRange{l, index(i)});
        });
        forRange(depth, kind.k, [&](Value k0) {
          loop(kWarpSize, [&](Value l) {
            enterLane(bx, by, warp, l);
            for (int64_t tm = 0; tm < kTilesM; ++tm)
              for (auto [i, v] : llvm::enumerate(fragmentA(k0, tm)))
                memref::StoreOp::create(b, loc, asBits(v), fragA,
                                        ValueRange{index(tm), l, index(i)});
            for (int64_t tn = 0; tn < kTilesN; ++tn)
              for (auto [i, v] : llvm::enumerate(fragmentB(k0, tn)))
                memref::StoreOp::create(b, loc, asBits(v), fragB,
                                        ValueRange{index(tn), l, index(i)});
          });
          for (int64_t tm = 0; tm < kTilesM; ++tm)
            for (int64_t tn = 0; tn < kTilesN; ++tn)
              emulateMma(fragA, fragB, acc, tm, tn);
        });
        loop(kWarpSize, [&](Value l) {
          enterLane(bx, by, warp, l);
          SmallVector<Value> values;
          for (int64_t i = 0; i < perLane; ++i)
            values.push_back(
                memref::LoadOp::create(b, loc, acc, ValueRange{l, index(i)}));
          storeAccumulators(values);
        });
      });
    });
  });
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

struct TensorCoreMatmulsPass
    : attnc::cuda::impl::AttncCudaTensorCoreMatmulsBase<TensorCoreMatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::ContractOp> matmuls;
    getOperation().walk([&](linalg::ContractOp op) {
      if (isRowsTimesTransposedWeight(op))
        matmuls.push_back(op);
    });
    for (linalg::ContractOp op : matmuls) {
      Type aElem = getElementTypeOrSelf(op.getDpsInputs()[0].getType());
      Type bElem = getElementTypeOrSelf(op.getDpsInputs()[1].getType());
      Type cElem = getElementTypeOrSelf(op.getDpsInits()[0].getType());
      std::optional<MmaKind> kind = mmaKindFor(aElem, tf32);
      if (!kind || aElem != bElem || !cElem.isF32())
        continue;
      OpBuilder b(op);
      Location loc = op.getLoc();
      using Role = nvgpu::MatMulOperandRole;
      FailureOr<FragmentLayout> fa = fragmentLayout(
          b, loc, Role::A, {kTileM, kind->k}, kind->input);
      FailureOr<FragmentLayout> fb = fragmentLayout(
          b, loc, Role::B, {kTileN, kind->k}, kind->input);
      FailureOr<FragmentLayout> fc =
          fragmentLayout(b, loc, Role::C, {kTileM, kTileN}, cElem);
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
attnc::cuda::createTensorCoreMatmulsPass(bool tf32, bool emulate) {
  attnc::cuda::AttncCudaTensorCoreMatmulsOptions options;
  options.tf32 = tf32;
  options.emulate = emulate;
  return std::make_unique<TensorCoreMatmulsPass>(options);
}
