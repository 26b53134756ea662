//===- Sampler.cpp - Greedy, temperature, top-k, top-p sampling -----------===//
//
// Semantics: attnc/Runtime/Sampler.h.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/Sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnc::runtime {

namespace {

/// Throws unless every logit is finite or -inf and one is finite.
void checkLogits(const float *logits, int64_t n) {
  if (n <= 0)
    throw SamplingError("cannot sample from " + std::to_string(n) + " logits");
  bool anyFinite = false;
  for (int64_t i = 0; i < n; ++i) {
    float l = logits[i];
    if (std::isnan(l) || l == INFINITY)
      throw SamplingError("logit " + std::to_string(i) + " is " +
                          (std::isnan(l) ? "NaN" : "+inf") +
                          "; expected finite logits (or -inf)");
    anyFinite |= std::isfinite(l);
  }
  if (!anyFinite)
    throw SamplingError("every logit is -inf; nothing can be sampled");
}

} // namespace

std::string validateSamplingOptions(const SamplingOptions &o) {
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    return "temperature " + std::to_string(o.temperature) +
           " is invalid; expected a finite value >= 0 (0 = greedy)";
  if (o.topK < 0)
    return "top-k " + std::to_string(o.topK) +
           " is invalid; expected >= 0 (0 = no cut)";
  if (!(o.topP > 0 && o.topP <= 1))
    return "top-p " + std::to_string(o.topP) +
           " is invalid; expected a value in (0, 1] (1 = no cut)";
  return {};
}

int64_t argmaxLogits(const float *logits, int64_t n) {
  checkLogits(logits, n);
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

Sampler::Sampler(const SamplingOptions &options)
    : options_(options), rng_(options.seed) {
  std::string error = validateSamplingOptions(options);
  if (!error.empty())
    throw SamplingError(error);
}

void Sampler::candidates(const float *logits, int64_t vocab,
                         std::vector<int64_t> &ids,
                         std::vector<double> &weights) const {
  ids.clear();
  for (int64_t i = 0; i < vocab; ++i)
    if (logits[i] != -INFINITY)
      ids.push_back(i);
  // Larger logit first, lower index first among equal logits.
  auto before = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t keep = ids.size();
  if (options_.topK > 0 && size_t(options_.topK) < keep) {
    keep = size_t(options_.topK);
    std::partial_sort(ids.begin(), ids.begin() + std::ptrdiff_t(keep),
                      ids.end(), before);
    ids.resize(keep);
  } else {
    std::sort(ids.begin(), ids.end(), before);
  }

  const double maxLogit = logits[ids.front()];
  weights.resize(ids.size());
  double total = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    weights[i] =
        std::exp((double(logits[ids[i]]) - maxLogit) / options_.temperature);
    total += weights[i];
  }
  if (options_.topP < 1) {
    double cumulative = 0;
    size_t n = 0;
    while (n < ids.size()) {
      cumulative += weights[n++];
      if (cumulative >= options_.topP * total)
        break;
    }
    ids.resize(n);
    weights.resize(n);
  }
}

std::vector<double> Sampler::distribution(const float *logits,
                                          int64_t vocab) const {
  checkLogits(logits, vocab);
  std::vector<double> probs(size_t(vocab), 0.0);
  if (options_.temperature == 0) {
    probs[size_t(argmaxLogits(logits, vocab))] = 1.0;
    return probs;
  }
  std::vector<int64_t> ids;
  std::vector<double> weights;
  candidates(logits, vocab, ids, weights);
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (size_t i = 0; i < ids.size(); ++i)
    probs[size_t(ids[i])] = weights[i] / total;
  return probs;
}

int64_t Sampler::sample(const float *logits, int64_t vocab) {
  if (options_.temperature == 0)
    return argmaxLogits(logits, vocab);
  checkLogits(logits, vocab);
  std::vector<int64_t> ids;
  std::vector<double> weights;
  candidates(logits, vocab, ids, weights);
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double target = rng_.uniform() * total;
  double cumulative = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    cumulative += weights[i];
    if (target < cumulative)
      return ids[i];
  }
  return ids.back(); // rounding: u * total at the very top
}

bool StopCriteria::done(int64_t lastToken, int64_t produced) const {
  if (produced >= maxNewTokens)
    return true;
  return std::find(stopTokens.begin(), stopTokens.end(), lastToken) !=
         stopTokens.end();
}

} // namespace attnc::runtime
