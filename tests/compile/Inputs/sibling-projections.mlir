// Three projections of one input (an attention block's q, k, v) whose
// results are intermediates (k and v meet in an add, a view of q is
// returned), then a projection of a different input: the sibling kernel
// and the buffers and views the pipeline allocates between the siblings.
func.func @forward(%x: tensor<?x64xf32> {attnc.name = "x"},
                   %wq: tensor<128x64xf32> {attnc.name = "wq"},
                   %wk: tensor<96x64xf32> {attnc.name = "wk"},
                   %wv: tensor<96x64xf32> {attnc.name = "wv"},
                   %wo: tensor<64x96xf32> {attnc.name = "wo"})
    -> (tensor<?x2x64xf32> {attnc.name = "q"},
        tensor<?x64xf32> {attnc.name = "o"}) {
  %q = attn.linear %x, %wq : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32>
  %k = attn.linear %x, %wk : tensor<?x64xf32>, tensor<96x64xf32> -> tensor<?x96xf32>
  %v = attn.linear %x, %wv : tensor<?x64xf32>, tensor<96x64xf32> -> tensor<?x96xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%n, 2, 64] : tensor<?x128xf32> into tensor<?x2x64xf32>
  %e = tensor.empty(%n) : tensor<?x96xf32>
  %kv = linalg.add ins(%k, %v : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %o = attn.linear %kv, %wo : tensor<?x96xf32>, tensor<64x96xf32> -> tensor<?x64xf32>
  return %q3, %o : tensor<?x2x64xf32>, tensor<?x64xf32>
}
