// Two elementwise ops of static size on either side of
// attnc-parallelize-elementwise's min-parallel-work (32768 iterations):
// 4 x 768 = 3072 (one decode step's rows) and 64 x 768 = 49152. See
// tests/compile/cpu-parallelize-elementwise.test.
#id = affine_map<(i, j) -> (i, j)>
func.func @forward(%a: tensor<4x768xf32> {attnc.name = "a"},
                   %b: tensor<64x768xf32> {attnc.name = "b"})
    -> (tensor<4x768xf32> {attnc.name = "small"},
        tensor<64x768xf32> {attnc.name = "large"}) {
  %es = tensor.empty() : tensor<4x768xf32>
  %small = linalg.generic {indexing_maps = [#id, #id],
                           iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x768xf32>) outs(%es : tensor<4x768xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<4x768xf32>
  %el = tensor.empty() : tensor<64x768xf32>
  %large = linalg.generic {indexing_maps = [#id, #id],
                           iterator_types = ["parallel", "parallel"]}
      ins(%b : tensor<64x768xf32>) outs(%el : tensor<64x768xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<64x768xf32>
  return %small, %large : tensor<4x768xf32>, tensor<64x768xf32>
}
