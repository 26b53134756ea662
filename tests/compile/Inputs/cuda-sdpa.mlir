// One grouped-query sdpa (8 query heads over 2 kv heads, head dim 64) with a
// sliding window and a softcap; see tests/compile/cuda-fused-attention.test.
func.func @forward(%q: tensor<1x8x?x64xf32> {attnc.name = "q", attnc.role = "input"},
                   %k: tensor<1x2x?x64xf32> {attnc.name = "k", attnc.role = "input"},
                   %v: tensor<1x2x?x64xf32> {attnc.name = "v", attnc.role = "input"})
    -> (tensor<1x8x?x64xf32> {attnc.name = "out"}) {
  %o = attn.sdpa %q, %k, %v mask(sliding_window 128) scale(0.125) softcap(50.0)
      : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
