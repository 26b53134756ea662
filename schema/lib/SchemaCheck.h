//===- SchemaCheck.h - JSON Schema validation with readable errors --------===//
//
// Internal to schema/. The only translation unit that includes valijson.
// valijson decides what is wrong; the messages are ours, built from the
// schema node at the failing JSON pointer: what was found, what was expected.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SCHEMA_LIB_SCHEMACHECK_H
#define ATTNC_SCHEMA_LIB_SCHEMACHECK_H

#include "Document.h"

#include <set>

namespace attnc {

/// Validates `doc` against the config schema. Errors and "did you mean"
/// warnings go to `diags`; the pointers of values that failed are added to
/// `badPointers` so later rules can skip them instead of piling on.
void checkAgainstSchema(const Document &doc, DiagnosticList &diags,
                        std::set<std::string> &badPointers);

/// The parsed schema document.
const nlohmann::json &configSchema();

/// The schema node that describes the value at `pointer` in `instance`
/// ($ref, allOf and if/then/else followed); null when there is none.
const nlohmann::json *schemaNodeAt(const nlohmann::json &instance,
                                   const std::string &pointer);

/// "an integer >= 1", "one of 'layer', 'rms'", ...
std::string describeExpected(const nlohmann::json &schemaNode);
/// "'dyn'", "3", "a mapping", "a list of 2 items".
std::string describeFound(const nlohmann::json &value);

/// The closest candidate within a small edit distance, or "".
std::string closestMatch(const std::string &word,
                         const std::vector<std::string> &candidates);

} // namespace attnc

#endif // ATTNC_SCHEMA_LIB_SCHEMACHECK_H
