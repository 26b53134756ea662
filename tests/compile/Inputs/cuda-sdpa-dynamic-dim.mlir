// An sdpa whose head dim is dynamic: the fused kernel keeps the query row and
// the accumulator in thread-private arrays of static size, so this one keeps
// the decomposition (several kernels); see tests/compile/cuda-fused-attention.test.
func.func @forward(%q: tensor<1x4x?x?xf32> {attnc.name = "q", attnc.role = "input"},
                   %k: tensor<1x4x?x?xf32> {attnc.name = "k", attnc.role = "input"},
                   %v: tensor<1x4x?x?xf32> {attnc.name = "v", attnc.role = "input"})
    -> (tensor<1x4x?x?xf32> {attnc.name = "out"}) {
  %o = attn.sdpa %q, %k, %v mask(causal) scale(0.125)
      : tensor<1x4x?x?xf32>, tensor<1x4x?x?xf32>, tensor<1x4x?x?xf32> -> tensor<1x4x?x?xf32>
  return %o : tensor<1x4x?x?xf32>
}
