//===- SchemaCommand.cpp - attnc schema / attnc explain -------------------===//

#include "Commands.h"

#include "attnc/Schema/Explain.h"

#include <iostream>

namespace attnc::cli {

void addSchemaCommand(CLI::App &app) {
  auto output = std::make_shared<std::string>();
  CLI::App *cmd = app.add_subcommand(
      "schema",
      "Print the JSON Schema (draft-07) that configs are validated against.\n"
      "Point an editor at it with a first line such as\n"
      "  # yaml-language-server: $schema=attnc.schema.json");
  cmd->add_option("-o,--output", *output, "Write the schema to this file");
  cmd->callback([output] {
    std::string error;
    if (!writeOutput(*output, configSchemaText(), error)) {
      std::cerr << "attnc schema: " << error << "\n";
      throw CLI::RuntimeError(kExitUsage);
    }
  });
}

void addExplainCommand(CLI::App &app) {
  auto field = std::make_shared<std::string>();
  CLI::App *cmd = app.add_subcommand(
      "explain",
      "Explain a config field from the schema: what it means, its type,\n"
      "allowed values and default. FIELD is a dotted path such as\n"
      "attention.num_kv_heads, tokens.size or position; with no FIELD the\n"
      "top-level fields are listed.");
  cmd->add_option("field", *field, "Dotted path of the field");
  cmd->callback([field] {
    std::string error;
    std::optional<std::string> text = explainField(*field, error);
    if (!text) {
      std::cerr << "attnc explain: " << error << "\n";
      throw CLI::RuntimeError(kExitUsage);
    }
    std::cout << *text;
  });
}

} // namespace attnc::cli
