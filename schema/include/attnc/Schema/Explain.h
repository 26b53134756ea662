//===- Explain.h - Field documentation from the schema ----------*- C++ -*-===//
#ifndef ATTNC_SCHEMA_EXPLAIN_H
#define ATTNC_SCHEMA_EXPLAIN_H

#include <optional>
#include <string>

namespace attnc {

/// Documentation for the field at a dotted path ("attention.num_kv_heads",
/// "tokens.size", "" for the top level), taken from the schema: description,
/// what values it accepts, default, and its sub-fields. Lists are entered
/// implicitly ("tokens.size" is the size of each token group). Returns
/// nothing and sets `error` (with a did-you-mean) for an unknown path.
std::optional<std::string> explainField(const std::string &path,
                                        std::string &error);

} // namespace attnc

#endif // ATTNC_SCHEMA_EXPLAIN_H
