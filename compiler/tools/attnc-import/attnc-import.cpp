//===- attnc-import.cpp - config -> attn / linalg MLIR --------------------===//
//
//   attnc-import CONFIG [--emit=attn|linalg] [--debug-info] [--return-kv]
//                [-o FILE]
//
// Loads and validates CONFIG (diagnostics as `attnc validate` prints them),
// then prints the imported module (attnc/Compiler/Driver.h). Exit codes as
// the attnc CLI: 0 ok, 1 invalid or uncompilable config, 2 usage.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Driver.h"
#include "attnc/Schema/Validate.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

int usage(const std::string &problem) {
  std::cerr << "attnc-import: " << problem
            << "\nusage: attnc-import CONFIG [--emit=attn|linalg] "
               "[--debug-info] [--return-kv] [-o FILE]\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string config, output, emit = "attn";
  attnc::EmitModuleOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--emit=", 0) == 0)
      emit = arg.substr(7);
    else if (arg == "--debug-info")
      options.debugInfo = true;
    else if (arg == "--return-kv")
      options.returnKV = true;
    else if (arg == "-o" && i + 1 < argc)
      output = argv[++i];
    else if (!arg.empty() && arg[0] == '-')
      return usage("unknown option '" + arg + "'");
    else if (config.empty())
      config = arg;
    else
      return usage("expected one config, found '" + config + "' and '" + arg +
                   "'");
  }
  if (config.empty())
    return usage("expected a config file");
  if (emit != "attn" && emit != "linalg")
    return usage("expected --emit=attn or --emit=linalg, found '" + emit + "'");

  attnc::LoadResult result = attnc::loadConfigFile(config);
  for (const attnc::Diagnostic &d : result.diags.all())
    attnc::printDiagnostic(std::cerr, d, &result.sourceText);
  if (!result.config)
    return result.unreadable ? 2 : 1;

  std::ostringstream text;
  int code = attnc::emitModule(*result.config,
                               emit == "attn" ? attnc::EmitStage::Attn
                                              : attnc::EmitStage::Linalg,
                               text, std::cerr, options);
  if (code != 0)
    return code;
  if (output.empty() || output == "-") {
    std::cout << text.str();
    return 0;
  }
  std::string tmp = output + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary);
    if (!(file << text.str())) {
      std::cerr << "attnc-import: cannot write '" << tmp << "'\n";
      return 2;
    }
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    std::cerr << "attnc-import: cannot rename '" << tmp << "' to '" << output
              << "'\n";
    return 2;
  }
  return 0;
}
