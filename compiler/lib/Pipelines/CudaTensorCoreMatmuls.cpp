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

/// Emits the kernel of one matmul (see the pass description).
class MatmulKernelBuilder {
public:
  MatmulKernelBuilder(OpBuilder &b, Location loc, const MmaKind &kind,
                      const FragmentLayout &fa, const FragmentLayout &fb,
                      const FragmentLayout &fc)
      : b(b), loc(loc), kind(kind), fa(fa), fb(fb), fc(fc) {}

  /// Replaces `op` (matching isRowsTimesTransposedWeight).
  void build(linalg::ContractOp op, bool startFromZero);

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t c) { return c ? add(x, index(c)) : x; }
  Value mul(Value x, int64_t c) {
    return arith::MulIOp::create(b, loc, x, index(c));
  }
  Value less(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value clamp(Value x, Value max) {
    return arith::MinUIOp::create(b, loc, x, max);
  }

  /// The indices of a row of A (and C) after the clamp to the last row,
  /// and whether the row exists; cached per offset from the warp's first
  /// row.
  struct Row {
    SmallVector<Value> indices;
    Value valid;
  };
  const Row &row(int64_t offset);
  /// The clamped weight row (output column) at `offset` from the warp's
  /// first column plus the lane's group.
  Value weightRow(int64_t offset);

  SmallVector<Value> loadA(Value kLane, int64_t tile);
  SmallVector<Value> loadB(Value kLane, int64_t tile);
  /// One input element, zero past the last k when k does not divide.
  Value loadInput(Value memref, SmallVector<Value> indices, Value k);
  /// 32-bit registers of consecutive fragment values (two bf16/f16 packed
  /// low first, or one tf32).
  SmallVector<Value> pack(ArrayRef<Value> values);

  OpBuilder &b;
  Location loc;
  MmaKind kind;
  const FragmentLayout &fa, &fb, &fc;
  Value a, w, c;
  SmallVector<Value> rowDims;
  Value rows, lastRow, cols, lastCol, depth, lastK;
  bool kTail = true;
  Value group, quad, warpRow, warpCol;
  llvm::DenseMap<int64_t, Row> rowCache;
  llvm::DenseMap<int64_t, Value> weightRowCache;
};

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

Value MatmulKernelBuilder::loadInput(Value memref, SmallVector<Value> indices,
                                     Value k) {
  if (!kTail) {
    indices.push_back(k);
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  indices.push_back(clamp(k, lastK));
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(kind.input));
  return arith::SelectOp::create(b, loc, less(k, depth), v, zero);
}

SmallVector<Value> MatmulKernelBuilder::loadA(Value kLane, int64_t tile) {
  SmallVector<Value> values;
  for (auto [r, col] : fa.base)
    values.push_back(loadInput(a, row(tile * kTileM + r).indices,
                               add(kLane, col)));
  return pack(values);
}

SmallVector<Value> MatmulKernelBuilder::loadB(Value kLane, int64_t tile) {
  SmallVector<Value> values;
  for (auto [n, col] : fb.base)
    values.push_back(
        loadInput(w, {weightRow(tile * kTileN + n)}, add(kLane, col)));
  return pack(values);
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

void MatmulKernelBuilder::build(linalg::ContractOp op, bool startFromZero) {
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
  Value zero = index(0), one = index(1);
  Value empty = arith::OrIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rows, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, cols, zero));
  auto ifOp = scf::IfOp::create(b, loc, empty, /*withElseRegion=*/true);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  auto ceilDiv = [&](Value x, int64_t d) {
    return arith::CeilDivUIOp::create(b, loc, x, index(d)).getResult();
  };
  auto launch = gpu::LaunchOp::create(
      b, loc, ceilDiv(cols, kBlockCols), ceilDiv(rows, kBlockRows), one,
      index(kThreads), one, one);
  b.setInsertionPointToStart(&launch.getBody().front());

  // Device side: which tile of C this lane's warp owns.
  lastRow = arith::SubIOp::create(b, loc, rows, index(1));
  lastCol = arith::SubIOp::create(b, loc, cols, index(1));
  lastK = arith::SubIOp::create(b, loc, depth, index(1));
  Value tid = launch.getThreadIds().x;
  Value warp = arith::DivUIOp::create(b, loc, tid, index(kWarpSize));
  Value lane = arith::RemUIOp::create(b, loc, tid, index(kWarpSize));
  group = arith::DivUIOp::create(b, loc, lane, index(4));
  quad = arith::RemUIOp::create(b, loc, lane, index(4));
  warpRow = add(mul(launch.getBlockIds().y, kBlockRows),
                mul(arith::DivUIOp::create(b, loc, warp, index(kWarpsN)),
                    kWarpRows));
  warpCol = add(mul(launch.getBlockIds().x, kBlockCols),
                mul(arith::RemUIOp::create(b, loc, warp, index(kWarpsN)),
                    kWarpCols));
  Value quadCol = mul(quad, fc.perRegister);
  auto colAt = [&](int64_t tile, int64_t v) {
    return add(add(warpCol, tile * kTileN + fc.base[v].second), quadCol);
  };

  // Accumulators: kTilesM x kTilesN tiles of fc.base.size() values.
  SmallVector<Value> init;
  Value f32Zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      for (size_t v = 0; v < fc.base.size(); ++v) {
        if (startFromZero) {
          init.push_back(f32Zero);
          continue;
        }
        SmallVector<Value> at = row(tm * kTileM + fc.base[v].first).indices;
        at.push_back(clamp(colAt(tn, v), lastCol));
        init.push_back(memref::LoadOp::create(b, loc, c, at));
      }

  // Every row and weight row the loop reads, computed once before it (the
  // caches must not fill inside the loop: the stores below use them too).
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (auto [r, col] : fa.base)
      (void)row(tm * kTileM + r);
  for (int64_t tn = 0; tn < kTilesN; ++tn)
    for (auto [n, col] : fb.base)
      (void)weightRow(tn * kTileN + n);

  auto loop = scf::ForOp::create(b, loc, zero, depth, index(kind.k), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kLane = add(loop.getInductionVar(), mul(quad, fa.perRegister));
    SmallVector<SmallVector<Value>> aRegs, bRegs;
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      aRegs.push_back(loadA(kLane, tm));
    Value kLaneB = add(loop.getInductionVar(), mul(quad, fb.perRegister));
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      bRegs.push_back(loadB(kLaneB, tn));
    SmallVector<Value> next;
    auto f32 = b.getF32Type();
    size_t perTile = fc.base.size();
    auto resultType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(perTile, f32));
    for (int64_t tm = 0; tm < kTilesM; ++tm)
      for (int64_t tn = 0; tn < kTilesN; ++tn) {
        ValueRange acc = loop.getRegionIterArgs().slice(
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

  // Each value to its place in C when that place exists.
  for (int64_t tm = 0; tm < kTilesM; ++tm)
    for (int64_t tn = 0; tn < kTilesN; ++tn)
      for (size_t v = 0; v < fc.base.size(); ++v) {
        const Row &r = row(tm * kTileM + fc.base[v].first);
        Value col = colAt(tn, v);
        Value inside = arith::AndIOp::create(b, loc, r.valid, less(col, cols));
        auto guard = scf::IfOp::create(b, loc, inside);
        OpBuilder::InsertionGuard ig(b);
        b.setInsertionPointToStart(&guard.getThenRegion().front());
        SmallVector<Value> at = r.indices;
        at.push_back(col);
        memref::StoreOp::create(
            b, loc,
            loop.getResult((tm * kTilesN + tn) * fc.base.size() + v), c, at);
      }
  gpu::TerminatorOp::create(b, loc);
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
      MatmulKernelBuilder(b, loc, *kind, *fa, *fb, *fc).build(op, bool(fill));
      op.erase();
      if (fill)
        fill.erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass>
attnc::cuda::createTensorCoreMatmulsPass(bool tf32) {
  attnc::cuda::AttncCudaTensorCoreMatmulsOptions options;
  options.tf32 = tf32;
  return std::make_unique<TensorCoreMatmulsPass>(options);
}
