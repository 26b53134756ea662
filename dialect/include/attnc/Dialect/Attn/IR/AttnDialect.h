//===- AttnDialect.h - The attn dialect ---------------------------*- C++ -*-===//
//
// The dialect class, its enums and its attributes.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H
#define ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"

#include "attnc/Dialect/Attn/IR/AttnDialect.h.inc"
#include "attnc/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/IR/AttnAttrs.h.inc"

#endif // ATTNC_DIALECT_ATTN_IR_ATTNDIALECT_H
