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
//                    (a constant M: the rows left as one block(M % MB, NB))
//                    (block(1, NB) prefetches B's rows a few rows ahead)
//       otherwise    for each column n: for m0 step MB: block(MB, 1) ...
//
// where block(mb, nb) keeps mb * nb vector<VLxf32> accumulators in registers
// over the whole k loop (mb + nb vector loads feed mb * nb FMAs per step) and
// adds their horizontal sums (reassociable: a shuffle tree) to C at the end.
// Each C element is summed by one thread in a fixed order, so results do not
// depend on the thread count.
//
// Consecutive contractions over the same A (q/k/v, gate/up: grouped into
// one kernel by attnc-outline-kernels) share the scf.parallel: iterations
// [0, T1) are the first one's chunks, [T1, T1 + T2) the second's, ...,
// through one copy of the code whose B, C and sizes are selects on the
// iteration.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "ContractionEmitter.h"

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
using attnc::vectorize::Contraction;
using attnc::vectorize::Emitter;

namespace {

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
    // Sibling projections that attnc-outline-kernels put side by side
    // (decode's q/k/v, gate/up: one input, independent outputs) share one
    // parallel loop: one fork and join instead of one per projection.
    for (size_t i = 0; i < found.size();) {
      size_t j = i + 1;
      while (j < found.size() && sharesLoop(found[j - 1], found[j]))
        ++j;
      rewrite(MutableArrayRef<Contraction>(found).slice(i, j - i));
      i = j;
    }
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

  static bool isSerial(const Contraction &ct) {
    return ct.op->hasAttr("attnc.serial");
  }

  /// Whether `next` may run in the parallel loop of `prev`: the op right
  /// after it, reading the same A, neither inside another parallel loop.
  /// (attnc-outline-kernels groups only independent siblings.)
  static bool sharesLoop(Contraction &prev, Contraction &next) {
    return prev.op->getNextNode() == next.op.getOperation() &&
           prev.op.getDpsInputOperand(0)->get() ==
               next.op.getDpsInputOperand(0)->get() &&
           !isSerial(prev) && !isSerial(next);
  }

  /// Columns of C per iteration of the thread loop.
  int64_t chunkColumns(const Contraction &ct) const {
    int64_t colsPerBlock = ct.dot ? colBlock : colBlock * vectorWidth;
    return ct.dot ? colsPerBlock * chunkBlocks : colsPerBlock;
  }

  /// The loop sizes of a contraction and the iterations of its thread loop:
  /// the column chunks times the batch dimensions.
  struct Plan {
    Contraction *ct;
    SmallVector<Value> sizes;
    Value nChunks, total;
    /// The last row of B, which prefetches are clamped to (or null: none).
    Value nLast;
    /// B and C (the op's own unless a shared body picks them).
    Value bOperand, cOperand;
  };

  Plan plan(Contraction &ct, OpBuilder &b) {
    Location loc = ct.op.getLoc();
    Plan p{&ct,
           {},
           Value(),
           Value(),
           Value(),
           ct.op.getDpsInputOperand(1)->get(),
           ct.op.getDpsInitOperand(0)->get()};
    for (unsigned d = 0; d < ct.op.getNumLoops(); ++d)
      p.sizes.push_back(loopSize(b, loc, ct.op, d));
    p.nChunks = arith::CeilDivUIOp::create(
        b, loc, p.sizes[ct.n],
        arith::ConstantIndexOp::create(b, loc, chunkColumns(ct)));
    p.total = p.nChunks;
    for (unsigned d : ct.batch)
      p.total = arith::MulIOp::create(b, loc, p.total, p.sizes[d]);
    // Decode's matrix-vector products stream B once: software prefetches a
    // few rows ahead kept the projections 2-5% closer to the bandwidth
    // ceiling than the hardware prefetchers alone (per-kernel OMPT times,
    // 2 threads; 8 or 16 rows ahead were no better or worse).
    if (prefetchRows > 0 && !isSerial(ct))
      p.nLast = arith::SubIOp::create(
          b, loc, p.sizes[ct.n], arith::ConstantIndexOp::create(b, loc, 1));
    return p;
  }

  /// One loop for a group of contractions: iterations [0, total1) are the
  /// first one's, the next total2 the second's, and so on. A contraction
  /// marked attnc.serial (flash attention's tiles, already inside a
  /// parallel loop; always alone) gets a sequential loop instead.
  void rewrite(MutableArrayRef<Contraction> group) {
    if (group.size() > 1 && !shareable(group)) {
      for (Contraction &ct : group)
        rewrite(MutableArrayRef<Contraction>(ct));
      return;
    }
    OpBuilder b(group.front().op);
    Location loc = group.front().op.getLoc();
    SmallVector<Plan> plans;
    Value total;
    for (Contraction &ct : group) {
      plans.push_back(plan(ct, b));
      total = total ? arith::AddIOp::create(b, loc, total, plans.back().total)
                          .getResult()
                    : plans.back().total;
    }
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value it;
    if (isSerial(group.front())) {
      auto loop = scf::ForOp::create(b, loc, zero, total, one);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      it = loop.getInductionVar();
    } else {
      auto par = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                         ValueRange{total}, ValueRange{one});
      b.setInsertionPoint(par.getBody()->getTerminator());
      it = par.getInductionVars()[0];
    }
    if (plans.size() == 1) {
      emitIteration(plans.front(), b, it);
    } else {
      Value local;
      Plan shared = sharedPlan(plans, b, it, local);
      emitIteration(shared, b, local);
    }
    for (const Contraction &ct : group)
      ct.op->erase();
  }

  /// The type that every memref of `values` casts to (a dimension the
  /// types disagree on becomes dynamic), if they all have identity layouts.
  static std::optional<MemRefType> commonType(ArrayRef<Value> values) {
    auto first = cast<MemRefType>(values.front().getType());
    SmallVector<int64_t> shape(first.getShape());
    for (Value v : values) {
      auto t = cast<MemRefType>(v.getType());
      if (!t.getLayout().isIdentity() || t.getRank() != first.getRank() ||
          t.getElementType() != first.getElementType() ||
          t.getMemorySpace() != first.getMemorySpace())
        return std::nullopt;
      for (auto [d, size] : llvm::enumerate(t.getShape()))
        if (size != shape[d])
          shape[d] = ShapedType::kDynamic;
    }
    return MemRefType::get(shape, first.getElementType(),
                           MemRefLayoutAttrInterface(), first.getMemorySpace());
  }

  /// Whether a group's members differ only in B, C and their sizes (dot
  /// form, the same K, the same zero_init, B and C castable to one type
  /// each): then one copy of the register blocks serves them all. A group
  /// that cannot share keeps one loop per member (no copy per member in
  /// one kernel: compile time).
  bool shareable(MutableArrayRef<Contraction> group) {
    Contraction &first = group.front();
    SmallVector<Value> bs, cs;
    for (Contraction &ct : group) {
      if (!ct.dot || ct.kSize != first.kSize ||
          ct.op->hasAttr(attnc::kZeroInitAttrName) !=
              first.op->hasAttr(attnc::kZeroInitAttrName))
        return false;
      bs.push_back(ct.op.getDpsInputOperand(1)->get());
      cs.push_back(ct.op.getDpsInitOperand(0)->get());
    }
    return commonType(bs) && commonType(cs);
  }

  /// The plan of a shareable group: its members' B, C and sizes picked per
  /// iteration `it` (selects), built at `b` inside the loop (the casts to
  /// the common types go before it); `local` is `it`'s index within its
  /// member's iterations.
  Plan sharedPlan(ArrayRef<Plan> plans, OpBuilder &b, Value it,
                  Value &local) {
    Contraction &first = *plans.front().ct;
    SmallVector<Value> bs, cs;
    for (const Plan &p : plans) {
      bs.push_back(p.bOperand);
      cs.push_back(p.cOperand);
    }
    Location loc = first.op.getLoc();
    auto castAll = [&](SmallVector<Value> &values, MemRefType type) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(it.getParentBlock()->getParentOp());
      for (Value &v : values)
        if (v.getType() != type)
          v = memref::CastOp::create(b, loc, type, v);
    };
    castAll(bs, *commonType(bs));
    castAll(cs, *commonType(cs));
    // Member j's iterations start at the sum of the totals before it; the
    // last member whose start `it` has reached owns the iteration.
    Plan shared = plans.front();
    shared.bOperand = bs.front();
    shared.cOperand = cs.front();
    Value start, memberStart = arith::ConstantIndexOp::create(b, loc, 0);
    for (auto [j, p] : llvm::enumerate(plans)) {
      if (j == 0) {
        start = p.total;
        continue;
      }
      Value mine = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                         it, start);
      auto pick = [&](Value ifMine, Value otherwise) -> Value {
        return arith::SelectOp::create(b, loc, mine, ifMine, otherwise);
      };
      for (auto [d, size] : llvm::enumerate(p.sizes))
        shared.sizes[d] = pick(size, shared.sizes[d]);
      shared.nChunks = pick(p.nChunks, shared.nChunks);
      if (shared.nLast)
        shared.nLast = pick(p.nLast, shared.nLast);
      shared.bOperand = pick(bs[j], shared.bOperand);
      shared.cOperand = pick(cs[j], shared.cOperand);
      memberStart = pick(start, memberStart);
      start = arith::AddIOp::create(b, loc, start, p.total);
    }
    shared.total = Value();
    local = arith::SubIOp::create(b, loc, it, memberStart);
    return shared;
  }

  /// Single-row dot blocks over the chunk [n0, nEnd) as dotRows streams:
  /// with span = (nEnd - n0) / dotRows, block i takes rows n0 + i + j * span
  /// (j < dotRows), so stream j reads rows [n0 + j * span, n0 + (j + 1) *
  /// span) in order; the rows past dotRows * span get one-row blocks. A
  /// decode matrix-vector product on Zen 3 read B ~25% faster this way
  /// than as blocks of dotRows adjacent rows (each 3 KB row its own short
  /// stream).
  void emitStreams(Emitter &e, SmallVector<Value> ivs, Value m0, Value n0,
                   Value nEnd) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value span = arith::DivUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, nEnd, n0), e.idx(dotRows));
    Value streamsEnd = arith::AddIOp::create(
        b, loc, n0, arith::MulIOp::create(b, loc, span, e.idx(dotRows)));
    {
      auto loop = scf::ForOp::create(b, loc, e.idx(0), span, e.idx(1));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      e.block(ivs, m0,
              arith::AddIOp::create(b, loc, n0, loop.getInductionVar()), 1,
              dotRows, span);
    }
    auto rest = scf::ForOp::create(b, loc, streamsEnd, nEnd, e.idx(1));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(rest.getBody()->getTerminator());
    e.block(ivs, m0, rest.getInductionVar(), 1, 1);
  }

  /// Iteration `rest` of plan `p`'s part of the thread loop: one chunk of
  /// columns of one batch element.
  void emitIteration(const Plan &p, OpBuilder &b, Value rest) {
    Contraction &ct = *p.ct;
    linalg::LinalgOp op = ct.op;
    Location loc = op.getLoc();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    Emitter e{b,
              loc,
              ct,
              vectorWidth,
              op.getDpsInputOperand(0)->get(),
              p.bOperand,
              p.cOperand,
              maps[0],
              maps[1],
              maps[2],
              VectorType::get({vectorWidth}, b.getF32Type()),
              op->hasAttr(attnc::kZeroInitAttrName),
              /*prefetchRows=*/0,
              /*nLast=*/Value()};
    const SmallVector<Value> &sizes = p.sizes;
    SmallVector<Value> ivs(op.getNumLoops(), e.idx(0));

    int64_t mbs = rowBlock, nbs = colBlock;
    int64_t chunkCols = chunkColumns(ct);
    Value nSize = sizes[ct.n], mSize = sizes[ct.m], kSize = sizes[ct.k];
    if (p.nLast) {
      e.prefetchRows = prefetchRows;
      e.nLast = p.nLast;
    }
    // The loop's one linear index (OpenMP splits one dimension),
    // delinearized innermost first.
    Value chunk = arith::RemUIOp::create(b, loc, rest, p.nChunks);
    rest = arith::DivUIOp::create(b, loc, rest, p.nChunks);
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
    auto emitChunk = [&]() {
      e.rows(mSize, mbs, [&](Value m0, int64_t rowsInBlock) {
        if (ct.dot && rowsInBlock == 1 && dotStreams && dotRows > 1) {
          emitStreams(e, ivs, m0, n0, nEnd);
          return;
        }
        // A single row of A (decode) has one accumulator per row of B, so
        // its dot blocks take dotRows rows of B (more loads in flight).
        int64_t cols = ct.dot && rowsInBlock == 1 ? dotRows : nbs;
        int64_t colsPerBlock = ct.dot ? cols : cols * vectorWidth;
        Value fullEnd = arith::SubIOp::create(
            b, loc, nEnd,
            arith::RemUIOp::create(b, loc,
                                   arith::SubIOp::create(b, loc, nEnd, n0),
                                   e.idx(colsPerBlock)));
        for (auto [lo, hi, step, blockCols] :
             {std::tuple<Value, Value, int64_t, int64_t>{n0, fullEnd,
                                                         colsPerBlock, cols},
              {fullEnd, nEnd, ct.dot ? 1 : vectorWidth, 1}}) {
          auto loop = scf::ForOp::create(b, loc, lo, hi, e.idx(step));
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(loop.getBody()->getTerminator());
          if (ct.dot)
            e.block(ivs, m0, loop.getInductionVar(), rowsInBlock, blockCols);
          else
            e.axpyBlock(ivs, kSize, m0, loop.getInductionVar(), rowsInBlock,
                        blockCols);
        }
      });
    };
    int64_t packCols = colBlock * vectorWidth;
    if (!ct.dot || chunkCols % packCols != 0 || !cInnerIsN(ct) ||
        !llvm::isPowerOf2_64(vectorWidth)) {
      emitChunk();
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
  }
};

} // namespace
