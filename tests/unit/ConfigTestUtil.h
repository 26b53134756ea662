//===- ConfigTestUtil.h - Build small configs for rule tests ----*- C++ -*-===//
#ifndef ATTNC_TESTS_UNIT_CONFIGTESTUTIL_H
#define ATTNC_TESTS_UNIT_CONFIGTESTUTIL_H

#include "attnc/Schema/Validate.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace attnc::test {

/// A small valid decoder; tests change it with a JSON merge patch (a null
/// in the patch deletes the field).
inline nlohmann::json baseConfig() {
  return nlohmann::json::parse(R"({
    "attnc": 1,
    "vocab_size": 100,
    "max_seq_len": 64,
    "num_layers": 2,
    "tokens": [{"text": "dynamic"}],
    "attention": {"hidden_dim": 32, "num_heads": 4}
  })");
}

inline LoadResult validateJson(const nlohmann::json &config) {
  return loadConfigString(config.dump(2), "test.json");
}

inline LoadResult validatePatched(const std::string &patch) {
  nlohmann::json config = baseConfig();
  config.merge_patch(nlohmann::json::parse(patch));
  return validateJson(config);
}

/// The first error whose message contains `needle`, or null.
inline const Diagnostic *findError(const LoadResult &r,
                                   const std::string &needle) {
  for (const Diagnostic &d : r.diags.all())
    if (d.severity == Severity::Error &&
        d.message.find(needle) != std::string::npos)
      return &d;
  return nullptr;
}

/// All messages, for failure output.
inline std::string allMessages(const LoadResult &r) {
  std::string out;
  for (const Diagnostic &d : r.diags.all())
    out += d.loc.str() + ": " + d.message + "\n";
  return out;
}

/// Paths of the valid sample configs (samples/*.yaml and *.json).
inline std::vector<std::string> samplePaths() {
  std::vector<std::string> paths;
  for (const auto &entry : std::filesystem::directory_iterator(
           std::string(ATTNC_SOURCE_DIR) + "/samples")) {
    std::string ext = entry.path().extension().string();
    if (ext == ".yaml" || ext == ".json")
      paths.push_back(entry.path().string());
  }
  return paths;
}

} // namespace attnc::test

#endif // ATTNC_TESTS_UNIT_CONFIGTESTUTIL_H
