// attn.sdpa -> attn.query_key + attn.weights_value (penzai's two halves).
// RUN: attnc-opt %s -attn-decompose-attention | FileCheck %s

// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x?x64xf32>, %[[K:.*]]: tensor<1x2x?x64xf32>, %[[V:.*]]: tensor<1x2x?x32xf32>)
// CHECK-NEXT: %[[W:.*]] = attn.query_key %[[Q]], %[[K]] mask(causal) scale(1.250000e-01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x?xf32>
// CHECK-NEXT: %[[O:.*]] = attn.weights_value %[[W]], %[[V]] : tensor<1x8x?x?xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
// CHECK-NEXT: return %[[O]]
func.func @plain(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x8x?x32xf32> {
  %0 = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x32xf32> -> tensor<1x8x?x32xf32>
  return %0 : tensor<1x8x?x32xf32>
}

// Positions, the allowed mask and the softcap all move to query_key; static
// shapes give a static weights type.
// CHECK-LABEL: func.func @everything
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x5x16xf32>, %[[K:.*]]: tensor<2x4x7x16xf32>, %[[V:.*]]: tensor<2x4x7x16xf32>, %[[QP:.*]]: tensor<2x5xi32>, %[[KP:.*]]: tensor<2x7xi32>, %[[M:.*]]: tensor<2x5x7xi1>)
// CHECK-NEXT: %[[W:.*]] = attn.query_key %[[Q]], %[[K]] mask(sliding_window 3) positions(%[[QP]], %[[KP]] : tensor<2x5xi32>, tensor<2x7xi32>) allowed(%[[M]] : tensor<2x5x7xi1>) scale(2.500000e-01) softcap(3.000000e+01) : tensor<2x4x5x16xf32>, tensor<2x4x7x16xf32> -> tensor<2x4x5x7xf32>
// CHECK-NEXT: %[[O:.*]] = attn.weights_value %[[W]], %[[V]]
func.func @everything(%q: tensor<2x4x5x16xf32>, %k: tensor<2x4x7x16xf32>, %v: tensor<2x4x7x16xf32>,
                      %qp: tensor<2x5xi32>, %kp: tensor<2x7xi32>, %m: tensor<2x5x7xi1>) -> tensor<2x4x5x16xf32> {
  %0 = attn.sdpa %q, %k, %v mask(sliding_window 3) positions(%qp, %kp : tensor<2x5xi32>, tensor<2x7xi32>)
      allowed(%m : tensor<2x5x7xi1>) scale(0.25) softcap(30.0)
      : tensor<2x4x5x16xf32>, tensor<2x4x7x16xf32>, tensor<2x4x7x16xf32> -> tensor<2x4x5x16xf32>
  return %0 : tensor<2x4x5x16xf32>
}

// mixed_sdpa and repeat_kv are not this pass's business.
// CHECK-LABEL: func.func @untouched
// CHECK: attn.repeat_kv
// CHECK: attn.mixed_sdpa
func.func @untouched(%q: tensor<1x4x6x8xf32>, %k: tensor<1x2x6x8xf32>) -> (tensor<1x4x6x8xf32>, tensor<1x4x6x8xf32>) {
  %0 = attn.repeat_kv %k : tensor<1x2x6x8xf32> -> tensor<1x4x6x8xf32>
  %1 = attn.mixed_sdpa %q, %k, %k groups ["a": 6] patterns [["a"] -> ["a"] full] scale(1.0)
      : tensor<1x4x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x4x6x8xf32>
  return %0, %1 : tensor<1x4x6x8xf32>, tensor<1x4x6x8xf32>
}
