//===- ReferenceTestUtil.h - Configs and weights for reference tests -*- C++ -*-===//
#ifndef ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H
#define ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H

#include "ConfigTestUtil.h"

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

namespace attnc::test {

/// The base config of ConfigTestUtil.h with `patch` merged, validated.
inline ModelConfig configOf(const std::string &patch) {
  LoadResult r = validatePatched(patch);
  INFO(allMessages(r));
  REQUIRE(r.config);
  return *r.config;
}

/// Torch-mode random weights with norm noise, so no norm is the identity.
inline runtime::WeightSet weightsOf(const ModelConfig &c, uint64_t seed = 5) {
  runtime::WeightSet set;
  for (runtime::InitializedWeight &w :
       runtime::initWeights(c, {seed, InitWeights::Torch, 0.1}))
    set.add(w.spec.name, w.spec.shape, std::move(w.values));
  return set;
}

/// A JSON manifest of test cases (tests/e2e/cases.json and the like).
inline nlohmann::json readManifest(const std::string &path) {
  std::ifstream file(path);
  INFO(path);
  REQUIRE(file);
  return nlohmann::json::parse(file);
}

/// The config and committed weights of one manifest case (paths relative to
/// `dir`: "config", "weights").
struct E2ECase {
  ModelConfig config;
  runtime::WeightSet weights;
};

inline E2ECase loadE2ECase(const std::string &dir, const nlohmann::json &c) {
  LoadResult config = loadConfigFile(dir + c["config"].get<std::string>());
  INFO(allMessages(config));
  REQUIRE(config.config);
  std::vector<std::string> errors;
  std::optional<runtime::WeightSet> weights = runtime::loadWeightsFile(
      *config.config, dir + c["weights"].get<std::string>(),
      runtime::CheckpointNaming::Canonical, errors);
  REQUIRE(weights);
  return {std::move(*config.config), std::move(*weights)};
}

} // namespace attnc::test

#endif // ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H
