//===- AttnAttrs.cpp - attn attributes: syntax and verifiers -------------===//
//
// The three attributes share one body syntax between their standalone form
// (#attn.mask<causal>) and the custom directives of the ops that carry them
// (mask(causal), groups [...], patterns [...]).
//
//===----------------------------------------------------------------------===//

#include "AttnAsm.h"

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "attnc/Dialect/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attnc/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Body parsers shared by the attributes and the op directives
//===----------------------------------------------------------------------===//

static ParseResult parseMaskBody(AsmParser &parser, MaskAttr &mask) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<MaskKind> kind = symbolizeMaskKind(keyword);
  if (!kind)
    return parser.emitError(loc) << "expected mask kind 'full', 'causal', "
                                    "'sliding_window' or 'local', found '"
                                 << keyword << "'";
  int64_t window = 0;
  bool windowed = *kind == MaskKind::SlidingWindow || *kind == MaskKind::Local;
  if (windowed && parser.parseInteger(window))
    return failure();
  mask = MaskAttr::getChecked(
      [&] { return parser.emitError(loc); }, parser.getContext(), *kind,
      window);
  return success(static_cast<bool>(mask));
}

void MaskAttr::printBody(raw_ostream &os) const {
  os << stringifyMaskKind(getKind());
  if (hasWindow())
    os << ' ' << getWindow();
}

static ParseResult parseTokenGroupBody(AsmParser &parser,
                                       TokenGroupAttr &group) {
  SMLoc loc = parser.getCurrentLocation();
  std::string name;
  if (parser.parseString(&name) || parser.parseColon())
    return failure();
  int64_t size = ShapedType::kDynamic;
  bool fromCache = false;
  if (succeeded(parser.parseOptionalKeyword("cache"))) {
    fromCache = true;
  } else if (failed(parser.parseOptionalQuestion())) {
    if (parser.parseInteger(size))
      return failure();
  }
  group = TokenGroupAttr::getChecked([&] { return parser.emitError(loc); },
                                     parser.getContext(), name, size,
                                     fromCache);
  return success(static_cast<bool>(group));
}

void TokenGroupAttr::printBody(raw_ostream &os) const {
  os << '"';
  llvm::printEscapedString(getName(), os);
  os << "\": ";
  if (getFromCache())
    os << "cache";
  else if (isDynamic())
    os << '?';
  else
    os << getSize();
}

static ParseResult parseNameList(AsmParser &parser, ArrayAttr &names) {
  SmallVector<Attribute> list;
  auto parseOne = [&]() -> ParseResult {
    std::string name;
    if (parser.parseString(&name))
      return failure();
    list.push_back(StringAttr::get(parser.getContext(), name));
    return success();
  };
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, parseOne))
    return failure();
  names = ArrayAttr::get(parser.getContext(), list);
  return success();
}

static void printNameList(raw_ostream &os, ArrayAttr names) {
  os << '[';
  llvm::interleaveComma(names, os, [&](Attribute name) {
    os << '"';
    llvm::printEscapedString(cast<StringAttr>(name).getValue(), os);
    os << '"';
  });
  os << ']';
}

static ParseResult parsePatternBody(AsmParser &parser,
                                    AttentionPatternAttr &pattern) {
  SMLoc loc = parser.getCurrentLocation();
  ArrayAttr queries, keyValues;
  MaskAttr mask;
  if (parseNameList(parser, queries) || parser.parseArrow() ||
      parseNameList(parser, keyValues) || parseMaskBody(parser, mask))
    return failure();
  pattern = AttentionPatternAttr::getChecked(
      [&] { return parser.emitError(loc); }, parser.getContext(), queries,
      keyValues, mask);
  return success(static_cast<bool>(pattern));
}

void AttentionPatternAttr::printBody(raw_ostream &os) const {
  printNameList(os, getQueries());
  os << " -> ";
  printNameList(os, getKeyValues());
  os << ' ';
  getMask().printBody(os);
}

//===----------------------------------------------------------------------===//
// Standalone attribute syntax: #attn.mnemonic<body>
//===----------------------------------------------------------------------===//

Attribute MaskAttr::parse(AsmParser &parser, Type) {
  MaskAttr mask;
  if (parser.parseLess() || parseMaskBody(parser, mask) ||
      parser.parseGreater())
    return {};
  return mask;
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBody(printer.getStream());
  printer << '>';
}

Attribute TokenGroupAttr::parse(AsmParser &parser, Type) {
  TokenGroupAttr group;
  if (parser.parseLess() || parseTokenGroupBody(parser, group) ||
      parser.parseGreater())
    return {};
  return group;
}

void TokenGroupAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBody(printer.getStream());
  printer << '>';
}

Attribute AttentionPatternAttr::parse(AsmParser &parser, Type) {
  AttentionPatternAttr pattern;
  if (parser.parseLess() || parsePatternBody(parser, pattern) ||
      parser.parseGreater())
    return {};
  return pattern;
}

void AttentionPatternAttr::print(AsmPrinter &printer) const {
  printer << '<';
  printBody(printer.getStream());
  printer << '>';
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               MaskKind kind, int64_t window) {
  bool windowed = kind == MaskKind::SlidingWindow || kind == MaskKind::Local;
  if (windowed && window < 1)
    return emitError() << "expected a positive window for "
                       << stringifyMaskKind(kind) << ", found " << window;
  if (!windowed && window != 0)
    return emitError() << "expected no window for a " << stringifyMaskKind(kind)
                       << " mask, found window " << window;
  return success();
}

LogicalResult
TokenGroupAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       StringRef name, int64_t size, bool fromCache) {
  if (name.empty())
    return emitError() << "expected a non-empty token group name";
  if (fromCache && !ShapedType::isDynamic(size))
    return emitError() << "expected no size for cache group '" << name
                       << "', found " << size;
  if (!ShapedType::isDynamic(size) && size < 0)
    return emitError() << "expected a non-negative size for token group '"
                       << name << "', found " << size;
  return success();
}

LogicalResult
AttentionPatternAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                             ArrayAttr queries, ArrayAttr keyValues,
                             MaskAttr mask) {
  if (!queries || queries.empty())
    return emitError() << "expected at least one query group in a pattern";
  if (!keyValues || keyValues.empty())
    return emitError() << "expected at least one key/value group in a pattern";
  for (ArrayAttr list : {queries, keyValues})
    for (Attribute name : list)
      if (!isa<StringAttr>(name))
        return emitError() << "expected group names to be strings, found "
                           << name;
  if (!mask)
    return emitError() << "expected a mask in a pattern";
  return success();
}

//===----------------------------------------------------------------------===//
// Custom directives used by the ops' assembly formats
//===----------------------------------------------------------------------===//

ParseResult mlir::attn::parseMask(OpAsmParser &parser, MaskAttr &mask) {
  return parseMaskBody(parser, mask);
}

void mlir::attn::printMask(OpAsmPrinter &printer, Operation *,
                           MaskAttr mask) {
  mask.printBody(printer.getStream());
}

ParseResult mlir::attn::parseTokenGroups(OpAsmParser &parser,
                                         ArrayAttr &groups) {
  SmallVector<Attribute> list;
  if (parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square, [&]() -> ParseResult {
            TokenGroupAttr group;
            if (parseTokenGroupBody(parser, group))
              return failure();
            list.push_back(group);
            return success();
          }))
    return failure();
  groups = ArrayAttr::get(parser.getContext(), list);
  return success();
}

void mlir::attn::printTokenGroups(OpAsmPrinter &printer, Operation *,
                                  ArrayAttr groups) {
  raw_ostream &os = printer.getStream();
  os << '[';
  llvm::interleaveComma(groups, os, [&](Attribute group) {
    cast<TokenGroupAttr>(group).printBody(os);
  });
  os << ']';
}

ParseResult mlir::attn::parsePatterns(OpAsmParser &parser,
                                      ArrayAttr &patterns) {
  SmallVector<Attribute> list;
  if (parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square, [&]() -> ParseResult {
            AttentionPatternAttr pattern;
            if (parsePatternBody(parser, pattern))
              return failure();
            list.push_back(pattern);
            return success();
          }))
    return failure();
  patterns = ArrayAttr::get(parser.getContext(), list);
  return success();
}

void mlir::attn::printPatterns(OpAsmPrinter &printer, Operation *,
                               ArrayAttr patterns) {
  raw_ostream &os = printer.getStream();
  os << '[';
  llvm::interleaveComma(patterns, os, [&](Attribute pattern) {
    cast<AttentionPatternAttr>(pattern).printBody(os);
  });
  os << ']';
}
