//===- ContractionEmitter.h - vector code for one contraction ---*- C++ -*-===//
//
// The register blocks of attnc-vectorize-contractions
// (VectorizeContractions.cpp): what a matched contraction looks like and
// the code that one block of it becomes.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_COMPILER_TRANSFORMS_CONTRACTIONEMITTER_H
#define ATTNC_COMPILER_TRANSFORMS_CONTRACTIONEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace attnc::vectorize {

using namespace mlir;

/// What a matched contraction looks like, in loop-dimension numbers.
struct Contraction {
  linalg::LinalgOp op;
  unsigned k, m, n;
  SmallVector<unsigned> batch;
  int64_t kSize;
  /// true: k is innermost in A and B (dot-product blocks); false: k is
  /// innermost in A, n innermost in B and C (broadcast-FMA blocks over
  /// vectors of C's row).
  bool dot = true;
  int64_t nSize = 0;
};


struct Emitter {
  OpBuilder &b;
  Location loc;
  Contraction &ct;
  int64_t vl;
  Value a, bm, c;
  AffineMap ma, mb, mc;
  VectorType vt;
  /// C holds zeros (attnc.zero_init): start from zero instead of reading it.
  bool zeroInit = false;
  /// Single-row dot blocks prefetch B's rows this many rows ahead (0: none),
  /// clamped to the last row, nLast.
  int64_t prefetchRows = 0;
  Value nLast;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  Value zeroVector() {
    return arith::ConstantOp::create(
        b, loc, vt, DenseElementsAttr::get(vt, b.getF32FloatAttr(0.0f)));
  }

  /// Indices of `map`'s operand from loop-dimension values.
  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> ivs) {
    SmallVector<Value> r;
    for (AffineExpr e : map.getResults())
      r.push_back(ivs[cast<AffineDimExpr>(e).getPosition()]);
    return r;
  }

  /// C[m0..m0+mb, n0 + j * nStride] += A[m0.., :] . B[n0 + j * nStride, :]^T
  /// over the full k, for j < nb (nStride null: 1, adjacent rows of B).
  void block(SmallVector<Value> ivs, Value m0, Value n0, int64_t mbs,
             int64_t nbs, Value nStride = Value()) {
    SmallVector<Value> init(mbs * nbs, zeroVector());
    SmallVector<Value> mi, nj;
    for (int64_t i = 0; i < mbs; ++i)
      mi.push_back(i ? arith::AddIOp::create(b, loc, m0, idx(i)) : m0);
    for (int64_t j = 0; j < nbs; ++j)
      nj.push_back(
          j == 0 ? n0
                 : arith::AddIOp::create(
                       b, loc, n0,
                       nStride ? arith::MulIOp::create(b, loc, nStride, idx(j))
                                     .getResult()
                               : idx(j)));
    // The rows whose lines each k step prefetches (single-row blocks).
    SmallVector<Value> ahead;
    if (prefetchRows > 0 && mbs == 1 && nLast)
      for (int64_t j = 0; j < nbs; ++j)
        ahead.push_back(arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, nj[j], idx(prefetchRows)),
            nLast));
    auto loop = scf::ForOp::create(
        b, loc, idx(0), idx(ct.kSize), idx(vl), init,
        [&](OpBuilder &lb, Location l, Value k0, ValueRange acc) {
          SmallVector<Value> lv = ivs;
          lv[ct.k] = k0;
          SmallVector<Value> bv;
          for (int64_t j = 0; j < nbs; ++j) {
            lv[ct.n] = nj[j];
            bv.push_back(
                vector::LoadOp::create(lb, l, vt, bm, indices(mb, lv)));
          }
          for (Value row : ahead) {
            lv[ct.n] = row;
            memref::PrefetchOp::create(lb, l, bm, indices(mb, lv),
                                       lb.getBoolAttr(false),
                                       lb.getI32IntegerAttr(3),
                                       lb.getBoolAttr(true));
          }
          SmallVector<Value> next(acc.begin(), acc.end());
          for (int64_t i = 0; i < mbs; ++i) {
            lv[ct.m] = mi[i];
            Value av = vector::LoadOp::create(lb, l, vt, a, indices(ma, lv));
            for (int64_t j = 0; j < nbs; ++j)
              next[i * nbs + j] =
                  vector::FMAOp::create(lb, l, av, bv[j], acc[i * nbs + j]);
          }
          scf::YieldOp::create(lb, l, next);
        });
    for (int64_t i = 0; i < mbs; ++i)
      for (int64_t j = 0; j < nbs; ++j) {
        // reassoc: LLVM sums the lanes as a tree of shuffles and vector
        // adds instead of 16 dependent scalar adds (every 4-row block of a
        // decode matrix-vector product ends in 4 such chains; with the tree
        // decode is 3.5% faster at 2 threads). The tree is fixed at compile
        // time: results still do not depend on the thread count.
        Value s = vector::ReductionOp::create(
            b, loc, vector::CombiningKind::ADD, loop.getResult(i * nbs + j),
            arith::FastMathFlags::reassoc);
        SmallVector<Value> lv = ivs;
        lv[ct.m] = mi[i];
        lv[ct.n] = nj[j];
        SmallVector<Value> ci = indices(mc, lv);
        if (!zeroInit)
          s = arith::AddFOp::create(
              b, loc, memref::LoadOp::create(b, loc, c, ci), s);
        memref::StoreOp::create(b, loc, s, c, ci);
      }
  }

  /// C[m0..m0+mb, n0..n0+nv*VL] += A[m0.., :] * B[:, n0..] over the whole
  /// k range (dynamic): accumulators are C's vectors, A's elements are
  /// broadcast.
  /// With `packed` (a [K, cols] copy of B's rows from `packBase` on), B's
  /// vectors come from it instead.
  void axpyBlock(SmallVector<Value> ivs, Value kSize, Value m0, Value n0,
                 int64_t mbs, int64_t nv, Value packed = {},
                 Value packBase = {}) {
    SmallVector<Value> mi, nj;
    for (int64_t i = 0; i < mbs; ++i)
      mi.push_back(i ? arith::AddIOp::create(b, loc, m0, idx(i)) : m0);
    for (int64_t j = 0; j < nv; ++j)
      nj.push_back(j ? arith::AddIOp::create(b, loc, n0, idx(j * vl)) : n0);
    SmallVector<Value> init;
    SmallVector<SmallVector<Value>> cIdx;
    Value zero = zeroInit ? zeroVector() : Value();
    for (int64_t i = 0; i < mbs; ++i)
      for (int64_t j = 0; j < nv; ++j) {
        SmallVector<Value> lv = ivs;
        lv[ct.m] = mi[i];
        lv[ct.n] = nj[j];
        cIdx.push_back(indices(mc, lv));
        init.push_back(zero ? zero
                            : vector::LoadOp::create(b, loc, vt, c,
                                                     cIdx.back()));
      }
    auto loop = scf::ForOp::create(
        b, loc, idx(0), kSize, idx(1), init,
        [&](OpBuilder &lb, Location l, Value k, ValueRange acc) {
          SmallVector<Value> lv = ivs;
          lv[ct.k] = k;
          SmallVector<Value> bv;
          for (int64_t j = 0; j < nv; ++j) {
            lv[ct.n] = nj[j];
            if (packed)
              bv.push_back(vector::LoadOp::create(
                  lb, l, vt, packed,
                  ValueRange{k, arith::SubIOp::create(lb, l, nj[j],
                                                      packBase)}));
            else
              bv.push_back(
                  vector::LoadOp::create(lb, l, vt, bm, indices(mb, lv)));
          }
          SmallVector<Value> next(acc.begin(), acc.end());
          for (int64_t i = 0; i < mbs; ++i) {
            lv[ct.m] = mi[i];
            Value s = memref::LoadOp::create(lb, l, a, indices(ma, lv));
            Value av = vector::BroadcastOp::create(lb, l, vt, s);
            for (int64_t j = 0; j < nv; ++j)
              next[i * nv + j] =
                  vector::FMAOp::create(lb, l, av, bv[j], acc[i * nv + j]);
          }
          scf::YieldOp::create(lb, l, next);
        });
    for (size_t r = 0; r < cIdx.size(); ++r)
      vector::StoreOp::create(b, loc, loop.getResult(r), c, cIdx[r]);
  }

  /// buf[k, j] = B[.., n0 + j, k] for j < cols, k < K: VL x VL tiles of B
  /// (VL row loads) transposed in registers by log2(VL) rounds of two-input
  /// shuffles, stored as VL contiguous rows of buf. (A scalar copy loop
  /// became gathers: 15-20% of a prefill projection's time.)
  void packTransposed(SmallVector<Value> ivs, Value n0, int64_t cols,
                      Value buf) {
    auto ks = scf::ForOp::create(b, loc, idx(0), idx(ct.kSize), idx(vl));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ks.getBody()->getTerminator());
    Value k0 = ks.getInductionVar();
    auto js = scf::ForOp::create(b, loc, idx(0), idx(cols), idx(vl));
    b.setInsertionPoint(js.getBody()->getTerminator());
    Value j0 = js.getInductionVar();
    SmallVector<Value> rows;
    SmallVector<Value> lv = ivs;
    lv[ct.k] = k0;
    Value nj0 = arith::AddIOp::create(b, loc, n0, j0);
    for (int64_t r = 0; r < vl; ++r) {
      lv[ct.n] = r ? arith::AddIOp::create(b, loc, nj0, idx(r)) : nj0;
      rows.push_back(vector::LoadOp::create(b, loc, vt, bm, indices(mb, lv)));
    }
    // Round d swaps bit d of the row number with bit d of the column
    // number; after every bit, rows[r][c] = tile[c][r].
    for (int64_t d = 1; d < vl; d *= 2) {
      SmallVector<int64_t> lo, hi;
      for (int64_t c = 0; c < vl; ++c) {
        bool upper = c & d;
        lo.push_back(upper ? vl + c - d : c);
        hi.push_back(upper ? vl + c : c + d);
      }
      for (int64_t i = 0; i < vl; ++i) {
        if (i & d)
          continue;
        Value ri = rows[i], rj = rows[i + d];
        rows[i] = vector::ShuffleOp::create(b, loc, ri, rj, lo);
        rows[i + d] = vector::ShuffleOp::create(b, loc, ri, rj, hi);
      }
    }
    for (int64_t r = 0; r < vl; ++r)
      vector::StoreOp::create(
          b, loc, rows[r], buf,
          ValueRange{r ? arith::AddIOp::create(b, loc, k0, idx(r)) : k0, j0});
  }

  /// Row blocks of mbs rows, then single rows: emit(m0, rowsInBlock). When
  /// M is a constant, the rows left are one block instead (decode
  /// attention's tile of G grouped query heads: G = 3 rows as three single
  /// rows re-read each K/V line three times over two accumulator chains).
  void rows(Value mSize, int64_t mbs,
            llvm::function_ref<void(Value, int64_t)> emit) {
    if (std::optional<int64_t> m = getConstantIntValue(mSize);
        m && *m % mbs > 1) {
      int64_t main = *m - *m % mbs;
      if (main > 0) {
        auto loop = scf::ForOp::create(b, loc, idx(0), idx(main), idx(mbs));
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(loop.getBody()->getTerminator());
        emit(loop.getInductionVar(), mbs);
      }
      emit(idx(main), *m % mbs);
      return;
    }
    Value mMain = arith::SubIOp::create(
        b, loc, mSize, arith::RemUIOp::create(b, loc, mSize, idx(mbs)));
    for (auto [lo, hi, step, count] :
         {std::tuple<Value, Value, int64_t, int64_t>{idx(0), mMain, mbs, mbs},
          {mMain, mSize, 1, 1}}) {
      auto loop = scf::ForOp::create(b, loc, lo, hi, idx(step));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emit(loop.getInductionVar(), count);
    }
  }
};

} // namespace attnc::vectorize

#endif // ATTNC_COMPILER_TRANSFORMS_CONTRACTIONEMITTER_H
