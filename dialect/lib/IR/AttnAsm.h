//===- AttnAsm.h - custom assembly directives of attn ops ---------*- C++ -*-===//
//
// Private to lib/IR: the custom<...> directives used by AttnOps.td.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_IR_ATTNASM_H
#define ATTNC_LIB_IR_ATTNASM_H

#include "attnc/Dialect/Attn/IR/AttnDialect.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir::attn {

/// `full` | `causal` | `sliding_window` INT
ParseResult parseMask(OpAsmParser &parser, MaskAttr &mask);
void printMask(OpAsmPrinter &printer, Operation *op, MaskAttr mask);

/// `[` (STRING `:` (INT | `?` | `cache`)) (`,` ...)* `]`
ParseResult parseTokenGroups(OpAsmParser &parser, ArrayAttr &groups);
void printTokenGroups(OpAsmPrinter &printer, Operation *op, ArrayAttr groups);

/// `[` (`[` STRING* `]` `->` `[` STRING* `]` MASK) (`,` ...)* `]`
ParseResult parsePatterns(OpAsmParser &parser, ArrayAttr &patterns);
void printPatterns(OpAsmPrinter &printer, Operation *op, ArrayAttr patterns);

} // namespace mlir::attn

#endif // ATTNC_LIB_IR_ATTNASM_H
