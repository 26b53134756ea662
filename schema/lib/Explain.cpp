//===- Explain.cpp - attnc explain: field docs from the schema ------------===//

#include "attnc/Schema/Explain.h"

#include "SchemaCheck.h"

#include <algorithm>
#include <sstream>

namespace attnc {

using nlohmann::json;

namespace {

const json *deref(const json *node) {
  for (int guard = 0; node && node->contains("$ref") && guard < 16; ++guard) {
    std::string ref = (*node)["$ref"].get<std::string>();
    node = &configSchema()["definitions"][ref.substr(ref.rfind('/') + 1)];
  }
  return node;
}

/// The object schema whose properties a path step looks into: the node
/// itself, its `then` branch (long-form token specs) or its array items.
const json *fieldsOf(const json *node) {
  node = deref(node);
  for (int guard = 0; node && guard < 4; ++guard) {
    if (node->contains("properties"))
      return node;
    if (node->contains("then"))
      node = &(*node)["then"];
    else if (node->contains("items"))
      node = deref(&(*node)["items"]);
    else if (node->contains("additionalProperties") &&
             (*node)["additionalProperties"].is_object())
      node = deref(&(*node)["additionalProperties"]);
    else
      return nullptr;
  }
  return nullptr;
}

/// A property schema, looking through allOf for "name": {} placeholders.
const json *property(const json *object, const std::string &name) {
  const json *found = nullptr;
  if (object->contains("properties") && (*object)["properties"].contains(name))
    found = &(*object)["properties"][name];
  if ((!found || found->empty()) && object->contains("allOf"))
    for (const json &member : (*object)["allOf"])
      if (const json *sub = fieldsOf(&member))
        if (const json *p = property(sub, name); p && !p->empty())
          return p;
  return found;
}

std::string firstSentence(const std::string &text) {
  size_t end = text.find(". ");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

} // namespace

std::optional<std::string> explainField(const std::string &path,
                                        std::string &error) {
  const json *node = &configSchema();
  std::string walked;
  std::stringstream in(path);
  std::string step;
  while (std::getline(in, step, '.')) {
    if (step.empty())
      continue;
    const json *object = fieldsOf(node);
    const json *next = object ? property(object, step) : nullptr;
    if (!next) {
      std::vector<std::string> names;
      if (object)
        for (auto it = (*object)["properties"].begin();
             it != (*object)["properties"].end(); ++it)
          names.push_back(it.key());
      std::string guess = closestMatch(step, names);
      error = "unknown field '" + step + "'" +
              (walked.empty() ? std::string() : " in '" + walked + "'") +
              (guess.empty() ? std::string()
                             : "; did you mean '" + guess + "'?");
      return std::nullopt;
    }
    walked += (walked.empty() ? "" : ".") + step;
    node = next;
  }

  const json *resolved = deref(node);
  std::ostringstream out;
  out << (walked.empty() ? "(top level)" : walked) << "\n";
  std::string description = resolved->value("description", "");
  if (description.empty() && node->contains("description"))
    description = (*node)["description"].get<std::string>();
  if (!description.empty())
    out << "  " << description << "\n";
  if (!resolved->contains("properties") || resolved->contains("enum"))
    out << "  accepts: " << describeExpected(*resolved) << "\n";
  if (resolved->contains("default"))
    out << "  default: " << (*resolved)["default"].dump() << "\n";
  if (const json *object = fieldsOf(resolved)) {
    std::vector<std::string> required;
    for (const json &r : object->value("required", json::array()))
      required.push_back(r.get<std::string>());
    out << "  fields:\n";
    for (auto it = (*object)["properties"].begin();
         it != (*object)["properties"].end(); ++it) {
      const json *p = deref(property(object, it.key()));
      bool isRequired = std::find(required.begin(), required.end(),
                                  it.key()) != required.end();
      out << "    " << it.key() << (isRequired ? " (required)" : "") << ": "
          << firstSentence(p ? p->value("description", "") : "") << "\n";
    }
  }
  return out.str();
}

} // namespace attnc
