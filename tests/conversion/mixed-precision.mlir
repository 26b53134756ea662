// Mixed precision in the attn -> linalg lowering: bf16/f16 are storage
// types. Contractions sum in an f32 accumulator; their narrow operands are
// extended (extf, exact) by an elementwise generic before the contraction,
// so that the contraction is all-f32 and the CPU pipeline's
// attnc-vectorize-contractions matches it; one truncf at the end. Norm
// statistics, the softmax and RoPE's angles are
// f32; each op's result is rounded once to its element type. f32 ops get no
// extf/truncf at all (the f32 IR is checked by convert-attn-to-linalg.mlir).
// The numbers: tests/e2e/compiled_vs_reference.py's bfloat16/float16 runs.
// RUN: attnc-opt %s -convert-attn-to-linalg -canonicalize -cse -split-input-file | FileCheck %s
// RUN: attnc-opt %s -split-input-file --attn-flash-attention="polynomial-exp=false" --canonicalize --cse | FileCheck %s --check-prefix=FLASH

// CHECK-LABEL: func.func @linear_bf16
// CHECK: %[[XF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x?x64xbf16>) outs(%{{.*}} : tensor<2x?x64xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[WF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<32x64xbf16>) outs(%{{.*}} : tensor<32x64xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[XF]]
// CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul {{.*}} ins(%[[X2]], %[[WF]] : tensor<?x64xf32>, tensor<32x64xf32>) outs(%[[ACC]] : tensor<?x32xf32>)
// The bias is added in f32, then one rounding.
// CHECK: linalg.generic {{.*}} ins(%[[MM]], %{{.*}} : tensor<?x32xf32>, tensor<32xbf16>) outs(%{{.*}} : tensor<?x32xbf16>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: bf16, %{{.*}}: bf16):
// CHECK-NEXT: %[[BE:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[S]], %[[BE]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK-NEXT: linalg.yield %[[R]] : bf16
func.func @linear_bf16(%x: tensor<2x?x64xbf16>, %w: tensor<32x64xbf16>, %b: tensor<32xbf16>) -> tensor<2x?x32xbf16> {
  %0 = attn.linear %x, %w, %b : tensor<2x?x64xbf16>, tensor<32x64xbf16>, tensor<32xbf16> -> tensor<2x?x32xbf16>
  return %0 : tensor<2x?x32xbf16>
}

// -----

// CHECK-LABEL: func.func @linear_f32
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @linear_f32(%x: tensor<2x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x?x32xf32> {
  %0 = attn.linear %x, %w : tensor<2x?x64xf32>, tensor<32x64xf32> -> tensor<2x?x32xf32>
  return %0 : tensor<2x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @rms_bf16
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<1x?x64xbf16>) outs(%{{.*}} : tensor<1x?xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: bf16, %[[A:.*]]: f32):
// CHECK-NEXT: %[[XE:.*]] = arith.extf %[[X]] : bf16 to f32
// CHECK-NEXT: arith.mulf %[[XE]], %[[XE]] : f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SQ]], %{{.*}} : tensor<1x?x64xbf16>, tensor<1x?xf32>, tensor<64xbf16>) outs(%{{.*}} : tensor<1x?x64xbf16>)
// CHECK: math.rsqrt %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @rms_bf16(%x: tensor<1x?x64xbf16>, %g: tensor<64xbf16>) -> tensor<1x?x64xbf16> {
  %0 = attn.norm rms %x, %g zero_centered : tensor<1x?x64xbf16>, tensor<64xbf16>
  return %0 : tensor<1x?x64xbf16>
}

// -----

// The hidden activations stay f32 inside the op: the down projection reads
// them in f32 with the bf16 weight.
// CHECK-LABEL: func.func @gated_mlp_bf16
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<256x64xf32>) outs(%{{.*}} : tensor<?x256xf32>)
// CHECK: math.exp %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<64x256xbf16>) outs(%{{.*}} : tensor<64x256xf32>)
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x256xf32>, tensor<64x256xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @gated_mlp_bf16(%x: tensor<1x?x64xbf16>, %up: tensor<256x64xbf16>, %down: tensor<64x256xbf16>) -> tensor<1x?x64xbf16> {
  %0 = attn.gated_mlp silu %x, %up, %up, %down : tensor<1x?x64xbf16>, tensor<256x64xbf16>, tensor<256x64xbf16>, tensor<64x256xbf16> -> tensor<1x?x64xbf16>
  return %0 : tensor<1x?x64xbf16>
}

// -----

// Scores, mask, softmax in f32 (the f32 masked logit, also for f16, whose
// own lowest value -65504 would be an ordinary logit); the weights are
// rounded to f16 and summed against V in f32.
// CHECK-LABEL: func.func @sdpa_f16
// CHECK-DAG: %[[MASKED:.*]] = arith.constant -2.{{[0-9]+}}E+38 : f32
// CHECK: %[[QF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x1x4x8xf16>) outs(%{{.*}} : tensor<1x2x1x4x8xf32>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[KF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x4x8xf16>) outs(%{{.*}} : tensor<1x2x4x8xf32>)
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[QF]], %[[KF]] : tensor<1x2x1x4x8xf32>, tensor<1x2x4x8xf32>) outs(%{{.*}} : tensor<1x2x1x4x4xf32>)
// CHECK-NEXT: ^bb0(%[[Q:.*]]: f32, %[[K:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[Q]], %[[K]] : f32
// CHECK-NEXT: %[[N:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[N]] : f32
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[MASKED]] : f32
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: math.exp %{{.*}} : f32
// CHECK: %[[W:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x1x4x4xf16>)
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: %[[WF:.*]] = linalg.generic {{.*}} ins(%[[W]] : tensor<1x2x1x4x4xf16>) outs(%{{.*}} : tensor<1x2x1x4x4xf32>)
// CHECK: %[[O:.*]] = linalg.generic {{.*}} ins(%[[WF]], %{{.*}} : tensor<1x2x1x4x4xf32>, tensor<1x2x4x8xf32>) outs(%{{.*}} : tensor<1x2x1x4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[O]] : tensor<1x2x1x4x8xf32>) outs(%{{.*}} : tensor<1x2x1x4x8xf16>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.truncf %{{.*}} : f32 to f16
func.func @sdpa_f16(%q: tensor<1x2x4x8xf16>) -> tensor<1x2x4x8xf16> {
  %0 = attn.sdpa %q, %q, %q mask(causal) scale(0.5) : tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16> -> tensor<1x2x4x8xf16>
  return %0 : tensor<1x2x4x8xf16>
}

// -----

// bf16 holds integers exactly only up to 256: positions and angles in f32.
// CHECK-LABEL: func.func @rope_bf16
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<?xi32>) outs(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: arith.sitofp %{{.*}} : i64 to f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x?x8xbf16>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @rope_bf16(%x: tensor<1x4x?x16xbf16>, %p: tensor<?xi32>) -> tensor<1x4x?x16xbf16> {
  %0 = attn.rope split_half %x, %p : tensor<1x4x?x16xbf16>, tensor<?xi32>
  return %0 : tensor<1x4x?x16xbf16>
}

// -----

// Unembedding against a bf16 table: f32 sum, one rounding.
// CHECK-LABEL: func.func @unembed_bf16
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x?x64xf32>, tensor<128x64xf32>) outs(%{{.*}} : tensor<1x?x128xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @unembed_bf16(%x: tensor<1x?x64xbf16>, %t: tensor<128x64xbf16>) -> tensor<1x?x128xbf16> {
  %0 = attn.unembed %x, %t : tensor<1x?x64xbf16>, tensor<128x64xbf16> -> tensor<1x?x128xbf16>
  return %0 : tensor<1x?x128xbf16>
}

// -----

// A bf16 KV cache in an f32 model (attnc compile --incremental --cache-dtype
// bf16): attn.sdpa takes the narrower key/value as they are. Decomposed, the
// key and value are extended for the f32 contractions; nothing is rounded.
// CHECK-LABEL: func.func @sdpa_bf16_kv
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x?x8xbf16>) outs(%{{.*}} : tensor<1x2x?x8xf32>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK-NOT: arith.truncf
// CHECK: return %{{.*}} : tensor<1x4x4x8xf32>
// With flash attention, each key/value tile is extended inside the key loop:
// FLASH-LABEL: func.func @sdpa_bf16_kv
// FLASH: scf.for
// FLASH: linalg.generic {{.*}} ins(%{{.*}} : tensor<?x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>)
// FLASH: arith.extf %{{.*}} : bf16 to f32
// FLASH: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<?x8xf32>) {{.*}} attrs = {attnc.serial}
// FLASH: linalg.generic {{.*}} ins(%{{.*}} : tensor<?x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>)
// FLASH: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x?xf32>, tensor<?x8xf32>) {{.*}} attrs = {attnc.serial}
// FLASH-NOT: arith.truncf
// FLASH: return
func.func @sdpa_bf16_kv(%q: tensor<1x4x4x8xf32>, %k: tensor<1x2x?x8xbf16>, %v: tensor<1x2x?x8xbf16>) -> tensor<1x4x4x8xf32> {
  %0 = attn.sdpa %q, %k, %v mask(full) scale(0.5) : tensor<1x4x4x8xf32>, tensor<1x2x?x8xbf16>, tensor<1x2x?x8xbf16> -> tensor<1x4x4x8xf32>
  return %0 : tensor<1x4x4x8xf32>
}
