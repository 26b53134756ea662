//===- Config.h - Typed, fully resolved model configuration -----*- C++ -*-===//
//
// The C++ view of a validated config. Every default is resolved (see the
// descriptions in schema/attnc.schema.json, the single source of truth for
// field names and defaults), so consumers never re-derive anything.
// No LLVM/MLIR here: the compiler and the runtime both include this header.
// The model's weights (names, shapes, order) are defined once, in
// attnc/Schema/Weights.h: use weightTable(config), never re-derive them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_CONFIG_H
#define ATTNC_SCHEMA_CONFIG_H

#include "attnc/Schema/Location.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnc {

/// Element type of weights and activations.
enum class DType { Float32, BFloat16, Float16 };

/// Where a token group's vectors come from.
enum class TokenInput {
  Tokens,     ///< integer ids through the token embedding
  Image,      ///< pixels through the patch embedding
  Learned,    ///< learned parameter vectors (a CLS token, registers)
  Embeddings, ///< vectors of width hidden_dim given by the caller
  Cache,      ///< not in the input: keys/values come from the KV cache
};

/// noether's TokenSpec: a named, contiguous group of the sequence.
struct TokenSpec {
  std::string name;
  /// Fixed number of tokens. Unset when the size is dynamic or the group is
  /// served from the cache (size null).
  std::optional<int64_t> size;
  bool dynamic = false; ///< size given at run time, up to max_seq_len
  TokenInput input = TokenInput::Tokens;
  SourceLoc loc;

  bool fromCache() const { return input == TokenInput::Cache; }
};

enum class MaskKind { Full, Causal, SlidingWindow };

/// noether's AttentionPattern plus a mask kind: the query groups attend to the
/// key/value groups. Sliding window follows penzai/gemma: query i sees key j
/// when 0 <= i - j < window.
struct AttentionPattern {
  std::vector<std::string> queryTokens;
  std::vector<std::string> keyValueTokens;
  MaskKind mask = MaskKind::Causal;
  std::optional<int64_t> window;
  SourceLoc loc;
};

/// noether's weight initialisation modes.
enum class InitWeights {
  TruncNormal002,
  TruncNormal,
  TruncNormal002Identity,
  Torch,
  Zeros,
};

/// noether's AttentionConfig (extra fields allowed and kept) plus GQA, head
/// size, query scale and logit softcap.
struct AttentionConfig {
  int64_t hiddenDim = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0; ///< default num_heads
  int64_t headDim = 0;    ///< default hidden_dim / num_heads
  InitWeights initWeights = InitWeights::TruncNormal002;
  bool qkNorm = false;
  bool bias = true;
  bool useRope = false; ///< default: position.kind == rope
  double dropout = 0.0;
  double queryScale = 0.0; ///< default 1/sqrt(head_dim)
  std::optional<double> logitSoftcap;
  /// Fields the schema does not know, kept verbatim (noether extra="allow").
  nlohmann::ordered_json extras = nlohmann::ordered_json::object();
  SourceLoc loc;
};

struct EmbeddingConfig {
  bool scaleBySqrtDim = false; ///< gemma: multiply by sqrt(hidden_dim)
  bool tiedOutput = false;     ///< output projection shares the table
  int64_t tokenTypes = 0;      ///< BERT segment embeddings (0 = none)
  bool norm = false;           ///< a norm right after the embeddings (BERT)
  SourceLoc loc;
};

struct PatchEmbeddingConfig {
  int64_t imageHeight = 0, imageWidth = 0;
  int64_t patchSize = 0;
  int64_t channels = 3;
  bool bias = true;
  int64_t numPatches() const {
    return patchSize ? (imageHeight / patchSize) * (imageWidth / patchSize) : 0;
  }
  SourceLoc loc;
};

enum class PositionKind { None, Learned, Sinusoidal, Rope, Alibi };
enum class RopeStyle { SplitHalf, Interleaved };

struct PositionConfig {
  PositionKind kind = PositionKind::None;
  int64_t size = 0; ///< learned: table rows, default max_seq_len
  double ropeBase = 10000.0;
  RopeStyle ropeStyle = RopeStyle::SplitHalf;
  double ropeFraction = 1.0;    ///< share of head_dim that is rotated
  double ropeScaleFactor = 1.0; ///< positions are divided by this
  SourceLoc loc;
};

enum class MlpKind { Plain, Gated };
enum class Activation { Gelu, GeluTanh, Relu, Silu };

struct MlpConfig {
  MlpKind kind = MlpKind::Plain;
  Activation activation = Activation::Gelu;
  int64_t hiddenDim = 0; ///< default 4 * hidden_dim
  bool bias = true;
  SourceLoc loc;
};

enum class NormKind { Layer, Rms };

struct NormConfig {
  NormKind kind = NormKind::Layer;
  double eps = 1e-5;
  bool zeroCentered = false; ///< scale stored as (1 + gamma), gemma/Megatron
  bool bias = true;          ///< LayerNorm only
  SourceLoc loc;
};

enum class BlockStructure { PreNorm, PostNorm, Parallel };

struct BlockConfig {
  BlockStructure structure = BlockStructure::PreNorm;
  bool postAttentionNorm = false; ///< gemma-2 sandwich norms
  bool postMlpNorm = false;
  SourceLoc loc;
};

enum class OutputKind { Logits, HiddenStates, Classifier };
enum class Pooling { Cls, Mean };

struct OutputConfig {
  OutputKind kind = OutputKind::Logits;
  int64_t numClasses = 0;
  Pooling pooling = Pooling::Cls;
  bool pooler = false; ///< BERT pooler: dense + tanh on the pooled token
  SourceLoc loc;
};

/// The settings that may differ from layer to layer, fully resolved for one
/// layer.
struct LayerSettings {
  std::string kind;              ///< name of the layer kind, "" if none
  std::optional<int64_t> window; ///< local layer: keys within the window
  double ropeBase = 10000.0;
  double ropeScaleFactor = 1.0;
  bool useRope = false;
  SourceLoc loc; ///< where this layer's settings came from
};

enum class ModelKind { Decoder, Encoder };

/// A whole model: what `attnc validate` produces.
struct ModelConfig {
  int64_t formatVersion = 1;
  std::string name;
  std::string description;
  ModelKind kind = ModelKind::Decoder;
  std::optional<int64_t> vocabSize;
  int64_t maxSeqLen = 0;
  int64_t numLayers = 0;
  DType dtype = DType::Float32;
  std::vector<TokenSpec> tokens;
  std::vector<AttentionPattern> patterns;
  bool patternsGiven = false; ///< false: the default pattern was derived
  AttentionConfig attention;
  EmbeddingConfig embedding;
  std::optional<PatchEmbeddingConfig> patchEmbedding;
  PositionConfig position;
  MlpConfig mlp;
  NormConfig norm;
  BlockConfig block;
  bool finalNorm = true;
  std::optional<double> finalLogitSoftcap;
  OutputConfig output;
  /// Layer kinds by name, and the kind pattern repeated over the layers.
  std::map<std::string, LayerSettings> layerKinds;
  std::vector<std::string> layerPattern;
  /// One entry per layer, overrides applied.
  std::vector<LayerSettings> layers;
  SourceLoc loc; ///< the file itself

  const TokenSpec *findTokens(const std::string &name) const;
  bool hasInput(TokenInput input) const;
};

const char *toString(DType);
const char *toString(TokenInput);
const char *toString(MaskKind);
const char *toString(InitWeights);
const char *toString(PositionKind);
const char *toString(RopeStyle);
const char *toString(MlpKind);
const char *toString(Activation);
const char *toString(NormKind);
const char *toString(BlockStructure);
const char *toString(OutputKind);
const char *toString(Pooling);
const char *toString(ModelKind);
/// Bytes per element.
int64_t byteSize(DType);

} // namespace attnc

#endif // ATTNC_SCHEMA_CONFIG_H
