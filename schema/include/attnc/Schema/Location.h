//===- Location.h - Where a config value came from --------------*- C++ -*-===//
#ifndef ATTNC_SCHEMA_LOCATION_H
#define ATTNC_SCHEMA_LOCATION_H

#include <string>

namespace attnc {

/// A position in a config file plus the JSON pointer of the value there.
/// Lines and columns are 1-based; 0 means "unknown" (e.g. a derived default).
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;
  std::string pointer; ///< RFC 6901 JSON pointer, "" for the document root

  bool known() const { return line > 0; }
  /// "file:line:col" (or just the file name when the position is unknown).
  std::string str() const;
  /// The config path as a person writes it: "layers.overrides[0].window".
  std::string configPath() const;
};

} // namespace attnc

#endif // ATTNC_SCHEMA_LOCATION_H
