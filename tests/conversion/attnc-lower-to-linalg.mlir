// The attnc-lower-to-linalg pipeline on one decoder layer with a KV cache,
// then upstream one-shot bufferization (registered in attnc-opt) to show the
// lowered IR has plain value semantics that bufferize.
// RUN: attnc-opt %s --attnc-lower-to-linalg | FileCheck %s
// RUN: attnc-opt %s --attnc-lower-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF
// The pipeline is the passes in order:
// RUN: attnc-opt %s --attn-expand-patterns --canonicalize --attn-flash-attention --attn-decompose-attention \
// RUN:   --convert-attn-to-linalg --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @layer
// CHECK-NOT: attn.
// CHECK: linalg.matmul
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, %{{.*}}, 0]
// CHECK: tensor.concat dim(2)
// CHECK: tensor.generate
// CHECK: linalg.generic
// CHECK: scf.forall
// CHECK: return

// BUF-LABEL: func.func @layer
// BUF-SAME: memref<1x?xi32
// BUF-NOT: tensor<
// BUF: memref.alloc
// BUF: linalg.matmul {{.*}}ins({{.*}}memref
// BUF: return
func.func @layer(%ids: tensor<1x?xi32>, %pos: tensor<1x?xi32>, %end: index,
                 %embed: tensor<64x32xf32>, %g: tensor<32xf32>,
                 %wq: tensor<32x32xf32>, %wk: tensor<16x32xf32>, %wv: tensor<16x32xf32>, %wo: tensor<32x32xf32>,
                 %wg: tensor<64x32xf32>, %wu: tensor<64x32xf32>, %wd: tensor<32x64xf32>,
                 %kc: tensor<1x2x128x8xf32>, %vc: tensor<1x2x128x8xf32>)
    -> (tensor<1x?x64xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>) {
  %h = attn.embed %ids, %embed scale(5.65685) : tensor<1x?xi32>, tensor<64x32xf32> -> tensor<1x?x32xf32>
  %n = attn.norm rms %h, %g zero_centered : tensor<1x?x32xf32>, tensor<32xf32>
  %q = attn.linear %n, %wq : tensor<1x?x32xf32>, tensor<32x32xf32> -> tensor<1x?x32xf32>
  %k = attn.linear %n, %wk : tensor<1x?x32xf32>, tensor<16x32xf32> -> tensor<1x?x16xf32>
  %v = attn.linear %n, %wv : tensor<1x?x32xf32>, tensor<16x32xf32> -> tensor<1x?x16xf32>
  %qh = attn.split_heads %q : tensor<1x?x32xf32> -> tensor<1x4x?x8xf32>
  %kh = attn.split_heads %k : tensor<1x?x16xf32> -> tensor<1x2x?x8xf32>
  %vh = attn.split_heads %v : tensor<1x?x16xf32> -> tensor<1x2x?x8xf32>
  %qr = attn.rope split_half %qh, %pos : tensor<1x4x?x8xf32>, tensor<1x?xi32>
  %kr = attn.rope split_half %kh, %pos : tensor<1x2x?x8xf32>, tensor<1x?xi32>
  %pk = attn.kv_read %kc[%end] : tensor<1x2x128x8xf32> -> tensor<1x2x?x8xf32>
  %pv = attn.kv_read %vc[%end] : tensor<1x2x128x8xf32> -> tensor<1x2x?x8xf32>
  %kc2 = attn.kv_append %kr into %kc[%end] : tensor<1x2x?x8xf32> into tensor<1x2x128x8xf32>
  %vc2 = attn.kv_append %vh into %vc[%end] : tensor<1x2x?x8xf32> into tensor<1x2x128x8xf32>
  %o = attn.mixed_sdpa %qr, %kr, %vh cached(%pk, %pv) groups ["past": cache, "text": ?]
      patterns [["text"] -> ["past", "text"] sliding_window 64] scale(0.353553) softcap(50.0)
      : tensor<1x4x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x?x8xf32>
  %om = attn.merge_heads %o : tensor<1x4x?x8xf32> -> tensor<1x?x32xf32>
  %a = attn.linear %om, %wo : tensor<1x?x32xf32>, tensor<32x32xf32> -> tensor<1x?x32xf32>
  %an = attn.norm identity %a : tensor<1x?x32xf32>
  %h2 = attn.residual_add %h, %an : tensor<1x?x32xf32>
  %n2 = attn.norm rms %h2, %g : tensor<1x?x32xf32>, tensor<32xf32>
  %m = attn.gated_mlp gelu_tanh %n2, %wg, %wu, %wd : tensor<1x?x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<32x64xf32> -> tensor<1x?x32xf32>
  %h3 = attn.residual_add %h2, %m : tensor<1x?x32xf32>
  %l = attn.unembed %h3, %embed : tensor<1x?x32xf32>, tensor<64x32xf32> -> tensor<1x?x64xf32>
  %lc = attn.softcap %l cap(30.0) : tensor<1x?x64xf32>
  return %lc, %kc2, %vc2 : tensor<1x?x64xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>
}
