// attn-flash-attention: attn.sdpa becomes a parallel loop over (batch,
// query head, query tile) with an online-softmax loop over key tiles; the
// key range follows the mask; nothing of size [Sq, Skv] is created.
// RUN: attnc-opt %s --attn-flash-attention="polynomial-exp=false" --canonicalize --cse | FileCheck %s
// By default the tile exps are arith polynomials (no libm call):
// RUN: attnc-opt %s --attn-flash-attention | FileCheck %s --check-prefix=POLY
// POLY-NOT: math.exp
// POLY: math.fma
// POLY-NOT: math.exp
// RUN: attnc-opt %s --attn-flash-attention="query-tile=16 key-tile=32" \
// RUN:   --canonicalize --cse | FileCheck %s --check-prefix=TILES

// The maps that read a per-query operand from every row of a packed tile.
// CHECK-DAG: #[[FIRST:.*]] = affine_map<(d0, d1) -> (0)>
// CHECK-DAG: #[[FIRSTKEY:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-DAG: #[[KEY:.*]] = affine_map<(d0, d1) -> (d1)>

// CHECK-LABEL: func.func @causal_gqa
// CHECK-NOT: 256x256
// CHECK-DAG: %[[MASKED:.*]] = arith.constant -2.38197633E+38 : f32
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// 8 heads x 256 / 64 query tiles, one iteration each, results in place.
// CHECK: scf.forall (%[[IT:.*]]) in (32) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<1x8x256x64xf32>)
// CHECK:   %[[QT:.*]] = arith.remui %[[IT]], %c4
// CHECK:   %[[R:.*]] = arith.divui %[[IT]], %c4
// CHECK:   %[[H:.*]] = arith.remui %[[R]], %c8
// CHECK:   %[[KH:.*]] = arith.divui %[[H]], %c4
// CHECK:   %[[Q0:.*]] = arith.muli %[[QT]], %[[C64]]
// CHECK:   %[[ROWS:.*]] = arith.minui %{{.*}}, %[[C64]]
// CHECK:   tensor.extract_slice %arg0[%{{.*}}, %[[H]], %[[Q0]], 0] [1, 1, %[[ROWS]], 64]
// causal: the key tiles stop at the diagonal (the tile's last row).
// CHECK:   %[[QEND:.*]] = arith.addi %[[Q0]], %[[ROWS]]
// CHECK:   %[[JHI:.*]] = arith.minui %[[QEND]], %c256
// CHECK:   linalg.fill ins(%[[MASKED]] : f32)
// CHECK:   scf.for %[[J0:.*]] = %c0 to %[[JHI]] step %[[C64]] iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (tensor<?xf32>, tensor<?xf32>, tensor<?x64xf32>)
// CHECK:     tensor.extract_slice %arg1[%{{.*}}, %[[KH]], %[[J0]], 0]
// CHECK:     tensor.extract_slice %arg2[%{{.*}}, %[[KH]], %[[J0]], 0]
// Q.K^T of the tile, sequential inside the parallel loop.
// CHECK:     linalg.generic {{.*}}["parallel", "parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x?xf32>) attrs = {attnc.serial}
// Row max of the tile, reassociable (vectorized; a fixed order all the same).
// CHECK:     arith.maxnumf %{{.*}}, %{{.*}} fastmath<reassoc>
// The running max is updated in place next to alpha = exp(m - mNew).
// CHECK:     %[[UPD:.*]]:2 = linalg.generic {{.*}} outs(%[[M]], %{{.*}} : tensor<?xf32>, tensor<?xf32>)
// CHECK:       arith.maximumf
// CHECK:       math.exp
// CHECK:     math.exp
// CHECK:     arith.addf %{{.*}}, %{{.*}} fastmath<reassoc>
// P.V accumulated into the running output.
// CHECK:     linalg.generic {{.*}}["parallel", "parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<?x64xf32>) attrs = {attnc.serial}
// CHECK:     scf.yield %[[UPD]]#0
// A row that saw no key (max still the masked logit) gets 0.
// CHECK:   arith.divf
// CHECK:   arith.cmpf oeq, %{{.*}}, %[[MASKED]]
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %{{.*}} into %[[OUT]][%{{.*}}, %[[H]], %[[Q0]], 0] [1, 1, %[[ROWS]], 64]
// CHECK-NOT: attn.sdpa
func.func @causal_gqa(%q: tensor<1x8x256x64xf32>, %k: tensor<1x2x256x64xf32>, %v: tensor<1x2x256x64xf32>) -> tensor<1x8x256x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x8x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x8x256x64xf32>
  return %o : tensor<1x8x256x64xf32>
}

// Sliding window 100: the key tiles start at q0 - 99 (clamped at 0).
// CHECK-LABEL: func.func @window
// CHECK: scf.forall
// CHECK:   %[[LO:.*]] = arith.subi %{{.*}}, %c99
// CHECK:   %[[JLO:.*]] = arith.maxsi %[[LO]], %c0
// CHECK:   %[[JHI:.*]] = arith.minui
// CHECK:   scf.for %{{.*}} = %[[JLO]] to %[[JHI]] step %c64
// TILES-LABEL: func.func @window
// TILES: arith.ceildivui %{{.*}}, %c16
// TILES: scf.for %{{.*}} step %c32
func.func @window(%q: tensor<1x4x?x64xf32>, %k: tensor<1x4x?x64xf32>, %v: tensor<1x4x?x64xf32>) -> tensor<1x4x?x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(sliding_window 100) scale(0.125) : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
  return %o : tensor<1x4x?x64xf32>
}

// Explicit positions (decode): every key tile, masked by position.
// CHECK-LABEL: func.func @decode
// CHECK: %[[SKV:.*]] = tensor.dim %arg1, %c2
// CHECK: scf.forall
// CHECK:   scf.for %{{.*}} = %c0 to %[[SKV]] step %c64
// CHECK:     linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<{{.*}}xi32>, tensor<?xi32>)
// CHECK:       arith.cmpi sge
func.func @decode(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>, %qp: tensor<1x1xi32>, %kp: tensor<1x?xi32>) -> tensor<1x4x1x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(causal) positions(%qp, %kp : tensor<1x1xi32>, tensor<1x?xi32>) scale(0.125) : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// With an explicit mask (the decoder's cache mask), a key tile that no row
// of the query tile may see is skipped: an OR over its [rows, cols] bits
// guards the tile's work; otherwise (m, l, acc) pass through.
// CHECK-LABEL: func.func @decode_allowed
// CHECK: scf.for
// CHECK:   %[[BITS:.*]] = tensor.extract_slice %arg5
// CHECK:   %[[ANY:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[BITS]] : tensor<1x?xi1>)
// CHECK:     arith.ori
// CHECK:   %[[VISIBLE:.*]] = tensor.extract %[[ANY]][] : tensor<i1>
// CHECK:   %[[NEXT:.*]]:3 = scf.if %[[VISIBLE]]
// CHECK:     iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:   } else {
// CHECK-NEXT: scf.yield
// CHECK:   }
// CHECK:   scf.yield %[[NEXT]]#0
func.func @decode_allowed(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>, %qp: tensor<1x1xi32>, %kp: tensor<1x?xi32>, %allowed: tensor<1x1x?xi1>) -> tensor<1x4x1x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(full) positions(%qp, %kp : tensor<1x1xi32>, tensor<1x?xi32>) allowed(%allowed : tensor<1x1x?xi1>) scale(0.125) : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// One query per head with grouped-query heads (4 over 2 KV heads): one
// iteration per KV head, whose 2 query heads are the rows of the tile; the
// cache mask and positions are per query, so every row reads the same one.
// CHECK-LABEL: func.func @decode_packed_group
// CHECK: scf.forall (%[[IT:.*]]) in (2)
// CHECK:   %[[KH:.*]] = arith.remui %[[IT]], %c2
// CHECK:   %[[BI:.*]] = arith.divui %[[IT]], %c2
// CHECK:   %[[H:.*]] = arith.muli %[[KH]], %c2
// CHECK:   tensor.extract_slice %arg0[%[[BI]], %[[H]], 0, 0] [1, 2, 1, 64] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<2x64xf32>
// CHECK:   scf.for
// CHECK:     tensor.extract_slice %arg1[%[[BI]], %[[KH]], %{{.*}}, 0]
// CHECK:     linalg.generic {indexing_maps = [#[[FIRST]], #[[KEY]], #[[FIRSTKEY]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1xi32>, tensor<?xi32>, tensor<1x?xi1>) outs(%{{.*}} : tensor<2x?xf32>)
// CHECK:   tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[BI]], %[[H]], 0, 0] [1, 2, 1, 64] [1, 1, 1, 1] : tensor<2x64xf32> into tensor<1x4x1x64xf32>
func.func @decode_packed_group(%q: tensor<1x4x1x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>, %qp: tensor<1x1xi32>, %kp: tensor<1x?xi32>, %allowed: tensor<1x1x?xi1>) -> tensor<1x4x1x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(causal) positions(%qp, %kp : tensor<1x1xi32>, tensor<1x?xi32>) allowed(%allowed : tensor<1x1x?xi1>) scale(0.125) : tensor<1x4x1x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// One KV head (MQA): packing would leave one iteration per batch row, so
// the query heads stay one per iteration.
// CHECK-LABEL: func.func @decode_mqa_per_head
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK:   tensor.extract_slice %arg0[%{{.*}}, %{{.*}}, 0, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<1x4x1x64xf32> to tensor<1x64xf32>
func.func @decode_mqa_per_head(%q: tensor<1x4x1x64xf32>, %k: tensor<1x1x?x64xf32>, %v: tensor<1x1x?x64xf32>, %qp: tensor<1x1xi32>, %kp: tensor<1x?xi32>) -> tensor<1x4x1x64xf32> {
  %o = attn.sdpa %q, %k, %v mask(causal) positions(%qp, %kp : tensor<1x1xi32>, tensor<1x?xi32>) scale(0.125) : tensor<1x4x1x64xf32>, tensor<1x1x?x64xf32>, tensor<1x1x?x64xf32> -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// Narrow floats keep the decomposition (summed in f32 there).
// CHECK-LABEL: func.func @bf16_decomposed
// CHECK-NOT: scf.forall
// CHECK: attn.sdpa
func.func @bf16_decomposed(%q: tensor<1x2x8x64xbf16>, %k: tensor<1x2x8x64xbf16>, %v: tensor<1x2x8x64xbf16>) -> tensor<1x2x8x64xbf16> {
  %o = attn.sdpa %q, %k, %v mask(causal) scale(0.125) : tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16> -> tensor<1x2x8x64xbf16>
  return %o : tensor<1x2x8x64xbf16>
}
