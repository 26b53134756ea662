//===- Resolve.h - Document to ModelConfig, defaults, semantic rules ------===//
//
// Internal to schema/. Resolution is tolerant: a value that already failed
// the schema check (listed in `bad`) is treated as absent, so one mistake is
// reported once and the remaining rules still run.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_LIB_RESOLVE_H
#define ATTNC_SCHEMA_LIB_RESOLVE_H

#include "Document.h"

#include "attnc/Schema/Config.h"

#include <set>

namespace attnc {

/// Typed, checked access to the document's values.
class ConfigReader {
public:
  ConfigReader(const Document &doc, const std::set<std::string> &bad)
      : doc_(doc), bad_(bad) {}

  /// The value at `pointer`, or null when it is missing or failed the schema.
  const nlohmann::ordered_json *get(const std::string &pointer) const;
  bool has(const std::string &pointer) const { return get(pointer); }
  std::optional<int64_t> integer(const std::string &pointer) const;
  std::optional<double> number(const std::string &pointer) const;
  std::optional<bool> boolean(const std::string &pointer) const;
  std::optional<std::string> string(const std::string &pointer) const;
  /// Whether any value at or below `pointer` failed the schema.
  bool broken(const std::string &pointer) const;

  SourceLoc loc(const std::string &pointer) const {
    return doc_.valueLoc(pointer);
  }
  SourceLoc keyLoc(const std::string &pointer) const {
    return doc_.keyLoc(pointer);
  }
  const Document &doc() const { return doc_; }

private:
  const Document &doc_;
  const std::set<std::string> &bad_;
};

/// Builds the config with every default resolved.
ModelConfig resolveConfig(const ConfigReader &reader);

/// The rules a JSON Schema cannot express (divisibility, names that must
/// exist, coverage of patterns, ranges that depend on other fields).
void checkSemanticRules(const ConfigReader &reader, const ModelConfig &config,
                        DiagnosticList &diags);

} // namespace attnc

#endif // ATTNC_SCHEMA_LIB_RESOLVE_H
