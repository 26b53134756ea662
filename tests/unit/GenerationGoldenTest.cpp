//===- GenerationGoldenTest.cpp - Greedy generation vs PyTorch ------------===//
//
// tests/e2e/generation/generation.json: a llama-style and a GPT-2-style model
// generate 64 tokens greedily from each prompt in PyTorch (float64, KV
// cache; make_generation_goldens.py). The reference session must produce
// the identical ids, each prompt alone and all prompts as one ragged batch
// left-padded with position -1. No torch at test time.
//
//===----------------------------------------------------------------------===//

#include "ReferenceTestUtil.h"

#include "attnc/Reference/Incremental.h"
#include "attnc/Schema/Validate.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace attnc;
using namespace attnc::reference;
using namespace attnc::test;

namespace {

const std::string kDir = std::string(ATTNC_SOURCE_DIR) + "/tests/e2e/generation/";

} // namespace

TEST_CASE("generation: greedy ids identical to PyTorch for 64 steps",
          "[generation][e2e]") {
  nlohmann::json manifest = readManifest(kDir + "generation.json");
  const int64_t maxNew = manifest["max_new"].get<int64_t>();
  CHECK(maxNew == 64);
  int checked = 0;
  for (const nlohmann::json &c : manifest["cases"]) {
    std::string name = c["name"].get<std::string>();
    DYNAMIC_SECTION(name) {
      E2ECase e2e = loadE2ECase(kDir, c);
      auto prompts = c["prompts"].get<std::vector<std::vector<int64_t>>>();
      auto expected = c["expected"].get<std::vector<std::vector<int64_t>>>();
      REQUIRE(prompts.size() == expected.size());
      runtime::Sampler greedy({});
      runtime::StopCriteria stop;
      stop.maxNewTokens = maxNew;

      size_t longest = 0;
      for (const auto &p : prompts)
        longest = std::max(longest, p.size());
      for (size_t i = 0; i < prompts.size(); ++i) {
        ReferenceSession alone(e2e.config, e2e.weights, 1,
                               int64_t(prompts[i].size()) + maxNew);
        ReferenceInputs in;
        in.tokens["text"] = prompts[i];
        INFO(name << " prompt " << i);
        CHECK(generate(alone, {in}, greedy, stop)[0] == expected[i]);
      }

      ReferenceSession batch(e2e.config, e2e.weights, int64_t(prompts.size()),
                             int64_t(longest) + maxNew);
      std::vector<ReferenceInputs> rows(prompts.size());
      for (size_t i = 0; i < prompts.size(); ++i) {
        size_t pad = longest - prompts[i].size();
        rows[i].tokens["text"] = std::vector<int64_t>(pad, 0);
        rows[i].positions = std::vector<int64_t>(pad, -1);
        for (size_t j = 0; j < prompts[i].size(); ++j) {
          rows[i].tokens["text"].push_back(prompts[i][j]);
          rows[i].positions.push_back(int64_t(j));
        }
      }
      auto together = generate(batch, rows, greedy, stop);
      for (size_t i = 0; i < prompts.size(); ++i) {
        INFO(name << " batch row " << i);
        CHECK(together[i] == expected[i]);
      }
      ++checked;
    }
  }
  CHECK(checked >= 1);
}
