//===- ArtifactManifest.h - The manifest as the runtime reads it -*- C++ -*-===//
//
// Parses and checks the JSON manifest an artifact exports (the format is
// documented in compiler/include/attnc/Compiler/Target/Manifest.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_ARTIFACTMANIFEST_H
#define ATTNC_RUNTIME_ARTIFACTMANIFEST_H

#include "attnc/runtime.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnc::rt {

/// Where an output's dynamic dim takes its size: dim `dim` of argument
/// `arg`, plus `offset` (e.g. 256 image tokens before a dynamic text group).
struct DimSource {
  int64_t arg = -1, dim = -1, offset = 0;
};

struct ArgSpec {
  enum class Role { Input, Weight, Output };
  std::string name;
  Role role = Role::Input;
  attnc_dtype dtype = ATTNC_DTYPE_F32;
  std::vector<int64_t> shape; ///< -1: dynamic
  bool scalar = false;
  /// Updated in place by the entry point (prefill/decode KV caches).
  bool inPlace = false;
  /// A KV cache kept as a ring of this sliding window (0: full length).
  int64_t window = 0;
  /// Outputs: (arg, dim) each dynamic dim takes its size from.
  std::vector<std::optional<DimSource>> dimSources;
};

struct EntrySpec {
  std::string name, symbol;
  std::vector<ArgSpec> args;
};

struct WeightInfo {
  std::string name;
  std::vector<int64_t> shape;
  attnc_dtype dtype = ATTNC_DTYPE_F32;
  size_t bytes() const;
};

struct Manifest {
  std::string json;
  int64_t formatVersion = 0, abiVersion = 0;
  std::string targetKind, arch, cpu, requestedCpu, isaLevel;
  std::vector<std::string> features;
  std::vector<EntrySpec> entries;
  std::vector<WeightInfo> weights;
};

/// Parses `json`; on failure returns ATTNC_ERROR_FORMAT with `error` set.
attnc_status parseManifest(const std::string &json, Manifest &out,
                           std::string &error);

/// Whether this runtime can run the artifact on this machine: the format and
/// ABI versions, the target kind and architecture, the ISA level and the CPU
/// features. Returns ATTNC_ERROR_VERSION or ATTNC_ERROR_UNSUPPORTED_ISA with
/// a message that says why and what to do.
attnc_status checkRunnable(const Manifest &m, int64_t exportedAbi,
                           std::string &error);

/// "f32" -> ATTNC_DTYPE_F32, ...; false for an unknown name.
bool parseDtype(const std::string &name, attnc_dtype &out);

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_ARTIFACTMANIFEST_H
