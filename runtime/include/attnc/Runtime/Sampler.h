//===- Sampler.h - Next-token sampling for generation -----------*- C++ -*-===//
//
// Turns one row of logits into a token id, deterministically for a seed.
//
//   greedy       temperature 0 (the default): the index of the largest
//                logit; ties go to the lowest index (torch.argmax).
//   temperature  T > 0: softmax(logits / T), computed in double.
//   top-k        k > 0: only the k largest logits stay candidates (ties at
//                the k-th value broken by the lower index).
//   top-p        0 < p < 1: of the candidates sorted by probability (ties by
//                index), the shortest prefix whose cumulative probability
//                reaches p stays (at least one token); applied after top-k.
// The kept probabilities are renormalised and one uniform draw u in [0, 1)
// picks the first candidate whose cumulative probability exceeds u * total.
// The draws come from Rng (InitWeights.h: xoshiro256** seeded through
// splitmix64), so a seed gives the same tokens on every machine. -inf logits
// are never drawn; a NaN or +inf logit, or a row without any finite logit,
// is an error.
//
// StopCriteria: generation ends after maxNewTokens tokens or right after a
// stop token was produced (the stop token is part of the output).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_SAMPLER_H
#define ATTNC_RUNTIME_SAMPLER_H

#include "attnc/Runtime/InitWeights.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnc::runtime {

/// Thrown for invalid options and for logits that cannot be sampled.
class SamplingError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct SamplingOptions {
  double temperature = 0.0; ///< 0: greedy
  int64_t topK = 0;         ///< 0: no top-k cut
  double topP = 1.0;        ///< 1: no top-p cut
  uint64_t seed = 0;
};

/// Empty when `options` are valid, else what is wrong with them.
std::string validateSamplingOptions(const SamplingOptions &options);

/// The index of the largest of `n` logits (ties: the lowest index). Throws
/// SamplingError on NaN or when no logit is finite.
int64_t argmaxLogits(const float *logits, int64_t n);

class Sampler {
public:
  /// Throws SamplingError when the options are invalid.
  explicit Sampler(const SamplingOptions &options);

  /// The next token for one row of `vocab` logits.
  int64_t sample(const float *logits, int64_t vocab);

  /// The probabilities the next draw uses (for tests): `vocab` values, zero
  /// outside the kept candidates; greedy gives a one-hot vector.
  std::vector<double> distribution(const float *logits, int64_t vocab) const;

  const SamplingOptions &options() const { return options_; }

private:
  /// Kept candidates, most probable first, and their unnormalised weights.
  void candidates(const float *logits, int64_t vocab,
                  std::vector<int64_t> &ids,
                  std::vector<double> &weights) const;

  SamplingOptions options_;
  Rng rng_;
};

struct StopCriteria {
  std::vector<int64_t> stopTokens;
  int64_t maxNewTokens = 64;

  /// True when generation ends after `produced` tokens, the last of which
  /// is `lastToken`.
  bool done(int64_t lastToken, int64_t produced) const;
};

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_SAMPLER_H
