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
      "file."
#ifdef ATTNC_RUNNER_ONLY
      "\n\nattnc-runner: every attnc command but `compile`, built without "
      "LLVM or\nMLIR, for machines that only run artifacts."
#endif
      ,
#ifdef ATTNC_RUNNER_ONLY
      "attnc-runner"};
#else
      "attnc"};
#endif
  app.set_version_flag("--version", "attnc 0.1.0 (config format 1)");
  app.require_subcommand(1);
  app.fallthrough(false);

  attnc::cli::addValidateCommand(app);
  attnc::cli::addInspectCommand(app);
  attnc::cli::addSchemaCommand(app);
  attnc::cli::addExplainCommand(app);
  attnc::cli::addInitWeightsCommand(app);
  attnc::cli::addRunCommand(app);
#ifndef ATTNC_RUNNER_ONLY
  attnc::cli::addCompileCommand(app);
#else
  // Says why, rather than CLI11's "A subcommand is required".
  CLI::App *compile = app.add_subcommand(
      "compile", "Not in attnc-runner: compile with attnc (LLVM/MLIR)");
  compile->allow_extras();
  compile->callback([] {
    std::cerr << "attnc-runner: no `compile` here (built without LLVM/MLIR "
                 "to run artifacts on machines without them); compile with "
                 "attnc and bring the artifact\n";
    throw CLI::RuntimeError(attnc::cli::kExitUsage);
  });
#endif
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
