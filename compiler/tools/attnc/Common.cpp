//===- Common.cpp - Helpers shared by the subcommands ---------------------===//

#include "Commands.h"
#include "IntegerList.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace attnc::cli {

bool stderrIsColorTerminal() {
  const char *term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") && term &&
         std::string(term) != "dumb";
}

void printDiagnosticsText(std::ostream &os, const LoadResult &result) {
  bool color = &os == &std::cerr && stderrIsColorTerminal();
  for (const Diagnostic &d : result.diags.all())
    printDiagnostic(os, d, &result.sourceText, color);
}

std::optional<ModelConfig> loadAndReport(const std::string &path,
                                         int &exitCode) {
  LoadResult result = loadConfigFile(path);
  printDiagnosticsText(std::cerr, result);
  if (result.unreadable) {
    exitCode = kExitUsage;
    return std::nullopt;
  }
  if (!result.config) {
    size_t n = result.diags.errorCount();
    std::cerr << path << ": " << n << (n == 1 ? " error" : " errors")
              << "; the config is invalid\n";
    exitCode = kExitInvalidConfig;
    return std::nullopt;
  }
  exitCode = kExitOk;
  return std::move(result.config);
}

bool writeOutput(const std::string &path, const std::string &text,
                 std::string &error) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return true;
  }
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = "cannot write '" + path + "'";
      return false;
    }
    out << text;
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      error = "cannot write '" + path + "' (disk full?)";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

std::vector<ListItem> splitIntegerList(const std::string &text) {
  std::vector<ListItem> items;
  std::string item;
  auto flush = [&] {
    if (item.empty())
      return;
    ListItem parsed{item, std::nullopt};
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used == item.size())
        parsed.value = v;
    } catch (...) {
    }
    items.push_back(std::move(parsed));
    item.clear();
  };
  for (char c : text) {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c)))
      flush();
    else
      item += c;
  }
  flush();
  return items;
}

} // namespace attnc::cli
