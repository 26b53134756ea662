//===- Diagnostic.h - Errors and warnings about a config --------*- C++ -*-===//
#ifndef ATTNC_SCHEMA_DIAGNOSTIC_H
#define ATTNC_SCHEMA_DIAGNOSTIC_H

#include "attnc/Schema/Location.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace attnc {

enum class Severity { Error, Warning, Note };

/// One problem found in a config. `message` reads on its own; `found` and
/// `expected` repeat its two halves for machine-readable output.
struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLoc loc;
  std::string message;
  std::string found;
  std::string expected;
};

/// Collects every problem instead of stopping at the first.
class DiagnosticList {
public:
  void error(const SourceLoc &loc, std::string message, std::string found = {},
             std::string expected = {});
  void warning(const SourceLoc &loc, std::string message,
               std::string found = {}, std::string expected = {});
  void add(Diagnostic d) { diags_.push_back(std::move(d)); }

  bool hasErrors() const;
  size_t errorCount() const;
  const std::vector<Diagnostic> &all() const { return diags_; }
  /// Orders by file, line, column (stable), so output follows the file.
  void sort();

private:
  std::vector<Diagnostic> diags_;
};

/// `file:line:col: error: message`, then the offending source line with a
/// caret under the column when `sourceText` is given.
void printDiagnostic(std::ostream &os, const Diagnostic &d,
                     const std::string *sourceText = nullptr, bool color = false);

const char *toString(Severity);

} // namespace attnc

#endif // ATTNC_SCHEMA_DIAGNOSTIC_H
