//===- InspectArtifactCommand.cpp - attnc inspect-artifact ----------------===//
//
// Opens a compiled artifact through the runtime (so it says exactly what the
// runtime would refuse) and prints its manifest.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "attnc/runtime.h"

#include <iostream>

namespace attnc::cli {

void addInspectArtifactCommand(CLI::App &app) {
  auto path = std::make_shared<std::string>();
  CLI::App *cmd = app.add_subcommand(
      "inspect-artifact",
      "Check that this machine's runtime can run a compiled artifact and print\n"
      "its manifest (JSON). Exit 0 ok, 1 the runtime refuses it (the message\n"
      "says why), 2 usage error or unreadable file.");
  cmd->add_option("artifact", *path, "Compiled artifact (.attnc)")->required();
  cmd->callback([path] {
    attnc_artifact *a = nullptr;
    attnc_status s = attnc_artifact_open(path->c_str(), &a);
    if (s != ATTNC_OK) {
      std::cerr << "error: " << attnc_last_error() << "\n";
      throw CLI::RuntimeError(s == ATTNC_ERROR_IO ? kExitUsage
                                                  : kExitInvalidConfig);
    }
    std::cout << attnc_artifact_manifest(a) << "\n";
    attnc_artifact_close(a);
  });
}

} // namespace attnc::cli
