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

#endif // ATTNC_CONVERSION_PASSES_TD
