//===- Emit.h - Write a resolved config back out ----------------*- C++ -*-===//
#ifndef ATTNC_SCHEMA_EMIT_H
#define ATTNC_SCHEMA_EMIT_H

#include "attnc/Schema/Config.h"

#include <nlohmann/json.hpp>

#include <string>

namespace attnc {

/// The config with every default written out, in the schema's field names.
/// It validates again and resolves to the same ModelConfig.
nlohmann::ordered_json toJson(const ModelConfig &config);

/// Block-style YAML for a JSON value (member order kept).
std::string toYaml(const nlohmann::ordered_json &value);

} // namespace attnc

#endif // ATTNC_SCHEMA_EMIT_H
