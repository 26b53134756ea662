//===- Document.h - A parsed config with a location for every value -------===//
//
// Internal to schema/. yaml-cpp parses YAML and JSON alike and keeps marks;
// we convert to nlohmann::json (what valijson reads) and remember, for every
// JSON pointer, where its value and its key stand in the file.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_LIB_DOCUMENT_H
#define ATTNC_SCHEMA_LIB_DOCUMENT_H

#include "attnc/Schema/Diagnostic.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <cstdlib>
#include <string>
#include <vector>

namespace attnc {

/// Limits that keep a hostile file from exhausting the machine.
constexpr size_t kMaxConfigBytes = 4u << 20;  // 4 MiB
constexpr int kMaxConfigDepth = 64;           // nesting of maps and lists
constexpr size_t kMaxConfigNodes = 1u << 20;  // after alias expansion

struct Position {
  int line = 0, column = 0; // 1-based
};

class Document {
public:
  std::string fileName;
  /// Object member order is kept so that --resolved output follows the file.
  nlohmann::ordered_json root;

  /// Location of the value at `pointer`, falling back to the nearest known
  /// ancestor (a missing field is reported at its parent).
  SourceLoc valueLoc(const std::string &pointer) const;
  /// Location of the key of the member at `pointer` (for unknown or
  /// misspelled field names); the value's location when there is no key.
  SourceLoc keyLoc(const std::string &pointer) const;

  std::map<std::string, Position> valuePositions;
  std::map<std::string, Position> keyPositions;
};

/// The error for a file over kMaxConfigBytes.
void reportTooLarge(const std::string &fileName, size_t bytes,
                    DiagnosticList &diags);

/// Parses `text`. Reports malformed input, binary data, excessive size or
/// depth, duplicate keys and non-string keys into `diags`; returns nothing
/// when no document could be built.
std::optional<Document> parseDocument(const std::string &text,
                                       const std::string &fileName,
                                       DiagnosticList &diags);

/// A plain (unquoted) YAML scalar resolved by the YAML 1.2 core schema:
/// null, bool, integer, float or string.
nlohmann::ordered_json resolvePlainScalar(const std::string &text);

/// RFC 6901 escaping of one reference token.
std::string escapePointerToken(const std::string &token);
/// Reference tokens of a JSON pointer, unescaped.
std::vector<std::string> splitPointer(const std::string &pointer);

/// The value at `pointer` inside `root`, or null when there is none.
template <typename Json>
const Json *findAt(const Json &root, const std::string &pointer) {
  const Json *node = &root;
  for (const std::string &token : splitPointer(pointer)) {
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end())
        return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      char *end = nullptr;
      unsigned long index = std::strtoul(token.c_str(), &end, 10);
      if (token.empty() || *end || index >= node->size())
        return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

} // namespace attnc

#endif // ATTNC_SCHEMA_LIB_DOCUMENT_H
