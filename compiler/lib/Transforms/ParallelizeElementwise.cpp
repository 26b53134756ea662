//===- ParallelizeElementwise.cpp - thread loops for the other linalg ops -===//
//
// See AttncParallelizeElementwise in attnc/Compiler/Transforms/Passes.td.
//
// A linalg op on buffers with loop dimensions d0..dn-1 whose leading
// dimensions d0..dk-1 are parallel (and index every output) becomes
//
//   N = size(d0) * .. * size(dk-1); per = ceil(N / min(N, blocks))
//   scf.parallel (%b) = (0) to (ceil(N / per))                (thread loop)
//     scf.for %i = %b * per to min(%b * per + per, N)
//       d0..dk-1 = delinearize(%i)
//       scf.for dk .. scf.for dn-1 { payload on memref.load / memref.store }
//
// or, when the op has fewer than min-parallel-work iterations in all (known
// at compile time, or tested by an scf.if), the same body in an scf.for on
// the calling thread.
//
// with the innermost block of reduction dimensions carrying the outputs in
// iter_args (loaded before, stored after: no store-to-load chain through
// memory), their combining op marked `reassoc` so that LLVM vectorizes it.
// Each output element is computed by one iteration of the thread loop in a
// fixed order: results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCPARALLELIZEELEMENTWISE
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// An op that already runs on many threads: the code inside it must not
/// start a parallel loop of its own.
bool isParallelLoop(Operation *op) {
  return isa<scf::ParallelOp, scf::ForallOp>(op) ||
         op->getName().getStringRef() == "omp.parallel";
}

bool insideParallelLoop(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp())
    if (isParallelLoop(p))
      return true;
  return false;
}

/// How an op is split: its first `split` loop dimensions (flattened) are
/// the thread loop; with `chunked` (every dimension parallel, the innermost
/// dynamic, or the only one) the innermost one, d(split-1), is split into
/// chunks of `grain` iterations instead.
struct Plan {
  unsigned split = 0;
  bool chunked = false;
};

std::optional<Plan> plan(linalg::LinalgOp op, int64_t grain) {
  if (!op.hasPureBufferSemantics() || op->hasAttr("attnc.serial") ||
      op.getNumDpsInits() == 0)
    return std::nullopt;
  unsigned n = op.getNumLoops();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned lead = 0;
  while (lead < n && iters[lead] == utils::IteratorType::parallel)
    ++lead;
  if (lead == 0)
    return std::nullopt;
  Plan p;
  p.split = lead;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (lead == n) {
    if (n == 1 || ShapedType::isDynamic(ranges[n - 1]))
      p.chunked = true;
    else
      p.split = n - 1; // the innermost loop stays whole: LLVM vectorizes it
  }
  if (!p.chunked) {
    // Enough work per iteration: static inner dimensions join the inner
    // loops while they are small (a [.., 12, 64] transpose: rows of 768).
    int64_t inner = 1;
    bool known = true;
    for (unsigned d = p.split; d < n; ++d) {
      if (ShapedType::isDynamic(ranges[d]))
        known = false;
      else
        inner *= ranges[d];
    }
    while (known && p.split > 1 && inner < grain &&
           !ShapedType::isDynamic(ranges[p.split - 1])) {
      inner *= ranges[p.split - 1];
      --p.split;
    }
    // Nothing to split.
    if (llvm::all_of(ArrayRef(ranges).take_front(p.split),
                     [](int64_t s) { return s == 1; }))
      return std::nullopt;
  } else if (n == 1 && !ShapedType::isDynamic(ranges[0]) &&
             ranges[0] <= grain) {
    return std::nullopt;
  }
  // Distinct iterations write distinct output elements: every split
  // dimension indexes every output as a plain dimension.
  MLIRContext *ctx = op->getContext();
  for (OpOperand &init : op.getDpsInitsMutable()) {
    if (!isa<MemRefType>(init.get().getType()))
      return std::nullopt;
    AffineMap m = op.getMatchingIndexingMap(&init);
    for (unsigned d = 0; d < p.split; ++d)
      if (!m.getResultPosition(getAffineDimExpr(d, ctx)))
        return std::nullopt;
  }
  // An input that is also an output must be read where it is written.
  for (OpOperand *in : op.getDpsInputOperands())
    for (OpOperand &init : op.getDpsInitsMutable())
      if (in->get() == init.get() && op.getMatchingIndexingMap(in) !=
                                         op.getMatchingIndexingMap(&init))
        return std::nullopt;
  return p;
}

struct Emitter {
  OpBuilder &b;
  Location loc;
  linalg::LinalgOp op;
  SmallVector<Value> sizes;
  bool reassociate;

  /// Index constants, created once at the start of the function (they
  /// must dominate both the parallel and the serial form of the op).
  llvm::DenseMap<int64_t, Value> consts;
  Value idx(int64_t v) {
    Value &c = consts[v];
    if (!c) {
      auto cb = OpBuilder::atBlockBegin(
          &op->getParentOfType<func::FuncOp>().getBody().front());
      c = arith::ConstantIndexOp::create(cb, loc, v);
    }
    return c;
  }

  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> ivs) {
    SmallVector<Value> r;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e))
        r.push_back(ivs[d.getPosition()]);
      else
        r.push_back(affine::AffineApplyOp::create(
            b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
    }
    return r;
  }

  Value load(OpOperand &operand, ArrayRef<Value> ivs) {
    Value v = operand.get();
    if (!isa<MemRefType>(v.getType()))
      return v; // a scalar (linalg.fill's value)
    return memref::LoadOp::create(
        b, loc, v, indices(op.getMatchingIndexingMap(&operand), ivs));
  }

  /// The payload at `ivs` with the outputs' current values `outs`: the
  /// values it yields.
  SmallVector<Value> payload(ArrayRef<Value> ivs, ArrayRef<Value> outs) {
    Block *body = op.getBlock();
    IRMapping map;
    for (OpOperand *in : op.getDpsInputOperands()) {
      BlockArgument arg = op.getMatchingBlockArgument(in);
      if (!arg.use_empty())
        map.map(arg, load(*in, ivs));
    }
    for (auto [init, v] : llvm::zip(op.getDpsInitsMutable(), outs))
      if (v)
        map.map(op.getMatchingBlockArgument(&init), v);
    for (Operation &o : body->without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        map.map(index.getResult(), ivs[index.getDim()]);
        continue;
      }
      Operation *c = b.clone(o, map);
      c->walk([&](linalg::IndexOp nested) {
        nested.replaceAllUsesWith(ivs[nested.getDim()]);
        nested.erase();
      });
    }
    SmallVector<Value> r;
    for (Value v : body->getTerminator()->getOperands())
      r.push_back(map.lookupOrDefault(v));
    return r;
  }

  /// Loads of the outputs that the payload reads (null for the others).
  SmallVector<Value> loadOuts(ArrayRef<Value> ivs, bool all) {
    SmallVector<Value> r;
    for (OpOperand &init : op.getDpsInitsMutable())
      r.push_back(all || !op.getMatchingBlockArgument(&init).use_empty()
                      ? load(init, ivs)
                      : Value());
    return r;
  }

  void store(ArrayRef<Value> vals, ArrayRef<Value> ivs) {
    for (auto [init, v] : llvm::zip(op.getDpsInitsMutable(), vals))
      memref::StoreOp::create(
          b, loc, v, init.get(),
          indices(op.getMatchingIndexingMap(&init), ivs));
  }

  /// The loops over dimensions d..n-1 at the builder's insertion point,
  /// `lo`/`hi` overriding d's range when set.
  void loops(SmallVector<Value> &ivs, unsigned d, Value lo = {},
             Value hi = {}) {
    unsigned n = op.getNumLoops();
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    unsigned red = n;
    while (red > d && iters[red - 1] == utils::IteratorType::reduction)
      --red;
    if (d == n) {
      store(payload(ivs, loadOuts(ivs, false)), ivs);
      return;
    }
    if (d == red && canCarry(d)) {
      carried(ivs, d);
      return;
    }
    auto loop = scf::ForOp::create(b, loc, lo ? lo : idx(0),
                                   hi ? hi : sizes[d], idx(1));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    ivs[d] = loop.getInductionVar();
    loops(ivs, d + 1);
  }

  /// The outputs may live in registers over dimensions d..n-1: none of them
  /// indexes an output, and no input reads an output buffer.
  bool canCarry(unsigned d) {
    for (OpOperand &init : op.getDpsInitsMutable()) {
      AffineMap m = op.getMatchingIndexingMap(&init);
      for (unsigned e = d; e < op.getNumLoops(); ++e)
        if (m.isFunctionOfDim(e))
          return false;
      for (OpOperand *in : op.getDpsInputOperands())
        if (in->get() == init.get())
          return false;
    }
    return true;
  }

  /// The reduction loops d..n-1 with the outputs in iter_args.
  void carried(SmallVector<Value> &ivs, unsigned d) {
    unsigned n = op.getNumLoops();
    SmallVector<Value> outs = loadOuts(ivs, true);
    SmallVector<scf::ForOp> nest;
    SmallVector<Value> cur = outs;
    for (unsigned e = d; e < n; ++e) {
      auto loop = scf::ForOp::create(b, loc, idx(0), sizes[e], idx(1), cur);
      if (!nest.empty())
        scf::YieldOp::create(b, loc, loop.getResults());
      nest.push_back(loop);
      b.setInsertionPointToStart(loop.getBody());
      ivs[e] = loop.getInductionVar();
      cur.assign(loop.getRegionIterArgs().begin(),
                 loop.getRegionIterArgs().end());
    }
    SmallVector<Value> res = payload(ivs, cur);
    if (reassociate)
      for (auto [v, acc] : llvm::zip(res, cur))
        if (auto fm = v.getDefiningOp<arith::ArithFastMathInterface>())
          if (llvm::is_contained(fm->getOperands(), acc))
            fm->setAttr(fm.getFastMathAttrName(),
                        arith::FastMathFlagsAttr::get(
                            b.getContext(),
                            fm.getFastMathFlagsAttr().getValue() |
                                arith::FastMathFlags::reassoc));
    scf::YieldOp::create(b, loc, res);
    b.setInsertionPointAfter(nest.front());
    SmallVector<Value> final(nest.front().getResults());
    store(final, ivs);
  }
};

struct ParallelizeElementwise
    : public attnc::impl::AttncParallelizeElementwiseBase<
          ParallelizeElementwise> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // Functions called from inside a parallel loop, directly or through
    // other such functions (flash attention's outlined tile kernels).
    llvm::DenseSet<Operation *> serial;
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp c) { calls.push_back(c); });
    auto inParallel = [&](func::CallOp c) {
      return insideParallelLoop(c) ||
             serial.contains(c->getParentOfType<func::FuncOp>());
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (func::CallOp c : calls)
        if (Operation *f = symbols.lookup(c.getCallee()))
          if (inParallel(c) && serial.insert(f).second)
            changed = true;
    }
    // A kernel shared by a parallel loop's body and the top level: the body
    // calls a serial copy; the original gets the thread loop.
    for (func::FuncOp f : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (!serial.contains(f) || f.isExternal() || !hasCandidate(f))
        continue;
      SmallVector<func::CallOp> inner, outer;
      for (func::CallOp c : calls)
        if (c.getCallee() == f.getSymName())
          (inParallel(c) ? inner : outer).push_back(c);
      if (outer.empty())
        continue;
      func::FuncOp copy = f.clone();
      copy.setName((f.getSymName() + "_serial").str());
      OpBuilder(f).insert(copy);
      symbols.insert(copy);
      serial.insert(copy);
      serial.erase(f);
      for (func::CallOp c : inner)
        c.setCallee(copy.getSymName());
    }

    SmallVector<std::pair<linalg::LinalgOp, Plan>> found;
    module.walk([&](linalg::LinalgOp op) {
      if (serial.contains(op->getParentOfType<func::FuncOp>()) ||
          insideParallelLoop(op))
        return;
      if (auto p = plan(op, grain))
        found.push_back({op, *p});
    });
    llvm::DenseSet<Operation *> planned;
    llvm::SetVector<func::FuncOp> kernels;
    for (auto &entry : found) {
      planned.insert(entry.first);
      if (auto f = entry.first->getParentOfType<func::FuncOp>())
        kernels.insert(f);
    }
    for (func::FuncOp f : kernels)
      if (onlyElementwise(f, planned))
        markNoUnroll(f);
    for (auto &[op, p] : found) {
      if (approximateMath && failed(approximate(op)))
        return signalPassFailure();
      rewrite(op, p);
    }
  }

  /// A kernel of elementwise ops only (no reduction loop) becomes
  /// memory-bound loops that LLVM vectorizes; its unroller then copied them
  /// up to ~14x (full unroll of static inner loops such as RoPE's 12 heads x
  /// 32, in the thread loop and in the serial copy) for no measured gain.
  /// The LLVM function attribute asks emitCpu to disable unrolling in the
  /// kernel's loops (its OpenMP-outlined bodies inherit it). Kernels with
  /// reductions or contraction loops keep LLVM's unrolling.
  /// Whether every loop `f` will have is one this pass writes for an op
  /// without reduction loops (no contraction loops of
  /// attnc-vectorize-contractions, no reductions).
  static bool onlyElementwise(func::FuncOp f,
                              const llvm::DenseSet<Operation *> &planned) {
    WalkResult r = f.walk([&](Operation *op) {
      if (auto l = dyn_cast<linalg::LinalgOp>(op))
        return planned.contains(op) && l.getNumReductionLoops() == 0
                   ? WalkResult::skip()
                   : WalkResult::interrupt();
      if (isa<LoopLikeOpInterface>(op) ||
          isa<vector::VectorDialect>(op->getDialect()))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    return !r.wasInterrupted();
  }

  static void markNoUnroll(func::FuncOp f) {
    SmallVector<Attribute> pass;
    if (auto old = f->getAttrOfType<ArrayAttr>("passthrough"))
      pass.append(old.begin(), old.end());
    StringAttr tag = StringAttr::get(f.getContext(), attnc::kNoUnrollAttr);
    if (llvm::is_contained(pass, tag))
      return;
    pass.push_back(tag);
    f->setAttr("passthrough", ArrayAttr::get(f.getContext(), pass));
  }

  bool hasCandidate(func::FuncOp f) {
    bool any = false;
    f.walk([&](linalg::LinalgOp op) {
      if (!insideParallelLoop(op) && plan(op, grain))
        any = true;
    });
    return any;
  }

  /// exp, tanh and erf in the payload as f32 polynomials (the ones flash
  /// attention's tiles use): no libm call per element, so LLVM vectorizes.
  LogicalResult approximate(linalg::LinalgOp op) {
    SmallVector<Operation *> math;
    op->walk([&](Operation *o) {
      if (isa<math::ExpOp, math::TanhOp, math::ErfOp>(o))
        math.push_back(o);
    });
    if (math.empty())
      return success();
    RewritePatternSet patterns(op->getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == "math.exp" || name == "math.tanh" ||
                 name == "math.erf";
        });
    return applyOpPatternsGreedily(math, std::move(patterns));
  }

  void rewrite(linalg::LinalgOp op, Plan p) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Emitter e{b, loc, op, {}, reassociate, llvm::DenseMap<int64_t, Value>()};
    for (Range r : op.createLoopRanges(b, loc))
      e.sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    unsigned n = op.getNumLoops();

    // The thread loop's extent per split dimension: the chunked one counts
    // chunks.
    unsigned last = p.split - 1;
    SmallVector<Value> extents(e.sizes.begin(), e.sizes.begin() + p.split);
    if (p.chunked)
      extents[last] =
          arith::CeilDivUIOp::create(b, loc, e.sizes[last], e.idx(grain));
    Value total = extents[0];
    for (unsigned d = 1; d < p.split; ++d)
      total = arith::MulIOp::create(b, loc, total, extents[d]);
    // At most `blocks` iterations of the thread loop, each a contiguous
    // range of `per` flat indices: few work-sharing steps per loop, and a
    // thread's rows stay contiguous in memory.
    Value per = arith::MaxUIOp::create(
        b, loc,
        arith::CeilDivUIOp::create(
            b, loc, total,
            arith::MaxUIOp::create(
                b, loc, arith::MinUIOp::create(b, loc, total, e.idx(blocks)),
                e.idx(1))),
        e.idx(1));
    Value count = arith::CeilDivUIOp::create(b, loc, total, per);

    // Iteration `block` of the thread loop: flat indices [block * per,
    // min(block * per + per, total)) of the split dimensions.
    auto emitBlock = [&](Value block) {
      SmallVector<Value> ivs(n, Value());
      Value lo = arith::MulIOp::create(b, loc, block, per);
      Value hi = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, lo, per), total);
      auto flat = scf::ForOp::create(b, loc, lo, hi, e.idx(1));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(flat.getBody()->getTerminator());
      // Delinearized innermost first (row-major over d0..dsplit-1).
      Value rest = flat.getInductionVar();
      for (unsigned d = p.split; d-- > 1;) {
        ivs[d] = arith::RemUIOp::create(b, loc, rest, extents[d]);
        rest = arith::DivUIOp::create(b, loc, rest, extents[d]);
      }
      ivs[0] = rest;
      if (p.chunked) {
        Value lo = arith::MulIOp::create(b, loc, ivs[last], e.idx(grain));
        Value hi = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, lo, e.idx(grain)),
            e.sizes[last]);
        e.loops(ivs, last, lo, hi);
      } else {
        e.loops(ivs, p.split);
      }
    };
    auto emitParallel = [&]() {
      auto par = scf::ParallelOp::create(b, loc, ValueRange{e.idx(0)},
                                         ValueRange{count},
                                         ValueRange{e.idx(1)});
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(par.getBody()->getTerminator());
      emitBlock(par.getInductionVars()[0]);
    };
    auto emitSerial = [&]() {
      auto loop = scf::ForOp::create(b, loc, e.idx(0), count, e.idx(1));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      emitBlock(loop.getInductionVar());
    };

    // Small ops (a decode step's rows of 768) stay on the calling thread:
    // an OpenMP fork and join costs more than the work, and a lone block
    // keeps the other threads waiting. Decided at compile time when every
    // size is known, otherwise by an scf.if on the element count. (The two
    // copies of the body cost ~0.9 s of llama-style's --incremental compile;
    // one copy under an omp.parallel `if` clause was measured 2.4% slower
    // at 2-thread decode: libomp's serialized region is not free.)
    std::optional<int64_t> staticWork = 1;
    for (Value size : e.sizes) {
      std::optional<int64_t> s = getConstantIntValue(size);
      staticWork = staticWork && s ? std::optional(*staticWork * *s)
                                   : std::nullopt;
    }
    if (staticWork) {
      if (*staticWork >= minParallelWork)
        emitParallel();
      else
        emitSerial();
      op->erase();
      return;
    }
    Value work = e.sizes.front();
    for (Value size : ArrayRef(e.sizes).drop_front())
      work = arith::MulIOp::create(b, loc, work, size);
    Value big = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, work,
                              e.idx(minParallelWork)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, count,
                              e.idx(1)));
    auto choice = scf::IfOp::create(b, loc, big, /*withElse=*/true);
    b.setInsertionPoint(choice.thenBlock()->getTerminator());
    emitParallel();
    b.setInsertionPoint(choice.elseBlock()->getTerminator());
    emitSerial();
    op->erase();
  }
};

} // namespace
