// attn.linear over a constant 3 rows (decode attention's tiles of 3 grouped
// query heads have the same static M): y = x w^T.
func.func @forward(%x: tensor<1x3x64xf32> {attnc.name = "x"},
                   %w: tensor<32x64xf32> {attnc.name = "w"})
    -> (tensor<1x3x32xf32> {attnc.name = "y"}) {
  %y = attn.linear %x, %w : tensor<1x3x64xf32>, tensor<32x64xf32> -> tensor<1x3x32xf32>
  return %y : tensor<1x3x32xf32>
}
