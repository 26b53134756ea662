//===- IntegerList.h - Integer list flags ("1, 2,3 4") ----------*- C++ -*-===//
//
// Shared by --tokens/--positions/--token-types (attnc run) and
// --tokens/--stop (attnc generate), which word their own errors.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_INTEGERLIST_H
#define ATTNC_TOOLS_ATTNC_INTEGERLIST_H

#include <optional>
#include <string>
#include <vector>

namespace attnc::cli {

/// One item of the list: its text, and its value when the whole item is an
/// integer.
struct ListItem {
  std::string text;
  std::optional<long long> value;
};

/// Splits at commas and whitespace (empty items dropped) and parses each
/// item.
std::vector<ListItem> splitIntegerList(const std::string &text);

} // namespace attnc::cli

#endif // ATTNC_TOOLS_ATTNC_INTEGERLIST_H
