//===- main.cpp - The attnc command-line driver ---------------------------===//

#include "Commands.h"

#include <iostream>

int main(int argc, char **argv) {
  CLI::App app{
      "attnc: a compiler for transformer models described as data.\n"
      "A model is a YAML or JSON config (token groups, attention patterns,\n"
      "attention/MLP/norm/position settings). attnc validates it against a\n"
      "published JSON Schema plus semantic rules and reports every problem as\n"
      "file:line:col.\n\n"
      "Exit codes: 0 success, 1 invalid config, 2 usage error or unreadable "
      "file.",
      "attnc"};
  app.set_version_flag("--version", "attnc 0.1.0 (config format 1)");
  app.require_subcommand(1);
  app.fallthrough(false);

  attnc::cli::addValidateCommand(app);
  attnc::cli::addInspectCommand(app);
  attnc::cli::addSchemaCommand(app);
  attnc::cli::addExplainCommand(app);
  attnc::cli::addInitWeightsCommand(app);
  attnc::cli::addRunCommand(app);
  attnc::cli::addCompileCommand(app);
  attnc::cli::addInspectArtifactCommand(app);
  attnc::cli::addGenerateCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError &e) {
    // Subcommands signal their exit code this way (CLI::RuntimeError(code)).
    return e.get_exit_code();
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return attnc::cli::kExitUsage;
  }
  return attnc::cli::kExitOk;
}
