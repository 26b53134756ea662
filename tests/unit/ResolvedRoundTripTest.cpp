//===- ResolvedRoundTripTest.cpp - --resolved output validates to itself --===//

#include "ConfigTestUtil.h"

#include "attnc/Schema/Emit.h"

#include <catch2/catch.hpp>


using namespace attnc;
using namespace attnc::test;

namespace {

/// resolve -> emit (YAML and JSON) -> resolve again gives the same config.
void checkRoundTrip(const LoadResult &first, const std::string &name) {
  INFO(name << "\n" << allMessages(first));
  REQUIRE(first.config);
  nlohmann::ordered_json resolved = toJson(*first.config);
  LoadResult fromYaml = loadConfigString(toYaml(resolved), name + ".yaml");
  LoadResult fromJson = loadConfigString(resolved.dump(2), name + ".json");
  INFO(toYaml(resolved) << allMessages(fromYaml));
  REQUIRE(fromYaml.config);
  REQUIRE(fromJson.config);
  CHECK(toJson(*fromYaml.config) == resolved);
  CHECK(toJson(*fromJson.config) == resolved);
}

} // namespace

TEST_CASE("resolved config round-trips: small configs", "[resolved]") {
  checkRoundTrip(validatePatched("{}"), "base");
  checkRoundTrip(validatePatched(R"({"num_layers": 4,
      "position": {"kind": "rope", "fraction": 0.5, "style": "interleaved"},
      "attention": {"num_kv_heads": 2, "logit_softcap": 50.0, "extra": [1, "x"]},
      "layers": {"kinds": {"l": {"window": 8}, "g": {"rope_base": 1e6}},
                 "pattern": ["l", "g"]}})"),
                 "layers");
  checkRoundTrip(validatePatched(R"({"tokens": [{"mem": null}, {"t": 8}],
      "output": {"kind": "classifier", "num_classes": 3},
      "vocab_size": 7, "dtype": "bfloat16"})"),
                 "cache");
}

TEST_CASE("resolved config round-trips: every sample", "[resolved]") {
  std::vector<std::string> samples = samplePaths();
  CHECK(samples.size() >= 8);
  for (const std::string &path : samples)
    checkRoundTrip(loadConfigFile(path), path);
}
