//===- CudaFusedAttention.cpp - attn.sdpa as one flash-style GPU kernel ---===//
//
// See AttncCudaFusedAttention in attnc/Compiler/Transforms/Passes.td.
//
//   scf.forall it in B * H * Sq          (i = it % Sq, h, b; kh = h / G)
//     qp[d]  = Q[b, h, i, d]             private, in ct (f32 for bf16/f16)
//     acc[d] = 0; m = masked; l = 0      private
//     [jlo, jhi) = the keys row i may see (its mask band; all with positions)
//     scf.for j0 in [jlo rounded down to TK, jhi) step TK       key tiles
//       a = max(j0, jlo), e = min(j0 + TK, jhi)
//       s[j - a] = logit(qp . K[b, kh, j, :])  for j in [a, e)   (private)
//       mNew = max(m, max s); alpha = exp(m - mNew)
//       s = exp(s - mNew); l = l * alpha + sum s
//       acc[d] = acc[d] * alpha + sum_j s[j - a] * V[b, kh, j, d]
//       m = mNew
//     out[b, h, i, :] = m == masked ? 0 : acc / l   (a query that sees no key)
//
// The forall becomes, after bufferization and scf-forall-to-parallel, one
// top-level scf.parallel, i.e. one kernel with one thread per query row
// (attnc-cuda-map-loops). Adjacent threads are adjacent rows of one head: they
// read the same K and V rows at the same time. The logit is the one of
// attn.query_key, built by the same function as on the CPU paths
// (attnc/Conversion/AttentionLogit.h): scale, softcap, ALiBi, mask.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Transforms/Passes.h"

#include "attnc/Conversion/AttentionLogit.h"

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>
#include <tuple>

namespace attnc {
#define GEN_PASS_DEF_ATTNCCUDAFUSEDATTENTION
#include "attnc/Compiler/Transforms/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Scalar builders at one insertion point.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value smin(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value smax(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value fconst(Type t, double v) {
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, v));
  }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fmax(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value dim(Value t, int64_t d) {
    return b.createOrFold<tensor::DimOp>(loc, t, d);
  }
  /// v (any float type) as float type t.
  Value toFloat(Value v, Type t) {
    if (v.getType() == t)
      return v;
    if (cast<FloatType>(v.getType()).getWidth() < cast<FloatType>(t).getWidth())
      return arith::ExtFOp::create(b, loc, t, v);
    return arith::TruncFOp::create(b, loc, t, v);
  }
  Value extract(Value t, ValueRange indices) {
    return tensor::ExtractOp::create(b, loc, t, indices);
  }
  /// Positions [S] or [B, S] at (batch bi, index at).
  Value position(Value pos, Value bi, Value at) {
    if (cast<RankedTensorType>(pos.getType()).getRank() == 1)
      return extract(pos, {at});
    return extract(pos, {bi, at});
  }
  Value load(Value m, Value i) { return memref::LoadOp::create(b, loc, m, i); }
  void store(Value v, Value m, Value i) {
    memref::StoreOp::create(b, loc, v, m, i);
  }
  /// scf.for [lb, ub) step `step` carrying `init`; `body` returns the
  /// yielded values.
  ValueRange
  loop(Value lb, Value ub, Value step, ValueRange init,
       function_ref<SmallVector<Value>(Emitter &, Value, ValueRange)> body) {
    auto f = scf::ForOp::create(
        b, loc, lb, ub, step, init,
        [&](OpBuilder &nb, Location l, Value iv, ValueRange args) {
          Emitter e{nb, l};
          scf::YieldOp::create(nb, l, body(e, iv, args));
        });
    return f.getResults();
  }
};

struct Rewriter {
  SdpaOp op;
  int64_t keyTile;

  /// Why `op` keeps the decomposition, or empty.
  StringRef unsupported() {
    auto q = op.getQuery().getType(), k = op.getKey().getType(),
         v = op.getValue().getType();
    // The query -> kv head map (h / (H / K)) and the slope table are built
    // from static head counts.
    if (q.isDynamicDim(1) || k.isDynamicDim(1))
      return "dynamic head count";
    // The query row and the accumulator live in thread-private arrays, whose
    // size must be static.
    if (q.isDynamicDim(3) || v.isDynamicDim(3))
      return "dynamic head dim";
    if (keyTile < 1)
      return "key-tile < 1";
    return {};
  }

  /// The logit of attn.query_key / attn.sdpa (AttentionLogit.h) on one
  /// scalar score.
  Value logit(Emitter &e, Type ct, Value score, Value qPosition,
              Value kPosition, Value keyIndex, Value allowedBit,
              Value alibiQuery, Value alibiKey, Value slope) {
    lowering::LogitSpec spec{
        ct,
        op.getScale().convertToDouble(),
        op.getSoftcap() ? std::optional<APFloat>(*op.getSoftcap())
                        : std::nullopt,
        op.getMask(),
        static_cast<bool>(op.getQueryPositions()),
        static_cast<bool>(allowedBit),
        op.getUnmaskedPrefix(),
        static_cast<bool>(alibiQuery)};
    auto value = [](Value v) { return [v]() { return v; }; };
    lowering::LogitOperands in{value(qPosition), value(kPosition),
                               value(keyIndex),  value(allowedBit),
                               value(alibiQuery), value(alibiKey),
                               value(slope)};
    return lowering::attentionLogit(e.b, e.loc, spec, score, in);
  }

  void rewrite(RewriterBase &rewriter) {
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    Emitter c{rewriter, loc};
    auto qType = op.getQuery().getType(), kType = op.getKey().getType();
    auto resultType = cast<RankedTensorType>(op.getType());
    Type et = resultType.getElementType();
    // Narrow floats are storage only: every sum, max and exp in f32.
    Type ct = cast<FloatType>(et).getWidth() < 32 ? rewriter.getF32Type() : et;
    int64_t heads = qType.getDimSize(1), kvHeads = kType.getDimSize(1);
    int64_t group = heads / kvHeads;
    int64_t dHead = qType.getDimSize(3);
    int64_t dValue = op.getValue().getType().getDimSize(3);
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    Value qPos = op.getQueryPositions(), kPos = op.getKeyPositions();
    Value allowed = op.getAllowed(), prefix = op.getUnmaskedPrefix();
    Value alibiQ = op.getAlibiQueryPositions();
    Value alibiK = op.getAlibiKeyPositions();
    MaskAttr mask = op.getMask();

    Value batch = c.dim(q, 0), sq = c.dim(q, 2), skv = c.dim(k, 2);
    Value total = c.mul(c.mul(batch, c.idx(heads)), sq);
    SmallVector<OpFoldResult> outSizes = {
        tensor::getMixedSize(rewriter, loc, q, 0), rewriter.getIndexAttr(heads),
        tensor::getMixedSize(rewriter, loc, q, 2),
        rewriter.getIndexAttr(dValue)};
    Value init = tensor::EmptyOp::create(rewriter, loc, outSizes, et);
    auto forall =
        scf::ForallOp::create(rewriter, loc, ArrayRef<OpFoldResult>{total},
                              ValueRange{init}, std::nullopt);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    Value it = forall.getInductionVars()[0];
    Value i = c.rem(it, sq);
    Value rest = c.div(it, sq);
    Value h = c.rem(rest, c.idx(heads));
    Value bi = c.div(rest, c.idx(heads));
    Value kh = c.div(h, c.idx(group));
    Value c0 = c.idx(0), c1 = c.idx(1), tk = c.idx(keyTile);

    // Thread-private buffers: the query row, the accumulator, the scores of
    // one key tile.
    auto privateBuffer = [&](int64_t n) {
      return memref::AllocaOp::create(rewriter, loc, MemRefType::get({n}, ct))
          .getResult();
    };
    Value qRow = privateBuffer(dHead), acc = privateBuffer(dValue),
          scores = privateBuffer(keyTile);
    c.loop(c0, c.idx(dHead), c1, {},
           [&](Emitter &e, Value d, ValueRange) -> SmallVector<Value> {
             e.store(e.toFloat(e.extract(q, {bi, h, i, d}), ct), qRow, d);
             return {};
           });
    Value zero = c.fconst(ct, 0.0);
    c.loop(c0, c.idx(dValue), c1, {},
           [&](Emitter &e, Value d, ValueRange) -> SmallVector<Value> {
             e.store(zero, acc, d);
             return {};
           });

    // The keys row i may see: without explicit positions the mask compares
    // indices, so only its band (plus the unmasked prefix) is visited.
    Value jlo = c0, jhi = skv;
    if (!qPos)
      std::tie(jlo, jhi) = lowering::keyBand(rewriter, loc, mask, prefix, i,
                                             c.add(i, c1), skv);
    Value jStart = c.sub(jlo, c.rem(jlo, tk));

    // Per-row operands of the logit.
    Value qPosition = qPos ? c.position(qPos, bi, i) : i;
    Value alibiQuery = alibiQ ? c.position(alibiQ, bi, i) : Value();
    Value slope;
    if (alibiQ) {
      // A select chain over the heads: a constant table would be a host
      // global, which kernels cannot read.
      ArrayRef<double> slopes = op.getAlibiSlopesAttr().asArrayRef();
      slope = c.fconst(ct, slopes.back());
      for (int64_t n = heads - 2; n >= 0; --n)
        slope = arith::SelectOp::create(
            rewriter, loc,
            arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, h,
                                  c.idx(n)),
            c.fconst(ct, slopes[n]), slope);
    }

    Value masked = lowering::maskedLogit(rewriter, loc, ct);
    ValueRange state = c.loop(
        jStart, jhi, tk, {masked, zero},
        [&](Emitter &e, Value j0, ValueRange ml) -> SmallVector<Value> {
          Value m = ml[0], l = ml[1];
          Value a = e.smax(j0, jlo), end = e.smin(e.add(j0, tk), jhi);
          // Scores of the tile and their max.
          Value tileMax = e.loop(
              a, end, c1, {masked},
              [&](Emitter &e, Value j, ValueRange mx) -> SmallVector<Value> {
                Value dot = e.loop(
                    c0, e.idx(dHead), c1, {zero},
                    [&](Emitter &e, Value d,
                        ValueRange s) -> SmallVector<Value> {
                      Value kd = e.toFloat(e.extract(k, {bi, kh, j, d}), ct);
                      return {e.fadd(s[0], e.fmul(e.load(qRow, d), kd))};
                    })[0];
                Value lg = logit(
                    e, ct, dot, qPosition, kPos ? e.position(kPos, bi, j) : j,
                    j, allowed ? e.extract(allowed, {bi, i, j}) : Value(),
                    alibiQuery, alibiK ? e.position(alibiK, bi, j) : Value(),
                    slope);
                e.store(lg, scores, e.sub(j, a));
                return {e.fmax(mx[0], lg)};
              })[0];
          Value mNew = e.fmax(m, tileMax);
          Value alpha = e.exp(e.fsub(m, mNew));
          Value sum = e.loop(
              c0, e.sub(end, a), c1, {zero},
              [&](Emitter &e, Value t, ValueRange s) -> SmallVector<Value> {
                Value p = e.exp(e.fsub(e.load(scores, t), mNew));
                e.store(p, scores, t);
                return {e.fadd(s[0], p)};
              })[0];
          Value lNew = e.fadd(e.fmul(l, alpha), sum);
          e.loop(c0, e.idx(dValue), c1, {},
                 [&](Emitter &e, Value d, ValueRange) -> SmallVector<Value> {
                   Value x = e.fmul(e.load(acc, d), alpha);
                   x = e.loop(
                       a, end, c1, {x},
                       [&](Emitter &e, Value j,
                           ValueRange x) -> SmallVector<Value> {
                         Value vd = e.toFloat(e.extract(v, {bi, kh, j, d}), ct);
                         return {e.fadd(
                             x[0], e.fmul(e.load(scores, e.sub(j, a)), vd))};
                       })[0];
                   e.store(x, acc, d);
                   return {};
                 });
          return {mNew, lNew};
        });

    // out[b, h, i, :] = acc / l, zero for a query that saw no key; written in
    // place into the output row.
    Value none = arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OEQ,
                                       state[0], masked);
    Value l = state[1];
    OpFoldResult one = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> offsets = {bi, h, i, rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {one, one, one,
                                       rewriter.getIndexAttr(dValue)};
    SmallVector<OpFoldResult> strides(4, one);
    auto rowType = RankedTensorType::get({dValue}, et);
    Value slot = tensor::ExtractSliceOp::create(rewriter, loc, rowType,
                                                forall.getRegionIterArgs()[0],
                                                offsets, sizes, strides);
    // Element by element (scf.for + tensor.insert, in place after
    // bufferization): a linalg op here would become a nested scf.parallel
    // under the thread guard, which convert-parallel-loops-to-gpu rejects.
    Value row =
        c.loop(c0, c.idx(dValue), c1, {slot},
               [&](Emitter &e, Value d, ValueRange r) -> SmallVector<Value> {
                 Value o = arith::DivFOp::create(e.b, e.loc, e.load(acc, d), l);
                 o = arith::SelectOp::create(e.b, e.loc, none, zero, o);
                 return {tensor::InsertOp::create(e.b, e.loc, e.toFloat(o, et),
                                                  r[0], ValueRange{d})
                             .getResult()};
               })[0];
    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(rewriter, loc, row,
                                          forall.getRegionIterArgs()[0],
                                          offsets, sizes, strides);

    rewriter.setInsertionPointAfter(forall);
    Value result = forall.getResult(0);
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
  }
};

struct CudaFusedAttention
    : public attnc::impl::AttncCudaFusedAttentionBase<CudaFusedAttention> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<SdpaOp> ops;
    getOperation()->walk([&](SdpaOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (SdpaOp op : ops) {
      Rewriter r{op, keyTile};
      // What is unsupported keeps the decomposition (several kernels).
      if (r.unsupported().empty())
        r.rewrite(rewriter);
    }
  }
};

} // namespace
