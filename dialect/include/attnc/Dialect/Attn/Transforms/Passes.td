//===- Passes.td - attn dialect passes ---------------------*- tablegen -*-===//
//
// Rewrites inside the attn dialect. The conversion out of it lives in
// attnc/Conversion/Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_PASSES_TD
#define ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnExpandPatterns : Pass<"attn-expand-patterns"> {
  let summary = "expands token-group attention into per-pattern attn.sdpa on slices";
  let description = [{
    Rewrites every `attn.mixed_sdpa` into one `attn.sdpa` per attention
    pattern, the way noether's MixedAttention runs them:

    * the input groups are contiguous slices of the sequence in declaration
      order (a dynamic group takes what the fixed-size groups leave);
    * per pattern, Q is the concatenation of the query groups' slices and
      K/V the concatenation of the key/value groups' slices (a cache group
      contributes its `cached(...)` keys/values);
    * the per-pattern outputs are cut back into groups and concatenated in
      sequence order.

    The block structure of the patterns is never materialised as a dense
    mask. A `full` pattern needs no mask at all; a `causal` or
    `sliding_window` pattern gets `positions(...)` holding each token's index
    in the full sequence (cache groups included), unless its queries and
    keys are the same contiguous range, where indices already say the same.

    Before:
    ```mlir
    %o = attn.mixed_sdpa %q, %k, %v groups ["a": 4, "b": 4]
        patterns [["a"] -> ["a"] full, ["b"] -> ["a", "b"] causal] scale(...)
    ```
    After (schematically):
    ```mlir
    %qa = tensor.extract_slice %q[0, 0, 0, 0] [1, 8, 4, 64] [1, 1, 1, 1]
    %oa = attn.sdpa %qa, %ka, %va mask(full) scale(...)
    %ob = attn.sdpa %qb, %kab, %vab mask(causal) positions(%pb, %pab) ...
    %o = tensor.concat dim(2) %oa, %ob
    ```
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def AttnDecomposeAttention : Pass<"attn-decompose-attention"> {
  let summary = "decomposes attn.sdpa into attn.query_key and attn.weights_value";
  let description = [{
    The fused attention op is kept as long as a target can emit it as one
    (flash-style) kernel; this pass splits it into penzai's two halves for
    targets that cannot:

    ```mlir
    %o = attn.sdpa %q, %k, %v mask(causal) scale(0.125)
    ```
    becomes
    ```mlir
    %w = attn.query_key %q, %k mask(causal) scale(0.125)
    %o = attn.weights_value %w, %v
    ```
    Positions, the `allowed` mask and the softcap move to `attn.query_key`.
    `attn.repeat_kv` (an explicit grouped-query mapping) is left alone.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

#endif // ATTN_TRANSFORMS_PASSES_TD
