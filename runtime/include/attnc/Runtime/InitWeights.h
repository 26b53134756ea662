//===- InitWeights.h - Deterministic weight initialisation ------*- C++ -*-===//
//
// `attnc init-weights` fills every weight of weightTable(config) following
// attention.init_weights (noether's modes, shared/reference/systems.md 1.4):
//   truncnormal, truncnormal002   weights and embeddings ~ truncated normal,
//                                 std 0.02, cut at +-2 (absolute, like
//                                 torch.nn.init.trunc_normal_'s defaults);
//                                 biases 0
//   truncnormal002-identity       the same, then the output projections
//                                 (attn.o, mlp.down: WeightRole::
//                                 OutputProjection) are 0
//   torch                         PyTorch defaults: Linear/Conv weight and
//                                 bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//                                 (kaiming_uniform with a = sqrt(5)),
//                                 embeddings ~ N(0, 1)
//   zeros                         every weight, bias and embedding 0
// In every mode norm scales are the identity (1, or 0 when norm.zero_centered
// since 1 + gamma is applied) and norm biases 0. `normNoise` > 0 adds
// N(0, normNoise) to norm scales and biases so that tests see them act.
//
// Determinism: every tensor draws from its own xoshiro256** stream, seeded by
// splitmix64 from (seed, FNV-1a of the tensor name), so a tensor's values do
// not depend on the other tensors. Normals come from Box-Muller on 53-bit
// uniforms in double precision, rounded once to float. The file is the same
// on every machine for a seed (the unit tests pin values).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_INITWEIGHTS_H
#define ATTNC_RUNTIME_INITWEIGHTS_H

#include "attnc/Schema/Config.h"
#include "attnc/Schema/Weights.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnc::runtime {

/// xoshiro256** seeded through splitmix64, with uniform and normal draws.
class Rng {
public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Standard normal (Box-Muller; the second value of a pair is kept).
  double normal();

private:
  uint64_t s_[4];
  bool haveSpare_ = false;
  double spare_ = 0;
};

/// splitmix64 step (public for tests and stream derivation).
uint64_t splitmix64(uint64_t &state);

struct InitOptions {
  uint64_t seed = 0;
  /// Overrides attention.init_weights when set.
  std::optional<InitWeights> mode;
  /// Std of noise added to norm scales and biases (0: exact identity).
  double normNoise = 0;
};

struct InitializedWeight {
  WeightSpec spec;
  std::vector<float> values;
};

/// The values of one weight of weightTable(config) (they depend on the
/// config's init mode and norm, the seed and the weight's name only).
std::vector<float> initWeight(const ModelConfig &config,
                              const WeightSpec &spec,
                              const InitOptions &options);

/// Values for every weight of weightTable(config), in table order.
std::vector<InitializedWeight> initWeights(const ModelConfig &config,
                                           const InitOptions &options);

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_INITWEIGHTS_H
