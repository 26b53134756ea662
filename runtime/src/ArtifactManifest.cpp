//===- ArtifactManifest.cpp - Parse and check an artifact's manifest ------===//

#include "ArtifactManifest.h"

#include "attnc/Runtime/Isa.hpp"

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

std::string describeTarget(const attnc::rt::Manifest &m) {
  std::string s = "built with --cpu=" + m.requestedCpu;
  if (!m.cpu.empty())
    s += " (" + m.cpu + ")";
  return s;
}

} // namespace

size_t attnc::rt::WeightInfo::bytes() const {
  size_t n = attnc_dtype_size(dtype);
  for (int64_t d : shape)
    n *= size_t(d);
  return n;
}

bool attnc::rt::parseDtype(const std::string &name, attnc_dtype &out) {
  static const std::pair<const char *, attnc_dtype> kNames[] = {
      {"f32", ATTNC_DTYPE_F32}, {"f16", ATTNC_DTYPE_F16},
      {"bf16", ATTNC_DTYPE_BF16}, {"i32", ATTNC_DTYPE_I32},
      {"i64", ATTNC_DTYPE_I64}, {"i8", ATTNC_DTYPE_I8},
      {"f64", ATTNC_DTYPE_F64}};
  for (auto &[n, d] : kNames)
    if (name == n) {
      out = d;
      return true;
    }
  return false;
}

attnc_status attnc::rt::parseManifest(const std::string &text, Manifest &m,
                                      std::string &error) {
  m.json = text;
  try {
    json j = json::parse(text);
    m.formatVersion = j.at("format_version").get<int64_t>();
    // Read the version first: a newer format may change everything else.
    if (m.formatVersion != ATTNC_ARTIFACT_FORMAT_VERSION)
      return ATTNC_OK;
    m.abiVersion = j.at("abi_version").get<int64_t>();
    const json &t = j.at("target");
    m.targetKind = t.at("kind").get<std::string>();
    m.arch = t.value("arch", "");
    m.cpu = t.value("cpu", "");
    m.requestedCpu = t.value("requested_cpu", "");
    m.isaLevel = t.value("isa_level", "");
    m.features = t.value("features", std::vector<std::string>{});
    for (const json &e : j.at("entry_points")) {
      EntrySpec entry;
      entry.name = e.at("name").get<std::string>();
      entry.symbol = e.at("symbol").get<std::string>();
      for (const json &a : e.at("args")) {
        ArgSpec arg;
        arg.name = a.at("name").get<std::string>();
        std::string role = a.at("role").get<std::string>();
        arg.role = role == "weight"   ? ArgSpec::Role::Weight
                   : role == "output" ? ArgSpec::Role::Output
                                      : ArgSpec::Role::Input;
        if (!parseDtype(a.at("dtype").get<std::string>(), arg.dtype))
          throw std::runtime_error("argument '" + arg.name +
                                   "' has an unknown dtype");
        arg.shape = a.at("shape").get<std::vector<int64_t>>();
        arg.scalar = a.value("scalar", false);
        arg.inPlace = a.value("in_place", false);
        arg.window = a.value("window", int64_t(0));
        if (a.contains("dim_sources"))
          for (const json &s : a.at("dim_sources")) {
            if (s.is_null())
              arg.dimSources.push_back(std::nullopt);
            else
              arg.dimSources.push_back(DimSource{
                  s.at("arg").get<int64_t>(), s.at("dim").get<int64_t>(),
                  s.value("offset", int64_t(0))});
          }
        entry.args.push_back(std::move(arg));
      }
      m.entries.push_back(std::move(entry));
    }
    for (const json &w : j.at("weights")) {
      WeightInfo info;
      info.name = w.at("name").get<std::string>();
      info.shape = w.at("shape").get<std::vector<int64_t>>();
      if (!parseDtype(w.at("dtype").get<std::string>(), info.dtype))
        throw std::runtime_error("weight '" + info.name +
                                 "' has an unknown dtype");
      m.weights.push_back(std::move(info));
    }
  } catch (const std::exception &e) {
    error = std::string("malformed manifest: ") + e.what();
    return ATTNC_ERROR_FORMAT;
  }
  return ATTNC_OK;
}

attnc_status attnc::rt::checkRunnable(const Manifest &m, int64_t exportedAbi,
                                      std::string &error) {
  if (m.formatVersion != ATTNC_ARTIFACT_FORMAT_VERSION) {
    error = "artifact format version " + std::to_string(m.formatVersion) +
            " is not supported: this runtime reads version " +
            std::to_string(ATTNC_ARTIFACT_FORMAT_VERSION) +
            "; recompile the model with a matching attnc";
    return ATTNC_ERROR_VERSION;
  }
  if (m.abiVersion != ATTNC_ABI_VERSION || exportedAbi != ATTNC_ABI_VERSION) {
    error = "artifact entry-point ABI version " +
            std::to_string(exportedAbi) +
            " is not supported: this runtime calls version " +
            std::to_string(ATTNC_ABI_VERSION) +
            "; recompile the model with a matching attnc";
    return ATTNC_ERROR_VERSION;
  }
  if (m.targetKind != "cpu") {
    error = "artifact targets '" + m.targetKind +
            "'; this runtime runs 'cpu' artifacts";
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
#if defined(__x86_64__)
  const char *hostArch = "x86_64";
#else
  const char *hostArch = "unknown";
#endif
  if (m.arch != hostArch) {
    error = "artifact is for '" + m.arch + "' and this machine is '" +
            hostArch + "'";
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  if (!hostSupportsLevel(m.isaLevel)) {
    error = "artifact needs a " + m.isaLevel + " CPU (" + describeTarget(m) +
            ") and this CPU is not one; recompile with --cpu=native on this "
            "machine, or with a lower level such as --cpu=x86-64-v3 or "
            "--cpu=generic";
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  std::string missing;
  for (const std::string &f : m.features)
    if (!hostSupportsFeature(f))
      missing += (missing.empty() ? "" : ", ") + f;
  if (!missing.empty()) {
    error = "artifact uses CPU features this CPU lacks (" + missing + "; " +
            describeTarget(m) +
            "); recompile with --cpu=native on this machine or with "
            "--cpu=generic";
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  return ATTNC_OK;
}
