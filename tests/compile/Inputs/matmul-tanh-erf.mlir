func.func @forward(%x: tensor<?x8xf32> {attnc.name = "x"}, %w: tensor<8x4xf32> {attnc.name = "w"}) -> (tensor<?x4xf32> {attnc.name = "probs"}) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x8xf32>, tensor<8x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  %e2 = tensor.empty(%n) : tensor<?x4xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(i,j)->(i,j)>, affine_map<(i,j)->(i,j)>], iterator_types = ["parallel","parallel"]} ins(%m : tensor<?x4xf32>) outs(%e2 : tensor<?x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %g = math.tanh %a : f32
    %h = math.erf %g : f32
    linalg.yield %h : f32
  } -> tensor<?x4xf32>
  return %t : tensor<?x4xf32>
}
