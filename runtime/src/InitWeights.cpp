//===- InitWeights.cpp - Deterministic weight initialisation --------------===//
//
// Built with -ffp-contract=off (runtime/CMakeLists.txt) so that no compiler
// fuses the Box-Muller arithmetic differently on another machine.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/InitWeights.h"

#include <cmath>

namespace attnc::runtime {

namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fnv1a(const std::string &s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

constexpr double kPi = 3.14159265358979323846;

} // namespace

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t &s : s_)
    s = splitmix64(state);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (haveSpare_) {
    haveSpare_ = false;
    return spare_;
  }
  double u1 = 1.0 - uniform(); // (0, 1]: log is finite
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * kPi * u2;
  spare_ = r * std::sin(theta);
  haveSpare_ = true;
  return r * std::cos(theta);
}

std::vector<float> initWeight(const ModelConfig &config,
                              const WeightSpec &spec,
                              const InitOptions &options) {
  InitWeights mode = options.mode.value_or(config.attention.initWeights);
  bool truncNormal = mode == InitWeights::TruncNormal ||
                     mode == InitWeights::TruncNormal002 ||
                     mode == InitWeights::TruncNormal002Identity;
  uint64_t state = options.seed ^ fnv1a(spec.name);
  Rng rng(splitmix64(state));
  std::vector<float> values(size_t(spec.elements()), 0.0f);
  auto fill = [&](auto draw) {
    for (float &v : values)
      v = float(draw());
  };
  auto truncated = [&] {
    double v;
    do
      v = 0.02 * rng.normal();
    while (v < -2.0 || v > 2.0);
    return v;
  };
  double bound = spec.fanIn > 0 ? 1.0 / std::sqrt(double(spec.fanIn)) : 0.0;
  auto uniformBound = [&] { return (2.0 * rng.uniform() - 1.0) * bound; };
  switch (spec.role) {
  case WeightRole::NormScale:
  case WeightRole::NormBias: {
    bool scale = spec.role == WeightRole::NormScale;
    // qk norms are RMSNorms and zero-centred like every norm of the model.
    double identity = scale && !config.norm.zeroCentered ? 1.0 : 0.0;
    for (float &v : values)
      v = float(identity +
                (options.normNoise > 0 ? options.normNoise * rng.normal()
                                       : 0.0));
    break;
  }
  case WeightRole::Embedding:
    if (mode == InitWeights::Torch)
      fill([&] { return rng.normal(); });
    else if (truncNormal)
      fill(truncated);
    break;
  case WeightRole::Linear:
  case WeightRole::OutputProjection:
    if (mode == InitWeights::Torch)
      fill(uniformBound);
    else if (truncNormal && !(spec.role == WeightRole::OutputProjection &&
                              mode == InitWeights::TruncNormal002Identity))
      fill(truncated);
    break;
  case WeightRole::Bias:
    if (mode == InitWeights::Torch)
      fill(uniformBound);
    break;
  }
  return values;
}

std::vector<InitializedWeight> initWeights(const ModelConfig &config,
                                           const InitOptions &options) {
  std::vector<InitializedWeight> out;
  for (const WeightSpec &spec : weightTable(config))
    out.push_back({spec, initWeight(config, spec, options)});
  return out;
}

} // namespace attnc::runtime
