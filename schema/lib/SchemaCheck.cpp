//===- SchemaCheck.cpp - valijson validation, our own messages ------------===//

#include "SchemaCheck.h"

#include "attnc/Schema/Validate.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

namespace attnc {

using nlohmann::json;

const json &configSchema() {
  static const json schema = json::parse(configSchemaText());
  return schema;
}

namespace {

const valijson::Schema &compiledSchema() {
  // valijson::Schema is neither copyable nor movable: build it in place.
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(configSchema());
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

/// Follows "$ref": "#/definitions/X" (the only kind our schema uses).
const json *resolveRef(const json *node) {
  for (int guard = 0; node && node->is_object() && node->contains("$ref") &&
                      guard < 16;
       ++guard) {
    const std::string ref = (*node)["$ref"].get<std::string>();
    const std::string prefix = "#/definitions/";
    if (ref.rfind(prefix, 0) != 0)
      return nullptr;
    const json &defs = configSchema()["definitions"];
    auto it = defs.find(ref.substr(prefix.size()));
    node = it == defs.end() ? nullptr : &*it;
  }
  return node;
}

bool isEmptySchema(const json *node) {
  return !node || (node->is_object() && node->empty());
}

/// For if/then/else nodes, the branch that applies to `value` (our schema
/// only uses `if: {required: [...]}`).
const json *applicableBranch(const json *node, const json &value) {
  if (!node->contains("if"))
    return node;
  bool holds = value.is_object();
  for (const json &name : (*node)["if"].value("required", json::array()))
    holds = holds && value.contains(name.get<std::string>());
  const char *branch = holds ? "then" : "else";
  return node->contains(branch) ? &(*node)[branch] : node;
}

/// The property schema for `name` in object schema `node`, looking into
/// allOf members when the node only lists the name (`"window": {}`).
const json *propertySchema(const json *node, const std::string &name,
                           bool &known) {
  known = false;
  const json *found = nullptr;
  if (node->contains("properties") && (*node)["properties"].contains(name)) {
    known = true;
    found = &(*node)["properties"][name];
  }
  if (isEmptySchema(found) && node->contains("allOf")) {
    for (const json &member : (*node)["allOf"]) {
      bool k = false;
      const json *sub = propertySchema(resolveRef(&member), name, k);
      if (k && !isEmptySchema(sub))
        return known = true, sub;
    }
  }
  if (found)
    return found;
  auto ap = node->find("additionalProperties");
  if (ap != node->end() && ap->is_object())
    return &*ap;
  return nullptr;
}

std::vector<std::string> knownProperties(const json *node) {
  std::vector<std::string> names;
  if (node->contains("properties"))
    for (auto it = (*node)["properties"].begin();
         it != (*node)["properties"].end(); ++it)
      names.push_back(it.key());
  return names;
}

std::string joinQuoted(const std::vector<std::string> &items,
                       const char *lastSep = " or ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i)
      out += i + 1 == items.size() ? lastSep : ", ";
    out += "'" + items[i] + "'";
  }
  return out;
}

std::string numberText(const json &v) {
  if (v.is_number_integer())
    return std::to_string(v.get<int64_t>());
  std::ostringstream os;
  os << v.get<double>();
  return os.str();
}

std::string scalarText(const json &v) {
  if (v.is_string())
    return "'" + v.get<std::string>() + "'";
  if (v.is_number())
    return numberText(v);
  return v.dump();
}

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

/// valijson context ["<root>", "[tokens]", "[0]"] to "/tokens/0".
std::string contextToPointer(const std::vector<std::string> &context) {
  std::string pointer;
  for (const std::string &part : context) {
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']')
      pointer += "/" + escapePointerToken(part.substr(1, part.size() - 2));
  }
  return pointer;
}

std::string pathForMessage(const std::string &pointer) {
  SourceLoc loc;
  loc.pointer = pointer;
  std::string path = loc.configPath();
  return path.empty() ? "the top level" : "'" + path + "'";
}

bool startsWith(const std::string &s, const char *prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// Summary errors that only say "something inside failed".
bool isSummary(const std::string &d) {
  return startsWith(d, "Failed to validate item") ||
         startsWith(d, "Failed to validate against child schema") ||
         startsWith(d, "Failed to validate against additional properties") ||
         startsWith(d, "Failed to validate against schema associated") ||
         startsWith(d, "Failed to validate against a conditional") ||
         startsWith(d, "Failed to validate against any schemas allowed") ||
         startsWith(d, "Failed to validate against exactly one") ||
         startsWith(d, "Failed to validate against any child") ||
         startsWith(d, "Cannot validate item");
}

} // namespace

std::string closestMatch(const std::string &word,
                         const std::vector<std::string> &candidates) {
  std::string best;
  size_t bestDist = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string &c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

const json *schemaNodeAt(const json &instance, const std::string &pointer) {
  const json *node = resolveRef(&configSchema());
  const json *value = &instance;
  for (const std::string &token : splitPointer(pointer)) {
    if (!node || !value)
      return nullptr;
    node = applicableBranch(node, *value);
    if (value->is_object()) {
      bool known = false;
      node = resolveRef(propertySchema(node, token, known));
      auto it = value->find(token);
      value = it == value->end() ? nullptr : &*it;
    } else if (value->is_array()) {
      // Alternatives (oneOf) that accept lists: take the array one.
      if (node->contains("oneOf"))
        for (const json &alt : (*node)["oneOf"])
          if (alt.value("type", "") == "array")
            node = &alt;
      node = node->contains("items") ? resolveRef(&(*node)["items"]) : nullptr;
      size_t index = std::strtoul(token.c_str(), nullptr, 10);
      value = index < value->size() ? &(*value)[index] : nullptr;
    } else {
      return nullptr;
    }
  }
  if (node && value)
    node = applicableBranch(node, *value);
  return node;
}

std::string describeFound(const json &value) {
  if (value.is_object())
    return value.empty() ? "an empty mapping"
                         : "a mapping with " + std::to_string(value.size()) +
                               (value.size() == 1 ? " entry" : " entries");
  if (value.is_array())
    return value.empty() ? "an empty list"
                         : "a list of " + std::to_string(value.size()) +
                               (value.size() == 1 ? " item" : " items");
  if (value.is_null())
    return "null";
  if (value.is_boolean())
    return value.get<bool>() ? "true" : "false";
  if (value.is_number_float())
    return numberText(value) + " (a number with a fraction)";
  return scalarText(value);
}

std::string describeExpected(const json &rawNode) {
  const json *node = resolveRef(&rawNode);
  if (!node || !node->is_object())
    return "a valid value";
  if (node->contains("const"))
    return scalarText((*node)["const"]);
  if (node->contains("enum")) {
    std::vector<std::string> items;
    for (const json &v : (*node)["enum"])
      items.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    return "one of " + joinQuoted(items);
  }
  for (const char *key : {"oneOf", "anyOf"}) {
    if (!node->contains(key))
      continue;
    std::vector<std::string> alts;
    for (const json &alt : (*node)[key])
      alts.push_back(describeExpected(alt));
    std::string out;
    for (size_t i = 0; i < alts.size(); ++i)
      out += (i ? (i + 1 == alts.size() ? " or " : ", ") : "") + alts[i];
    return out;
  }
  std::vector<std::string> types;
  if (node->contains("type")) {
    const json &t = (*node)["type"];
    if (t.is_string())
      types.push_back(t.get<std::string>());
    else
      for (const json &x : t)
        types.push_back(x.get<std::string>());
  }
  std::string bounds;
  if (node->contains("minimum"))
    bounds += " >= " + numberText((*node)["minimum"]);
  if (node->contains("exclusiveMinimum"))
    bounds += " > " + numberText((*node)["exclusiveMinimum"]);
  if (node->contains("maximum"))
    bounds += std::string(bounds.empty() ? "" : " and") + " <= " +
              numberText((*node)["maximum"]);
  std::vector<std::string> parts;
  for (const std::string &t : types) {
    if (t == "integer")
      parts.push_back("an integer" + bounds);
    else if (t == "number")
      parts.push_back("a number" + bounds);
    else if (t == "string")
      parts.push_back(node->contains("pattern")
                          ? "a name of letters, digits and '_'"
                          : "a string");
    else if (t == "boolean")
      parts.push_back("true or false");
    else if (t == "null")
      parts.push_back("null");
    else if (t == "object")
      parts.push_back("a mapping");
    else if (t == "array") {
      std::string items = "values";
      if (node->contains("items")) {
        items = describeExpected((*node)["items"]);
        // "a list of a mapping" -> "a list of mappings"
        if (items == "a mapping")
          items = "mappings";
        else if (items == "a string")
          items = "strings";
        else if (items.rfind("an integer", 0) == 0)
          items = "integers" + items.substr(10);
      }
      std::string count;
      if (node->contains("minItems") && node->contains("maxItems") &&
          (*node)["minItems"] == (*node)["maxItems"])
        count = std::to_string((*node)["minItems"].get<int>()) + " ";
      parts.push_back("a list of " + count + items);
    }
  }
  if (parts.empty())
    return "a valid value";
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i ? (i + 1 == parts.size() ? " or " : ", ") : "") + parts[i];
  return out;
}

namespace {

class SchemaReporter {
public:
  SchemaReporter(const Document &doc, const json &instance,
                 DiagnosticList &diags, std::set<std::string> &bad)
      : doc_(doc), instance_(instance), diags_(diags), bad_(bad) {}

  void report(const valijson::ValidationResults &results) {
    // valijson reports the cause and then every enclosing "failed" summary;
    // keep the causes, one message per value.
    std::map<std::string, std::vector<std::string>> causes;
    for (auto it = results.begin(); it != results.end(); ++it) {
      if (isSummary(it->description))
        continue;
      causes[contextToPointer(it->context)].push_back(it->description);
    }
    for (const auto &[pointer, descriptions] : causes)
      reportAt(pointer, descriptions);
  }

  void warnMisspelledExtras() {
    const json *attention = instance_.contains("attention")
                                ? &instance_["attention"]
                                : nullptr;
    if (!attention || !attention->is_object())
      return;
    const json *node = schemaNodeAt(instance_, "/attention");
    if (!node)
      return;
    std::vector<std::string> known = knownProperties(node);
    for (auto it = attention->begin(); it != attention->end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) != known.end())
        continue;
      std::string guess = closestMatch(it.key(), known);
      if (guess.empty())
        continue;
      std::string pointer = "/attention/" + escapePointerToken(it.key());
      diags_.warning(doc_.keyLoc(pointer),
                     "unknown attention field '" + it.key() +
                         "' is kept as an extra field; did you mean '" +
                         guess + "'?",
                     "'" + it.key() + "'", "'" + guess + "'");
    }
  }

private:
  const json *valueAt(const std::string &pointer) const {
    return findAt(instance_, pointer);
  }

  void reportAt(const std::string &pointer,
                const std::vector<std::string> &descriptions) {
    const json *value = valueAt(pointer);
    const json *node = schemaNodeAt(instance_, pointer);
    bool valueReported = false;
    for (const std::string &d : descriptions) {
      if (startsWith(d, "Missing required property '")) {
        std::string name = d.substr(27, d.find('\'', 27) - 27);
        std::string expected = "a value";
        if (node) {
          bool known = false;
          if (const json *p = propertySchema(node, name, known))
            expected = describeExpected(*p);
        }
        diags_.error(doc_.valueLoc(pointer),
                     "missing required field '" + name + "' in " +
                         pathForMessage(pointer) + "; expected " + expected,
                     "no '" + name + "'", expected);
      } else if (startsWith(d, "Object contains a property")) {
        reportUnknownFields(pointer, node);
      } else if (!valueReported) {
        valueReported = true;
        reportBadValue(pointer, value, node, d);
      }
    }
  }

  void reportUnknownFields(const std::string &pointer, const json *node) {
    const json *value = valueAt(pointer);
    if (!node || !value || !value->is_object())
      return;
    std::vector<std::string> known = knownProperties(node);
    for (auto it = value->begin(); it != value->end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) != known.end())
        continue;
      std::string child = pointer + "/" + escapePointerToken(it.key());
      bad_.insert(child);
      std::string guess = closestMatch(it.key(), known);
      std::string message = "unknown field '" + it.key() + "' in " +
                            pathForMessage(pointer) + "; ";
      message += guess.empty() ? "expected one of " + joinQuoted(known)
                               : "did you mean '" + guess + "'?";
      diags_.error(doc_.keyLoc(child), message, "'" + it.key() + "'",
                   guess.empty() ? "one of " + joinQuoted(known)
                                 : "'" + guess + "'");
    }
  }

  void reportBadValue(const std::string &pointer, const json *value,
                      const json *node, const std::string &description) {
    bad_.insert(pointer);
    std::string found = value ? describeFound(*value) : "nothing";
    std::string expected;
    if (startsWith(description, "Array should contain no fewer") && node)
      expected = "at least " +
                 std::to_string(node->value("minItems", 0)) + " item(s)";
    else if (startsWith(description, "Object should have no") && node &&
             node->contains("maxProperties"))
      expected = "exactly one 'name: size' pair, or 'name' and 'size' fields";
    else if (startsWith(description, "Failed to match regex") && node)
      expected = describeExpected(*node);
    else
      expected = node ? describeExpected(*node) : "a valid value";
    std::string message = pathForMessage(pointer) + ": found " + found +
                          "; expected " + expected;
    if (value && value->is_string() && node && node->contains("enum")) {
      std::vector<std::string> options;
      for (const json &v : (*node)["enum"])
        if (v.is_string())
          options.push_back(v.get<std::string>());
      std::string guess = closestMatch(value->get<std::string>(), options);
      if (!guess.empty())
        message += " (did you mean '" + guess + "'?)";
    }
    diags_.error(doc_.valueLoc(pointer), message, found, expected);
  }

  const Document &doc_;
  const json &instance_;
  DiagnosticList &diags_;
  std::set<std::string> &bad_;
};

} // namespace

void checkAgainstSchema(const Document &doc, DiagnosticList &diags,
                        std::set<std::string> &badPointers) {
  // valijson's adapter reads nlohmann::json; member order does not matter.
  json instance = json::parse(doc.root.dump());
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(instance);
  SchemaReporter reporter(doc, instance, diags, badPointers);
  if (!validator.validate(compiledSchema(), adapter, &results))
    reporter.report(results);
  reporter.warnMisspelledExtras();
}

} // namespace attnc
