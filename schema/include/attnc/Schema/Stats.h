//===- Stats.h - What a config costs: parameters, FLOPs, memory -*- C++ -*-===//
#ifndef ATTNC_SCHEMA_STATS_H
#define ATTNC_SCHEMA_STATS_H

#include "attnc/Schema/Config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

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
