//===- ValidateCommand.cpp - attnc validate -------------------------------===//

#include "Commands.h"

#include "attnc/Schema/Emit.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace attnc::cli {

namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool resolved = false;
  std::string resolvedFormat = "yaml";
  std::string output;
  bool quiet = false;
  bool warningsAsErrors = false;
};

nlohmann::ordered_json diagnosticJson(const Diagnostic &d) {
  nlohmann::ordered_json j = {
      {"severity", toString(d.severity)}, {"file", d.loc.file},
      {"line", d.loc.line},               {"column", d.loc.column},
      {"pointer", d.loc.pointer},         {"path", d.loc.configPath()},
      {"message", d.message}};
  if (!d.found.empty())
    j["found"] = d.found;
  if (!d.expected.empty())
    j["expected"] = d.expected;
  return j;
}

int runValidate(const ValidateOptions &opts) {
  if (opts.resolved && opts.files.size() != 1) {
    std::cerr << "attnc validate: --resolved takes exactly one config, got "
              << opts.files.size() << "\n";
    return kExitUsage;
  }
  int exitCode = kExitOk;
  nlohmann::ordered_json report = {{"files", nlohmann::ordered_json::array()}};
  for (const std::string &file : opts.files) {
    LoadResult result = loadConfigFile(file);
    size_t errors = result.diags.errorCount();
    size_t warnings = result.diags.all().size() - errors;
    bool valid = result.config && !(opts.warningsAsErrors && warnings > 0);
    int fileCode = result.unreadable ? kExitUsage
                   : valid           ? kExitOk
                                     : kExitInvalidConfig;
    exitCode = std::max(exitCode, fileCode);

    if (opts.format == "json") {
      nlohmann::ordered_json entry = {{"file", file}, {"valid", valid},
                                      {"errors", errors},
                                      {"warnings", warnings},
                                      {"diagnostics",
                                       nlohmann::ordered_json::array()}};
      for (const Diagnostic &d : result.diags.all())
        entry["diagnostics"].push_back(diagnosticJson(d));
      report["files"].push_back(entry);
    } else {
      printDiagnosticsText(std::cerr, result);
      if (result.unreadable)
        continue;
      if (!valid)
        std::cerr << file << ": " << errors
                  << (errors == 1 ? " error" : " errors")
                  << (warnings ? ", " + std::to_string(warnings) +
                                     (warnings == 1 ? " warning" : " warnings")
                               : std::string())
                  << "; the config is invalid\n";
      else if (!opts.quiet && !opts.resolved)
        std::cout << file << ": valid"
                  << (warnings ? " (" + std::to_string(warnings) +
                                     (warnings == 1 ? " warning)" : " warnings)")
                               : std::string())
                  << "\n";
    }
    if (opts.resolved && result.config) {
      nlohmann::ordered_json config = toJson(*result.config);
      std::string text = opts.resolvedFormat == "json"
                             ? config.dump(2) + "\n"
                             : toYaml(config);
      std::string error;
      if (!writeOutput(opts.output, text, error)) {
        std::cerr << "attnc validate: " << error << "\n";
        return kExitUsage;
      }
    }
  }
  if (opts.format == "json")
    std::cout << report.dump(2) << "\n";
  return exitCode;
}

} // namespace

void addValidateCommand(CLI::App &app) {
  auto opts = std::make_shared<ValidateOptions>();
  CLI::App *cmd = app.add_subcommand(
      "validate",
      "Check configs against the schema and the semantic rules.\n"
      "Every problem is reported, each as file:line:col: error: message,\n"
      "naming the field, what was found and what was expected.\n"
      "Exit 0 valid, 1 invalid, 2 usage error or unreadable file.");
  cmd->add_option("configs", opts->files, "YAML or JSON config files")
      ->required();
  cmd->add_option("--format", opts->format,
                  "text (to stderr) or json (machine-readable, to stdout)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--resolved", opts->resolved,
                "Print the config with every default filled in");
  cmd->add_option("--resolved-format", opts->resolvedFormat,
                  "Format of --resolved output: yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", opts->output,
                  "Write --resolved output to this file (atomically)");
  cmd->add_flag("-q,--quiet", opts->quiet, "Print only problems");
  cmd->add_flag("--warnings-as-errors", opts->warningsAsErrors,
                "Treat warnings (e.g. misspelled extra fields) as errors");
  cmd->callback([opts] {
    int code = runValidate(*opts);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
