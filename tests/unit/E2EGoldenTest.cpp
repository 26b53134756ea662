//===- E2EGoldenTest.cpp - Reference interpreter vs PyTorch goldens -------===//
//
// Runs every case of tests/e2e/cases.json through the reference interpreter
// and compares with the committed PyTorch goldens: max|ref - golden| /
// max|golden| < the manifest's tolerance (1e-5). tests/e2e/README.md says how
// the goldens are made.
//
//===----------------------------------------------------------------------===//

#include "ReferenceTestUtil.h"

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/Npy.h"
#include "attnc/Schema/Validate.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace attnc;
using namespace attnc::reference;
using namespace attnc::test;

namespace {

const std::string kDir = std::string(ATTNC_SOURCE_DIR) + "/tests/e2e/";

runtime::NpyArray readArray(const std::string &rel) {
  runtime::NpyArray a;
  std::string error;
  if (!runtime::readNpy(kDir + rel, a, error))
    FAIL(error);
  return a;
}

double relativeError(const std::vector<float> &got,
                     const std::vector<float> &want) {
  REQUIRE(got.size() == want.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return diff / scale;
}

ReferenceInputs inputsOf(const nlohmann::json &in) {
  ReferenceInputs r;
  if (in.contains("tokens"))
    for (auto &[group, ids] : in["tokens"].items())
      r.tokens[group] = ids.get<std::vector<int64_t>>();
  if (in.contains("images"))
    for (auto &[group, path] : in["images"].items()) {
      runtime::NpyArray a = readArray(path.get<std::string>());
      REQUIRE(a.shape.size() == 3);
      r.images[group] = {a.shape[0], a.shape[1], a.shape[2], a.toFloat32()};
    }
  if (in.contains("embeddings"))
    for (auto &[group, path] : in["embeddings"].items()) {
      runtime::NpyArray a = readArray(path.get<std::string>());
      REQUIRE(a.shape.size() == 2);
      Matrix m(a.shape[0], a.shape[1]);
      m.data = a.toFloat32();
      r.embeddings[group] = m;
    }
  if (in.contains("positions"))
    r.positions = in["positions"].get<std::vector<int64_t>>();
  if (in.contains("token_types"))
    r.tokenTypes = in["token_types"].get<std::vector<int64_t>>();
  return r;
}

} // namespace

TEST_CASE("e2e: the reference interpreter matches the PyTorch goldens",
          "[e2e][reference]") {
  nlohmann::json manifest = readManifest(kDir + "cases.json");
  double tolerance = manifest["tolerance"].get<double>();
  CHECK(tolerance <= 1e-5);
  int checked = 0;
  for (const nlohmann::json &c : manifest["cases"]) {
    std::string name = c["name"].get<std::string>();
    DYNAMIC_SECTION(name) {
      E2ECase e2e = loadE2ECase(kDir, c);
      ReferenceOutputs out =
          runReference(e2e.config, e2e.weights, inputsOf(c["inputs"]));
      const std::vector<float> &main =
          !out.logits.data.empty()       ? out.logits.data
          : !out.hiddenStates.data.empty() ? out.hiddenStates.data
                                           : out.classes;
      double err = relativeError(
          main, readArray(c["golden"].get<std::string>()).toFloat32());
      INFO(name << ": max|ref - golden| / max|golden| = " << err);
      CHECK(err < tolerance);
      if (c.contains("golden_pooled")) {
        double pooled = relativeError(
            out.pooled,
            readArray(c["golden_pooled"].get<std::string>()).toFloat32());
        INFO(name << " pooled: " << pooled);
        CHECK(pooled < tolerance);
      }
      ++checked;
    }
  }
  CHECK(checked >= 1);
}
