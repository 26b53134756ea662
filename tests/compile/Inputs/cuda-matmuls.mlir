// Matmuls against a weight (C[..., m, n] += A[..., m, k] * B[n, k]) for
// attnc-cuda-matmul-kernels: bf16 with batch rows and a zero fill
// (64 = 2 k-blocks; 40 columns: a partial block), f16 on plain rows with a
// k tail (40 = 1.25 k-blocks of 32) and C read as it is (no fill), f32 (tf32
// only on request; k 20 = 1.25 k-blocks of 16), and a contraction of bf16 tensors
// widened to f32 (attnc-cuda-narrow-matmul-inputs makes it read bf16).
#a3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b3 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#c3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#a2 = affine_map<(m, n, k) -> (m, k)>
#b2 = affine_map<(m, n, k) -> (n, k)>
#c2 = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
func.func @bf16(%a: tensor<?x?x64xbf16>, %w: tensor<40x64xbf16>) -> tensor<?x?x40xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %a, %c0 : tensor<?x?x64xbf16>
  %d1 = tensor.dim %a, %c1 : tensor<?x?x64xbf16>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x40xf32>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x40xf32>) -> tensor<?x?x40xf32>
  %r = linalg.contract indexing_maps = [#a3, #b3, #c3]
      ins(%a, %w : tensor<?x?x64xbf16>, tensor<40x64xbf16>)
      outs(%f : tensor<?x?x40xf32>) -> tensor<?x?x40xf32>
  return %r : tensor<?x?x40xf32>
}
func.func @f16(%a: tensor<?x40xf16>, %w: tensor<24x40xf16>, %c: tensor<?x24xf32>) -> tensor<?x24xf32> {
  %r = linalg.contract indexing_maps = [#a2, #b2, #c2]
      ins(%a, %w : tensor<?x40xf16>, tensor<24x40xf16>)
      outs(%c : tensor<?x24xf32>) -> tensor<?x24xf32>
  return %r : tensor<?x24xf32>
}
func.func @f32(%a: tensor<?x20xf32>, %w: tensor<16x20xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x20xf32>
  %e = tensor.empty(%m) : tensor<?x16xf32>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  %r = linalg.contract indexing_maps = [#a2, #b2, #c2]
      ins(%a, %w : tensor<?x20xf32>, tensor<16x20xf32>)
      outs(%f : tensor<?x16xf32>) -> tensor<?x16xf32>
  return %r : tensor<?x16xf32>
}
func.func @widened(%a: tensor<8x32xbf16>, %w: tensor<16x32xbf16>) -> tensor<8x16xf32> {
  %ea = tensor.empty() : tensor<8x32xf32>
  %fa = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x32xbf16>) outs(%ea : tensor<8x32xf32>) {
  ^bb0(%x: bf16, %o: f32):
    %y = arith.extf %x : bf16 to f32
    linalg.yield %y : f32
  } -> tensor<8x32xf32>
  %ew = tensor.empty() : tensor<16x32xf32>
  %fw = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<16x32xbf16>) outs(%ew : tensor<16x32xf32>) {
  ^bb0(%x: bf16, %o: f32):
    %y = arith.extf %x : bf16 to f32
    linalg.yield %y : f32
  } -> tensor<16x32xf32>
  %e = tensor.empty() : tensor<8x16xf32>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = linalg.contract indexing_maps = [#a2, #b2, #c2]
      ins(%fa, %fw : tensor<8x32xf32>, tensor<16x32xf32>)
      outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}
