//===- Stats.h - What a config costs: parameters, FLOPs, memory -*- C++ -*-===//
#ifndef ATTNC_SCHEMA_STATS_H
#define ATTNC_SCHEMA_STATS_H

#include "attnc/Schema/Config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

/// Where one token group sits in a sequence of seqLen input tokens. Fixed
/// groups keep their size; dynamic groups share what is left (earlier groups
/// take the remainder); cache groups are not in the input and stand for
/// seqLen cached keys visible to the queries whose pattern lists them.
struct GroupSpan {
  std::string name;
  TokenInput input = TokenInput::Tokens;
  bool cache = false;
  int64_t begin = 0; ///< first input position (cache groups: 0, unused)
  int64_t length = 0;
};

/// The groups of `config` in `tokens` order for seqLen input tokens; the
/// layout that FLOP counts and `attnc inspect`'s mask picture share.
std::vector<GroupSpan> layoutGroups(const ModelConfig &config, int64_t seqLen);

/// Parameter count of one named component ("token embedding", "layer 0
/// attention", ...).
struct ParamGroup {
  std::string name;
  int64_t count = 0;
};

struct ParamCounts {
  std::vector<ParamGroup> groups; ///< embeddings, per-layer parts, head
  int64_t embedding = 0;          ///< token/type/position/patch/learned tokens
  int64_t attention = 0;          ///< all layers
  int64_t mlp = 0;                ///< all layers
  int64_t norms = 0;              ///< all norms, embedding/final included
  int64_t head = 0;               ///< untied output, classifier, pooler
  int64_t total = 0;
};

ParamCounts countParameters(const ModelConfig &config);

/// FLOPs (multiply and add counted as 2) of the matrix products and the
/// attention scores/values, per token.
struct FlopCounts {
  double prefillPerToken = 0; ///< averaged over a prefill of seqLen tokens
  double decodePerToken = 0;  ///< one new token after seqLen - 1 cached ones
};

FlopCounts countFlops(const ModelConfig &config, int64_t seqLen);

struct MemoryEstimate {
  int64_t weightBytes = 0;
  int64_t kvCacheBytes = 0; ///< sliding-window layers keep only the window
};

MemoryEstimate estimateMemory(const ModelConfig &config, int64_t batch,
                              int64_t cacheLen);

} // namespace attnc

#endif // ATTNC_SCHEMA_STATS_H
