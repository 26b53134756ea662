//===- Manifest.cpp - The manifest embedded in every artifact -------------===//

#include "attnc/Compiler/Target/Manifest.h"

#include "attnc/Runtime/Isa.hpp"
#include "attnc/Schema/Config.h"
#include "attnc/Schema/Emit.h"
#include "attnc/Schema/Weights.h"
#include "attnc/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>

using nlohmann::ordered_json;

namespace {

const char *dtypeName(attnc::DType dtype) {
  switch (dtype) {
  case attnc::DType::Float32:
    return "f32";
  case attnc::DType::BFloat16:
    return "bf16";
  case attnc::DType::Float16:
    return "f16";
  }
  return "f32";
}

ordered_json argJson(const attnc::EntryArg &arg) {
  ordered_json j;
  j["name"] = arg.name;
  j["role"] = attnc::toString(arg.role);
  j["dtype"] = arg.dtype;
  j["shape"] = arg.shape;
  if (arg.scalar)
    j["scalar"] = true;
  if (arg.inPlace)
    j["in_place"] = true;
  if (arg.window)
    j["window"] = arg.window;
  if (arg.role == attnc::EntryArg::Role::Output) {
    ordered_json sources = ordered_json::array();
    for (const auto &src : arg.dimSources) {
      if (src && src->offset)
        sources.push_back(
            {{"arg", src->arg}, {"dim", src->dim}, {"offset", src->offset}});
      else if (src)
        sources.push_back({{"arg", src->arg}, {"dim", src->dim}});
      else
        sources.push_back(nullptr);
    }
    j["dim_sources"] = std::move(sources);
  }
  return j;
}

bool hasAll(const std::vector<std::string> &have,
            std::initializer_list<const char *> need) {
  for (const char *n : need)
    if (std::find(have.begin(), have.end(), n) == have.end())
      return false;
  return true;
}

} // namespace

const char *attnc::toString(EntryArg::Role role) {
  switch (role) {
  case EntryArg::Role::Input:
    return "input";
  case EntryArg::Role::Weight:
    return "weight";
  case EntryArg::Role::Output:
    return "output";
  }
  return "input";
}

std::string attnc::configHashInput(const ModelConfig &config) {
  return toJson(config).dump();
}

void attnc::describeIsa(const std::vector<std::string> &f,
                        TargetInfo &target) {
  target.isaLevel = "x86-64";
  if (hasAll(f, {"popcnt", "sse4.2", "sse4.1", "ssse3", "sse3"})) {
    target.isaLevel = "x86-64-v2";
    if (hasAll(f, {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt",
                   "movbe"})) {
      target.isaLevel = "x86-64-v3";
      if (hasAll(f, {"avx512f", "avx512bw", "avx512cd", "avx512dq",
                     "avx512vl"}))
        target.isaLevel = "x86-64-v4";
    }
  }
  target.features.clear();
  for (const char *known : rt::kCheckableFeatures)
    if (std::find(f.begin(), f.end(), known) != f.end())
      target.features.push_back(known);
}

std::string attnc::buildManifestJson(const ModelConfig *config,
                                     const std::string &configHash,
                                     const TargetInfo &target,
                                     const std::vector<EntryPoint> &entries) {
  ordered_json m;
  m["attnc_version"] = "0.1.0";
  m["format_version"] = ATTNC_ARTIFACT_FORMAT_VERSION;
  m["abi_version"] = ATTNC_ABI_VERSION;
  m["config"] = config ? ordered_json(toJson(*config)) : ordered_json();
  m["config_hash"] = config ? ordered_json(configHash) : ordered_json();
  m["target"] = {{"kind", "cpu"},
                 {"arch", target.arch},
                 {"cpu", target.cpu},
                 {"requested_cpu", target.requestedCpu},
                 {"isa_level", target.isaLevel},
                 {"features", target.features}};
  ordered_json eps = ordered_json::array();
  for (const EntryPoint &e : entries) {
    ordered_json args = ordered_json::array();
    for (const EntryArg &a : e.args)
      args.push_back(argJson(a));
    eps.push_back({{"name", e.name}, {"symbol", e.symbol}, {"args", args}});
  }
  m["entry_points"] = std::move(eps);
  ordered_json weights = ordered_json::array();
  if (config) {
    int64_t index = 0;
    for (const WeightSpec &w : weightTable(*config))
      weights.push_back({{"name", w.name},
                         {"shape", w.shape},
                         {"dtype", dtypeName(config->dtype)},
                         {"index", index++}});
  } else {
    // A module compiled without a config: its weight arguments, in order.
    std::vector<std::string> seen;
    for (const EntryPoint &e : entries)
      for (const EntryArg &a : e.args)
        if (a.role == EntryArg::Role::Weight &&
            std::find(seen.begin(), seen.end(), a.name) == seen.end()) {
          seen.push_back(a.name);
          weights.push_back({{"name", a.name},
                             {"shape", a.shape},
                             {"dtype", a.dtype},
                             {"index", int64_t(seen.size() - 1)}});
        }
  }
  m["weights"] = std::move(weights);
  return m.dump(1);
}
