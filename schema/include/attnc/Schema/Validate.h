//===- Validate.h - Load, validate and resolve a model config ---*- C++ -*-===//
//
// The one entry point from a file to a ModelConfig:
//   read (size, encoding) -> parse with yaml-cpp (YAML and JSON, marks kept)
//   -> JSON Schema (valijson, draft-07) -> semantic rules -> resolved defaults.
// Every problem found on the way is collected; nothing stops at the first.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_VALIDATE_H
#define ATTNC_SCHEMA_VALIDATE_H

#include "attnc/Schema/Config.h"
#include "attnc/Schema/Diagnostic.h"

#include <optional>
#include <string>

namespace attnc {

struct LoadResult {
  /// Set when the config is valid (warnings allowed).
  std::optional<ModelConfig> config;
  DiagnosticList diags;
  /// The file's text, for caret lines under diagnostics.
  std::string sourceText;
  /// The file could not be read at all (missing, a directory, no permission):
  /// a usage problem rather than an invalid config.
  bool unreadable = false;
};

/// Reads and validates the config at `path`.
LoadResult loadConfigFile(const std::string &path);

/// Validates config text; `displayName` is used in locations.
LoadResult loadConfigString(const std::string &text,
                            const std::string &displayName);

/// The JSON Schema (draft-07) that configs are validated against, as text.
const std::string &configSchemaText();

} // namespace attnc

#endif // ATTNC_SCHEMA_VALIDATE_H
