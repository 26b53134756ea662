//===- ReferenceTestUtil.h - Configs and weights for reference tests -*- C++ -*-===//
#ifndef ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H
#define ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H

#include "ConfigTestUtil.h"

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>

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

} // namespace attnc::test

#endif // ATTNC_TESTS_UNIT_REFERENCETESTUTIL_H
