//===- Commands.h - The subcommands of the attnc driver ---------*- C++ -*-===//
//
// Each subcommand lives in its own file and registers itself on the app.
// CLI11 stays inside compiler/tools/attnc (it is slow to compile).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_COMMANDS_H
#define ATTNC_TOOLS_ATTNC_COMMANDS_H

#include "attnc/Schema/Validate.h"

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <string>

namespace attnc::cli {

/// Exit codes shared by every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitInvalidConfig = 1,
  kExitUsage = 2,
};

void addValidateCommand(CLI::App &app);
void addInspectCommand(CLI::App &app);
void addSchemaCommand(CLI::App &app);
void addExplainCommand(CLI::App &app);
void addInitWeightsCommand(CLI::App &app);
void addRunCommand(CLI::App &app);
void addCompileCommand(CLI::App &app);
void addInspectArtifactCommand(CLI::App &app);
void addGenerateCommand(CLI::App &app);

/// Loads `path` and prints its diagnostics to stderr in the text format
/// (file:line:col: error: ..., source line, caret). Returns the config when
/// it is valid; sets `exitCode` to 1 (invalid) or 2 (unreadable) otherwise.
std::optional<ModelConfig> loadAndReport(const std::string &path,
                                         int &exitCode);

/// Prints diagnostics as text (with caret lines) to `os`.
void printDiagnosticsText(std::ostream &os, const LoadResult &result);

/// Writes `text` to `path` atomically (temporary file, then rename), or to
/// stdout when `path` is "-" or empty. Returns false with `error` set.
bool writeOutput(const std::string &path, const std::string &text,
                 std::string &error);

/// Whether stderr is a terminal that understands colours.
bool stderrIsColorTerminal();

} // namespace attnc::cli

#endif // ATTNC_TOOLS_ATTNC_COMMANDS_H
