//===- Location.cpp -------------------------------------------------------===//

#include "attnc/Schema/Location.h"

#include "Document.h"

#include <cctype>
#include <string>

namespace attnc {


std::string SourceLoc::str() const {
  if (!known())
    return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string SourceLoc::configPath() const {
  std::string path;
  for (const std::string &token : splitPointer(pointer)) {
    bool index = !token.empty();
    for (char c : token)
      index = index && std::isdigit(static_cast<unsigned char>(c));
    if (index)
      path += "[" + token + "]";
    else
      path += (path.empty() ? "" : ".") + token;
  }
  return path;
}

} // namespace attnc
