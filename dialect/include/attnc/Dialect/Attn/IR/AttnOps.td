//===- AttnOps.td - attn ops: embeddings, layers, MLP ------*- tablegen -*-===//
//
// The building blocks outside the attention core. The attention core and the
// KV cache are in AttnAttentionOps.td, included at the end, so that one
// generated AttnOps.{h,cpp}.inc holds every op.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "attnc/Dialect/Attn/IR/AttnDialect.td"
include "attnc/Dialect/Attn/IR/AttnAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

def Attn_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Attn_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Attn_BoolTensor : RankedTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// Embeddings and positions
//===----------------------------------------------------------------------===//

def Attn_EmbedOp : Attn_Op<"embed", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    Looks up the rows of `table` (`[vocab, hidden]`) for the token ids
    (`[batch, seq]`), giving `[batch, seq, hidden]`. With `scale`, every
    vector is multiplied by it (gemma multiplies by `sqrt(hidden)`).

    ```mlir
    %h = attn.embed %ids, %table scale(3.2e+01)
        : tensor<1x?xi32>, tensor<32000x1024xf32> -> tensor<1x?x1024xf32>
    ```
  }];
  let arguments = (ins Attn_IntTensor:$ids, Attn_FloatTensor:$table,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $ids `,` $table (`scale` `(` $scale^ `)`)? attr-dict `:` type($ids) `,`
    type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_PatchEmbedOp : Attn_Op<"patch_embed", [Pure]> {
  let summary = "patch embedding of images (convolution with stride = patch)";
  let description = [{
    Cuts `images` (`[batch, height, width, channels]`) into non-overlapping
    `P x P` patches and projects each with `weight` (`[hidden, channels, P,
    P]`, PyTorch's Conv2d layout) plus an optional `bias` (`[hidden]`). The
    patches come out in row-major order:
    `[batch, (height/P) * (width/P), hidden]`.

    ```mlir
    %p = attn.patch_embed %img, %w, %b : tensor<1x224x224x3xf32>,
        tensor<768x3x16x16xf32>, tensor<768xf32> -> tensor<1x196x768xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$images, Attn_FloatTensor:$weight,
                       Optional<Attn_FloatTensor>:$bias);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $images `,` $weight (`,` $bias^)? attr-dict `:` type($images) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_SinusoidalAddOp : Attn_Op<"sinusoidal_add",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "adds fixed sinusoidal position encodings";
  let description = [{
    `x + PE(positions)` with attnax's interleaved layout: for hidden dim `d`
    and `i = d floordiv 2`, the angle is `pos / base^(2i / hidden)`; even
    dims get its sine, odd dims its cosine. `positions` is `[batch, seq]` or
    `[seq]`.

    ```mlir
    %y = attn.sinusoidal_add %x, %pos : tensor<2x?x512xf32>, tensor<2x?xi32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x, Attn_IntTensor:$positions,
                       DefaultValuedAttr<F64Attr, "10000.0">:$base);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $positions (`base` `(` $base^ `)`)? attr-dict `:` type($x) `,`
    type($positions)
  }];
  let hasVerifier = 1;
}

def Attn_LearnedPositionAddOp : Attn_Op<"learned_position_add",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "adds learned absolute position embeddings";
  let description = [{
    `x[b, s, :] + table[positions[b, s], :]` with `table` of shape
    `[max_positions, hidden]` and `positions` `[batch, seq]` or `[seq]`.

    ```mlir
    %y = attn.learned_position_add %x, %table, %pos
        : tensor<1x?x768xf32>, tensor<512x768xf32>, tensor<?xi32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x, Attn_FloatTensor:$table,
                       Attn_IntTensor:$positions);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $table `,` $positions attr-dict `:` type($x) `,` type($table) `,`
    type($positions)
  }];
  let hasVerifier = 1;
}

def Attn_RopeOp : Attn_Op<"rope", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of dims of `x` (`[batch, heads, seq, head_dim]`) by the
    angle `(pos / scale_factor) / base^(2i / R)` for pair `i`, where
    `R = fraction * head_dim` dims are rotated (a prefix of the head dim, as
    NeoX/Megatron/penzai do; the other dims pass through). `positions` is
    `[batch, seq]` or `[seq]`.

    * `split_half` pairs dim `i` with dim `i + R/2` (rotate-half; LLaMA,
      gemma, penzai): `[x1 cos - x2 sin, x2 cos + x1 sin]`.
    * `interleaved` pairs dims `2i` and `2i + 1` (RoFormer, Megatron
      `rotary_interleaved`).

    A RoPE with `fraction(0.0)` is the identity and folds away.

    ```mlir
    %q2 = attn.rope split_half %q, %pos base(1.0e+06) fraction(5.0e-01)
        : tensor<1x8x?x64xf32>, tensor<1x?xi32>
    ```
  }];
  let arguments = (ins Attn_RopeStyleAttr:$style, Attn_FloatTensor:$x,
                       Attn_IntTensor:$positions,
                       DefaultValuedAttr<F64Attr, "10000.0">:$base,
                       DefaultValuedAttr<F64Attr, "1.0">:$fraction,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale_factor);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $style $x `,` $positions (`base` `(` $base^ `)`)?
    (`fraction` `(` $fraction^ `)`)? (`scale_factor` `(` $scale_factor^ `)`)?
    attr-dict `:` type($x) `,` type($positions)
  }];
  let extraClassDeclaration = [{
    /// Number of rotated dims (fraction * head_dim), or -1 if unknown.
    int64_t getRotaryDim();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Norms, projections, activations, residuals
//===----------------------------------------------------------------------===//

def Attn_NormOp : Attn_Op<"norm",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["x", "result"]>]> {
  let summary = "RMS or layer norm over the last dim (or an identity slot)";
  let description = [{
    * `rms`: `x * rsqrt(mean(x^2) + eps) * g`
    * `layer`: `(x - mean(x)) * rsqrt(var(x) + eps) * g + bias`
    * `identity`: `x` (an empty norm slot, Megatron's IdentityOp; it folds
      away).

    `g` is `scale`, or `1 + scale` with `zero_centered` (gemma, Megatron's
    `layernorm_zero_centered_gamma`). `scale` and `bias` are `[hidden]`.
    The reduction runs over the last dim, so the same op normalises the
    residual stream (`[batch, seq, hidden]`) and q/k per head
    (`[batch, heads, seq, head_dim]`).

    ```mlir
    %y = attn.norm rms %x, %g eps(1.0e-06) zero_centered
        : tensor<1x?x1024xf32>, tensor<1024xf32>
    ```
  }];
  let arguments = (ins Attn_NormKindAttr:$kind, Attn_FloatTensor:$x,
                       Optional<Attn_FloatTensor>:$scale,
                       Optional<Attn_FloatTensor>:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-06">:$eps,
                       UnitAttr:$zero_centered);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $kind $x (`,` $scale^)? (`,` $bias^)? (`eps` `(` $eps^ `)`)?
    (`zero_centered` $zero_centered^)? attr-dict `:` type($x)
    (`,` type($scale)^)? (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_LinearOp : Attn_Op<"linear", [Pure]> {
  let summary = "linear projection over the last dim";
  let description = [{
    `x W^T + bias` with `x` `[..., in]`, `weight` `[out, in]` (PyTorch's
    nn.Linear) and an optional `bias` `[out]`; the result is `[..., out]`.

    ```mlir
    %q = attn.linear %x, %wq : tensor<1x?x1024xf32>, tensor<2048x1024xf32>
        -> tensor<1x?x2048xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x, Attn_FloatTensor:$weight,
                       Optional<Attn_FloatTensor>:$bias);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $weight (`,` $bias^)? attr-dict `:` type($x) `,` type($weight)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_ActivationOp : Attn_Op<"activation",
    [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "elementwise activation";
  let description = [{
    `gelu` (exact, erf), `gelu_tanh` (tanh approximation), `relu`, `silu`
    (`x * sigmoid(x)`) or `tanh`.

    ```mlir
    %y = attn.activation silu %x : tensor<1x?x4096xf32>
    ```
  }];
  let arguments = (ins Attn_ActivationAttr:$kind, Attn_FloatTensor:$x);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$kind $x attr-dict `:` type($x)";
}

def Attn_SoftcapOp : Attn_Op<"softcap", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "tanh soft cap: cap * tanh(x / cap)";
  let description = [{
    Bounds values smoothly to `(-cap, cap)`; gemma 2 applies it to the
    attention logits (before the mask) and to the final logits.

    ```mlir
    %y = attn.softcap %logits cap(3.0e+01) : tensor<1x?x256000xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x, F64Attr:$cap);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$x `cap` `(` $cap `)` attr-dict `:` type($x)";
  let hasVerifier = 1;
}

def Attn_ResidualAddOp : Attn_Op<"residual_add",
    [Pure, AllTypesMatch<["residual", "branch", "result"]>]> {
  let summary = "adds a branch's output back onto the residual stream";
  let description = [{
    `residual + branch`. A separate op (rather than arith.addf) so that the
    block structure stays visible and carries the config location of the
    block it closes. Adding a zero constant folds away.

    ```mlir
    %h2 = attn.residual_add %h, %attn_out : tensor<1x?x1024xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$residual, Attn_FloatTensor:$branch);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$residual `,` $branch attr-dict `:` type($result)";
  let hasFolder = 1;
}

def Attn_SplitHeadsOp : Attn_Op<"split_heads", [Pure]> {
  let summary = "[batch, seq, heads * head_dim] -> [batch, heads, seq, head_dim]";
  let description = [{
    Head `h` takes the dims `[h * head_dim, (h + 1) * head_dim)`. The number
    of heads is the (static) dim 1 of the result.

    ```mlir
    %qh = attn.split_heads %q : tensor<1x?x2048xf32> -> tensor<1x16x?x128xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_MergeHeadsOp : Attn_Op<"merge_heads", [Pure]> {
  let summary = "[batch, heads, seq, head_dim] -> [batch, seq, heads * head_dim]";
  let description = [{
    The inverse of `attn.split_heads`; the two cancel.

    ```mlir
    %o = attn.merge_heads %oh : tensor<1x16x?x128xf32> -> tensor<1x?x2048xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// MLPs
//===----------------------------------------------------------------------===//

def Attn_MlpOp : Attn_Op<"mlp", [Pure, AttrSizedOperandSegments]> {
  let summary = "plain MLP: down(act(up(x)))";
  let description = [{
    `down(act(up(x)))` with linear layers `up` `[ffn, hidden]` and `down`
    `[hidden, ffn]` (`[out, in]` like attn.linear); the biases come together
    or not at all.

    ```mlir
    %y = attn.mlp gelu %x, %up, %down bias(%bu, %bd)
        : tensor<1x?x768xf32>, tensor<3072x768xf32>, tensor<768x3072xf32>,
          tensor<3072xf32>, tensor<768xf32> -> tensor<1x?x768xf32>
    ```
  }];
  let arguments = (ins Attn_ActivationAttr:$activation, Attn_FloatTensor:$x,
                       Attn_FloatTensor:$up, Attn_FloatTensor:$down,
                       Optional<Attn_FloatTensor>:$up_bias,
                       Optional<Attn_FloatTensor>:$down_bias);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $activation $x `,` $up `,` $down (`bias` `(` $up_bias^ `,` $down_bias `)`)?
    attr-dict `:` type($x) `,` type($up) `,` type($down)
    (`,` type($up_bias)^ `,` type($down_bias))? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_GatedMlpOp : Attn_Op<"gated_mlp", [Pure, AttrSizedOperandSegments]> {
  let summary = "gated MLP (GeGLU / SwiGLU): down(act(gate(x)) * up(x))";
  let description = [{
    `down(act(gate(x)) * up(x))` with linear layers `gate`, `up`
    `[ffn, hidden]` and `down` `[hidden, ffn]` (`[out, in]`); the three
    biases come together or not at all. gemma uses `gelu_tanh`, LLaMA `silu`.

    ```mlir
    %y = attn.gated_mlp silu %x, %g, %u, %d : tensor<1x?x512xf32>,
        tensor<1376x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>
        -> tensor<1x?x512xf32>
    ```
  }];
  let arguments = (ins Attn_ActivationAttr:$activation, Attn_FloatTensor:$x,
                       Attn_FloatTensor:$gate, Attn_FloatTensor:$up,
                       Attn_FloatTensor:$down,
                       Optional<Attn_FloatTensor>:$gate_bias,
                       Optional<Attn_FloatTensor>:$up_bias,
                       Optional<Attn_FloatTensor>:$down_bias);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $activation $x `,` $gate `,` $up `,` $down
    (`bias` `(` $gate_bias^ `,` $up_bias `,` $down_bias `)`)?
    attr-dict `:` type($x) `,` type($gate) `,` type($up) `,` type($down)
    (`,` type($gate_bias)^ `,` type($up_bias) `,` type($down_bias))?
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Outputs
//===----------------------------------------------------------------------===//

def Attn_UnembedOp : Attn_Op<"unembed", [Pure]> {
  let summary = "logits against a (tied) embedding table: x table^T";
  let description = [{
    `x` `[batch, seq, hidden]` times the transposed `table`
    (`[vocab, hidden]`) gives `[batch, seq, vocab]` (penzai's
    EmbeddingDecode; gemma's tied output). The same product as attn.linear
    without bias; a separate op so the tied table reads as such.

    ```mlir
    %l = attn.unembed %h, %table : tensor<1x?x1024xf32>,
        tensor<32000x1024xf32> -> tensor<1x?x32000xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x, Attn_FloatTensor:$table);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $table attr-dict `:` type($x) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_PoolOp : Attn_Op<"pool", [Pure]> {
  let summary = "pools the sequence: first token (cls) or mean";
  let description = [{
    `[batch, seq, hidden] -> [batch, hidden]`.

    ```mlir
    %c = attn.pool cls %h : tensor<2x197x768xf32> -> tensor<2x768xf32>
    ```
  }];
  let arguments = (ins Attn_PoolKindAttr:$kind, Attn_FloatTensor:$x);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$kind $x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

include "attnc/Dialect/Attn/IR/AttnAttentionOps.td"

#endif // ATTN_OPS_TD
