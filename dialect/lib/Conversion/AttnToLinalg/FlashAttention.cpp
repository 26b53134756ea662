//===- FlashAttention.cpp - attn.sdpa as tiled online-softmax attention ---===//
//
// See AttnFlashAttention in attnc/Conversion/Passes.td.
//
//   scf.forall it in B * H * ceil(Sq / TQ)       (b, h, query tile; kh = h / G)
//     (Sq = 1 with G > 1 over >= 2 KV heads: it in B * KVH, and the tile's
//      rows are the G query heads of KV head kh)
//     m = masked, l = 0, acc = 0                  per query row of the tile
//     scf.for j0 in [jlo, jhi) step TK            (key tiles the mask may reach)
//       s     = Q[rows, D] . K[cols, D]^T          contraction (A.B^T form)
//       s     = logit(s)                           scale, softcap, ALiBi, mask
//       mNew  = max(m, rowmax s); alpha = exp(m - mNew)
//       p     = exp(s - mNew)
//       l     = l * alpha + rowsum p
//       acc   = acc * alpha + p . V[cols, Dv]      contraction (A.B form)
//     out = m == masked ? 0 : acc / l              (a query that sees no key)
//
// Without explicit positions the mask compares indices, so [jlo, jhi) drops
// the key tiles that no row of the query tile can see (causal: above the
// diagonal; sliding window / local: outside the band). With an unmasked
// prefix the range starts at key 0. Nothing of size [Sq, Skv] exists; every
// output row is summed by one iteration in a fixed order, so results do not
// depend on how the forall is split over threads.
//
//===----------------------------------------------------------------------===//

#include "attnc/Conversion/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <tuple>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNFLASHATTENTION
#include "attnc/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::lowering;

namespace {

/// Marks the tile contractions: they already run inside the parallel loop
/// over (batch, head, query tile), so attnc-vectorize-contractions gives
/// them a sequential outer loop.
constexpr llvm::StringLiteral kSerialAttr = "attnc.serial";
/// The row max/sum reductions may be reassociated so that LLVM vectorizes
/// them; the order is still fixed by the code, so results stay independent
/// of the thread count.
constexpr arith::FastMathFlags kReassoc = arith::FastMathFlags::reassoc;

/// Constant index values as attributes, so that slices of constant size get
/// static types.
SmallVector<OpFoldResult> folded(ArrayRef<OpFoldResult> values) {
  return llvm::map_to_vector(values, [](OpFoldResult v) -> OpFoldResult {
    if (auto value = dyn_cast<Value>(v))
      return getAsOpFoldResult(value);
    return v;
  });
}

struct Builder {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value dim(Value t, int64_t d) {
    return b.createOrFold<tensor::DimOp>(loc, t, d);
  }

  /// t[offsets][sizes] with the dims in `drop` (size 1) dropped.
  Value slice(Value t, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes, ArrayRef<unsigned> drop) {
    auto type = cast<RankedTensorType>(t.getType());
    SmallVector<int64_t> shape;
    for (auto [d, s] : llvm::enumerate(sizes)) {
      if (llvm::is_contained(drop, d))
        continue;
      std::optional<int64_t> c = getConstantIntValue(s);
      shape.push_back(c ? *c : ShapedType::kDynamic);
    }
    SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t,
        folded(offsets), folded(sizes), strides);
  }

  /// Positions [S] or [B, S] -> [len] from `start` (batch `bi`).
  Value positions(Value pos, Value bi, Value start, Value len) {
    if (cast<RankedTensorType>(pos.getType()).getRank() == 1)
      return slice(pos, {start}, {len}, {});
    return slice(pos, {bi, start}, {b.getIndexAttr(1), len}, {0});
  }

  Value empty(ArrayRef<OpFoldResult> sizes, Type et) {
    return lowering::empty(b, loc, folded(sizes), et);
  }

  Value fill(ArrayRef<OpFoldResult> sizes, Type et, Value value) {
    Value init = empty(sizes, et);
    return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{init})
        .getResult(0);
  }

  /// A 2-D (or 1-D) all-parallel generic writing `out` in place.
  Value map(ValueRange ins, ArrayRef<AffineMap> inMaps, Value out,
            function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    unsigned rank = cast<RankedTensorType>(out.getType()).getRank();
    SmallVector<AffineMap> maps(inMaps);
    maps.push_back(identity(b, rank));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, TypeRange{out.getType()}, ins, ValueRange{out}, maps,
               iters,
               [&](OpBuilder &nb, Location l, ValueRange a) {
                 linalg::YieldOp::create(nb, l, body(nb, l, a));
               })
        .getResult(0);
  }

  /// out[i] = combine(out[i], x[i, j]) over j.
  Value reduceRows(Value x, Value out,
                   function_ref<Value(OpBuilder &, Location, Value, Value)> f) {
    SmallVector<AffineMap> maps = {identity(b, 2), project(b, 2, {0})};
    SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                              utils::IteratorType::reduction};
    return linalg::GenericOp::create(
               b, loc, TypeRange{out.getType()}, ValueRange{x},
               ValueRange{out}, maps, iters,
               [&](OpBuilder &nb, Location l, ValueRange a) {
                 linalg::YieldOp::create(nb, l, f(nb, l, a[1], a[0]));
               })
        .getResult(0);
  }

  /// Whether any element of the 2-D i1 tensor `bits` is set (an i1).
  Value anyTrue(Value bits) {
    auto i1 = b.getI1Type();
    Value init = linalg::FillOp::create(
                     b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, i1, 0)},
                     ValueRange{tensor::EmptyOp::create(b, loc,
                                                        ArrayRef<int64_t>{}, i1)})
                     .getResult(0);
    SmallVector<AffineMap> maps = {identity(b, 2),
                                   AffineMap::get(2, 0, {}, b.getContext())};
    SmallVector<utils::IteratorType> iters(2, utils::IteratorType::reduction);
    Value any = linalg::GenericOp::create(
                    b, loc, TypeRange{init.getType()}, ValueRange{bits},
                    ValueRange{init}, maps, iters,
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      linalg::YieldOp::create(
                          nb, l, ValueRange{arith::OrIOp::create(nb, l, a[1],
                                                                 a[0])});
                    })
                    .getResult(0);
    return tensor::ExtractOp::create(b, loc, any, ValueRange{});
  }

  Value contraction(Value lhs, Value rhs, Value acc, ArrayRef<AffineMap> maps) {
    // A narrower key/value tile (a bf16 cache in an f32 model) is extended
    // first, so that the contraction stays all-f32 (vectorized).
    Type at = cast<RankedTensorType>(acc.getType()).getElementType();
    lhs = convertElements(b, loc, lhs, at);
    rhs = convertElements(b, loc, rhs, at);
    SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                              utils::IteratorType::parallel,
                                              utils::IteratorType::reduction};
    Value r = multiplyAccumulate(b, loc, lhs, rhs, acc, maps, iters);
    r.getDefiningOp()->setAttr(kSerialAttr, b.getUnitAttr());
    return r;
  }
};

struct FlashSdpa : OpRewritePattern<SdpaOp> {
  FlashSdpa(MLIRContext *ctx, int64_t tq, int64_t tk)
      : OpRewritePattern(ctx), tileQ(tq), tileK(tk) {}
  int64_t tileQ, tileK;

  LogicalResult matchAndRewrite(SdpaOp op,
                                PatternRewriter &rewriter) const override {
    auto qType = op.getQuery().getType();
    auto kType = op.getKey().getType();
    if (qType.isDynamicDim(1) || kType.isDynamicDim(1) || tileQ < 1 ||
        tileK < 1)
      return rewriter.notifyMatchFailure(op, "dynamic head counts");
    Type et = qType.getElementType();
    // Narrow floats (bf16, f16) keep the decomposition, which sums in f32;
    // the tiles here would keep the running max/sum/output in `et`.
    if (et.getIntOrFloatBitWidth() < 32)
      return rewriter.notifyMatchFailure(op, "narrow float: decomposed");
    Location loc = op.getLoc();
    Builder c{rewriter, loc};
    int64_t heads = qType.getDimSize(1), kvHeads = kType.getDimSize(1);
    int64_t group = heads / kvHeads;
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    Value qPos = op.getQueryPositions(), kPos = op.getKeyPositions();
    Value allowed = op.getAllowed(), prefix = op.getUnmaskedPrefix();
    Value alibiQ = op.getAlibiQueryPositions();
    Value alibiK = op.getAlibiKeyPositions();
    MaskAttr mask = op.getMask();
    LogitSpec spec{et,
                   op.getScale().convertToDouble(),
                   op.getSoftcap() ? std::optional<APFloat>(*op.getSoftcap())
                                   : std::nullopt,
                   mask,
                   static_cast<bool>(qPos),
                   static_cast<bool>(allowed),
                   prefix,
                   static_cast<bool>(alibiQ)};
    bool anyMask = !mask.isFull() || qPos || allowed;
    // One query per head (decode) with grouped-query heads: an iteration
    // takes the G query heads of one KV head as the G rows of its tile, so
    // each K/V tile is read and each mask tile checked once per group, not
    // once per query head. Kept per head when that would leave fewer than
    // two iterations per batch row (MQA), which would idle the other threads.
    bool packGroup = !qType.isDynamicDim(2) && qType.getDimSize(2) == 1 &&
                     group > 1 && kvHeads >= 2;
    int64_t headSlots = packGroup ? kvHeads : heads;

    OpFoldResult batch = tensor::getMixedSize(rewriter, loc, q, 0);
    OpFoldResult dHead = tensor::getMixedSize(rewriter, loc, q, 3);
    OpFoldResult dValue = tensor::getMixedSize(rewriter, loc, v, 3);
    Value sq = c.dim(q, 2), skv = c.dim(k, 2);
    Value tq = c.idx(tileQ), tk = c.idx(tileK);
    Value nTiles = arith::CeilDivUIOp::create(rewriter, loc, sq, tq);
    Value total = c.mul(c.mul(getValueOrCreateConstantIndexOp(rewriter, loc,
                                                              batch),
                              c.idx(headSlots)),
                        nTiles);
    Value init = empty(rewriter, loc,
                       {batch, rewriter.getIndexAttr(heads),
                        OpFoldResult(sq), dValue},
                       et);
    Value slopeTable;
    if (alibiQ) {
      SmallVector<Attribute> slopes;
      for (double slope : op.getAlibiSlopesAttr().asArrayRef())
        slopes.push_back(rewriter.getFloatAttr(et, slope));
      auto slopeType = RankedTensorType::get({heads}, et);
      slopeTable = arith::ConstantOp::create(
          rewriter, loc, slopeType, DenseElementsAttr::get(slopeType, slopes));
    }

    auto forall = scf::ForallOp::create(rewriter, loc,
                                        ArrayRef<OpFoldResult>{total},
                                        ValueRange{init}, std::nullopt);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    Value it = forall.getInductionVars()[0];
    Value qt = arith::RemUIOp::create(rewriter, loc, it, nTiles);
    Value rest = arith::DivUIOp::create(rewriter, loc, it, nTiles);
    Value slot = arith::RemUIOp::create(rewriter, loc, rest, c.idx(headSlots));
    Value bi = arith::DivUIOp::create(rewriter, loc, rest, c.idx(headSlots));
    // Unpacked: one query head h, its KV head kh. Packed: KV head kh and its
    // query heads h .. h + G - 1.
    Value kh = packGroup ? slot : arith::DivUIOp::create(rewriter, loc, slot,
                                                         c.idx(group));
    Value h = packGroup ? c.mul(slot, c.idx(group)) : slot;
    Value q0 = c.mul(qt, tq);
    // The tile's query positions [q0, q0 + queries) and its rows: one per
    // query, or (packed) one per head of the group for the single query.
    Value queries = c.min(tq, c.sub(sq, q0));
    Value rows = packGroup ? c.idx(group) : queries;
    OpFoldResult one = rewriter.getIndexAttr(1), zero = rewriter.getIndexAttr(0);
    Value qTile =
        packGroup
            ? c.slice(q, {bi, h, zero, zero}, {one, rows, one, dHead}, {0, 2})
            : c.slice(q, {bi, h, q0, zero}, {one, one, rows, dHead}, {0, 1});

    // Key range [jlo, jhi) that some row of this query tile may see.
    Value jlo = c.idx(0), jhi = skv;
    if (!qPos)
      std::tie(jlo, jhi) =
          keyBand(rewriter, loc, mask, prefix, q0, c.add(q0, queries), skv);
    Value slope;
    if (alibiQ && !packGroup)
      slope = tensor::ExtractOp::create(rewriter, loc, slopeTable, h);

    Value masked = maskedLogit(rewriter, loc, et);
    Value mInit = c.fill({rows}, et, masked);
    Value lInit = c.fill({rows}, et, floatConst(rewriter, loc, et, 0.0));
    Value accInit =
        c.fill({rows, dValue}, et, floatConst(rewriter, loc, et, 0.0));
    auto keys = scf::ForOp::create(rewriter, loc, jlo, jhi, tk,
                                   ValueRange{mInit, lInit, accInit});
    {
      OpBuilder::InsertionGuard g(rewriter);
      rewriter.setInsertionPointToStart(keys.getBody());
      Value j0 = keys.getInductionVar();
      Value m = keys.getRegionIterArgs()[0], l = keys.getRegionIterArgs()[1],
            acc = keys.getRegionIterArgs()[2];
      Value cols = c.min(tk, c.sub(jhi, j0));
      // With an explicit mask, a key tile that no row of this query tile
      // may see is skipped: decode and chunked prefill visit every slot of
      // the cache, and most of it is unwritten (or outside the caller's
      // mask) for most of a generation. Skipping is exact: such a tile's
      // keys would get weight exp(lowest - m) = 0, or be wiped by alpha = 0
      // once a visible key arrives; a row that sees nothing keeps m = lowest.
      scf::IfOp anyVisible;
      if (allowed) {
        Value bits =
            c.slice(allowed, {bi, q0, j0}, {one, queries, cols}, {0});
        anyVisible = scf::IfOp::create(
            rewriter, loc, TypeRange{m.getType(), l.getType(), acc.getType()},
            c.anyTrue(bits), /*withElseRegion=*/true);
        rewriter.setInsertionPointToStart(anyVisible.elseBlock());
        scf::YieldOp::create(rewriter, loc, ValueRange{m, l, acc});
        rewriter.setInsertionPointToStart(anyVisible.thenBlock());
      }
      Value kTile =
          c.slice(k, {bi, kh, j0, zero}, {one, one, cols, dHead}, {0, 1});
      Value vTile =
          c.slice(v, {bi, kh, j0, zero}, {one, one, cols, dValue}, {0, 1});
      MLIRContext *ctx = rewriter.getContext();
      AffineExpr i, j, d;
      bindDims(ctx, i, j, d);
      auto map3 = [&](ArrayRef<AffineExpr> r) {
        return AffineMap::get(3, 0, r, ctx);
      };
      Value s = c.contraction(
          qTile, kTile,
          c.fill({rows, cols}, et, floatConst(rewriter, loc, et, 0.0)),
          {map3({i, d}), map3({j, d}), map3({i, j})});

      // logits, in place.
      SmallVector<Value> ins;
      SmallVector<AffineMap> inMaps;
      AffineMap rowMap = project(rewriter, 2, {0}), colMap =
                                                        project(rewriter, 2, {1});
      // Per-query operands: packed rows all belong to the one query.
      AffineMap queryMap = rowMap, queryColMap = identity(rewriter, 2);
      if (packGroup) {
        AffineExpr first = getAffineConstantExpr(0, ctx);
        queryMap = AffineMap::get(2, 0, {first}, ctx);
        queryColMap = AffineMap::get(2, 0, {first, j}, ctx);
      }
      auto addIn = [&](Value t, AffineMap mp) {
        ins.push_back(t);
        inMaps.push_back(mp);
        return ins.size() - 1;
      };
      int qpI = -1, kpI = -1, alI = -1, aqI = -1, akI = -1;
      if (qPos) {
        qpI = addIn(c.positions(qPos, bi, q0, queries), queryMap);
        kpI = addIn(c.positions(kPos, bi, j0, cols), colMap);
      }
      if (allowed)
        alI = addIn(c.slice(allowed, {bi, q0, j0}, {one, queries, cols}, {0}),
                    queryColMap);
      if (alibiQ) {
        aqI = addIn(c.positions(alibiQ, bi, q0, queries), queryMap);
        akI = addIn(c.positions(alibiK, bi, j0, cols), colMap);
      }
      Value logits = c.map(
          ins, inMaps, s, [&](OpBuilder &b, Location lc, ValueRange a) {
            auto offsetIndex = [&b, lc](Value base, unsigned dimension) {
              return [&b, lc, base, dimension]() -> Value {
                return arith::AddIOp::create(
                    b, lc, base, linalg::IndexOp::create(b, lc, dimension));
              };
            };
            auto arg = [a](int n) -> std::function<Value()> {
              return [a, n]() { return a[n]; };
            };
            std::function<Value()> queryIndex = offsetIndex(q0, 0);
            std::function<Value()> rowSlope = [slope]() { return slope; };
            if (packGroup) {
              queryIndex = [q0]() { return q0; };
              rowSlope = [&b, lc, h, slopeTable]() -> Value {
                Value head = arith::AddIOp::create(
                    b, lc, h, linalg::IndexOp::create(b, lc, 0));
                return tensor::ExtractOp::create(b, lc, slopeTable, head);
              };
            }
            LogitOperands in{qPos ? arg(qpI) : queryIndex,
                             qPos ? arg(kpI) : offsetIndex(j0, 1),
                             offsetIndex(j0, 1),
                             arg(alI),
                             arg(aqI),
                             arg(akI),
                             rowSlope};
            return attentionLogit(b, lc, spec, a.back(), in);
          });

      // Online softmax update.
      Value rowMax = c.reduceRows(
          logits,
          c.fill({rows}, et,
                 floatConst(rewriter, loc, et,
                            -std::numeric_limits<double>::infinity())),
          [](OpBuilder &b, Location lc, Value x, Value y) -> Value {
            auto mx = arith::MaxNumFOp::create(b, lc, x, y);
            mx.setFastmath(kReassoc);
            return mx;
          });
      // mNew = max(m, rowMax) in m's place (the loop yields it back into
      // the same buffer), alpha = exp(m - mNew) beside it.
      AffineMap id1 = identity(rewriter, 1);
      auto update = linalg::GenericOp::create(
          rewriter, loc, TypeRange{m.getType(), m.getType()},
          ValueRange{rowMax}, ValueRange{m, c.empty({rows}, et)},
          ArrayRef<AffineMap>{id1, id1, id1},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
          [](OpBuilder &b, Location lc, ValueRange a) {
            Value mx = arith::MaximumFOp::create(b, lc, a[1], a[0]);
            Value al = math::ExpOp::create(
                b, lc, arith::SubFOp::create(b, lc, a[1], mx));
            linalg::YieldOp::create(b, lc, ValueRange{mx, al});
          });
      Value mNew = update.getResult(0), alpha = update.getResult(1);
      Value p = c.map({mNew}, {rowMap}, logits,
                      [](OpBuilder &b, Location lc, ValueRange a) -> Value {
                        return math::ExpOp::create(
                            b, lc, arith::SubFOp::create(b, lc, a[1], a[0]));
                      });
      auto scaleBy = [](OpBuilder &b, Location lc, ValueRange a) -> Value {
        return arith::MulFOp::create(b, lc, a[1], a[0]);
      };
      Value lScaled = c.map({alpha}, {identity(rewriter, 1)}, l, scaleBy);
      Value lNew = c.reduceRows(
          p, lScaled, [](OpBuilder &b, Location lc, Value x, Value y) -> Value {
            auto sum = arith::AddFOp::create(b, lc, x, y);
            sum.setFastmath(kReassoc);
            return sum;
          });
      Value accScaled = c.map({alpha}, {rowMap}, acc, scaleBy);
      AffineExpr e = j; // (i, e, j): output column e, reduction j
      AffineExpr r = d;
      Value accNew = c.contraction(p, vTile, accScaled,
                                   {map3({i, r}), map3({r, e}), map3({i, e})});
      scf::YieldOp::create(rewriter, loc, ValueRange{mNew, lNew, accNew});
      if (anyVisible) {
        rewriter.setInsertionPointAfter(anyVisible);
        scf::YieldOp::create(rewriter, loc, anyVisible.getResults());
      }
    }

    // out = acc / l, zero for a query that saw no key.
    Value out = c.map(
        {keys.getResult(1), keys.getResult(0)},
        {project(rewriter, 2, {0}), project(rewriter, 2, {0})},
        keys.getResult(2), [&](OpBuilder &b, Location lc, ValueRange a) {
          Value o = arith::DivFOp::create(b, lc, a[2], a[0]);
          if (!anyMask)
            return o;
          Value none = arith::CmpFOp::create(b, lc, arith::CmpFPredicate::OEQ,
                                             a[1], maskedLogit(b, lc, et));
          return arith::SelectOp::create(b, lc, none,
                                         floatConst(b, lc, et, 0.0), o)
              .getResult();
        });
    rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> strides(4, one);
    SmallVector<OpFoldResult> outSizes = {one, one, rows, dValue};
    if (packGroup)
      outSizes = {one, rows, one, dValue};
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, out, forall.getRegionIterArgs()[0],
        ArrayRef<OpFoldResult>{bi, h, q0, zero}, folded(outSizes),
        strides);

    rewriter.setInsertionPointAfter(forall);
    Value result = forall.getResult(0);
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct AttnFlashAttentionPass
    : attn::impl::AttnFlashAttentionBase<AttnFlashAttentionPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFlashAttentionPatterns(patterns, queryTile, keyTile);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    if (!polynomialExp)
      return;
    // The tile exps as arith polynomials (no libm call per element), so that
    // LLVM vectorizes the softmax loops.
    SmallVector<Operation *> exps;
    getOperation()->walk([&](math::ExpOp op) {
      if (op->getParentOfType<scf::ForallOp>())
        exps.push_back(op);
    });
    RewritePatternSet approx(&getContext());
    populateMathPolynomialApproximationPatterns(
        approx, [](StringRef name) { return name == "math.exp"; });
    if (failed(applyOpPatternsGreedily(exps, std::move(approx))))
      signalPassFailure();
  }
};

} // namespace

void mlir::attn::populateFlashAttentionPatterns(RewritePatternSet &patterns,
                                                int64_t queryTile,
                                                int64_t keyTile) {
  patterns.add<FlashSdpa>(patterns.getContext(), queryTile, keyTile);
}
