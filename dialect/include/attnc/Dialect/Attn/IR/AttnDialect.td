//===- AttnDialect.td - The attn dialect -------------------*- tablegen -*-===//
//
// The dialect definition and the base class of its ops.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_TD
#define ATTN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Transformer building blocks on ranked tensors";
  let description = [{
    The `attn` dialect describes a transformer the way its config does: token
    embeddings, positional encodings, norms, linear projections, the
    attention core as penzai decomposes it (query-key to weights, weights-value
    to output), MLPs, softcaps, the residual structure and the KV cache.

    Conventions (see shared/reference/systems.md section 6):

    * Every op has value semantics on ranked tensors; sequence dims may be
      dynamic. Nothing here touches memory, so upstream bufferization applies
      once the dialect is lowered to linalg/tensor/arith/math.
    * Activations are `[batch, seq, hidden]`; per-head tensors are
      `[batch, heads, seq, head_dim]`; the KV cache of one layer is
      `[batch, kv_heads, cache_len, head_dim]` (post-RoPE keys).
    * Weights are `[out, in]`, as PyTorch / Hugging Face checkpoints store
      them (`y = x W^T + b`); a patch convolution is `[hidden, channels, P,
      P]`; embedding tables are `[vocab, hidden]`.
    * Grouped-query attention: query head `h` reads key/value head
      `h floordiv (H / K)`, so the query heads of one KV head are contiguous.
    * Masks say who may attend: query position `i` sees key position `j`
      when `j >= 0` and, for `causal`, `j <= i`, for `sliding_window W` also
      `i - j < W`, for `local W` `|i - j| < W`. A negative key position marks
      padding or an unwritten cache slot.
    * Token groups are contiguous slices of the sequence in declaration
      order; attention patterns name which query groups attend to which
      key/value groups (noether's MixedAttention).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Defined next to the attribute storage classes (AttnAttrs.cpp).
    void registerAttributes();
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_TD
