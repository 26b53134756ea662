// Two projections of the same input (gate and up of a gated MLP): after
// attn -> linalg and CSE both contractions accumulate into one shared zero fill.
func.func @forward(%x: tensor<?x?x64xf32> {attnc.name = "x"},
                   %wa: tensor<128x64xf32> {attnc.name = "wa"},
                   %wb: tensor<128x64xf32> {attnc.name = "wb"})
    -> (tensor<?x?x128xf32> {attnc.name = "a"},
        tensor<?x?x128xf32> {attnc.name = "b"}) {
  %a = attn.linear %x, %wa : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
  %b = attn.linear %x, %wb : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
  return %a, %b : tensor<?x?x128xf32>, tensor<?x?x128xf32>
}
