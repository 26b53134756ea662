// Three zero-initialized reductions for attnc-fold-zero-fills (see
// tests/compile/cpu-fold-zero-fills.test): a projection y = x.W^T with
// k = 64 (vectorized), one with k = 20 (not a multiple of the vector width:
// left to the loops) and a row sum (one input: not a contraction).
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#x = affine_map<(m, k) -> (m, k)>
#r = affine_map<(m, k) -> (m)>
func.func @forward(%x: tensor<?x64xf32> {attnc.name = "x"},
                   %w: tensor<32x64xf32> {attnc.name = "w", attnc.role = "weight"},
                   %u: tensor<?x20xf32> {attnc.name = "u"},
                   %v: tensor<32x20xf32> {attnc.name = "v", attnc.role = "weight"})
    -> (tensor<?x32xf32> {attnc.name = "y"},
        tensor<?x32xf32> {attnc.name = "z"},
        tensor<?xf32> {attnc.name = "sum"}) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %x, %c0 : tensor<?x64xf32>
  %ey = tensor.empty(%m) : tensor<?x32xf32>
  %fy = linalg.fill ins(%zero : f32) outs(%ey : tensor<?x32xf32>) -> tensor<?x32xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x64xf32>, tensor<32x64xf32>) outs(%fy : tensor<?x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %t = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %t : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  %mu = tensor.dim %u, %c0 : tensor<?x20xf32>
  %ez = tensor.empty(%mu) : tensor<?x32xf32>
  %fz = linalg.fill ins(%zero : f32) outs(%ez : tensor<?x32xf32>) -> tensor<?x32xf32>
  %z = linalg.generic {indexing_maps = [#a, #b, #c],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%u, %v : tensor<?x20xf32>, tensor<32x20xf32>) outs(%fz : tensor<?x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %t = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %t : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  %es = tensor.empty(%m) : tensor<?xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%es : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#x, #r],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x64xf32>) outs(%fs : tensor<?xf32>) {
  ^bb0(%p: f32, %acc: f32):
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %y, %z, %sum : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?xf32>
}
