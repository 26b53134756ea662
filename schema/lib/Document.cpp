//===- Document.cpp - YAML/JSON text to JSON values with positions --------===//

#include "Document.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <regex>
#include <set>

namespace attnc {

std::string escapePointerToken(const std::string &token) {
  std::string out;
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::vector<std::string> splitPointer(const std::string &pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty())
    return tokens;
  size_t start = 1;
  while (true) {
    size_t slash = pointer.find('/', start);
    std::string raw = pointer.substr(start, slash == std::string::npos
                                                ? std::string::npos
                                                : slash - start);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        token += raw[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(token);
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  return tokens;
}

static std::string parentPointer(const std::string &pointer) {
  size_t slash = pointer.rfind('/');
  return slash == std::string::npos ? std::string() : pointer.substr(0, slash);
}

SourceLoc Document::valueLoc(const std::string &pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = valuePositions.find(p);
    if (it != valuePositions.end())
      return SourceLoc{fileName, it->second.line, it->second.column, pointer};
    if (p.empty())
      return SourceLoc{fileName, 1, 1, pointer};
    p = parentPointer(p);
  }
}

SourceLoc Document::keyLoc(const std::string &pointer) const {
  auto it = keyPositions.find(pointer);
  if (it != keyPositions.end())
    return SourceLoc{fileName, it->second.line, it->second.column, pointer};
  return valueLoc(pointer);
}

namespace {

/// Finds the first byte that makes `text` not a text file: a NUL or a byte
/// sequence that is not UTF-8. Returns npos for text.
size_t findBinaryByte(const std::string &text) {
  size_t i = 0, n = text.size();
  while (i < n) {
    unsigned char c = text[i];
    if (c == 0)
      return i;
    int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2
                         : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || i + extra >= n + (extra == 0 ? 1 : 0))
      return i;
    for (int k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
        return i;
    i += extra + 1;
  }
  return std::string::npos;
}

Position positionOfOffset(const std::string &text, size_t offset) {
  Position pos{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

Position positionOf(const YAML::Mark &mark) {
  // yaml-cpp marks are 0-based; a null mark (-1) means unknown.
  if (mark.line < 0)
    return Position{1, 1};
  return Position{mark.line + 1, mark.column + 1};
}

} // namespace

// Quoted scalars stay strings, so "8" and 8 remain different.
nlohmann::ordered_json resolvePlainScalar(const std::string &s) {
  static const std::regex intRe("[-+]?[0-9]+");
  static const std::regex hexRe("0x[0-9a-fA-F]+");
  static const std::regex floatRe(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  if (std::regex_match(s, intRe)) {
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0)
      return static_cast<int64_t>(v);
    return std::strtod(s.c_str(), nullptr); // too large for int64: a number
  }
  if (std::regex_match(s, hexRe))
    return static_cast<int64_t>(std::strtoll(s.c_str(), nullptr, 16));
  if (std::regex_match(s, floatRe))
    return std::strtod(s.c_str(), nullptr);
  if (s == ".inf" || s == ".Inf" || s == "+.inf")
    return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf")
    return -std::numeric_limits<double>::infinity();
  return s;
}

namespace {

class Converter {
public:
  Converter(Document &doc, DiagnosticList &diags) : doc_(doc), diags_(diags) {}

  nlohmann::ordered_json convert(const YAML::Node &node,
                                 const std::string &pointer, int depth) {
    doc_.valuePositions[pointer] = positionOf(node.Mark());
    if (++nodes_ > kMaxConfigNodes) {
      if (!tooMany_)
        diags_.error(doc_.valueLoc(pointer),
                     "the document expands to more than " +
                         std::to_string(kMaxConfigNodes) +
                         " values (aliases?); expected a model config",
                     "over " + std::to_string(kMaxConfigNodes) + " values",
                     "a model config");
      tooMany_ = true;
      return nullptr;
    }
    if (depth > kMaxConfigDepth) {
      if (!tooDeep_)
        diags_.error(doc_.valueLoc(pointer),
                     "values nested more than " +
                         std::to_string(kMaxConfigDepth) +
                         " levels deep; expected a model config",
                     "nesting deeper than " + std::to_string(kMaxConfigDepth),
                     "a model config");
      tooDeep_ = true;
      return nullptr;
    }
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      size_t i = 0;
      for (const YAML::Node &child : node)
        arr.push_back(convert(child, pointer + "/" + std::to_string(i++),
                              depth + 1));
      return arr;
    }
    case YAML::NodeType::Map:
      return map(node, pointer, depth);
    }
    return nullptr;
  }

private:
  nlohmann::ordered_json scalar(const YAML::Node &node) {
    const std::string &tag = node.Tag();
    const std::string &s = node.Scalar();
    if (tag == "!" || tag == "tag:yaml.org,2002:str")
      return s;
    if (tag == "?" || tag.empty())
      return resolvePlainScalar(s);
    // An explicit core tag (!!int, !!float, ...): resolve and trust the value.
    return resolvePlainScalar(s);
  }

  nlohmann::ordered_json map(const YAML::Node &node, const std::string &pointer,
                             int depth) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node &key = it->first;
      Position keyPos = positionOf(key.Mark());
      if (!key.IsScalar()) {
        diags_.error(SourceLoc{doc_.fileName, keyPos.line, keyPos.column,
                               pointer},
                     "found a " + std::string(key.IsMap() ? "mapping"
                                                          : "list") +
                         " used as a key; expected a field name",
                     key.IsMap() ? "a mapping key" : "a list key",
                     "a field name");
        continue;
      }
      std::string name = key.Scalar();
      std::string childPointer = pointer + "/" + escapePointerToken(name);
      if (!seen.insert(name).second) {
        SourceLoc first = doc_.keyLoc(childPointer);
        diags_.error(SourceLoc{doc_.fileName, keyPos.line, keyPos.column,
                               childPointer},
                     "duplicate key '" + name + "' (first defined at line " +
                         std::to_string(first.line) +
                         "); expected each key once",
                     "key '" + name + "' twice", "each key once");
        continue;
      }
      doc_.keyPositions[childPointer] = keyPos;
      obj[name] = convert(it->second, childPointer, depth + 1);
    }
    return obj;
  }

public:
  /// The document is too large or deep to be a config: stop here.
  bool fatal() const { return tooMany_ || tooDeep_; }

private:
  Document &doc_;
  DiagnosticList &diags_;
  size_t nodes_ = 0;
  bool tooMany_ = false, tooDeep_ = false;
};

} // namespace

void reportTooLarge(const std::string &fileName, size_t bytes,
                    DiagnosticList &diags) {
  diags.error(SourceLoc{fileName, 1, 1, ""},
              "file is " + std::to_string(bytes) +
                  " bytes; expected a config of at most " +
                  std::to_string(kMaxConfigBytes) + " bytes",
              std::to_string(bytes) + " bytes",
              "at most " + std::to_string(kMaxConfigBytes) + " bytes");
}

std::optional<Document> parseDocument(const std::string &rawText,
                                      const std::string &fileName,
                                      DiagnosticList &diags) {
  SourceLoc start{fileName, 1, 1, ""};
  if (rawText.size() > kMaxConfigBytes) {
    reportTooLarge(fileName, rawText.size(), diags);
    return std::nullopt;
  }
  std::string text = rawText;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0)
    text.replace(0, 3, 3, ' '); // a UTF-8 BOM; keep columns stable
  size_t bad = findBinaryByte(text);
  if (bad != std::string::npos) {
    Position p = positionOfOffset(text, bad);
    diags.error(SourceLoc{fileName, p.line, p.column, ""},
                "file is not UTF-8 text (binary data at byte " +
                    std::to_string(bad) + "); expected a YAML or JSON config",
                "binary data", "YAML or JSON text");
    return std::nullopt;
  }

  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion &e) {
    Position p = positionOf(e.mark);
    diags.error(SourceLoc{fileName, p.line, p.column, ""},
                "values nested too deeply for a config; expected at most " +
                    std::to_string(kMaxConfigDepth) + " levels",
                "deep nesting",
                "at most " + std::to_string(kMaxConfigDepth) + " levels");
    return std::nullopt;
  } catch (const YAML::Exception &e) {
    Position p = positionOf(e.mark);
    diags.error(SourceLoc{fileName, p.line, p.column, ""},
                "malformed YAML/JSON: " + e.msg, "malformed text",
                "well-formed YAML or JSON");
    return std::nullopt;
  }

  Document doc;
  doc.fileName = fileName;
  if (!root.IsDefined() || root.IsNull()) {
    diags.error(start,
                "file holds no config; expected a mapping that starts with "
                "'attnc: 1'",
                "an empty document", "a mapping");
    return std::nullopt;
  }
  Converter converter(doc, diags);
  doc.root = converter.convert(root, "", 0);
  if (converter.fatal())
    return std::nullopt;
  return doc;
}

} // namespace attnc
