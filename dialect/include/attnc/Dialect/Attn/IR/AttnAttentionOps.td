//===- AttnAttentionOps.td - attention core and KV cache ---*- tablegen -*-===//
//
// Included from AttnOps.td. Three levels:
//   attn.mixed_sdpa    token groups + attention patterns (noether), expanded
//                      by -attn-expand-patterns into
//   attn.sdpa          one fused attention (flash-style later), decomposed by
//                      -attn-decompose-attention into
//   attn.query_key +   penzai's two halves: query-key to weights (scale,
//   attn.weights_value softcap, mask, softmax) and weights-value to output.
// All of them map query head h to key/value head h floordiv (H / K).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ATTENTION_OPS_TD
#define ATTN_ATTENTION_OPS_TD

def Attn_RepeatKVOp : Attn_Op<"repeat_kv", [Pure]> {
  let summary = "materialises the grouped-query head mapping";
  let description = [{
    `[batch, K, seq, head_dim] -> [batch, H, seq, head_dim]`: output head `h`
    is input head `h floordiv (H / K)`. The attention ops apply this mapping
    themselves without copying; this op exists for consumers that want
    explicit MHA-shaped keys/values. With `H == K` it folds away.

    ```mlir
    %k8 = attn.repeat_kv %k : tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$x);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Attn_QueryKeyOp : Attn_Op<"query_key", [Pure, AttrSizedOperandSegments]> {
  let summary = "query-key to attention weights (penzai query_key_to_attn)";
  let description = [{
    For query `[B, H, Sq, D]` and key `[B, K, Skv, D]` computes
    `softmax_j(mask(softcap(scale * q . k)))` as `[B, H, Sq, Skv]`, with
    query head `h` reading key head `h floordiv (H / K)`.

    The mask (see `#attn.mask`) compares positions:
    `positions(%qp, %kp : tensor<1x?xi32>, tensor<1x?xi32>)` gives them
    explicitly (`[B, S]` or `[S]` integers; a negative key position is never
    attended); without them, positions are indices `0..Sq-1` and
    `0..Skv-1`. `allowed(%m : tensor<1x?x?xi1>)` (`[B, Sq, Skv]`, true =
    attend) is combined with the mask by logical and.
    `unmasked_prefix(%n)` makes the first `n` keys visible to every query
    whatever the mask and positions say (a memory such as a cache token
    group; `allowed` still applies). Masked logits become -2.3819763e38
    before the softmax (gemma/penzai); a query that sees no key at all gets
    all-zero weights (so a zero attention output).

    `alibi(%qa, %ka : ...) slopes [s_0, ..., s_H-1]` adds ALiBi biases after
    the softcap: `-s_h * (qa_i - ka_j)` under causal and sliding-window
    masks, `-s_h * |qa_i - ka_j|` under full and local ones, none for keys
    of the unmasked prefix. Its positions are the model's positions (`[B,
    S]` or `[S]`), which may differ from the mask's indices.

    ```mlir
    %w = attn.query_key %q, %k mask(causal) scale(1.250000e-01)
        softcap(5.0e+01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>
        -> tensor<1x8x?x?xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$query, Attn_FloatTensor:$key,
                       Optional<Attn_IntTensor>:$query_positions,
                       Optional<Attn_IntTensor>:$key_positions,
                       Optional<Attn_BoolTensor>:$allowed,
                       Optional<Index>:$unmasked_prefix,
                       Optional<Attn_IntTensor>:$alibi_query_positions,
                       Optional<Attn_IntTensor>:$alibi_key_positions,
                       Attn_MaskAttr:$mask, F64Attr:$scale,
                       OptionalAttr<F64Attr>:$softcap,
                       OptionalAttr<DenseF64ArrayAttr>:$alibi_slopes);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `mask` `(` custom<Mask>($mask) `)`
    (`positions` `(` $query_positions^ `,` $key_positions `:`
      type($query_positions) `,` type($key_positions) `)`)?
    (`allowed` `(` $allowed^ `:` type($allowed) `)`)?
    (`unmasked_prefix` `(` $unmasked_prefix^ `)`)?
    (`alibi` `(` $alibi_query_positions^ `,` $alibi_key_positions `:`
      type($alibi_query_positions) `,` type($alibi_key_positions) `)`
      `slopes` $alibi_slopes)?
    `scale` `(` $scale `)` (`softcap` `(` $softcap^ `)`)? attr-dict
    `:` type($query) `,` type($key) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_WeightsValueOp : Attn_Op<"weights_value", [Pure]> {
  let summary = "attention weights times values (penzai attn_value_to_output)";
  let description = [{
    `out[b, h, i, :] = sum_j weights[b, h, i, j] * value[b, h floordiv
    (H / K), j, :]` for weights `[B, H, Sq, Skv]` and value
    `[B, K, Skv, Dv]`, giving `[B, H, Sq, Dv]`.

    ```mlir
    %o = attn.weights_value %w, %v : tensor<1x8x?x?xf32>,
        tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$weights, Attn_FloatTensor:$value);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $weights `,` $value attr-dict `:` type($weights) `,` type($value) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Attn_SdpaOp : Attn_Op<"sdpa", [Pure, AttrSizedOperandSegments]> {
  let summary = "fused scaled dot-product attention";
  let description = [{
    `attn.weights_value(attn.query_key(q, k, ...), v)` as one op, so that a
    later pass can emit flash-style code (online softmax over key tiles,
    never materialising `[Sq, Skv]`). The operands and attributes mean what
    they mean on `attn.query_key`; value is `[B, K, Skv, Dv]` and the result
    `[B, H, Sq, Dv]`. `-attn-decompose-attention` rewrites it into the two
    halves.

    ```mlir
    %o = attn.sdpa %q, %k, %v mask(sliding_window 4096) scale(6.25e-02)
        : tensor<1x8x?x256xf32>, tensor<1x4x?x256xf32>,
          tensor<1x4x?x256xf32> -> tensor<1x8x?x256xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$query, Attn_FloatTensor:$key,
                       Attn_FloatTensor:$value,
                       Optional<Attn_IntTensor>:$query_positions,
                       Optional<Attn_IntTensor>:$key_positions,
                       Optional<Attn_BoolTensor>:$allowed,
                       Optional<Index>:$unmasked_prefix,
                       Optional<Attn_IntTensor>:$alibi_query_positions,
                       Optional<Attn_IntTensor>:$alibi_key_positions,
                       Attn_MaskAttr:$mask, F64Attr:$scale,
                       OptionalAttr<F64Attr>:$softcap,
                       OptionalAttr<DenseF64ArrayAttr>:$alibi_slopes);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `mask` `(` custom<Mask>($mask) `)`
    (`positions` `(` $query_positions^ `,` $key_positions `:`
      type($query_positions) `,` type($key_positions) `)`)?
    (`allowed` `(` $allowed^ `:` type($allowed) `)`)?
    (`unmasked_prefix` `(` $unmasked_prefix^ `)`)?
    (`alibi` `(` $alibi_query_positions^ `,` $alibi_key_positions `:`
      type($alibi_query_positions) `,` type($alibi_key_positions) `)`
      `slopes` $alibi_slopes)?
    `scale` `(` $scale `)` (`softcap` `(` $softcap^ `)`)? attr-dict
    `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_MixedSdpaOp : Attn_Op<"mixed_sdpa", [Pure, AttrSizedOperandSegments]> {
  let summary = "attention over token groups following attention patterns";
  let description = [{
    noether's MixedAttention. `query` `[B, H, S, D]`, `key` `[B, K, S, D]`
    and `value` `[B, K, S, Dv]` cover the input sequence, which is the
    concatenation of the non-cache `groups` in declaration order. Each cache
    group contributes one `(keys, values)` pair to `cached(...)`, in
    declaration order (`[B, K, S_cache, D]` / `[B, K, S_cache, Dv]`).

    Each pattern makes the query groups' tokens attend to the key/value
    groups' tokens under its mask. Positions are indices in the input
    sequence; cache groups have no position and are visible to every query
    of a pattern that lists them, whatever its mask (the schema's
    AttentionPattern.mask). Every input group is the query of exactly one
    pattern; cache groups are never queries. The result is `[B, H, S, Dv]`,
    in sequence order.

    `alibi(%positions : tensor<...>) slopes [...]` adds ALiBi biases from
    the model's positions of the input tokens (`[B, S]` or `[S]`), one slope
    per query head; cache keys get none (see attn.query_key).

    `-attn-expand-patterns` turns each pattern into one `attn.sdpa` on
    slices (no dense block mask is ever built; masked patterns get the
    slices' positions, and cache keys come first as an `unmasked_prefix`).

    ```mlir
    %o = attn.mixed_sdpa %q, %k, %v cached(%pk, %pv)
        groups ["past": cache, "anchors": 16, "queries": ?]
        patterns [["anchors"] -> ["past", "anchors"] full,
                  ["queries"] -> ["anchors", "queries"] causal]
        scale(1.250000e-01)
        : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>,
          tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$query, Attn_FloatTensor:$key,
                       Attn_FloatTensor:$value,
                       Variadic<Attn_FloatTensor>:$cached,
                       Optional<Attn_IntTensor>:$alibi_positions,
                       Attn_TokenGroupArrayAttr:$groups,
                       Attn_AttentionPatternArrayAttr:$patterns,
                       F64Attr:$scale, OptionalAttr<F64Attr>:$softcap,
                       OptionalAttr<DenseF64ArrayAttr>:$alibi_slopes);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`cached` `(` $cached^ `)`)?
    `groups` custom<TokenGroups>($groups)
    `patterns` custom<Patterns>($patterns)
    (`alibi` `(` $alibi_positions^ `:` type($alibi_positions) `)`
      `slopes` $alibi_slopes)?
    `scale` `(` $scale `)` (`softcap` `(` $softcap^ `)`)? attr-dict
    `:` type($query) `,` type($key) `,` type($value) (`,` type($cached)^)?
    `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// The group named `name`, or null.
    TokenGroupAttr lookupGroup(::llvm::StringRef name);
    /// The (keys, values) operands of cache group number `cacheIndex`
    /// (counting cache groups only).
    ::mlir::Value getCachedKeys(unsigned cacheIndex) {
      return getCached()[2 * cacheIndex];
    }
    ::mlir::Value getCachedValues(unsigned cacheIndex) {
      return getCached()[2 * cacheIndex + 1];
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

def Attn_KVAppendOp : Attn_Op<"kv_append",
    [Pure, AllTypesMatch<["cache", "result"]>]> {
  let summary = "writes new keys or values into a cache at an offset";
  let description = [{
    Returns `cache` with `update` (`[B, K, n, D]`) written at slots
    `[offset, offset + n)` of the cache dim (`[B, K, cache_len, D]`). Value
    semantics: the result is the new cache (bufferization makes it in place).

    ```mlir
    %c2 = attn.kv_append %k_new into %cache[%end]
        : tensor<1x2x?x64xf32> into tensor<1x2x4096x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$update, Attn_FloatTensor:$cache,
                       Index:$offset);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $update `into` $cache `[` $offset `]` attr-dict `:` type($update) `into`
    type($cache)
  }];
  let hasVerifier = 1;
}

def Attn_KVReadOp : Attn_Op<"kv_read", [Pure]> {
  let summary = "reads the first `length` slots of a cache";
  let description = [{
    `cache[:, :, 0:length, :]`: the keys or values of the cached tokens
    (a cached token group).

    ```mlir
    %past = attn.kv_read %cache[%end] : tensor<1x2x4096x64xf32>
        -> tensor<1x2x?x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$cache, Index:$length);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $cache `[` $length `]` attr-dict `:` type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // ATTN_ATTENTION_OPS_TD
