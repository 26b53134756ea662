// Folds that remove ops doing nothing.
// RUN: attnc-opt %s -canonicalize -split-input-file | FileCheck %s

// A RoPE that rotates no dims is the identity.
// CHECK-LABEL: func.func @rope_fraction_zero
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x?x64xf32>
// CHECK-NOT: attn.rope
// CHECK: return %[[X]]
func.func @rope_fraction_zero(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) -> tensor<1x8x?x64xf32> {
  %0 = attn.rope split_half %x, %p fraction(0.0) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return %0 : tensor<1x8x?x64xf32>
}

// CHECK-LABEL: func.func @rope_kept
// CHECK: attn.rope interleaved
func.func @rope_kept(%x: tensor<1x8x?x64xf32>, %p: tensor<1x?xi32>) -> tensor<1x8x?x64xf32> {
  %0 = attn.rope interleaved %x, %p fraction(0.5) : tensor<1x8x?x64xf32>, tensor<1x?xi32>
  return %0 : tensor<1x8x?x64xf32>
}

// -----

// An identity norm slot disappears; real norms stay.
// CHECK-LABEL: func.func @identity_norm
// CHECK-SAME: (%[[X:.*]]: tensor<1x?x64xf32>, %[[G:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[N:.*]] = attn.norm rms %[[X]], %[[G]]
// CHECK-NEXT: return %[[N]]
func.func @identity_norm(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) -> tensor<1x?x64xf32> {
  %0 = attn.norm identity %x : tensor<1x?x64xf32>
  %1 = attn.norm rms %0, %g : tensor<1x?x64xf32>, tensor<64xf32>
  %2 = attn.norm identity %1 : tensor<1x?x64xf32>
  return %2 : tensor<1x?x64xf32>
}

// -----

// Adding a zero branch (or onto a zero residual) is a no-op.
// CHECK-LABEL: func.func @residual_zero
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x8xf32>)
// CHECK-NOT: attn.residual_add
// CHECK: return %[[X]], %[[X]]
func.func @residual_zero(%x: tensor<1x4x8xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x8xf32>) {
  %z = arith.constant dense<0.0> : tensor<1x4x8xf32>
  %0 = attn.residual_add %x, %z : tensor<1x4x8xf32>
  %1 = attn.residual_add %z, %x : tensor<1x4x8xf32>
  return %0, %1 : tensor<1x4x8xf32>, tensor<1x4x8xf32>
}

// CHECK-LABEL: func.func @residual_nonzero
// CHECK: attn.residual_add
func.func @residual_nonzero(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %z = arith.constant dense<1.0> : tensor<1x4x8xf32>
  %0 = attn.residual_add %x, %z : tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

// split_heads and merge_heads cancel.
// CHECK-LABEL: func.func @heads_roundtrip
// CHECK-SAME: (%[[X:.*]]: tensor<1x?x64xf32>, %[[H:.*]]: tensor<1x4x?x16xf32>)
// CHECK-NOT: attn.split_heads
// CHECK-NOT: attn.merge_heads
// CHECK: return %[[X]], %[[H]]
func.func @heads_roundtrip(%x: tensor<1x?x64xf32>, %h: tensor<1x4x?x16xf32>) -> (tensor<1x?x64xf32>, tensor<1x4x?x16xf32>) {
  %0 = attn.split_heads %x : tensor<1x?x64xf32> -> tensor<1x4x?x16xf32>
  %1 = attn.merge_heads %0 : tensor<1x4x?x16xf32> -> tensor<1x?x64xf32>
  %2 = attn.merge_heads %h : tensor<1x4x?x16xf32> -> tensor<1x?x64xf32>
  %3 = attn.split_heads %2 : tensor<1x?x64xf32> -> tensor<1x4x?x16xf32>
  return %1, %3 : tensor<1x?x64xf32>, tensor<1x4x?x16xf32>
}

// Different head counts do not cancel.
// CHECK-LABEL: func.func @heads_regroup
// CHECK: attn.merge_heads
// CHECK: attn.split_heads
func.func @heads_regroup(%h: tensor<1x4x?x16xf32>) -> tensor<1x8x?x8xf32> {
  %0 = attn.merge_heads %h : tensor<1x4x?x16xf32> -> tensor<1x?x64xf32>
  %1 = attn.split_heads %0 : tensor<1x?x64xf32> -> tensor<1x8x?x8xf32>
  return %1 : tensor<1x8x?x8xf32>
}

// -----

// repeat_kv with as many query as kv heads is the identity.
// CHECK-LABEL: func.func @repeat_kv_mha
// CHECK-SAME: (%[[K:.*]]: tensor<1x4x?x16xf32>)
// CHECK-NEXT: return %[[K]]
func.func @repeat_kv_mha(%k: tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32> {
  %0 = attn.repeat_kv %k : tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
  return %0 : tensor<1x4x?x16xf32>
}

// -----

// Reading every slot of a cache is the cache.
// CHECK-LABEL: func.func @kv_read_all
// CHECK-SAME: (%[[C:.*]]: tensor<1x2x8x16xf32>)
// CHECK-NEXT: return %[[C]]
func.func @kv_read_all(%c: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %n = arith.constant 8 : index
  %0 = attn.kv_read %c[%n] : tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}

// CHECK-LABEL: func.func @kv_read_prefix
// CHECK: attn.kv_read
func.func @kv_read_prefix(%c: tensor<1x2x8x16xf32>) -> tensor<1x2x4x16xf32> {
  %n = arith.constant 4 : index
  %0 = attn.kv_read %c[%n] : tensor<1x2x8x16xf32> -> tensor<1x2x4x16xf32>
  return %0 : tensor<1x2x4x16xf32>
}

// -----

// Unused attn ops are pure and go away.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: attn.
func.func @dead(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>) {
  %0 = attn.sdpa %q, %k, %k mask(causal) scale(0.125) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
  return
}
