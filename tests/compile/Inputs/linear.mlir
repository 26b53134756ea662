// One attn.linear (the shape of every weight projection): y = x w^T.
func.func @forward(%x: tensor<?x?x64xf32> {attnc.name = "x"},
                   %w: tensor<32x64xf32> {attnc.name = "w"})
    -> (tensor<?x?x32xf32> {attnc.name = "y"}) {
  %y = attn.linear %x, %w : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}
