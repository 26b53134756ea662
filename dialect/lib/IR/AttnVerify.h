//===- AttnVerify.h - shape checks shared by the op verifiers -----*- C++ -*-===//
//
// Private to lib/IR. Every helper emits an LLVM-style message that says what
// was found and what was expected, and returns failure.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_IR_ATTNVERIFY_H
#define ATTNC_LIB_IR_ATTNVERIFY_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace mlir::attn::verify {

/// "?" for a dynamic dim, the number otherwise.
std::string dimStr(int64_t dim);
/// A double the way people write it: "0.3", "19.2", "1e-06".
std::string num(double value);
/// "[1, ?, 64]".
std::string shapeStr(ArrayRef<int64_t> shape);

inline bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

inline ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// "expected <name> of rank <rank> <layout>, found rank <r>".
LogicalResult rank(Operation *op, StringRef name, Value v, int64_t rank,
                   StringRef layout);
/// As `rank`, for "rank at least".
LogicalResult minRank(Operation *op, StringRef name, Value v, int64_t rank,
                      StringRef layout);
/// "expected <what> to be <expected> (<why>), found <found>" unless the two
/// dims are compatible.
LogicalResult dim(Operation *op, StringRef what, int64_t found,
                  int64_t expected, StringRef why);
/// "expected <what> element type <expected> (<why>), found <found>".
LogicalResult elementType(Operation *op, StringRef what, Value v,
                          Type expected, StringRef why);
/// Positions are `[batch, seq]` or `[seq]` integers.
LogicalResult positions(Operation *op, StringRef what, Value positions,
                        int64_t batch, int64_t seq);
/// "expected a positive <what>, found <value>".
LogicalResult positive(Operation *op, StringRef what, double value);
/// Grouped-query mapping: `heads` must be a multiple of `kvHeads`.
LogicalResult headGroups(Operation *op, int64_t heads, int64_t kvHeads);

} // namespace mlir::attn::verify

#endif // ATTNC_LIB_IR_ATTNVERIFY_H
