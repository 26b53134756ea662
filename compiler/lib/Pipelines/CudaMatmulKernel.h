//===- CudaMatmulKernel.h - tiled matmul kernels ----------------*- C++ -*-===//
//
// The kernel attnc-cuda-matmul-kernels builds for one matmul against a
// weight (CudaMatmulKernels.cpp has the pass, CudaMatmulKernel.cpp
// the kernel, CudaMatmulEmulation.cpp its CPU emulation). Private to
// compiler/lib/Pipelines.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_PIPELINES_CUDAMATMULKERNEL_H
#define ATTNC_LIB_PIPELINES_CUDAMATMULKERNEL_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
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
/// The FMA kernel's outputs per thread: kSimtRows x kSimtCols, rows
/// kSimtThreadsY apart, columns kSimtThreadsX apart.
inline constexpr int64_t kSimtRows = 8, kSimtCols = 4;
inline constexpr int64_t kSimtThreadsX = kBlockCols / kSimtCols;
inline constexpr int64_t kSimtThreadsY = kThreads / kSimtThreadsX;
/// Consecutive k elements one thread copies per row into shared memory.
inline constexpr int64_t kCopyRun = 8;

/// Where the values of one lane's fragment of an mma.sync operand sit in
/// the operand's tile: value v of lane l is at row base[v].first + l / 4,
/// column base[v].second + (l % 4) * perRegister. A is [16, k] (m, k), B is
/// [8, k] (n, k: the weight's own layout), C is [16, 8].
struct FragmentLayout {
  SmallVector<std::pair<int64_t, int64_t>> base;
  int64_t perRegister = 1;
};

/// The element type and PTX type of one mma.sync's inputs, its k.
/// `simt`: no tensor cores (the f32 FMA kernel); `k` is then 8 (k-blocks
/// of 16) and `ptxType` unused.
struct MmaKind {
  Type input;
  NVVM::MMATypes ptxType;
  int64_t k;
  bool simt = false;
};

/// Emits the kernel of one matmul (see the pass description), or its
/// emulation: the same per-thread code with the threads of a block and the
/// lanes of a warp as loops and mma.sync computed from the PTX ISA's
/// fragment tables (emulateMma).
///
/// Per k-block of kBlock() elements, the block's 128 threads copy the
/// block's 64 rows of A and of B into shared memory (kCopyRun consecutive
/// k per thread and row: a warp reads whole 32- or 64-byte row pieces), as
/// bits (bf16 values in memory make the CPU emulation call __truncsfbf2);
/// after a barrier each warp reads its fragments there for two mma k-steps
/// (or each thread its rows and columns for the FMAs), and a second barrier
/// guards the tiles against the next copy. Rows are padded by 16 bytes, so
/// the eight rows a fragment load touches fall in distinct banks.
class MatmulKernelBuilder {
public:
  MatmulKernelBuilder(OpBuilder &b, Location loc, const MmaKind &kind,
                      const FragmentLayout &fa, const FragmentLayout &fb,
                      const FragmentLayout &fc)
      : b(b), loc(loc), kind(kind), fa(fa), fb(fb), fc(fc) {}

  /// Replaces `op` (matching isRowsTimesTransposedWeight).
  void build(linalg::ContractOp op, bool startFromZero, bool emulate);

private:
  /// k per shared-memory block: two mma k-steps.
  int64_t kBlock() const { return 2 * kind.k; }
  int64_t bitWidth() const { return kind.input.getIntOrFloatBitWidth(); }
  /// A row of a shared tile: kBlock() elements and 16 bytes of padding.
  int64_t sharedRow() const { return kBlock() + 128 / bitWidth(); }
  mlir::MemRefType sharedType(bool workgroup);

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
  /// for (i = 0; i < n; i += step) body(i), at the insertion point.
  void loop(int64_t n, function_ref<void(Value)> body);
  void loop(Value n, int64_t step, function_ref<void(Value)> body);

  /// The per-thread values of warp `warp`, lane `lane` of block (bx, by).
  void enterLane(Value bx, Value by, Value warp, Value lane);
  /// A's (and C's) indices of row `r` after the clamp to the last row.
  SmallVector<Value> rowIndices(Value r);
  /// The indices of a row of the lane's C tile and whether the row exists;
  /// cached per offset from the warp's first row (per lane).
  struct Row {
    SmallVector<Value> indices;
    Value valid;
  };
  const Row &row(int64_t offset);
  /// The lane's accumulators before the k loop: zeros or C's values.
  SmallVector<Value> initialAccumulators(bool startFromZero);

  /// The rows of A and B (clamped) this thread copies, and where in the
  /// k-block its run starts.
  struct CopyPart {
    SmallVector<SmallVector<Value>> aRows;
    SmallVector<Value> bRows, tileRows;
    Value firstK;
  };
  CopyPart copyPart(Value tid);
  /// The thread's part of the k-block at kb into the shared tiles.
  void copyToShared(const CopyPart &part, Value kb, Value sharedA,
                    Value sharedB);
  /// The bits of one input element, zero past the last k.
  Value loadBits(Value memref, SmallVector<Value> indices, Value k);
  /// The lane's fragment bits of an operand's m-tile (A: layout fa, tiles
  /// of 16 rows from the warp's first row in the block) or n-tile (B: fb,
  /// 8 rows) at k-step ks of the shared k-block.
  SmallVector<Value> fragment(Value shared, const FragmentLayout &layout,
                              Value warpFirstRow, int64_t tileRows, int64_t ks,
                              int64_t tile);
  /// 32-bit registers of consecutive fragment values (two bf16/f16 packed
  /// low first, or one tf32), from their bits.
  SmallVector<Value> pack(ArrayRef<Value> bits);
  /// The lane's accumulators to C where their places exist.
  void storeAccumulators(ValueRange acc);
  /// `value` to C[row, col] if both exist.
  void storeIfInside(const Row &row, Value col, Value value);

  /// The launch with its two shared tiles; the insertion point goes into
  /// its body, after the last row/column/k.
  mlir::gpu::LaunchOp openLaunch(Value &sharedA, Value &sharedB);
  /// The emulation's shared tiles (host allocas), the last row/column/k.
  void openEmulation(Value &sharedA, Value &sharedB);
  /// One k-block of the warp's mma.sync tiles on the shared tiles.
  SmallVector<Value> mmaStep(Value sharedA, Value sharedB, ValueRange acc);
  /// The launch: either kernel (kind.simt or not).
  void buildKernel(bool startFromZero);
  void buildEmulation(bool startFromZero);

  // The FMA kernel (kind.simt): thread t of a block owns rows t / 16 + 8 i
  // (i < 8) and columns t % 16 + 16 j (j < 4) of its 64 x 64 outputs; per
  // k-block the same copy into shared memory, then 32 FMAs per k.
  void enterThread(Value bx, Value by, Value tid);
  /// The thread's i-th row (indices, exists) and j-th column.
  Row simtRow(int64_t i);
  Value simtCol(int64_t j);
  SmallVector<Value> simtInitial(bool startFromZero);
  SmallVector<Value> simtStep(Value sharedA, Value sharedB, ValueRange acc);
  void simtStore(ValueRange acc);
  /// Staged bits as f32 (`tf32`: the top 19 bits only, as the tensor cores
  /// read them).
  Value widen(Value bits, bool tf32 = false);
  void buildSimtEmulation(bool startFromZero);
  /// One mma.sync of warp `warp` on the fragments its lanes staged.
  void emulateMma(Value fragA, Value fragB, Value acc, Value warp, int64_t tm,
                  int64_t tn);

  OpBuilder &b;
  Location loc;
  MmaKind kind;
  const FragmentLayout &fa, &fb, &fc;
  Value a, w, c;
  SmallVector<Value> rowDims;
  Value rows, lastRow, cols, lastCol, depth, lastK, gridX, gridY;
  bool kTail = true;
  Value group, quad, blockRow, blockCol, warpRow, warpCol, warpRowInBlock,
      warpColInBlock, threadRow, threadCol;
  llvm::DenseMap<int64_t, Row> rowCache;
};

} // namespace attnc::cuda

#endif // ATTNC_LIB_PIPELINES_CUDAMATMULKERNEL_H
