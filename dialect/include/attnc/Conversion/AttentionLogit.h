//===- AttentionLogit.h - One attention score's logit -----------*- C++ -*-===//
//
// What attn.query_key and attn.sdpa do to one raw score q.k (scale, softcap,
// ALiBi bias, mask), as scalar arith code. Every lowering of attention builds
// its logits with this one function, so that the decomposed and flash CPU
// paths and the CUDA fused kernel cannot disagree on the semantics
// (dialect/lib/Conversion/AttnToLinalg/LoweringUtils.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_CONVERSION_ATTENTIONLOGIT_H
#define ATTNC_CONVERSION_ATTENTIONLOGIT_H

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"

#include <functional>
#include <optional>

namespace mlir::attn::lowering {

/// The most negative finite value of `type` or -2.3819763e38, whichever is
/// larger (gemma/penzai's masked-out logit, clamped for f16).
Value maskedLogit(OpBuilder &b, Location loc, Type type);

/// A position (any integer width) or an index as i64.
Value toI64(OpBuilder &b, Location loc, Value v);

/// What attn.query_key and attn.sdpa do to one raw score q.k: scale,
/// softcap, ALiBi bias, mask (set to maskedLogit when not attended).
struct LogitSpec {
  Type et;
  double scale;
  std::optional<APFloat> softcap;
  MaskAttr mask;
  bool explicitPositions; // mask compares given positions, not indices
  bool hasAllowed;
  Value prefix;           // unmasked_prefix (index) or null
  bool alibi;
  bool alibiAbs() const {
    return mask.isFull() || mask.getKind() == MaskKind::Local;
  }
};
/// The scalars of one (query, key) pair, built on demand (in the order the
/// logit needs them): the mask's query/key positions (any int or index),
/// the key's index in the key sequence (index, for the prefix), the
/// allowed bit, the ALiBi query/key positions and the head's slope.
struct LogitOperands {
  std::function<Value()> queryPos, keyPos, keyIndex, allowed, alibiQuery,
      alibiKey, slope;
};
Value attentionLogit(OpBuilder &b, Location l, const LogitSpec &spec,
                     Value score, const LogitOperands &in);

/// The keys [lo, hi) (index values) that the queries [qBegin, qEnd) may
/// see when `mask` compares indices (no explicit positions), among `keys`
/// keys: the causal / sliding-window / local band, widened to key 0 and
/// the unmasked prefix when there is one. Keys outside it are all masked,
/// so attention loops skip them; the logit still masks inside.
std::pair<Value, Value> keyBand(OpBuilder &b, Location l, MaskAttr mask,
                                Value prefix, Value qBegin, Value qEnd,
                                Value keys);

} // namespace mlir::attn::lowering

#endif // ATTNC_CONVERSION_ATTENTIONLOGIT_H
