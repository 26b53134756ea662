//===- Manifest.h - The manifest embedded in every artifact -----*- C++ -*-===//
//
// Every compiled artifact carries one JSON document that says what it is and
// how to call it; the runtime reads it before running anything:
//
//   {
//     "attnc_version": "0.1.0", "format_version": 1, "abi_version": 1,
//     "config": {...resolved config (attnc::toJson)...} | null,
//     "config_hash": "sha256:<hex of the config JSON's compact dump>" | null,
//     "target": {"kind": "cpu", "arch": "x86_64", "cpu": "<llvm cpu name>",
//                "requested_cpu": "native", "isa_level": "x86-64-v3",
//                "features": ["avx2", ...]},
//     "entry_points": [
//       {"name": "forward", "symbol": "attnc_entry_forward",
//        "args": [{"name": "tokens", "role": "input", "dtype": "i32",
//                  "shape": [1, -1]},                       // -1: dynamic
//                 {"name": "layers.0.attn.q.weight", "role": "weight", ...},
//                 {"name": "logits", "role": "output", "dtype": "f32",
//                  "shape": [1, -1, 32000],
//                  "dim_sources": [null, {"arg": 0, "dim": 1}, null]}]}],
//     "weights": [{"name": ..., "shape": [...], "dtype": "f32", "index": 0}]
//   }
//
// An output's dynamic dim i has dim_sources[i] = the input arg and dim whose
// size it takes, plus "offset" when there is one (a dynamic group after
// fixed-size ones: {"arg": 0, "dim": 1, "offset": 256}), so the runtime can
// allocate every output before the call.
// No MLIR here (a plain, exceptions-on library).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGET_MANIFEST_H
#define ATTNC_COMPILER_TARGET_MANIFEST_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnc {

struct ModelConfig;

/// One argument of an entry point, in call order (outputs last).
struct EntryArg {
  enum class Role { Input, Weight, Output };
  std::string name;
  Role role = Role::Input;
  std::string dtype;          ///< "f32", "f16", "bf16", "i32", "i64", ...
  std::vector<int64_t> shape; ///< -1 for a dynamic dim; empty for a scalar
  bool scalar = false;        ///< passed by value, not as a memref
  /// A buffer the entry point updates in place (a KV cache of prefill /
  /// decode): "in_place": true.
  bool inPlace = false;
  /// A KV cache kept as a ring of this sliding window ("window": W; 0: a
  /// full-length cache).
  int64_t window = 0;
  struct DimSource {
    int64_t arg = -1, dim = -1;
    int64_t offset = 0; ///< size = dim `dim` of arg `arg` + offset
  };
  /// Outputs only: where each dynamic dim's size comes from.
  std::vector<std::optional<DimSource>> dimSources;
};

struct EntryPoint {
  std::string name;   ///< the function's name
  std::string symbol; ///< ATTNC_ENTRY_PREFIX + name
  std::vector<EntryArg> args;
};

/// What the target writes into the manifest.
struct TargetInfo {
  std::string arch = "x86_64";
  std::string cpu;          ///< LLVM CPU name the code was generated for
  std::string requestedCpu; ///< the --cpu value
  std::string isaLevel;     ///< one of attnc::rt::kIsaLevels
  std::vector<std::string> features; ///< from attnc::rt::kCheckableFeatures
};

/// Builds the manifest. `config` may be null (a module compiled with
/// --from-mlir), then config, config_hash and weights are null/empty.
/// `configHash` is computed by the caller (see configHashInput).
std::string buildManifestJson(const ModelConfig *config,
                              const std::string &configHash,
                              const TargetInfo &target,
                              const std::vector<EntryPoint> &entries);

/// The bytes the config hash is computed over: the resolved config as
/// compact JSON.
std::string configHashInput(const ModelConfig &config);

/// The isa_level and features entries for a CPU with the given LLVM feature
/// names (e.g. {"avx2", "fma", ...}): the highest x86-64 level they cover,
/// and those of them the runtime can check.
void describeIsa(const std::vector<std::string> &llvmFeatures,
                 TargetInfo &target);

const char *toString(EntryArg::Role role);

} // namespace attnc

#endif // ATTNC_COMPILER_TARGET_MANIFEST_H
