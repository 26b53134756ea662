// The elementwise and row-reduction work of a decoder layer beside one
// flash-attention sdpa, in linalg on tensors: an RMSNorm (sum of squares,
// then a scale by rsqrt and a weight), SiLU(gate) * up, a head transpose
// and a row sum whose zero-filled [rows] accumulator has the type of the
// flash tiles' running row sum. See
// tests/compile/cpu-parallelize-elementwise.test.
#x = affine_map<(b, s, h) -> (b, s, h)>
#r = affine_map<(b, s, h) -> (b, s)>
#w = affine_map<(b, s, h) -> (h)>
func.func @forward(%x: tensor<?x?x64xf32> {attnc.name = "x"},
                   %w: tensor<64xf32> {attnc.name = "w", attnc.role = "weight"},
                   %g: tensor<?x?x128xf32> {attnc.name = "gate"},
                   %u: tensor<?x?x128xf32> {attnc.name = "up"},
                   %q: tensor<1x8x?x64xf32> {attnc.name = "q"},
                   %k: tensor<1x2x?x64xf32> {attnc.name = "k"},
                   %v: tensor<1x2x?x64xf32> {attnc.name = "v"},
                   %r: tensor<?x64xf32> {attnc.name = "r"})
    -> (tensor<?x?x64xf32> {attnc.name = "norm"},
        tensor<?x?x128xf32> {attnc.name = "silu"},
        tensor<1x?x8x64xf32> {attnc.name = "attn"},
        tensor<?xf32> {attnc.name = "rowsum"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %inv = arith.constant 0.015625 : f32
  %eps = arith.constant 1.0e-5 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %e = tensor.empty(%b, %s) : tensor<?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %ss = linalg.generic {indexing_maps = [#x, #r],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x64xf32>) outs(%z : tensor<?x?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %t = arith.addf %acc, %sq : f32
    linalg.yield %t : f32
  } -> tensor<?x?xf32>
  %en = tensor.empty(%b, %s) : tensor<?x?x64xf32>
  %n = linalg.generic {indexing_maps = [#x, #r, #w, #x],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %ss, %w : tensor<?x?x64xf32>, tensor<?x?xf32>, tensor<64xf32>)
      outs(%en : tensor<?x?x64xf32>) {
  ^bb0(%a: f32, %t: f32, %c: f32, %o: f32):
    %m = arith.mulf %t, %inv : f32
    %p = arith.addf %m, %eps : f32
    %rs = math.rsqrt %p : f32
    %y = arith.mulf %a, %rs : f32
    %yw = arith.mulf %y, %c : f32
    linalg.yield %yw : f32
  } -> tensor<?x?x64xf32>
  %es = tensor.empty(%b, %s) : tensor<?x?x128xf32>
  %si = linalg.generic {indexing_maps = [#x, #x, #x],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>)
      outs(%es : tensor<?x?x128xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %ng = arith.negf %a : f32
    %ex = math.exp %ng : f32
    %d = arith.addf %ex, %one : f32
    %sg = arith.divf %a, %d : f32
    %y = arith.mulf %sg, %c : f32
    linalg.yield %y : f32
  } -> tensor<?x?x128xf32>
  %o = attn.sdpa %q, %k, %v mask(causal) scale(0.125)
      : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x8x?x64xf32>
  %t = tensor.dim %q, %c2 : tensor<1x8x?x64xf32>
  %et = tensor.empty(%t) : tensor<1x?x8x64xf32>
  %tr = linalg.transpose ins(%o : tensor<1x8x?x64xf32>)
      outs(%et : tensor<1x?x8x64xf32>) permutation = [0, 2, 1, 3]
  %rows = tensor.dim %r, %c0 : tensor<?x64xf32>
  %er = tensor.empty(%rows) : tensor<?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?xf32>) -> tensor<?xf32>
  %rs = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                         affine_map<(i, j) -> (i)>],
                        iterator_types = ["parallel", "reduction"]}
      ins(%r : tensor<?x64xf32>) outs(%zr : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t2 = arith.addf %acc, %a : f32
    linalg.yield %t2 : f32
  } -> tensor<?xf32>
  return %n, %si, %tr, %rs : tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<1x?x8x64xf32>, tensor<?xf32>
}
