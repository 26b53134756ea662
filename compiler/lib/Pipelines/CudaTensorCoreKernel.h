//===- CudaTensorCoreKernel.h - mma.sync matmul kernels ---------*- C++ -*-===//
//
// The kernel attnc-cuda-tensor-core-matmuls builds for one matmul against a
// weight (CudaTensorCoreMatmuls.cpp has the pass, CudaTensorCoreKernel.cpp
// the kernel, CudaTensorCoreEmulation.cpp its CPU emulation). Private to
// compiler/lib/Pipelines.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_PIPELINES_CUDATENSORCOREKERNEL_H
#define ATTNC_LIB_PIPELINES_CUDATENSORCOREKERNEL_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace attnc::cuda {

using mlir::ArrayRef;
using mlir::function_ref;
using mlir::Location;
using mlir::OpBuilder;
using mlir::SmallVector;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;
namespace arith = mlir::arith;
namespace NVVM = mlir::NVVM;
namespace linalg = mlir::linalg;

// One warp computes kTilesM x kTilesN mma tiles of 16 x 8 outputs (32 x 32:
// an A fragment feeds four mmas, a B fragment two); a block is kWarpsM x
// kWarpsN warps (64 x 64 outputs, 128 threads).
inline constexpr int64_t kWarpSize = 32;
inline constexpr int64_t kTileM = 16, kTileN = 8;
inline constexpr int64_t kTilesM = 2, kTilesN = 4;
inline constexpr int64_t kWarpsM = 2, kWarpsN = 2;
inline constexpr int64_t kWarpRows = kTilesM * kTileM;
inline constexpr int64_t kWarpCols = kTilesN * kTileN;
inline constexpr int64_t kBlockRows = kWarpsM * kWarpRows;
inline constexpr int64_t kBlockCols = kWarpsN * kWarpCols;
inline constexpr int64_t kThreads = kWarpsM * kWarpsN * kWarpSize;

/// Where the values of one lane's fragment of an mma.sync operand sit in
/// the operand's tile: value v of lane l is at row base[v].first + l / 4,
/// column base[v].second + (l % 4) * perRegister. A is [16, k] (m, k), B is
/// [8, k] (n, k: the weight's own layout), C is [16, 8].
struct FragmentLayout {
  SmallVector<std::pair<int64_t, int64_t>> base;
  int64_t perRegister = 1;
};

/// The element type and PTX type of one mma.sync's inputs, its k.
struct MmaKind {
  Type input;
  NVVM::MMATypes ptxType;
  int64_t k;
};

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
  void emulateMma(Value fragA, Value fragB, Value acc, int64_t tm, int64_t tn);

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

} // namespace attnc::cuda

#endif // ATTNC_LIB_PIPELINES_CUDATENSORCOREKERNEL_H
