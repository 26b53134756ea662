// Round trip of every attn op and attribute: custom form -> custom form, and
// through the generic form.
// RUN: attnc-opt %s | attnc-opt | FileCheck %s
// RUN: attnc-opt %s --mlir-print-op-generic | attnc-opt | FileCheck %s

// CHECK-LABEL: func.func @embeddings
func.func @embeddings(%ids: tensor<2x?xi32>, %table: tensor<100x64xf32>,
                      %img: tensor<2x32x48x3xf32>, %pw: tensor<64x3x16x16xf32>,
                      %pb: tensor<64xf32>, %pos: tensor<2x?xi64>,
                      %pos1: tensor<?xi32>, %ptab: tensor<512x64xf32>)
    -> (tensor<2x?x64xf32>, tensor<2x6x64xf32>, tensor<2x?x64xf32>, tensor<2x?x64xf32>) {
  // CHECK: attn.embed %{{.*}}, %{{.*}} scale(8.000000e+00) : tensor<2x?xi32>, tensor<100x64xf32> -> tensor<2x?x64xf32>
  %0 = attn.embed %ids, %table scale(8.0) : tensor<2x?xi32>, tensor<100x64xf32> -> tensor<2x?x64xf32>
  // CHECK: attn.embed %{{.*}}, %{{.*}} : tensor<2x?xi32>
  %1 = attn.embed %ids, %table : tensor<2x?xi32>, tensor<100x64xf32> -> tensor<2x?x64xf32>
  // CHECK: attn.patch_embed %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x32x48x3xf32>, tensor<64x3x16x16xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %2 = attn.patch_embed %img, %pw, %pb : tensor<2x32x48x3xf32>, tensor<64x3x16x16xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  // CHECK: attn.patch_embed %{{.*}}, %{{.*}} : tensor<2x32x48x3xf32>, tensor<64x3x16x16xf32> -> tensor<2x6x64xf32>
  %3 = attn.patch_embed %img, %pw : tensor<2x32x48x3xf32>, tensor<64x3x16x16xf32> -> tensor<2x6x64xf32>
  // CHECK: attn.sinusoidal_add %{{.*}}, %{{.*}} : tensor<2x?x64xf32>, tensor<2x?xi64>
  %4 = attn.sinusoidal_add %0, %pos : tensor<2x?x64xf32>, tensor<2x?xi64>
  // CHECK: attn.sinusoidal_add %{{.*}}, %{{.*}} base(5.000000e+02) : tensor<2x?x64xf32>, tensor<?xi32>
  %5 = attn.sinusoidal_add %4, %pos1 base(500.0) : tensor<2x?x64xf32>, tensor<?xi32>
  // CHECK: attn.learned_position_add %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x64xf32>, tensor<512x64xf32>, tensor<2x?xi64>
  %6 = attn.learned_position_add %1, %ptab, %pos : tensor<2x?x64xf32>, tensor<512x64xf32>, tensor<2x?xi64>
  return %0, %2, %5, %6 : tensor<2x?x64xf32>, tensor<2x6x64xf32>, tensor<2x?x64xf32>, tensor<2x?x64xf32>
}

// CHECK-LABEL: func.func @rope
func.func @rope(%q: tensor<1x8x?x64xf32>, %pos: tensor<1x?xi32>, %pos1: tensor<?xi64>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) {
  // CHECK: attn.rope split_half %{{.*}}, %{{.*}} : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  %0 = attn.rope split_half %q, %pos : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  // CHECK: attn.rope interleaved %{{.*}}, %{{.*}} base(1.000000e+06) fraction(2.500000e-01) scale_factor(8.000000e+00) : tensor<1x8x?x64xf32>, tensor<?xi64>
  %1 = attn.rope interleaved %q, %pos1 base(1.0e6) fraction(0.25) scale_factor(8.0) : tensor<1x8x?x64xf32>, tensor<?xi64>
  // CHECK: attn.rope split_half %{{.*}}, %{{.*}} fraction(0.000000e+00)
  %2 = attn.rope split_half %q, %pos fraction(0.0) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return %0, %1, %2 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>
}

// CHECK-LABEL: func.func @layers
func.func @layers(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>,
                  %w: tensor<96x64xf32>, %wb: tensor<96xf32>, %qh: tensor<1x4x?x16xf32>,
                  %g16: tensor<16xf32>) -> (tensor<1x?x64xf32>, tensor<1x?x96xf32>, tensor<1x4x?x16xf32>) {
  // CHECK: attn.norm rms %{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<64xf32>
  %0 = attn.norm rms %x, %g : tensor<1x?x64xf32>, tensor<64xf32>
  // CHECK: attn.norm layer %{{.*}}, %{{.*}}, %{{.*}} eps(1.000000e-05) : tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = attn.norm layer %0, %g, %b eps(1.0e-5) : tensor<1x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  // CHECK: attn.norm rms %{{.*}}, %{{.*}} zero_centered : tensor<1x?x64xf32>, tensor<64xf32>
  %2 = attn.norm rms %1, %g zero_centered : tensor<1x?x64xf32>, tensor<64xf32>
  // CHECK: attn.norm identity %{{.*}} : tensor<1x?x64xf32>
  %3 = attn.norm identity %2 : tensor<1x?x64xf32>
  // CHECK: attn.norm rms %{{.*}}, %{{.*}} : tensor<1x4x?x16xf32>, tensor<16xf32>
  %qn = attn.norm rms %qh, %g16 : tensor<1x4x?x16xf32>, tensor<16xf32>
  // CHECK: attn.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<96x64xf32>, tensor<96xf32> -> tensor<1x?x96xf32>
  %4 = attn.linear %3, %w, %wb : tensor<1x?x64xf32>, tensor<96x64xf32>, tensor<96xf32> -> tensor<1x?x96xf32>
  // CHECK: attn.linear %{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<96x64xf32> -> tensor<1x?x96xf32>
  %5 = attn.linear %3, %w : tensor<1x?x64xf32>, tensor<96x64xf32> -> tensor<1x?x96xf32>
  // CHECK: attn.activation gelu %{{.*}} : tensor<1x?x96xf32>
  %6 = attn.activation gelu %5 : tensor<1x?x96xf32>
  // CHECK: attn.activation gelu_tanh
  %7 = attn.activation gelu_tanh %6 : tensor<1x?x96xf32>
  // CHECK: attn.activation relu
  %8 = attn.activation relu %7 : tensor<1x?x96xf32>
  // CHECK: attn.activation silu
  %9 = attn.activation silu %8 : tensor<1x?x96xf32>
  // CHECK: attn.activation tanh
  %10 = attn.activation tanh %9 : tensor<1x?x96xf32>
  // CHECK: attn.softcap %{{.*}} cap(3.000000e+01) : tensor<1x?x96xf32>
  %11 = attn.softcap %10 cap(30.0) : tensor<1x?x96xf32>
  // CHECK: attn.residual_add %{{.*}}, %{{.*}} : tensor<1x?x64xf32>
  %12 = attn.residual_add %x, %3 : tensor<1x?x64xf32>
  return %12, %11, %qn : tensor<1x?x64xf32>, tensor<1x?x96xf32>, tensor<1x4x?x16xf32>
}

// CHECK-LABEL: func.func @heads
func.func @heads(%x: tensor<1x?x64xf32>, %k: tensor<1x2x?x16xf32>)
    -> (tensor<1x?x64xf32>, tensor<1x4x?x16xf32>) {
  // CHECK: attn.split_heads %{{.*}} : tensor<1x?x64xf32> -> tensor<1x4x?x16xf32>
  %0 = attn.split_heads %x : tensor<1x?x64xf32> -> tensor<1x4x?x16xf32>
  // CHECK: attn.merge_heads %{{.*}} : tensor<1x4x?x16xf32> -> tensor<1x?x64xf32>
  %1 = attn.merge_heads %0 : tensor<1x4x?x16xf32> -> tensor<1x?x64xf32>
  // CHECK: attn.repeat_kv %{{.*}} : tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  %2 = attn.repeat_kv %k : tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  return %1, %2 : tensor<1x?x64xf32>, tensor<1x4x?x16xf32>
}

// CHECK-LABEL: func.func @mlps
func.func @mlps(%x: tensor<1x?x64xf32>, %up: tensor<256x64xf32>, %down: tensor<64x256xf32>,
                %bu: tensor<256xf32>, %bd: tensor<64xf32>) -> (tensor<1x?x64xf32>, tensor<1x?x64xf32>) {
  // CHECK: attn.mlp gelu %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}}) : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<64xf32> -> tensor<1x?x64xf32>
  %0 = attn.mlp gelu %x, %up, %down bias(%bu, %bd) : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<64xf32> -> tensor<1x?x64xf32>
  // CHECK: attn.mlp relu %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  %1 = attn.mlp relu %0, %up, %down : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  // CHECK: attn.gated_mlp silu %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  %2 = attn.gated_mlp silu %1, %up, %up, %down : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<1x?x64xf32>
  // CHECK: attn.gated_mlp gelu_tanh %{{.*}} bias(%{{.*}}, %{{.*}}, %{{.*}}) :
  %3 = attn.gated_mlp gelu_tanh %2, %up, %up, %down bias(%bu, %bu, %bd) : tensor<1x?x64xf32>, tensor<256x64xf32>, tensor<256x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<256xf32>, tensor<64xf32> -> tensor<1x?x64xf32>
  return %0, %3 : tensor<1x?x64xf32>, tensor<1x?x64xf32>
}

// CHECK-LABEL: func.func @outputs
func.func @outputs(%h: tensor<2x?x64xf32>, %table: tensor<100x64xf32>)
    -> (tensor<2x?x100xf32>, tensor<2x64xf32>, tensor<2x64xf32>) {
  // CHECK: attn.unembed %{{.*}}, %{{.*}} : tensor<2x?x64xf32>, tensor<100x64xf32> -> tensor<2x?x100xf32>
  %0 = attn.unembed %h, %table : tensor<2x?x64xf32>, tensor<100x64xf32> -> tensor<2x?x100xf32>
  // CHECK: attn.pool cls %{{.*}} : tensor<2x?x64xf32> -> tensor<2x64xf32>
  %1 = attn.pool cls %h : tensor<2x?x64xf32> -> tensor<2x64xf32>
  // CHECK: attn.pool mean %{{.*}} : tensor<2x?x64xf32> -> tensor<2x64xf32>
  %2 = attn.pool mean %h : tensor<2x?x64xf32> -> tensor<2x64xf32>
  return %0, %1, %2 : tensor<2x?x100xf32>, tensor<2x64xf32>, tensor<2x64xf32>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x32xf32>,
                     %qp: tensor<1x?xi32>, %kp: tensor<1x?xi32>, %m: tensor<1x?x?xi1>)
    -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>) {
  // CHECK: attn.query_key %{{.*}}, %{{.*}} mask(causal) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  %w = attn.query_key %q, %k mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  // CHECK: attn.query_key %{{.*}}, %{{.*}} mask(sliding_window 4096) positions(%{{.*}}, %{{.*}} : tensor<1x?xi32>, tensor<1x?xi32>) allowed(%{{.*}} : tensor<1x?x?xi1>) scale(1.250000e-01) softcap(5.000000e+01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  %w2 = attn.query_key %q, %k mask(sliding_window 4096) positions(%qp, %kp : tensor<1x?xi32>, tensor<1x?xi32>) allowed(%m : tensor<1x?x?xi1>) scale(0.125) softcap(50.0) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  // CHECK: attn.query_key %{{.*}}, %{{.*}} mask(full) allowed(%{{.*}} : tensor<1x?x?xi1>) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  %w3 = attn.query_key %q, %k mask(full) allowed(%m : tensor<1x?x?xi1>) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  // CHECK: attn.query_key %{{.*}}, %{{.*}} mask(local 128) positions(%{{.*}}, %{{.*}} : tensor<1x?xi32>, tensor<1x?xi32>) unmasked_prefix(%{{.*}}) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  %c4 = arith.constant 4 : index
  %w4 = attn.query_key %q, %k mask(local 128) positions(%qp, %kp : tensor<1x?xi32>, tensor<1x?xi32>) unmasked_prefix(%c4) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  // CHECK: attn.weights_value %{{.*}}, %{{.*}} : tensor<1x8x?x?xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  %o = attn.weights_value %w, %v : tensor<1x8x?x?xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask(full) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  %o2 = attn.sdpa %q, %k, %v mask(full) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask(causal) positions(%{{.*}}, %{{.*}} : tensor<1x?xi32>, tensor<1x?xi32>) allowed(%{{.*}} : tensor<1x?x?xi1>) scale(1.250000e-01) softcap(3.000000e+01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  %o3 = attn.sdpa %q, %k, %v mask(causal) positions(%qp, %kp : tensor<1x?xi32>, tensor<1x?xi32>) allowed(%m : tensor<1x?x?xi1>) scale(0.125) softcap(30.0) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  // CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask(full) alibi(%{{.*}}, %{{.*}} : tensor<1x?xi32>, tensor<1x?xi32>) slopes [5.000000e-01, 2.500000e-01, 1.250000e-01, 6.250000e-02, 3.125000e-02, 1.562500e-02, 7.812500e-03, 3.906250e-03] scale(1.250000e-01) :
  %o4 = attn.sdpa %q, %k, %v mask(full) alibi(%qp, %kp : tensor<1x?xi32>, tensor<1x?xi32>) slopes [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625] scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  return %o, %o2, %o4 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
}

// A KV cache narrower than the model: bf16 keys/values, f32 query.
// CHECK-LABEL: func.func @narrow_kv
// CHECK: attn.query_key %{{.*}}, %{{.*}} mask(causal) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xbf16> -> tensor<1x8x?x?xf32>
// CHECK: attn.weights_value %{{.*}}, %{{.*}} : tensor<1x8x?x?xf32>, tensor<1x2x?x32xbf16> -> tensor<1x8x?x32xf32>
// CHECK: attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask(causal) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xbf16>, tensor<1x2x?x32xf16> -> tensor<1x8x?x32xf32>
func.func @narrow_kv(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x32xbf16>, %v16: tensor<1x2x?x32xf16>) -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>) {
  %w = attn.query_key %q, %k mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xbf16> -> tensor<1x8x?x?xf32>
  %o = attn.weights_value %w, %v : tensor<1x8x?x?xf32>, tensor<1x2x?x32xbf16> -> tensor<1x8x?x32xf32>
  %o2 = attn.sdpa %q, %k, %v16 mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xbf16>, tensor<1x2x?x32xf16> -> tensor<1x8x?x32xf32>
  return %o, %o2 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
}

// CHECK-LABEL: func.func @mixed
func.func @mixed(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>,
                 %pk: tensor<1x2x?x16xf32>, %pv: tensor<1x2x?x16xf32>)
    -> (tensor<1x4x?x16xf32>, tensor<1x4x10x16xf32>) {
  // CHECK: attn.mixed_sdpa %{{.*}}, %{{.*}}, %{{.*}} cached(%{{.*}}, %{{.*}}) groups ["past": cache, "anchors": 16, "queries": ?] patterns {{\[\[}}"anchors"] -> ["past", "anchors"] full, ["queries"] -> ["anchors", "queries"] causal] scale(2.500000e-01) softcap(5.000000e+01) : tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  %0 = attn.mixed_sdpa %q, %k, %v cached(%pk, %pv)
      groups ["past": cache, "anchors": 16, "queries": ?]
      patterns [["anchors"] -> ["past", "anchors"] full,
                ["queries"] -> ["anchors", "queries"] causal]
      scale(0.25) softcap(50.0)
      : tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>,
        tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  %qs = tensor.extract_slice %q[0, 0, 0, 0] [1, 4, 10, 16] [1, 1, 1, 1] : tensor<1x4x?x16xf32> to tensor<1x4x10x16xf32>
  %ks = tensor.extract_slice %k[0, 0, 0, 0] [1, 2, 10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x10x16xf32>
  %vs = tensor.extract_slice %v[0, 0, 0, 0] [1, 2, 10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x10x16xf32>
  // CHECK: attn.mixed_sdpa {{.*}} groups ["surface_anchors": 4, "surface_queries": 2, "volume_anchors": 3, "volume_queries": 1] patterns {{\[\[}}"surface_anchors", "surface_queries"] -> ["surface_anchors"] full, ["volume_anchors", "volume_queries"] -> ["volume_anchors"] sliding_window 2] scale(2.500000e-01) :
  %1 = attn.mixed_sdpa %qs, %ks, %vs
      groups ["surface_anchors": 4, "surface_queries": 2, "volume_anchors": 3, "volume_queries": 1]
      patterns [["surface_anchors", "surface_queries"] -> ["surface_anchors"] full,
                ["volume_anchors", "volume_queries"] -> ["volume_anchors"] sliding_window 2]
      scale(0.25)
      : tensor<1x4x10x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x10x16xf32> -> tensor<1x4x10x16xf32>
  // CHECK: attn.mixed_sdpa {{.*}} groups ["a": 4, "b": 6] patterns {{\[\[}}"a", "b"] -> ["a", "b"] causal] alibi(%{{.*}} : tensor<10xi32>) slopes [2.500000e-01, 6.250000e-02, 1.562500e-02, 3.906250e-03] scale(2.500000e-01) :
  %pos = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]> : tensor<10xi32>
  %2 = attn.mixed_sdpa %qs, %ks, %vs groups ["a": 4, "b": 6] patterns [["a", "b"] -> ["a", "b"] causal]
      alibi(%pos : tensor<10xi32>) slopes [0.25, 0.0625, 0.015625, 0.00390625] scale(0.25)
      : tensor<1x4x10x16xf32>, tensor<1x2x10x16xf32>, tensor<1x2x10x16xf32> -> tensor<1x4x10x16xf32>
  return %0, %2 : tensor<1x4x?x16xf32>, tensor<1x4x10x16xf32>
}

// CHECK-LABEL: func.func @cache
func.func @cache(%cache: tensor<1x2x128x16xf32>, %new: tensor<1x2x?x16xf32>, %end: index)
    -> (tensor<1x2x128x16xf32>, tensor<1x2x?x16xf32>) {
  // CHECK: attn.kv_append %{{.*}} into %{{.*}}[%{{.*}}] : tensor<1x2x?x16xf32> into tensor<1x2x128x16xf32>
  %0 = attn.kv_append %new into %cache[%end] : tensor<1x2x?x16xf32> into tensor<1x2x128x16xf32>
  // CHECK: attn.kv_read %{{.*}}[%{{.*}}] : tensor<1x2x128x16xf32> -> tensor<1x2x?x16xf32>
  %1 = attn.kv_read %0[%end] : tensor<1x2x128x16xf32> -> tensor<1x2x?x16xf32>
  return %0, %1 : tensor<1x2x128x16xf32>, tensor<1x2x?x16xf32>
}

// Element types other than f32 are accepted.
// CHECK-LABEL: func.func @bf16
func.func @bf16(%x: tensor<1x?x64xbf16>, %g: tensor<64xbf16>) -> tensor<1x?x64xbf16> {
  // CHECK: attn.norm rms %{{.*}}, %{{.*}} : tensor<1x?x64xbf16>, tensor<64xbf16>
  %0 = attn.norm rms %x, %g : tensor<1x?x64xbf16>, tensor<64xbf16>
  return %0 : tensor<1x?x64xbf16>
}

// The attributes also stand alone.
// CHECK-LABEL: func.func @attributes
// CHECK-SAME: attn.groups = [#attn.token_group<"text": ?>, #attn.token_group<"image": 256>, #attn.token_group<"past": cache>]
// CHECK-SAME: attn.masks = [#attn.mask<full>, #attn.mask<causal>, #attn.mask<sliding_window 512>, #attn.mask<local 64>]
// CHECK-SAME: attn.patterns = [#attn.pattern<["text", "image"] -> ["past", "image", "text"] causal>]
func.func @attributes() attributes {
    attn.groups = [#attn.token_group<"text": ?>, #attn.token_group<"image": 256>, #attn.token_group<"past": cache>],
    attn.masks = [#attn.mask<full>, #attn.mask<causal>, #attn.mask<sliding_window 512>, #attn.mask<local 64>],
    attn.patterns = [#attn.pattern<["text", "image"] -> ["past", "image", "text"] causal>]} {
  return
}
