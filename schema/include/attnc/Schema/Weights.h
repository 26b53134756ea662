//===- Weights.h - The weights of a model: names, shapes, order -*- C++ -*-===//
//
// The one definition of a model's weights, shared by everything that touches
// them: the compiler (function arguments in this order), the artifact
// manifest, `attnc init-weights`, the runtime's safetensors binding and the
// reference interpreter. Shapes follow PyTorch/Hugging Face checkpoints:
// a linear layer's weight is [out, in], a patch convolution is [d, C, p, p].
//
// Canonical names (d = hidden_dim, H/K = query/kv heads, hd = head_dim,
// F = mlp.hidden_dim, V = vocab_size, i = layer index):
//   embed.tokens [V,d]          embed.token_types [T,d]    embed.positions [P,d]
//   embed.patch.weight [d,C,p,p] embed.patch.bias [d]     embed.learned.<group> [n,d]
//   embed.norm.{weight,bias} [d]
//   layers.i.attn_norm.{weight,bias}          (pre-norm: before attention;
//                                              post-norm: after the residual add)
//   layers.i.attn.{q,k,v,o}.weight  q [H*hd,d]  k,v [K*hd,d]  o [d,H*hd]
//   layers.i.attn.{q,k,v,o}.bias    (attention.bias)
//   layers.i.attn.{q_norm,k_norm}.weight [hd] (attention.qk_norm; RMSNorm)
//   layers.i.post_attn_norm.{weight,bias}     (block.post_attention_norm)
//   layers.i.mlp_norm.{weight,bias}
//   layers.i.mlp.{gate,up}.weight [F,d]  mlp.down.weight [d,F]  (+ .bias)
//   layers.i.post_mlp_norm.{weight,bias}      (block.post_mlp_norm)
//   final_norm.{weight,bias}
//   head.weight [V,d] (untied logits)  classifier.{weight [C,d],bias [C]}
//   pooler.{weight [d,d],bias [d]}
// Norm biases exist only for LayerNorm with norm.bias. Zero-centred norms
// store gamma (applied as 1 + gamma).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_WEIGHTS_H
#define ATTNC_SCHEMA_WEIGHTS_H

#include "attnc/Schema/Config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

/// What a weight is, for initialisation (noether's modes treat them apart).
enum class WeightRole {
  Embedding,        ///< token/type/position tables, learned tokens
  Linear,           ///< a projection's weight (incl. the patch convolution)
  OutputProjection, ///< attn.o and mlp.down: zeroed by truncnormal002-identity
  Bias,
  NormScale,
  NormBias,
};

struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
  WeightRole role = WeightRole::Linear;
  int64_t fanIn = 0; ///< inputs of the layer it belongs to (torch init)

  int64_t elements() const;
};

/// Every weight of `config`, in the canonical order above.
std::vector<WeightSpec> weightTable(const ModelConfig &config);

} // namespace attnc

#endif // ATTNC_SCHEMA_WEIGHTS_H
