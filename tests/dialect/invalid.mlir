// Every verifier message of the attn dialect, one case per split.
// RUN: attnc-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// expected-error @+1 {{expected mask kind 'full', 'causal', 'sliding_window' or 'local', found 'banded'}}
func.func @f() attributes {m = #attn.mask<banded>} { return }

// -----

// expected-error @+1 {{expected a positive window for sliding_window, found 0}}
func.func @f() attributes {m = #attn.mask<sliding_window 0>} { return }

// -----

// expected-error @+1 {{expected a positive window for local, found -3}}
func.func @f() attributes {m = #attn.mask<local -3>} { return }

// -----

// expected-error @+1 {{expected a non-empty token group name}}
func.func @f() attributes {g = #attn.token_group<"": 4>} { return }

// -----

// expected-error @+1 {{expected a non-negative size for token group 'text', found -2}}
func.func @f() attributes {g = #attn.token_group<"text": -2>} { return }

// -----

// expected-error @+1 {{expected at least one query group in a pattern}}
func.func @f() attributes {p = #attn.pattern<[] -> ["a"] full>} { return }

// -----

// expected-error @+1 {{expected at least one key/value group in a pattern}}
func.func @f() attributes {p = #attn.pattern<["a"] -> [] causal>} { return }

//===----------------------------------------------------------------------===//
// Embeddings and positions
//===----------------------------------------------------------------------===//

// -----

func.func @f(%ids: tensor<?xi32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{'attn.embed' op expected ids of rank 2 [batch, seq], found rank 1}}
  %0 = attn.embed %ids, %t : tensor<?xi32>, tensor<100x64xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%ids: tensor<1x?xi32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{expected result hidden dim to be 64 (table), found 32}}
  %0 = attn.embed %ids, %t : tensor<1x?xi32>, tensor<100x64xf32> -> tensor<1x?x32xf32>
  return
}

// -----

func.func @f(%ids: tensor<1x?xi32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{expected result batch dim to be 1 (ids), found 2}}
  %0 = attn.embed %ids, %t : tensor<1x?xi32>, tensor<100x64xf32> -> tensor<2x?x64xf32>
  return
}

// -----

func.func @f(%ids: tensor<1x?xi32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{expected result element type 'f32' (table), found 'f16'}}
  %0 = attn.embed %ids, %t : tensor<1x?xi32>, tensor<100x64xf32> -> tensor<1x?x64xf16>
  return
}

// -----

func.func @f(%ids: tensor<1x?xf32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{'attn.embed' op operand #0 must be ranked tensor of signless integer values, but got 'tensor<1x?xf32>'}}
  %0 = "attn.embed"(%ids, %t) : (tensor<1x?xf32>, tensor<100x64xf32>) -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%img: tensor<1x32x32x3xf32>, %w: tensor<64x3x16x8xf32>) {
  // expected-error @+1 {{expected a square patch of static size, found weight of shape [64, 3, 16, 8]}}
  %0 = attn.patch_embed %img, %w : tensor<1x32x32x3xf32>, tensor<64x3x16x8xf32> -> tensor<1x8x64xf32>
  return
}

// -----

func.func @f(%img: tensor<1x30x32x3xf32>, %w: tensor<64x3x16x16xf32>) {
  // expected-error @+1 {{expected image height 30 to be a multiple of the patch size 16}}
  %0 = attn.patch_embed %img, %w : tensor<1x30x32x3xf32>, tensor<64x3x16x16xf32> -> tensor<1x4x64xf32>
  return
}

// -----

func.func @f(%img: tensor<1x32x32x1xf32>, %w: tensor<64x3x16x16xf32>) {
  // expected-error @+1 {{expected weight channels to be 1 (images), found 3}}
  %0 = attn.patch_embed %img, %w : tensor<1x32x32x1xf32>, tensor<64x3x16x16xf32> -> tensor<1x4x64xf32>
  return
}

// -----

func.func @f(%img: tensor<1x32x32x3xf32>, %w: tensor<64x3x16x16xf32>) {
  // expected-error @+1 {{expected result patch count to be 4 ((height / patch) * (width / patch)), found 8}}
  %0 = attn.patch_embed %img, %w : tensor<1x32x32x3xf32>, tensor<64x3x16x16xf32> -> tensor<1x8x64xf32>
  return
}

// -----

func.func @f(%img: tensor<1x32x32x3xf32>, %w: tensor<64x3x16x16xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{expected bias size to be 64 (weight hidden dim), found 32}}
  %0 = attn.patch_embed %img, %w, %b : tensor<1x32x32x3xf32>, tensor<64x3x16x16xf32>, tensor<32xf32> -> tensor<1x4x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x63xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected hidden dim 63 to be even for sinusoidal positions}}
  %0 = attn.sinusoidal_add %x, %p : tensor<1x?x63xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected a positive base, found -1}}
  %0 = attn.sinusoidal_add %x, %p base(-1.0) : tensor<1x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x64xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{expected positions seq dim to be 8 (sequence length), found 4}}
  %0 = attn.sinusoidal_add %x, %p : tensor<1x8x64xf32>, tensor<1x4xi32>
  return
}

// -----

func.func @f(%x: tensor<2x8x64xf32>, %p: tensor<3x8xi32>) {
  // expected-error @+1 {{expected positions batch dim to be 2 (batch), found 3}}
  %0 = attn.sinusoidal_add %x, %p : tensor<2x8x64xf32>, tensor<3x8xi32>
  return
}

// -----

func.func @f(%x: tensor<2x8x64xf32>, %p: tensor<2x8x1xi32>) {
  // expected-error @+1 {{expected positions of rank 1 [seq] or 2 [batch, seq], found rank 3}}
  %0 = attn.sinusoidal_add %x, %p : tensor<2x8x64xf32>, tensor<2x8x1xi32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %t: tensor<512x32xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expected table hidden dim to be 64 (x), found 32}}
  %0 = attn.learned_position_add %x, %t, %p : tensor<1x?x64xf32>, tensor<512x32xf32>, tensor<?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %t: tensor<512x64xf16>, %p: tensor<?xi32>) {
  // expected-error @+1 {{expected table element type 'f32' (x), found 'f16'}}
  %0 = attn.learned_position_add %x, %t, %p : tensor<1x?x64xf32>, tensor<512x64xf16>, tensor<?xi32>
  return
}

//===----------------------------------------------------------------------===//
// RoPE
//===----------------------------------------------------------------------===//

// -----

func.func @f(%x: tensor<1x8x?x63xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected head_dim 63 to be even for rope}}
  %0 = attn.rope split_half %x, %p : tensor<1x8x?x63xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected x of rank 4 [batch, heads, seq, head_dim], found rank 3}}
  %0 = attn.rope split_half %x, %p : tensor<1x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected fraction in [0, 1], found 1.5}}
  %0 = attn.rope split_half %x, %p fraction(1.5) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected fraction 0.3 of head_dim 64 to rotate an even number of dims, found 19.2}}
  %0 = attn.rope split_half %x, %p fraction(0.3) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x?x?xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected a static head_dim for a partial rope (fraction 0.5), found ?}}
  %0 = attn.rope split_half %x, %p fraction(0.5) : tensor<1x8x?x?xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected a positive base, found 0}}
  %0 = attn.rope split_half %x, %p base(0.0) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected a positive scale_factor, found -2}}
  %0 = attn.rope interleaved %x, %p scale_factor(-2.0) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return
}

// -----

func.func @f(%x: tensor<2x8x16x64xf32>, %p: tensor<2x8xi32>) {
  // expected-error @+1 {{expected positions seq dim to be 16 (sequence length), found 8}}
  %0 = attn.rope split_half %x, %p : tensor<2x8x16x64xf32>, tensor<2x8xi32>
  return
}

//===----------------------------------------------------------------------===//
// Norms, projections, activations, heads
//===----------------------------------------------------------------------===//

// -----

func.func @f(%x: tensor<1x?x64xf32>) {
  // expected-error @+1 {{expected a scale operand for a rms norm}}
  %0 = attn.norm rms %x : tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{expected no bias for an rms norm, found one}}
  %0 = attn.norm rms %x, %g, %g : tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{expected no scale or bias for an identity norm}}
  %0 = attn.norm identity %x, %g : tensor<1x?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>) {
  // expected-error @+1 {{expected no zero_centered for an identity norm}}
  %0 = attn.norm identity %x zero_centered : tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<32xf32>) {
  // expected-error @+1 {{expected scale size to be 64 (last dim of x), found 32}}
  %0 = attn.norm layer %x, %g : tensor<1x?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>, %b: tensor<1x64xf32>) {
  // expected-error @+1 {{expected bias of rank 1 [hidden], found rank 2}}
  %0 = attn.norm layer %x, %g, %b : tensor<1x?x64xf32>, tensor<64xf32>, tensor<1x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<64xbf16>) {
  // expected-error @+1 {{expected scale element type 'f32' (x), found 'bf16'}}
  %0 = attn.norm rms %x, %g : tensor<1x?x64xf32>, tensor<64xbf16>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{expected a non-negative eps, found -1}}
  %0 = attn.norm rms %x, %g eps(-1.0) : tensor<1x?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @f(%x: tensor<f32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{expected x of rank at least 1 [..., hidden], found rank 0}}
  %0 = attn.norm rms %x, %g : tensor<f32>, tensor<64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x32xf32>) {
  // expected-error @+1 {{expected linear weight input dim to be 64 (last dim of x), found 32}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<96x32xf32> -> tensor<1x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x64xf32>) {
  // expected-error @+1 {{expected result last dim to be 96 (weight output dim), found 64}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<96x64xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x64xf32>) {
  // expected-error @+1 {{expected result of rank 3 (the input's), found rank 2}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<96x64xf32> -> tensor<?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x64xf32>) {
  // expected-error @+1 {{expected result dim 0 to be 1 (input), found 4}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<96x64xf32> -> tensor<4x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{expected linear bias size to be 96 (weight output dim), found 64}}
  %0 = attn.linear %x, %w, %b : tensor<1x?x64xf32>, tensor<96x64xf32>, tensor<64xf32> -> tensor<1x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<64x96x1xf32>) {
  // expected-error @+1 {{expected linear weight of rank 2 [out, in], found rank 3}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<64x96x1xf32> -> tensor<1x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %w: tensor<96x64xf16>) {
  // expected-error @+1 {{expected linear weight element type 'f32' (input), found 'f16'}}
  %0 = attn.linear %x, %w : tensor<1x?x64xf32>, tensor<96x64xf16> -> tensor<1x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>) {
  // expected-error @+1 {{expected a positive cap, found 0}}
  %0 = attn.softcap %x cap(0.0) : tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>) {
  // expected-error @+1 {{expected hidden dim 64 to be heads (8) times head_dim (16)}}
  %0 = attn.split_heads %x : tensor<1x?x64xf32> -> tensor<1x8x?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>) {
  // expected-error @+1 {{expected a static number of heads, found ?}}
  %0 = attn.split_heads %x : tensor<1x?x64xf32> -> tensor<1x?x?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x?xf32>) {
  // expected-error @+1 {{expected hidden dim and head_dim to be both static or both dynamic, found ? and 16}}
  %0 = attn.split_heads %x : tensor<1x?x?xf32> -> tensor<1x4x?x16xf32>
  return
}

// -----

func.func @f(%x: tensor<1x8xf32>) {
  // expected-error @+1 {{expected x of rank 3 [batch, seq, hidden], found rank 2}}
  %0 = attn.split_heads %x : tensor<1x8xf32> -> tensor<1x4x8x2xf32>
  return
}

// -----

func.func @f(%x: tensor<1x8x64xf32>) {
  // expected-error @+1 {{expected result seq dim to be 8 (x), found 16}}
  %0 = attn.split_heads %x : tensor<1x8x64xf32> -> tensor<1x4x16x16xf32>
  return
}

// -----

func.func @f(%x: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{expected hidden dim 48 to be heads (4) times head_dim (16)}}
  %0 = attn.merge_heads %x : tensor<1x4x?x16xf32> -> tensor<1x?x48xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x?x16xf32>) {
  // expected-error @+1 {{'attn.merge_heads' op expected a static number of heads, found ?}}
  %0 = attn.merge_heads %x : tensor<1x?x?x16xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{expected result batch dim to be 1 (x), found 2}}
  %0 = attn.merge_heads %x : tensor<1x4x?x16xf32> -> tensor<2x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x4x?x?xf32>) {
  // expected-error @+1 {{expected hidden dim and head_dim to be both static or both dynamic, found 64 and ?}}
  %0 = attn.merge_heads %x : tensor<1x4x?x?xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{expected result element type 'f32' (x), found 'f16'}}
  %0 = attn.merge_heads %x : tensor<1x4x?x16xf32> -> tensor<1x?x64xf16>
  return
}

//===----------------------------------------------------------------------===//
// MLPs and outputs
//===----------------------------------------------------------------------===//

// -----

func.func @f(%x: tensor<1x?x64xf32>, %u: tensor<256x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{expected down weight input dim to be 256 (up weight output dim), found 128}}
  %0 = attn.mlp gelu %x, %u, %d : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x128xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %u: tensor<256x64xf32>, %d: tensor<64x256xf32>, %b: tensor<256xf32>) {
  // expected-error @+1 {{expected both biases or neither}}
  %0 = "attn.mlp"(%x, %u, %d, %b) {activation = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>} : (tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>) -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %u: tensor<256x64xf32>, %d: tensor<64x256xf32>, %bu: tensor<256xf32>, %bd: tensor<32xf32>) {
  // expected-error @+1 {{expected down bias size to be 64 (weight output dim), found 32}}
  %0 = attn.mlp gelu %x, %u, %d bias(%bu, %bd) : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<32xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %u: tensor<256x32xf32>, %d: tensor<64x256xf32>) {
  // expected-error @+1 {{expected up weight input dim to be 64 (last dim of x), found 32}}
  %0 = attn.mlp relu %x, %u, %d : tensor<1x?x64xf32>, tensor<256x32xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %u: tensor<256x64xf32>, %d: tensor<64x256xf32>) {
  // expected-error @+1 {{expected result last dim to be 64 (weight output dim), found 32}}
  %0 = attn.mlp relu %x, %u, %d : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<1x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<256x64xf32>, %u: tensor<128x64xf32>, %d: tensor<64x256xf32>) {
  // expected-error @+1 {{expected up weight output dim to be 256 (the other projections), found 128}}
  %0 = attn.gated_mlp silu %x, %g, %u, %d : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<128x64xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<256x64xf32>, %d: tensor<64x256xf32>, %b: tensor<256xf32>) {
  // expected-error @+1 {{expected all three biases or none}}
  %0 = "attn.gated_mlp"(%x, %g, %g, %d, %b, %b) {activation = 3 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0>} : (tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %g: tensor<256x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{expected down weight input dim to be 256 (gate weight output dim), found 128}}
  %0 = attn.gated_mlp silu %x, %g, %g, %d : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<256x64xf32>, tensor<64x128xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %t: tensor<100x32xf32>) {
  // expected-error @+1 {{expected table hidden dim to be 64 (x), found 32}}
  %0 = attn.unembed %x, %t : tensor<1x?x64xf32>, tensor<100x32xf32> -> tensor<1x?x100xf32>
  return
}

// -----

func.func @f(%x: tensor<1x?x64xf32>, %t: tensor<100x64xf32>) {
  // expected-error @+1 {{expected result vocab dim to be 100 (table), found 64}}
  %0 = attn.unembed %x, %t : tensor<1x?x64xf32>, tensor<100x64xf32> -> tensor<1x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x64xf32>) {
  // expected-error @+1 {{expected result of rank 2 [batch, hidden], found rank 3}}
  %0 = attn.pool cls %x : tensor<2x?x64xf32> -> tensor<2x1x64xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x64xf32>) {
  // expected-error @+1 {{expected result hidden dim to be 64 (x), found 32}}
  %0 = attn.pool mean %x : tensor<2x?x64xf32> -> tensor<2x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x3x?x64xf32>) {
  // expected-error @+1 {{expected query heads 8 to be a multiple of key/value heads 3}}
  %0 = attn.query_key %q, %k mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x3x?x64xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x?x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected static head counts for the grouped-query mapping, found ? query heads and 2 key/value heads}}
  %0 = attn.query_key %q, %k mask(causal) scale(0.125) : tensor<1x?x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x?x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x32xf32>) {
  // expected-error @+1 {{expected key head_dim to be 64 (query head_dim), found 32}}
  %0 = attn.query_key %q, %k mask(full) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<2x8x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected key batch dim to be 2 (query), found 1}}
  %0 = attn.query_key %q, %k mask(full) scale(0.125) : tensor<2x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<2x8x?x?xf32>
  return
}

// -----

// A key may be narrower than the query (a bf16 KV cache), never wider.
func.func @f(%q: tensor<1x8x?x64xf16>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected key element type 'f16' (query) or a narrower float, found 'f32'}}
  %0 = attn.query_key %q, %k mask(full) scale(0.125) : tensor<1x8x?x64xf16>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf16>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected value element type 'bf16' (key) or a narrower float, found 'f32'}}
  %0 = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xbf16>
  return
}

// -----

func.func @f(%w: tensor<1x8x4x6xf16>, %v: tensor<1x2x6x32xf32>) {
  // expected-error @+1 {{expected value element type 'f16' (weights) or a narrower float, found 'f32'}}
  %0 = attn.weights_value %w, %v : tensor<1x8x4x6xf16>, tensor<1x2x6x32xf32> -> tensor<1x8x4x32xf16>
  return
}

// -----

func.func @f(%q: tensor<1x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected query of rank 4 [batch, heads, seq, head_dim], found rank 3}}
  %0 = attn.query_key %q, %k mask(full) scale(0.125) : tensor<1x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected both query and key positions or neither}}
  %0 = "attn.query_key"(%q, %k, %p) {mask = #attn.mask<causal>, scale = 1.0 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>} : (tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x?xi32>) -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x6x64xf32>, %qp: tensor<4xi32>, %kp: tensor<4xi32>) {
  // expected-error @+1 {{expected key positions seq dim to be 6 (sequence length), found 4}}
  %0 = attn.query_key %q, %k mask(causal) positions(%qp, %kp : tensor<4xi32>, tensor<4xi32>) scale(0.125) : tensor<1x8x4x64xf32>, tensor<1x2x6x64xf32> -> tensor<1x8x4x6xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x6x64xf32>, %m: tensor<1x4x4xi1>) {
  // expected-error @+1 {{expected allowed mask key dim to be 6 (key seq), found 4}}
  %0 = attn.query_key %q, %k mask(full) allowed(%m : tensor<1x4x4xi1>) scale(0.125) : tensor<1x8x4x64xf32>, tensor<1x2x6x64xf32> -> tensor<1x8x4x6xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x6x64xf32>, %m: tensor<4x6xi1>) {
  // expected-error @+1 {{expected allowed mask of rank 3 [batch, seq, kv_seq], found rank 2}}
  %0 = attn.query_key %q, %k mask(full) allowed(%m : tensor<4x6xi1>) scale(0.125) : tensor<1x8x4x64xf32>, tensor<1x2x6x64xf32> -> tensor<1x8x4x6xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected a positive scale, found 0}}
  %0 = attn.query_key %q, %k mask(full) scale(0.0) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected a positive softcap, found -5}}
  %0 = attn.query_key %q, %k mask(full) scale(1.0) softcap(-5.0) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x4x64xf32>, %k: tensor<1x2x6x64xf32>) {
  // expected-error @+1 {{expected result kv_seq dim to be 6 (kv_seq), found 4}}
  %0 = attn.query_key %q, %k mask(full) scale(1.0) : tensor<1x8x4x64xf32>, tensor<1x2x6x64xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @f(%w: tensor<1x8x4x6xf32>, %v: tensor<1x2x5x32xf32>) {
  // expected-error @+1 {{expected value kv_seq dim to be 6 (weights), found 5}}
  %0 = attn.weights_value %w, %v : tensor<1x8x4x6xf32>, tensor<1x2x5x32xf32> -> tensor<1x8x4x32xf32>
  return
}

// -----

func.func @f(%w: tensor<1x8x4x6xf32>, %v: tensor<1x3x6x32xf32>) {
  // expected-error @+1 {{expected query heads 8 to be a multiple of key/value heads 3}}
  %0 = attn.weights_value %w, %v : tensor<1x8x4x6xf32>, tensor<1x3x6x32xf32> -> tensor<1x8x4x32xf32>
  return
}

// -----

func.func @f(%w: tensor<1x8x4x6xf32>, %v: tensor<1x2x6x32xf32>) {
  // expected-error @+1 {{expected result value_dim dim to be 32 (value_dim), found 16}}
  %0 = attn.weights_value %w, %v : tensor<1x8x4x6xf32>, tensor<1x2x6x32xf32> -> tensor<1x8x4x16xf32>
  return
}

// -----

func.func @f(%w: tensor<1x8x4xf32>, %v: tensor<1x2x6x32xf32>) {
  // expected-error @+1 {{expected weights of rank 4 [batch, heads, seq, kv_seq], found rank 3}}
  %0 = attn.weights_value %w, %v : tensor<1x8x4xf32>, tensor<1x2x6x32xf32> -> tensor<1x8x4x32xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x4x?x64xf32>) {
  // expected-error @+1 {{expected value kv_heads dim to be 2 (key), found 4}}
  %0 = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected result heads dim to be 8 (query), found 2}}
  %0 = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected a positive window for sliding_window, found 0}}
  %0 = attn.sdpa %q, %k, %v mask(sliding_window 0) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x4x?x16xf32>) {
  // expected-error @+1 {{expected query heads 6 to be a multiple of key/value heads 4}}
  %0 = attn.repeat_kv %x : tensor<1x4x?x16xf32> -> tensor<1x6x?x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %p: tensor<1x?xi32>) {
  // expected-error @+1 {{expected 4 ALiBi slopes (one per query head), found 2}}
  %0 = attn.sdpa %q, %k, %k mask(causal) alibi(%p, %p : tensor<1x?xi32>, tensor<1x?xi32>) slopes [0.5, 0.25] scale(0.125) : tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x?x64xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  // expected-error @+1 {{expected ALiBi positions and slopes together, found slopes only}}
  %0 = "attn.query_key"(%q, %k) {alibi_slopes = array<f64: 0.5, 0.25, 0.125, 0.0625>, mask = #attn.mask<causal>, scale = 1.0 : f64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0>} : (tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>) -> tensor<1x4x?x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x64xf32>, %k: tensor<1x2x8x64xf32>, %p: tensor<4xi32>) {
  // expected-error @+1 {{expected ALiBi positions seq dim to be 8 (sequence length), found 4}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 8] patterns [["a"] -> ["a"] full] alibi(%p : tensor<4xi32>) slopes [0.5, 0.25, 0.125, 0.0625] scale(0.25)
      : tensor<1x4x8x64xf32>, tensor<1x2x8x64xf32>, tensor<1x2x8x64xf32> -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @f(%x: tensor<1x2x?x16xf32>) {
  // expected-error @+1 {{expected result dim 3 to be 16 (x), found 8}}
  %0 = attn.repeat_kv %x : tensor<1x2x?x16xf32> -> tensor<1x4x?x8xf32>
  return
}

//===----------------------------------------------------------------------===//
// mixed_sdpa: token groups and patterns
//===----------------------------------------------------------------------===//

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected unique token group names, found 'a' twice}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "a": 4] patterns [["a"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>) {
  // expected-error @+1 {{expected at most one dynamic token group, found 'a' and 'b'}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": ?, "b": ?] patterns [["a", "b"] -> ["a", "b"] full] scale(0.25)
      : tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected the token groups to cover the sequence of 8 tokens, found 6}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "b": 2] patterns [["a", "b"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected the fixed-size token groups to fit the sequence of 8 tokens, found 10}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 10, "b": ?] patterns [["a", "b"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected 2 cached operands (keys and values of 1 cache groups), found 0}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["past": cache, "a": 8] patterns [["a"] -> ["past", "a"] causal] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %pk: tensor<1x2x?x8xf32>) {
  // expected-error @+1 {{expected cached keys 0 head_dim to be 16 (key), found 8}}
  %0 = attn.mixed_sdpa %q, %k, %k cached(%pk, %pk) groups ["past": cache, "a": 8] patterns [["a"] -> ["past", "a"] causal] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %pk: tensor<1x2x5x16xf32>, %pv: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{expected cached values 0 kv_seq dim to be 5 (cached keys 0), found 3}}
  %0 = attn.mixed_sdpa %q, %k, %k cached(%pk, %pv) groups ["past": cache, "a": 8] patterns [["a"] -> ["past", "a"] causal] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x3x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected the keys/values of pattern 0 to name token groups, found unknown 'c'}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "b": 4] patterns [["a", "b"] -> ["c"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected token group 'a' at most once in the queries of pattern 0, found it twice}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "b": 4] patterns [["a", "a", "b"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %pk: tensor<1x2x?x16xf32>) {
  // expected-error @+1 {{expected the queries of pattern 1 to be input groups, found cache group 'past'}}
  %0 = attn.mixed_sdpa %q, %k, %k cached(%pk, %pk) groups ["past": cache, "a": 8] patterns [["a"] -> ["past", "a"] causal, ["past"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected token group 'b' to be the query of exactly one pattern, found 0}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "b": 4] patterns [["a"] -> ["a", "b"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected token group 'a' to be the query of exactly one pattern, found 2}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 4, "b": 4] patterns [["a", "b"] -> ["a"] full, ["a"] -> ["b"] causal] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x4x16xf32>) {
  // expected-error @+1 {{expected key seq dim to be 8 (query seq), found 4}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 8] patterns [["a"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'attn.mixed_sdpa' op attribute 'groups' failed to satisfy constraint: array of token groups}}
  %0 = "attn.mixed_sdpa"(%q, %k, %k) {groups = [1], patterns = [], scale = 1.0 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{expected ':'}}
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a" 8] patterns [["a"] -> ["a"] full] scale(0.25)
      : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

// -----

func.func @f(%c: tensor<1x2x4x16xf32>, %u: tensor<1x2x8x16xf32>, %i: index) {
  // expected-error @+1 {{expected an update of at most 4 slots (the cache length), found 8}}
  %0 = attn.kv_append %u into %c[%i] : tensor<1x2x8x16xf32> into tensor<1x2x4x16xf32>
  return
}

// -----

func.func @f(%c: tensor<1x2x4x16xf32>, %u: tensor<1x4x1x16xf32>, %i: index) {
  // expected-error @+1 {{expected update kv_heads dim to be 2 (cache), found 4}}
  %0 = attn.kv_append %u into %c[%i] : tensor<1x4x1x16xf32> into tensor<1x2x4x16xf32>
  return
}

// -----

func.func @f(%c: tensor<1x2x4x16xf32>, %u: tensor<1x2x1x16xbf16>, %i: index) {
  // expected-error @+1 {{expected update element type 'f32' (cache), found 'bf16'}}
  %0 = attn.kv_append %u into %c[%i] : tensor<1x2x1x16xbf16> into tensor<1x2x4x16xf32>
  return
}

// -----

func.func @f(%c: tensor<1x2x4x16xf32>, %i: index) {
  // expected-error @+1 {{expected at most 4 slots (the cache length), found 8}}
  %0 = attn.kv_read %c[%i] : tensor<1x2x4x16xf32> -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @f(%c: tensor<1x2x4x16xf32>) {
  %c2 = arith.constant 2 : index
  // expected-error @+1 {{expected result length 2 (the length operand), found 3}}
  %0 = attn.kv_read %c[%c2] : tensor<1x2x4x16xf32> -> tensor<1x2x3x16xf32>
  return
}

// -----

func.func @f(%c: tensor<1x2x4x16xf32>, %i: index) {
  // expected-error @+1 {{expected result dim 1 to be 2 (cache), found 1}}
  %0 = attn.kv_read %c[%i] : tensor<1x2x4x16xf32> -> tensor<1x1x?x16xf32>
  return
}

// -----

func.func @f(%c: tensor<2x4x16xf32>, %i: index) {
  // expected-error @+1 {{expected cache of rank 4 [batch, kv_heads, cache_len, head_dim], found rank 3}}
  %0 = attn.kv_read %c[%i] : tensor<2x4x16xf32> -> tensor<1x1x?x16xf32>
  return
}
