// attn.mixed_sdpa -> one attn.sdpa per pattern on slices (noether's
// MixedAttention): no dense block mask, positions only where a mask needs
// them, cache keys as an unmasked prefix.
// RUN: attnc-opt %s -attn-expand-patterns -cse -split-input-file | FileCheck %s

// One group, one pattern: the whole sequence, indices are the positions.
// CHECK-LABEL: func.func @single_group
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x?x64xf32>, %[[K:.*]]: tensor<1x2x?x64xf32>, %[[V:.*]]: tensor<1x2x?x64xf32>)
// CHECK-NOT: tensor.extract_slice
// CHECK-NEXT: %[[O:.*]] = attn.sdpa %[[Q]], %[[K]], %[[V]] mask(causal) scale(1.250000e-01) softcap(5.000000e+01) : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
// CHECK-NEXT: return %[[O]]
func.func @single_group(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x8x?x64xf32> {
  %0 = attn.mixed_sdpa %q, %k, %v groups ["text": ?] patterns [["text"] -> ["text"] causal] scale(0.125) softcap(50.0)
      : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
  return %0 : tensor<1x8x?x64xf32>
}

// -----

// noether's canonical self-anchor example: each branch's anchors and queries
// attend to that branch's anchors. Neighbouring query groups form one slice.
// CHECK-LABEL: func.func @self_anchor
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x10x16xf32>, %[[K:.*]]: tensor<2x4x10x16xf32>, %[[V:.*]]: tensor<2x4x10x16xf32>)
// CHECK-DAG: %[[QS:.*]] = tensor.extract_slice %[[Q]][0, 0, 0, 0] [2, 4, 6, 16] [1, 1, 1, 1]
// CHECK-DAG: %[[KS:.*]] = tensor.extract_slice %[[K]][0, 0, 0, 0] [2, 4, 4, 16] [1, 1, 1, 1]
// CHECK-DAG: %[[VS:.*]] = tensor.extract_slice %[[V]][0, 0, 0, 0] [2, 4, 4, 16] [1, 1, 1, 1]
// CHECK: %[[O1:.*]] = attn.sdpa %[[QS]], %[[KS]], %[[VS]] mask(full) scale(2.500000e-01) : tensor<2x4x6x16xf32>, tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32> -> tensor<2x4x6x16xf32>
// CHECK-DAG: %[[QV:.*]] = tensor.extract_slice %[[Q]][0, 0, 6, 0] [2, 4, 4, 16] [1, 1, 1, 1]
// CHECK-DAG: %[[KV:.*]] = tensor.extract_slice %[[K]][0, 0, 6, 0] [2, 4, 3, 16] [1, 1, 1, 1]
// CHECK-DAG: %[[VV:.*]] = tensor.extract_slice %[[V]][0, 0, 6, 0] [2, 4, 3, 16] [1, 1, 1, 1]
// CHECK: %[[O2:.*]] = attn.sdpa %[[QV]], %[[KV]], %[[VV]] mask(full) scale(2.500000e-01) : tensor<2x4x4x16xf32>, tensor<2x4x3x16xf32>, tensor<2x4x3x16xf32> -> tensor<2x4x4x16xf32>
// CHECK: %[[R:.*]] = tensor.concat dim(2) %[[O1]], %[[O2]] : (tensor<2x4x6x16xf32>, tensor<2x4x4x16xf32>) -> tensor<2x4x10x16xf32>
// CHECK: return %[[R]]
func.func @self_anchor(%q: tensor<2x4x10x16xf32>, %k: tensor<2x4x10x16xf32>, %v: tensor<2x4x10x16xf32>) -> tensor<2x4x10x16xf32> {
  %0 = attn.mixed_sdpa %q, %k, %v
      groups ["surface_anchors": 4, "surface_queries": 2, "volume_anchors": 3, "volume_queries": 1]
      patterns [["surface_anchors", "surface_queries"] -> ["surface_anchors"] full,
                ["volume_anchors", "volume_queries"] -> ["volume_anchors"] full]
      scale(0.25) : tensor<2x4x10x16xf32>, tensor<2x4x10x16xf32>, tensor<2x4x10x16xf32> -> tensor<2x4x10x16xf32>
  return %0 : tensor<2x4x10x16xf32>
}

// -----

// A cache group: its keys/values come from cached(...). It has no position
// and every query of the pattern sees it, whatever the mask: its keys come
// first and form the unmasked prefix; the input tokens' positions are their
// indices in the input sequence (cache keys get 0, which the prefix ignores).
// CHECK-LABEL: func.func @cache_group
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x?x16xf32>, %[[K:.*]]: tensor<1x2x?x16xf32>, %[[V:.*]]: tensor<1x2x?x16xf32>, %[[PK:.*]]: tensor<1x2x?x16xf32>, %[[PV:.*]]: tensor<1x2x?x16xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[Q]], %c2
// CHECK-DAG: %[[C:.*]] = tensor.dim %[[PK]], %c2
// CHECK-DAG: %[[KC:.*]] = tensor.concat dim(2) %[[PK]], %[[K]]
// CHECK-DAG: %[[VC:.*]] = tensor.concat dim(2) %[[PV]], %[[V]]
// CHECK: %[[QP:.*]] = tensor.generate %[[N]] {
// CHECK-NEXT: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[P:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK-NEXT: tensor.yield %[[P]]
// CHECK: %[[PP:.*]] = tensor.generate %[[C]] {
// CHECK-NEXT: ^bb0(%{{.*}}: index):
// CHECK-NEXT: tensor.yield %[[ZERO]]
// CHECK: %[[KP:.*]] = tensor.concat dim(0) %[[PP]], %[[QP]] : (tensor<?xi64>, tensor<?xi64>) -> tensor<?xi64>
// CHECK: %[[O:.*]] = attn.sdpa %[[Q]], %[[KC]], %[[VC]] mask(causal) positions(%[[QP]], %[[KP]] : tensor<?xi64>, tensor<?xi64>) unmasked_prefix(%[[C]]) scale(2.500000e-01)
// CHECK: return %[[O]]
func.func @cache_group(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>,
                       %pk: tensor<1x2x?x16xf32>, %pv: tensor<1x2x?x16xf32>) -> tensor<1x4x?x16xf32> {
  %0 = attn.mixed_sdpa %q, %k, %v cached(%pk, %pv) groups ["past": cache, "new": ?]
      patterns [["new"] -> ["past", "new"] causal] scale(0.25)
      : tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x4x?x16xf32>
  return %0 : tensor<1x4x?x16xf32>
}

// Cache keys move to the front even when the pattern lists them last; a
// full pattern needs neither positions nor a prefix.
// CHECK-LABEL: func.func @cache_last_full
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x6x8xf32>, %[[K:.*]]: tensor<1x2x6x8xf32>, %[[V:.*]]: tensor<1x2x6x8xf32>, %[[MK:.*]]: tensor<1x2x?x8xf32>, %[[MV:.*]]: tensor<1x2x?x8xf32>)
// CHECK: %[[KC:.*]] = tensor.concat dim(2) %[[MK]], %[[K]]
// CHECK: %[[VC:.*]] = tensor.concat dim(2) %[[MV]], %[[V]]
// CHECK: attn.sdpa %[[Q]], %[[KC]], %[[VC]] mask(full) scale(5.000000e-01) :
func.func @cache_last_full(%q: tensor<1x2x6x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x8xf32>,
                           %mk: tensor<1x2x?x8xf32>, %mv: tensor<1x2x?x8xf32>) -> tensor<1x2x6x8xf32> {
  %0 = attn.mixed_sdpa %q, %k, %v cached(%mk, %mv) groups ["text": 6, "memory": cache]
      patterns [["text"] -> ["text", "memory"] full] scale(0.5)
      : tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x6x8xf32>
  return %0 : tensor<1x2x6x8xf32>
}

// -----

// Patterns list groups in any order; the per-pattern output is cut back and
// the pieces are reassembled in sequence order. A dynamic group takes what
// the fixed-size groups leave.
// CHECK-LABEL: func.func @out_of_order
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x?x8xf32>, %[[K:.*]]: tensor<1x2x?x8xf32>, %[[V:.*]]: tensor<1x2x?x8xf32>)
// CHECK: %[[S:.*]] = tensor.dim %[[Q]], %c2
// CHECK: %[[NC:.*]] = arith.subi %[[S]], %c3
// CHECK-DAG: %[[QA:.*]] = tensor.extract_slice %[[Q]][0, 0, 0, 0] [1, 2, 2, 8]
// CHECK-DAG: %[[QC:.*]] = tensor.extract_slice %[[Q]][0, 0, 3, 0] [1, 2, %[[NC]], 8]
// CHECK: %[[QCAT:.*]] = tensor.concat dim(2) %[[QA]], %[[QC]]
// CHECK: %[[O1:.*]] = attn.sdpa %[[QCAT]], %{{.*}}, %{{.*}} mask(sliding_window 2) positions(%{{.*}}, %{{.*}} : tensor<?xi64>, tensor<?xi64>) scale(5.000000e-01)
// CHECK-DAG: %[[PA:.*]] = tensor.extract_slice %[[O1]][0, 0, 0, 0] [1, 2, 2, 8]
// CHECK-DAG: %[[PC:.*]] = tensor.extract_slice %[[O1]][0, 0, 2, 0] [1, 2, %[[NC]], 8]
// CHECK: %[[O2:.*]] = attn.sdpa %{{.*}}, %{{.*}}, %{{.*}} mask(causal) scale(5.000000e-01) : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32> -> tensor<1x2x1x8xf32>
// CHECK: %[[R:.*]] = tensor.concat dim(2) %[[PA]], %[[O2]], %[[PC]]
// CHECK: return %[[R]]
func.func @out_of_order(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %0 = attn.mixed_sdpa %q, %k, %v groups ["a": 2, "b": 1, "c": ?]
      patterns [["a", "c"] -> ["c", "a"] sliding_window 2, ["b"] -> ["b"] causal] scale(0.5)
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %0 : tensor<1x2x?x8xf32>
}

// -----

// ALiBi positions are cut like the tokens: each sdpa gets the positions of
// its queries and of its keys (the whole tensor when a side is every input
// group).
// CHECK-LABEL: func.func @alibi_slices
// CHECK-SAME: %[[P:[a-z0-9]+]]: tensor<1x?xi32>)
// CHECK: %[[PA:.*]] = tensor.extract_slice %[[P]][0, 0] [1, 2] [1, 1] : tensor<1x?xi32> to tensor<1x2xi32>
// CHECK: attn.sdpa {{.*}} mask(full) alibi(%[[PA]], %[[PA]] : tensor<1x2xi32>, tensor<1x2xi32>) slopes [2.500000e-01, 6.250000e-02] scale(5.000000e-01)
// CHECK: %[[PB:.*]] = tensor.extract_slice %[[P]][0, 2] [1, %{{.*}}] [1, 1] : tensor<1x?xi32> to tensor<1x?xi32>
// CHECK: attn.sdpa {{.*}} mask(causal) positions({{.*}}) alibi(%[[PB]], %[[P]] : tensor<1x?xi32>, tensor<1x?xi32>) slopes [2.500000e-01, 6.250000e-02]
func.func @alibi_slices(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %p: tensor<1x?xi32>) -> tensor<1x2x?x8xf32> {
  %0 = attn.mixed_sdpa %q, %k, %k groups ["a": 2, "b": ?] patterns [["a"] -> ["a"] full, ["b"] -> ["a", "b"] causal]
      alibi(%p : tensor<1x?xi32>) slopes [0.25, 0.0625] scale(0.5)
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %0 : tensor<1x2x?x8xf32>
}
