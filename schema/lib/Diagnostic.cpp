//===- Diagnostic.cpp -----------------------------------------------------===//

#include "attnc/Schema/Diagnostic.h"

#include <algorithm>
#include <ostream>
#include <sstream>

namespace attnc {

const char *toString(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

void DiagnosticList::error(const SourceLoc &loc, std::string message,
                           std::string found, std::string expected) {
  diags_.push_back(Diagnostic{Severity::Error, loc, std::move(message),
                              std::move(found), std::move(expected)});
}

void DiagnosticList::warning(const SourceLoc &loc, std::string message,
                             std::string found, std::string expected) {
  diags_.push_back(Diagnostic{Severity::Warning, loc, std::move(message),
                              std::move(found), std::move(expected)});
}

bool DiagnosticList::hasErrors() const { return errorCount() > 0; }

size_t DiagnosticList::errorCount() const {
  return std::count_if(diags_.begin(), diags_.end(), [](const Diagnostic &d) {
    return d.severity == Severity::Error;
  });
}

void DiagnosticList::sort() {
  std::stable_sort(diags_.begin(), diags_.end(),
                   [](const Diagnostic &a, const Diagnostic &b) {
                     if (a.loc.file != b.loc.file)
                       return a.loc.file < b.loc.file;
                     if (a.loc.line != b.loc.line)
                       return a.loc.line < b.loc.line;
                     return a.loc.column < b.loc.column;
                   });
}

static std::string sourceLine(const std::string &text, int line) {
  std::istringstream in(text);
  std::string s;
  for (int i = 1; std::getline(in, s); ++i)
    if (i == line)
      return s;
  return {};
}

void printDiagnostic(std::ostream &os, const Diagnostic &d,
                     const std::string *sourceText, bool color) {
  const char *bold = color ? "\033[1m" : "";
  const char *reset = color ? "\033[0m" : "";
  const char *tint = !color ? ""
                     : d.severity == Severity::Error ? "\033[1;31m"
                     : d.severity == Severity::Warning ? "\033[1;35m"
                                                       : "\033[1;36m";
  os << bold << d.loc.str() << ": " << reset << tint << toString(d.severity)
     << ": " << reset << bold << d.message << reset << "\n";
  if (!sourceText || !d.loc.known())
    return;
  std::string line = sourceLine(*sourceText, d.loc.line);
  if (line.empty() || line.size() > 200)
    return;
  os << "  " << line << "\n  ";
  for (int i = 1; i < d.loc.column && i <= static_cast<int>(line.size()); ++i)
    os << (line[i - 1] == '\t' ? '\t' : ' ');
  os << tint << "^" << reset << "\n";
}

} // namespace attnc
