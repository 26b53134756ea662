// A row max (arith.maxnumf, as flash attention's online softmax keeps it)
// and a conversion of the rows to bf16. See
// tests/compile/cpu-expand-bf16-conversions.test.
#x = affine_map<(r, c) -> (r, c)>
#r = affine_map<(r, c) -> (r)>
func.func @forward(%x: tensor<?x64xf32> {attnc.name = "x"})
    -> (tensor<?xf32> {attnc.name = "max"},
        tensor<?x64xbf16> {attnc.name = "narrow"}) {
  %c0 = arith.constant 0 : index
  %lowest = arith.constant -3.0e38 : f32
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %init = linalg.fill ins(%lowest : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#x, #r],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%a: f32, %m: f32):
    %y = arith.maxnumf %m, %a : f32
    linalg.yield %y : f32
  } -> tensor<?xf32>
  %eb = tensor.empty(%n) : tensor<?x64xbf16>
  %narrow = linalg.generic {indexing_maps = [#x, #x],
                            iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x64xf32>) outs(%eb : tensor<?x64xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<?x64xbf16>
  return %max, %narrow : tensor<?xf32>, tensor<?x64xbf16>
}
