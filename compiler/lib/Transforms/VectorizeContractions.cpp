//===- VectorizeContractions.cpp - register-blocked vector contractions ---===//
//
// See AttncVectorizeContractions in attnc/Compiler/Transforms/Passes.td.
//
// A linalg op on buffers whose body is `out + a * b` and whose single
// reduction dimension k is the innermost, unit-stride dimension of both
// inputs (C[.., m, n] += A[.., m, k] * B[.., n, k]: every nn.Linear-style
// projection with an [N, K] weight, and Q.K^T in attention) becomes:
//
//   for batch dims:                         (scf.for)
//     for n0 in 0..N step NB:               (scf.parallel: the thread loop)
//       full block?  for m0 step MB: block(MB, NB); rows left: block(1, NB)
//                    (block(1, NB) prefetches B's rows a few rows ahead)
//       otherwise    for each column n: for m0 step MB: block(MB, 1) ...
//
// where block(mb, nb) keeps mb * nb vector<VLxf32> accumulators in registers
// over the whole k loop (mb + nb vector loads feed mb * nb FMAs per step) and
// adds their horizontal sums (reassociable: a shuffle tree) to C at the end.
// Each C element is summed by one thread in a fixed order, so results do not
// depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCVECTORIZECONTRACTIONS
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

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

bool unitInnerStride(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || type.getRank() == 0 || !type.getElementType().isF32())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides.back() == 1;
}

/// out + a * b (either operand order), f32.
bool isMulAdd(linalg::LinalgOp op) {
  Block &body = op->getRegion(0).front();
  if (body.getNumArguments() != 3 || !llvm::hasNItems(body, 3))
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield ? yield.getOperand(0).getDefiningOp<arith::AddFOp>()
                   : nullptr;
  if (!add)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1),
        c = body.getArgument(2);
  Value mulv = add.getLhs() == c ? add.getRhs() : add.getLhs();
  if (add.getLhs() != c && add.getRhs() != c)
    return false;
  auto mul = mulv.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

std::optional<Contraction> match(linalg::LinalgOp op, int64_t vl) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMulAdd(op))
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (llvm::count(iters, utils::IteratorType::reduction) != 1)
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap m : maps)
    if (!m.isProjectedPermutation() || m.getNumResults() == 0)
      return std::nullopt;
  Value a = op.getDpsInputOperand(0)->get(), b = op.getDpsInputOperand(1)->get(),
        c = op.getDpsInitOperand(0)->get();
  if (!unitInnerStride(a) || !unitInnerStride(b) ||
      !isa<MemRefType>(c.getType()) ||
      !cast<MemRefType>(c.getType()).getElementType().isF32())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  Contraction ct;
  ct.op = op;
  ct.k = llvm::find(iters, utils::IteratorType::reduction) - iters.begin();
  auto dimOf = [](AffineMap m, unsigned r) {
    return cast<AffineDimExpr>(m.getResult(r)).getPosition();
  };
  AffineMap ma = maps[0], mb = maps[1], mc = maps[2];
  auto last = [&](AffineMap m) { return dimOf(m, m.getNumResults() - 1); };
  if (last(ma) != ct.k)
    return std::nullopt;
  if (last(mb) != ct.k) {
    // C[.., m, n] += A[.., m, k] * B[.., k, n]: n innermost in B and C.
    unsigned n = last(mb);
    if (last(mc) != n || !unitInnerStride(c) ||
        ShapedType::isDynamic(ranges[n]) || ranges[n] % vl != 0)
      return std::nullopt;
    ct.dot = false;
    ct.nSize = ranges[n];
  }
  auto in = [&](AffineMap m, unsigned d) {
    return m.getResultPosition(getAffineDimExpr(d, op->getContext()))
        .has_value();
  };
  std::optional<unsigned> m, n;
  for (unsigned r = 0; r < mc.getNumResults(); ++r) {
    unsigned d = dimOf(mc, r);
    if (in(ma, d) && !in(mb, d))
      m = d;
    else if (in(mb, d) && !in(ma, d))
      n = d;
  }
  if (!m || !n)
    return std::nullopt;
  ct.m = *m;
  ct.n = *n;
  for (unsigned d = 0; d < iters.size(); ++d) {
    if (d == ct.k || d == ct.m || d == ct.n)
      continue;
    // A batch dimension must index the output (no second reduction).
    if (!in(mc, d))
      return std::nullopt;
    ct.batch.push_back(d);
  }
  ct.kSize = ranges[ct.k];
  if (ct.dot && (ShapedType::isDynamic(ct.kSize) || ct.kSize % vl != 0))
    return std::nullopt;
  return ct;
}

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

  /// C[m0..m0+mb, n0..n0+nb] += A[m0.., :] . B[n0.., :]^T over the full k.
  void block(SmallVector<Value> ivs, Value m0, Value n0, int64_t mbs,
             int64_t nbs) {
    SmallVector<Value> init(mbs * nbs, zeroVector());
    SmallVector<Value> mi, nj;
    for (int64_t i = 0; i < mbs; ++i)
      mi.push_back(i ? arith::AddIOp::create(b, loc, m0, idx(i)) : m0);
    for (int64_t j = 0; j < nbs; ++j)
      nj.push_back(j ? arith::AddIOp::create(b, loc, n0, idx(j)) : n0);
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

  /// Row blocks of mbs rows, then single rows: emit(m0, rowsInBlock).
  void rows(Value mSize, int64_t mbs,
            llvm::function_ref<void(Value, int64_t)> emit) {
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

/// C's innermost dimension is n, with unit stride (vector loads of C rows).
bool cInnerIsN(Contraction &ct) {
  AffineMap mc = ct.op.getIndexingMapsArray()[2];
  return unitInnerStride(ct.op.getDpsInitOperand(0)->get()) &&
         cast<AffineDimExpr>(mc.getResult(mc.getNumResults() - 1))
                 .getPosition() == ct.n;
}

/// The size of loop dimension `d`: the first operand dimension it indexes.
Value loopSize(OpBuilder &b, Location loc, linalg::LinalgOp op, unsigned d) {
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (auto r = map.getResultPosition(getAffineDimExpr(d, b.getContext())))
      return b.createOrFold<memref::DimOp>(loc, operand.get(), *r);
  }
  llvm_unreachable("every loop dimension indexes an operand");
}

struct VectorizeContractions
    : public attnc::impl::AttncVectorizeContractionsBase<
          VectorizeContractions> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Contraction> found;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (auto ct = match(op, vectorWidth))
        found.push_back(*ct);
    });
    for (Contraction &ct : found)
      rewrite(ct);
    // attnc-fold-zero-fills erased the zero fill of ops it expected to be
    // rewritten here; any other keeps reading its init: fill it again.
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!op->hasAttr(attnc::kZeroInitAttrName))
        return;
      op->removeAttr(attnc::kZeroInitAttrName);
      OpBuilder b(op);
      Value init = op.getDpsInitOperand(0)->get();
      Type et = getElementTypeOrSelf(init.getType());
      Value zero = arith::ConstantOp::create(b, op.getLoc(), et,
                                             b.getZeroAttr(et));
      linalg::FillOp::create(b, op.getLoc(), zero, init);
    });
  }

  void rewrite(Contraction &ct) {
    linalg::LinalgOp op = ct.op;
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    Emitter e{b,
              loc,
              ct,
              vectorWidth,
              op.getDpsInputOperand(0)->get(),
              op.getDpsInputOperand(1)->get(),
              op.getDpsInitOperand(0)->get(),
              maps[0],
              maps[1],
              maps[2],
              VectorType::get({vectorWidth}, b.getF32Type()),
              op->hasAttr(attnc::kZeroInitAttrName),
              /*prefetchRows=*/0,
              /*nLast=*/Value()};
    unsigned numLoops = op.getNumLoops();
    SmallVector<Value> sizes;
    for (unsigned d = 0; d < numLoops; ++d)
      sizes.push_back(loopSize(b, loc, op, d));
    SmallVector<Value> ivs(numLoops, e.idx(0));

    // One scf.parallel over the batch dimensions and the column chunks:
    // the loop that threads split.
    int64_t mbs = rowBlock, nbs = colBlock;
    int64_t colsPerBlock = ct.dot ? nbs : nbs * vectorWidth;
    int64_t chunkCols = ct.dot ? colsPerBlock * chunkBlocks : colsPerBlock;
    Value nSize = sizes[ct.n], mSize = sizes[ct.m], kSize = sizes[ct.k];
    // Decode's matrix-vector products stream B once: software prefetches a
    // few rows ahead kept the projections 2-5% closer to the bandwidth
    // ceiling than the hardware prefetchers alone (per-kernel OMPT times,
    // 2 threads; 8 or 16 rows ahead were no better or worse).
    if (prefetchRows > 0 && !op->hasAttr("attnc.serial")) {
      e.prefetchRows = prefetchRows;
      e.nLast = arith::SubIOp::create(b, loc, nSize, e.idx(1));
    }
    // One linear index over all of them (OpenMP splits one dimension),
    // delinearized innermost first.
    Value nChunks =
        arith::CeilDivUIOp::create(b, loc, nSize, e.idx(chunkCols));
    Value total = nChunks;
    for (unsigned d : ct.batch)
      total = arith::MulIOp::create(b, loc, total, sizes[d]);
    // A contraction marked attnc.serial already runs inside a parallel loop
    // (flash attention's tiles): a sequential loop instead.
    Value rest;
    if (op->hasAttr("attnc.serial")) {
      auto loop = scf::ForOp::create(b, loc, e.idx(0), total, e.idx(1));
      b.setInsertionPoint(loop.getBody()->getTerminator());
      rest = loop.getInductionVar();
    } else {
      auto par = scf::ParallelOp::create(b, loc, ValueRange{e.idx(0)},
                                         ValueRange{total},
                                         ValueRange{e.idx(1)});
      b.setInsertionPoint(par.getBody()->getTerminator());
      rest = par.getInductionVars()[0];
    }
    Value chunk = arith::RemUIOp::create(b, loc, rest, nChunks);
    rest = arith::DivUIOp::create(b, loc, rest, nChunks);
    for (unsigned d : llvm::reverse(ct.batch)) {
      ivs[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
      rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
    }
    // A chunk of column blocks: for each row block, every column block of
    // the chunk in turn, so the row block of A and the lines of C it writes
    // stay in L1 while the chunk of B stays in L2.
    Value n0 = arith::MulIOp::create(b, loc, chunk, e.idx(chunkCols));
    Value nEnd = arith::MinUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, n0, e.idx(chunkCols)), nSize);
    Value fullEnd = arith::SubIOp::create(
        b, loc, nEnd,
        arith::RemUIOp::create(b, loc,
                               arith::SubIOp::create(b, loc, nEnd, n0),
                               e.idx(colsPerBlock)));
    auto emitChunk = [&]() {
      e.rows(mSize, mbs, [&](Value m0, int64_t rowsInBlock) {
        for (auto [lo, hi, step, cols] :
             {std::tuple<Value, Value, int64_t, int64_t>{n0, fullEnd,
                                                         colsPerBlock, nbs},
              {fullEnd, nEnd, ct.dot ? 1 : vectorWidth, 1}}) {
          auto loop = scf::ForOp::create(b, loc, lo, hi, e.idx(step));
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(loop.getBody()->getTerminator());
          if (ct.dot)
            e.block(ivs, m0, loop.getInductionVar(), rowsInBlock, cols);
          else
            e.axpyBlock(ivs, kSize, m0, loop.getInductionVar(), rowsInBlock,
                        cols);
        }
      });
    };
    int64_t packCols = colBlock * vectorWidth;
    if (!ct.dot || chunkCols % packCols != 0 || !cInnerIsN(ct) ||
        !llvm::isPowerOf2_64(vectorWidth)) {
      emitChunk();
      op->erase();
      return;
    }
    // Enough rows (prefill): copy the chunk of B transposed, [K, chunk], and
    // run broadcast-FMA blocks over it (no horizontal sums, B read
    // sequentially); few rows (decode): dot-product blocks straight from B.
    Value enough = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, mSize,
                              e.idx(packMinRows)),
        arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq,
            arith::SubIOp::create(b, loc, nEnd, n0), e.idx(chunkCols)));
    auto pick = scf::IfOp::create(b, loc, enough, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(pick.elseBlock()->getTerminator());
      emitChunk();
      b.setInsertionPoint(pick.thenBlock()->getTerminator());
      auto bufType = MemRefType::get({ct.kSize, chunkCols}, b.getF32Type());
      Value buf = memref::AllocOp::create(b, loc, bufType);
      e.packTransposed(ivs, n0, chunkCols, buf);
      e.rows(mSize, mbs, [&](Value m0, int64_t rowsInBlock) {
        auto loop = scf::ForOp::create(b, loc, n0, nEnd, e.idx(packCols));
        OpBuilder::InsertionGuard g3(b);
        b.setInsertionPoint(loop.getBody()->getTerminator());
        e.axpyBlock(ivs, e.idx(ct.kSize), m0, loop.getInductionVar(),
                    rowsInBlock, colBlock, buf, n0);
      });
      memref::DeallocOp::create(b, loc, buf);
    }
    op->erase();
  }
};

} // namespace
