//===- Validate.cpp - From a file to a validated ModelConfig --------------===//

#include "attnc/Schema/Validate.h"

#include "Document.h"
#include "Resolve.h"
#include "SchemaCheck.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace attnc {

LoadResult loadConfigString(const std::string &text,
                            const std::string &displayName) {
  LoadResult result;
  result.sourceText = text;
  std::optional<Document> doc =
      parseDocument(text, displayName, result.diags);
  if (!doc)
    return result;

  std::set<std::string> bad;
  checkAgainstSchema(*doc, result.diags, bad);
  ConfigReader reader(*doc, bad);
  ModelConfig config = resolveConfig(reader);
  checkSemanticRules(reader, config, result.diags);
  result.diags.sort();
  if (!result.diags.hasErrors())
    result.config = std::move(config);
  return result;
}

LoadResult loadConfigFile(const std::string &path) {
  struct stat st;
  auto unreadable = [&](const std::string &why) {
    LoadResult r;
    r.unreadable = true;
    r.diags.error(SourceLoc{path, 0, 0, ""}, why);
    return r;
  };
  if (stat(path.c_str(), &st) != 0)
    return unreadable("cannot open '" + path + "': no such file");
  if (S_ISDIR(st.st_mode))
    return unreadable("'" + path + "' is a directory; expected a config file");
  if (!S_ISREG(st.st_mode))
    return unreadable("'" + path + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return unreadable("cannot read '" + path + "': permission denied");
  if (static_cast<size_t>(st.st_size) > kMaxConfigBytes) {
    // Not read at all: a config this large is a mistake (a checkpoint?).
    LoadResult r;
    reportTooLarge(path, static_cast<size_t>(st.st_size), r.diags);
    return r;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return loadConfigString(text, path);
}

} // namespace attnc
