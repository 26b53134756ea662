// attn -> linalg/tensor/arith/math on tensors. The structure of the lowering
// is checked here; the numbers are checked by attn-to-linalg-numerics.test.
// RUN: attnc-opt %s -convert-attn-to-linalg -canonicalize -cse -split-input-file | FileCheck %s
// Nothing of attn is left, for any op of ops.mlir, and the result verifies:
// RUN: attnc-opt %S/../dialect/ops.mlir -convert-attn-to-linalg | attnc-opt | FileCheck %s --check-prefix=NOATTN
// NOATTN-NOT: attn.{{[a-z_]+}} %
// NOATTN-LABEL: func.func @attributes

// The weight is [out, in] (PyTorch): a matmul with transposed B.
// CHECK-DAG: #[[MA:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[MB:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MC:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x64xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x?x64xf32> into tensor<?x64xf32>
// CHECK: %[[ACC:.*]] = linalg.fill
// CHECK: %[[MM:.*]] = linalg.matmul indexing_maps = [#[[MA]], #[[MB]], #[[MC]]] ins(%[[X2]], %[[W]] : tensor<?x64xf32>, tensor<32x64xf32>) outs(%[[ACC]] : tensor<?x32xf32>)
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%[[MM]], %[[B]] : tensor<?x32xf32>, tensor<32xf32>)
// CHECK: arith.addf
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[BIAS]] {{\[}}[0, 1], [2]] output_shape [2, %{{.*}}, 32]
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<2x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<2x?x32xf32> {
  %0 = attn.linear %x, %w, %b : tensor<2x?x64xf32>, tensor<32x64xf32>, tensor<32xf32> -> tensor<2x?x32xf32>
  return %0 : tensor<2x?x32xf32>
}

// -----

// Grouped-query attention: the 8 query heads become [kv head 2, group 4];
// the keys are read through the kv head index, never copied.
// CHECK-DAG: #[[QMAP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>
// CHECK-DAG: #[[KMAP:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
// CHECK-LABEL: func.func @query_key_gqa_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x?x64xf32>, %[[K:.*]]: tensor<1x2x?x64xf32>)
// CHECK-DAG: %[[FILL:.*]] = arith.constant -2.38197633E+38 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[Q5:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 4, %{{.*}}, 64]
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[QMAP]], #[[KMAP]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[Q5]], %[[K]] :
// CHECK: linalg.generic {{.*}} ins(%[[S]] :
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK: %[[I:.*]] = linalg.index 3
// CHECK: %[[J:.*]] = linalg.index 4
// CHECK: arith.cmpi sle
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[FILL]]
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x4x?x?xf32> into tensor<1x8x?x?xf32>
func.func @query_key_gqa_causal(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>) -> tensor<1x8x?x?xf32> {
  %0 = attn.query_key %q, %k mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
  return %0 : tensor<1x8x?x?xf32>
}

// -----

// Sliding window with positions: a negative key position is never attended,
// the window compares q - k with W; the softcap comes before the mask.
// CHECK-LABEL: func.func @query_key_window
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x2x4x6xf32>, tensor<1x4xi32>, tensor<1x6xi32>)
// CHECK: math.tanh
// CHECK: arith.extsi
// CHECK: arith.extsi
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi sle
// CHECK: arith.subi
// CHECK: arith.cmpi slt
// CHECK: arith.select
func.func @query_key_window(%q: tensor<1x4x4x16xf32>, %k: tensor<1x2x6x16xf32>, %qp: tensor<1x4xi32>, %kp: tensor<1x6xi32>) -> tensor<1x4x4x6xf32> {
  %0 = attn.query_key %q, %k mask(sliding_window 3) positions(%qp, %kp : tensor<1x4xi32>, tensor<1x6xi32>) scale(0.25) softcap(50.0)
      : tensor<1x4x4x16xf32>, tensor<1x2x6x16xf32> -> tensor<1x4x4x6xf32>
  return %0 : tensor<1x4x4x6xf32>
}

// -----

// A local window is a band |i - j| < W; keys of the unmasked prefix pass
// whatever the mask says.
// CHECK-LABEL: func.func @query_key_local_prefix
// CHECK-SAME: %[[N:[a-z0-9]+]]: index)
// CHECK: linalg.generic
// CHECK: %[[J:.*]] = linalg.index 4
// CHECK: arith.subi
// CHECK: arith.subi
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi slt
// CHECK: arith.cmpi ult, %[[J]], %[[N]]
// CHECK: arith.ori
// CHECK: arith.select
func.func @query_key_local_prefix(%q: tensor<1x4x4x16xf32>, %k: tensor<1x2x6x16xf32>, %n: index) -> tensor<1x4x4x6xf32> {
  %0 = attn.query_key %q, %k mask(local 2) unmasked_prefix(%n) scale(0.25)
      : tensor<1x4x4x16xf32>, tensor<1x2x6x16xf32> -> tensor<1x4x4x6xf32>
  return %0 : tensor<1x4x4x6xf32>
}

// -----

// sdpa and mixed_sdpa go through their decomposition / expansion.
// CHECK-LABEL: func.func @coarse
// CHECK-NOT: attn.
// CHECK: tensor.extract_slice
// CHECK: linalg.generic
// CHECK: tensor.concat
func.func @coarse(%q: tensor<1x2x6x8xf32>, %k: tensor<1x2x6x8xf32>) -> tensor<1x2x6x8xf32> {
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 2, "b": 4] patterns [["a"] -> ["a"] full, ["b"] -> ["a", "b"] causal] scale(0.5)
      : tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x6x8xf32>
  return %0 : tensor<1x2x6x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm_zero_centred
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: math.rsqrt
// CHECK: arith.addf %{{.*}}, %cst
func.func @rms_norm_zero_centred(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) -> tensor<1x?x64xf32> {
  %0 = attn.norm rms %x, %g zero_centered : tensor<1x?x64xf32>, tensor<64xf32>
  return %0 : tensor<1x?x64xf32>
}

// -----

// RoPE: a cos/sin table per position (broadcast over heads), the rotated
// pairs written back into x so the unrotated dims pass through.
// CHECK-LABEL: func.func @rope_interleaved_partial
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x?x16xf32>, %[[P:.*]]: tensor<?xi32>)
// CHECK: %[[T:.*]]:2 = linalg.generic {{.*}} ins(%[[P]] : tensor<?xi32>) outs(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK: math.cos
// CHECK: math.sin
// CHECK: %[[E:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0] [1, 4, %{{.*}}, 4] [1, 1, 1, 2]
// CHECK: %[[O:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 1] [1, 4, %{{.*}}, 4] [1, 1, 1, 2]
// CHECK: %[[Y1:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[O]], %[[T]]#0, %[[T]]#1
// CHECK: arith.subf
// CHECK: %[[Y2:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[O]], %[[T]]#0, %[[T]]#1
// CHECK: arith.addf
// CHECK: %[[R1:.*]] = tensor.insert_slice %[[Y1]] into %[[X]][0, 0, 0, 0] [1, 4, %{{.*}}, 4] [1, 1, 1, 2]
// CHECK: %[[R2:.*]] = tensor.insert_slice %[[Y2]] into %[[R1]][0, 0, 0, 1] [1, 4, %{{.*}}, 4] [1, 1, 1, 2]
// CHECK: return %[[R2]]
func.func @rope_interleaved_partial(%x: tensor<1x4x?x16xf32>, %p: tensor<?xi32>) -> tensor<1x4x?x16xf32> {
  %0 = attn.rope interleaved %x, %p fraction(0.5) : tensor<1x4x?x16xf32>, tensor<?xi32>
  return %0 : tensor<1x4x?x16xf32>
}

// -----

// A stride-16 convolution with PyTorch's [D, C, P, P] filter, as a generic.
// CHECK-DAG: #[[IMG:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 * 16 + d4, d2 * 16 + d5, d6)>
// CHECK-DAG: #[[FLT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d3, d6, d4, d5)>
// CHECK-LABEL: func.func @patch_embed
// CHECK: linalg.generic {indexing_maps = [#[[IMG]], #[[FLT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<2x2x3x64xf32> into tensor<2x6x64xf32>
func.func @patch_embed(%img: tensor<2x32x48x3xf32>, %w: tensor<64x3x16x16xf32>) -> tensor<2x6x64xf32> {
  %0 = attn.patch_embed %img, %w : tensor<2x32x48x3xf32>, tensor<64x3x16x16xf32> -> tensor<2x6x64xf32>
  return %0 : tensor<2x6x64xf32>
}

// -----

// CHECK-LABEL: func.func @kv_cache
// CHECK-SAME: (%[[C:.*]]: tensor<1x2x128x16xf32>, %[[N:.*]]: tensor<1x2x?x16xf32>, %[[E:.*]]: index)
// CHECK: %[[C2:.*]] = tensor.insert_slice %[[N]] into %[[C]][0, 0, %[[E]], 0] [1, 2, %{{.*}}, 16] [1, 1, 1, 1]
// CHECK: %[[R:.*]] = tensor.extract_slice %[[C2]][0, 0, 0, 0] [1, 2, %[[E]], 16] [1, 1, 1, 1]
// CHECK: return %[[C2]], %[[R]]
func.func @kv_cache(%cache: tensor<1x2x128x16xf32>, %new: tensor<1x2x?x16xf32>, %end: index) -> (tensor<1x2x128x16xf32>, tensor<1x2x?x16xf32>) {
  %0 = attn.kv_append %new into %cache[%end] : tensor<1x2x?x16xf32> into tensor<1x2x128x16xf32>
  %1 = attn.kv_read %0[%end] : tensor<1x2x128x16xf32> -> tensor<1x2x?x16xf32>
  return %0, %1 : tensor<1x2x128x16xf32>, tensor<1x2x?x16xf32>
}

// -----

// CHECK-LABEL: func.func @heads
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [1, %{{.*}}, 4, 16]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1, 3]
// CHECK: linalg.broadcast {{.*}} dimensions = [2]
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x2x?x16xf32> into tensor<1x4x?x16xf32>
func.func @heads(%x: tensor<1x?x64xf32>, %k: tensor<1x2x?x16xf32>) -> (tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) {
  %0 = attn.split_heads %x : tensor<1x?x64xf32> -> tensor<1x4x?x16xf32>
  %1 = attn.repeat_kv %k : tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  return %0, %1 : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>
}

// -----

// bf16 attention: scores and softmax in f32 (mixed-precision.mlir checks
// the details), the weights between the two contractions in bf16.
// CHECK-LABEL: func.func @bf16_sdpa
// CHECK: arith.constant -2.{{[0-9]+}}E+38 : f32
// CHECK: -> tensor<1x2x1x4x4xbf16>
func.func @bf16_sdpa(%q: tensor<1x2x4x8xbf16>) -> tensor<1x2x4x8xbf16> {
  %0 = attn.sdpa %q, %q, %q mask(causal) scale(0.5) : tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16> -> tensor<1x2x4x8xbf16>
  return %0 : tensor<1x2x4x8xbf16>
}

// f16 cannot hold -2.38e38, but the logits are f32: no -65504 clamp.
// CHECK-LABEL: func.func @f16_sdpa
// CHECK-NOT: e+04 : f16
// CHECK: arith.constant -2.{{[0-9]+}}E+38 : f32
func.func @f16_sdpa(%q: tensor<1x2x4x8xf16>) -> tensor<1x2x4x8xf16> {
  %0 = attn.sdpa %q, %q, %q mask(causal) scale(0.5) : tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16> -> tensor<1x2x4x8xf16>
  return %0 : tensor<1x2x4x8xf16>
}
