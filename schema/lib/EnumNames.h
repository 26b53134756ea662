//===- EnumNames.h - Config enum <-> schema spelling ----------------------===//
//
// Internal to schema/. The spellings are those of attnc.schema.json.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_LIB_ENUMNAMES_H
#define ATTNC_SCHEMA_LIB_ENUMNAMES_H

#include "attnc/Schema/Config.h"

#include <optional>
#include <string>
#include <utility>

namespace attnc {

template <typename E> struct EnumNames;

#define ATTNC_ENUM_NAMES(Type, ...)                                            \
  template <> struct EnumNames<Type> {                                         \
    static constexpr std::pair<Type, const char *> table[] = {__VA_ARGS__};    \
  };

ATTNC_ENUM_NAMES(DType, {DType::Float32, "float32"},
                 {DType::BFloat16, "bfloat16"}, {DType::Float16, "float16"})
ATTNC_ENUM_NAMES(TokenInput, {TokenInput::Tokens, "tokens"},
                 {TokenInput::Image, "image"}, {TokenInput::Learned, "learned"},
                 {TokenInput::Embeddings, "embeddings"},
                 {TokenInput::Cache, "cache"})
ATTNC_ENUM_NAMES(MaskKind, {MaskKind::Full, "full"},
                 {MaskKind::Causal, "causal"},
                 {MaskKind::SlidingWindow, "sliding_window"})
ATTNC_ENUM_NAMES(InitWeights, {InitWeights::TruncNormal002, "truncnormal002"},
                 {InitWeights::TruncNormal, "truncnormal"},
                 {InitWeights::TruncNormal002Identity,
                  "truncnormal002-identity"},
                 {InitWeights::Torch, "torch"}, {InitWeights::Zeros, "zeros"})
ATTNC_ENUM_NAMES(PositionKind, {PositionKind::None, "none"},
                 {PositionKind::Learned, "learned"},
                 {PositionKind::Sinusoidal, "sinusoidal"},
                 {PositionKind::Rope, "rope"}, {PositionKind::Alibi, "alibi"})
ATTNC_ENUM_NAMES(RopeStyle, {RopeStyle::SplitHalf, "split_half"},
                 {RopeStyle::Interleaved, "interleaved"})
ATTNC_ENUM_NAMES(MlpKind, {MlpKind::Plain, "plain"}, {MlpKind::Gated, "gated"})
ATTNC_ENUM_NAMES(Activation, {Activation::Gelu, "gelu"},
                 {Activation::GeluTanh, "gelu_tanh"},
                 {Activation::Relu, "relu"}, {Activation::Silu, "silu"})
ATTNC_ENUM_NAMES(NormKind, {NormKind::Layer, "layer"}, {NormKind::Rms, "rms"})
ATTNC_ENUM_NAMES(BlockStructure, {BlockStructure::PreNorm, "pre_norm"},
                 {BlockStructure::PostNorm, "post_norm"},
                 {BlockStructure::Parallel, "parallel"})
ATTNC_ENUM_NAMES(OutputKind, {OutputKind::Logits, "logits"},
                 {OutputKind::HiddenStates, "hidden_states"},
                 {OutputKind::Classifier, "classifier"})
ATTNC_ENUM_NAMES(Pooling, {Pooling::Cls, "cls"}, {Pooling::Mean, "mean"})
ATTNC_ENUM_NAMES(ModelKind, {ModelKind::Decoder, "decoder"},
                 {ModelKind::Encoder, "encoder"})
#undef ATTNC_ENUM_NAMES

template <typename E> std::optional<E> parseEnum(const std::string &name) {
  for (const auto &[value, spelling] : EnumNames<E>::table)
    if (name == spelling)
      return value;
  return std::nullopt;
}

template <typename E> const char *enumName(E value) {
  for (const auto &[v, spelling] : EnumNames<E>::table)
    if (v == value)
      return spelling;
  return "?";
}

} // namespace attnc

#endif // ATTNC_SCHEMA_LIB_ENUMNAMES_H
