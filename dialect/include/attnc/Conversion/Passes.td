//===- Passes.td - conversions out of the attn dialect -----*- tablegen -*-===//
//
// One Passes.td for every conversion (CIRCT / upstream convention).
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_CONVERSION_PASSES_TD
#define ATTNC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertAttnToLinalg : Pass<"convert-attn-to-linalg"> {
  let summary = "lowers every attn op to linalg, tensor, arith and math on tensors";
  let description = [{
    Replaces each attn op by destination-passing linalg ops on tensors
    (`linalg.generic`, `linalg.matmul`, `linalg.fill`, `linalg.transpose`,
    `linalg.conv_2d_nhwc_hwcf`) plus `tensor` reshapes/slices and
    `arith`/`math` scalar code in the bodies. The result has value semantics
    and goes through upstream one-shot bufferization.

    `attn.mixed_sdpa` and `attn.sdpa` are first rewritten with the patterns
    of `-attn-expand-patterns` and `-attn-decompose-attention`, so this pass
    alone handles every op; the `attnc-lower-to-linalg` pipeline runs those
    passes explicitly first.

    Choices worth knowing:
    * linear layers collapse the leading dims and use `linalg.matmul`;
    * attention is `[B, K, G, Sq, Skv]` contractions over the query heads
      reshaped into (kv head, group), so grouped-query attention never copies
      keys or values;
    * the softmax is max-subtracted, with masked logits set to
      -2.3819763e38 (gemma/penzai), so fully masked rows stay finite;
    * RoPE computes one cos/sin table per (batch, position) and broadcasts it
      over the heads.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def AttnFlashAttention : Pass<"attn-flash-attention"> {
  let summary = "lowers attn.sdpa to tiled online-softmax (flash) attention";
  let description = [{
    Replaces each `attn.sdpa` (every mask kind, positions, allowed,
    unmasked_prefix, ALiBi, softcap, grouped-query heads; dynamic head
    counts and narrow float types (bf16, f16: the decomposition sums those in
    f32) are left to `-attn-decompose-attention`) by an `scf.forall` over
    (batch, query head, query tile of `query-tile` rows) whose body loops
    over key tiles of `key-tile` keys with `scf.for`, keeping the running
    row max, row sum and output accumulator (online softmax), and divides at
    the end. Each tile step is linalg on tensors: the Q.K^T and P.V tile
    contractions (marked `attnc.serial`: they run inside the parallel
    loop), the logit map (the same scale / softcap / ALiBi / mask code as
    `attn.query_key`) and the softmax update. No `[Sq, Skv]` tensor exists.

    Without explicit positions the mask compares indices, so each query
    tile loops only over the key tiles some of its rows can see: causal
    stops at the diagonal, sliding window and local masks start (and local
    stops) at the band edge; with an `unmasked_prefix` the range starts at
    key 0. With positions (incremental decode) every key tile is visited.
    With one query per head (decode) and grouped-query heads over at least
    two KV heads, an iteration takes one KV head and its G query heads as
    the G rows of its tile, so each K/V tile is read once per group.
    A query that sees no key gets a zero output, as in the decomposition.
    The exps inside the tiles become arith polynomials (`polynomial-exp`).
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", "64",
           "query rows per parallel iteration">,
    Option<"keyTile", "key-tile", "int64_t", "64",
           "keys per online-softmax step">,
    Option<"polynomialExp", "polynomial-exp", "bool", "true",
           "write the tiles' math.exp as arith polynomials (upstream "
           "math polynomial approximation) so that loops vectorize">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // ATTNC_CONVERSION_PASSES_TD
