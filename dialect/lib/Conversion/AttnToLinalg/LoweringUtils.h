//===- LoweringUtils.h - helpers for the attn -> linalg patterns --*- C++ -*-===//
//
// Private to lib/Conversion/AttnToLinalg. Small builders for the linalg on
// tensors that every pattern emits: empty/filled tensors, elementwise maps,
// last-dim reductions, matmuls over the last dim, activations.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_CONVERSION_ATTNTOLINALG_LOWERINGUTILS_H
#define ATTNC_LIB_CONVERSION_ATTNTOLINALG_LOWERINGUTILS_H

#include "attnc/Conversion/AttentionLogit.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>
#include <optional>

namespace mlir::attn::lowering {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A scalar float constant of type `type`.
Value floatConst(OpBuilder &b, Location loc, Type type, double value);
/// tensor.empty of the given sizes.
Value empty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
            Type elementType);
/// tensor.empty + linalg.fill with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             Type elementType, double value);
/// Sizes of `t` with dim `dim` dropped.
SmallVector<OpFoldResult> sizesWithout(OpBuilder &b, Location loc, Value t,
                                       int64_t dim);
/// The size of dim `dim` of `t` as a float scalar of `type`.
Value dimAsFloat(OpBuilder &b, Location loc, Value t, int64_t dim, Type type);

/// A linalg.generic whose iteration space is the shape of `init`, all
/// parallel; `inputs` are read through `inputMaps`, `init` through the
/// identity. The body gets the input scalars (and the output scalar last)
/// and returns the result scalar.
Value mapGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                 ArrayRef<AffineMap> inputMaps, Value init, BodyFn body);
/// mapGeneric over same-shaped inputs, into a fresh tensor like inputs[0].
Value mapElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                     BodyFn body);
/// Reduces the last dim of `x` with `body(x_elem, acc)` starting from
/// `initValue`; the result has x's shape without its last dim. With
/// `accType` the accumulator has that element type and the body gets x's
/// elements extended to it.
Value reduceLastDim(OpBuilder &b, Location loc, Value x, double initValue,
                    BodyFn body, Type accType = {});

// Mixed precision. Narrow floats (bf16, f16, f8...) are storage types: every
// sum, statistic and transcendental is computed in f32 and the op's result
// is rounded once to its element type. f32/f64 models are untouched (every
// helper below is the identity for them).

/// Whether `t` is a float type narrower than 32 bits.
bool isNarrowFloat(Type t);
/// f32 for a narrow float, `t` otherwise.
Type accumulatorType(Type t);
/// Scalar float `v` as float type `t` (extf, truncf, or `v` itself).
Value castFloat(OpBuilder &b, Location loc, Value v, Type t);
/// Tensor `x` with its elements converted to float type `et` (one
/// elementwise generic; `x` itself when it already has that type).
Value convertElements(OpBuilder &b, Location loc, Value x, Type et);
/// `fn` applied to scalar `x` extended to accumulatorType, the result
/// rounded back to x's type.
Value computeWide(OpBuilder &b, Location loc, Value x,
                  function_ref<Value(Value)> fn);

/// Identity map of `rank` dims.
AffineMap identity(OpBuilder &b, unsigned rank);
/// Map of `rank` dims onto the listed dims.
AffineMap project(OpBuilder &b, unsigned rank, ArrayRef<unsigned> dims);

/// `x` [..., in] times `w` [out, in] transposed (+ `bias` [out]): collapses
/// the leading dims and emits linalg.matmul with a transposed-B indexing map.
/// The sum (and bias) is in f32 when x or w is a narrow float, and the result
/// has element type `resultType` (default: x's).
Value linearLastDim(OpBuilder &b, Location loc, Value x, Value w, Value bias,
                    Type resultType = {});
/// Applies `kind` to a scalar.
Value activation(OpBuilder &b, Location loc, Activation kind, Value x);
/// Integer scalar (any width) or index -> f32/f64 `type`.
Value intToFloat(OpBuilder &b, Location loc, Value v, Type type);

/// `acc` plus the products `lhs * rhs` summed over the reduction dims: a
/// linalg.generic reading (lhs, rhs, acc) through `maps`. Inputs of another
/// float type than acc are converted to acc's element type in the body
/// (extf on bf16 inputs into an f32 accumulator).
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         Value acc, ArrayRef<AffineMap> maps,
                         ArrayRef<utils::IteratorType> iterators);
/// The same contraction from a zero accumulator of `sizes`, summed in
/// accumulatorType(et) and rounded to `et`.
Value contract(OpBuilder &b, Location loc, Value lhs, Value rhs,
               ArrayRef<OpFoldResult> sizes, Type et, ArrayRef<AffineMap> maps,
               ArrayRef<utils::IteratorType> iterators);
/// Replaces `op` (one result) by `value`, cast to the op's result type when
/// the lowering produced a less static type.
LogicalResult replaceWithCast(ConversionPatternRewriter &rewriter,
                              Operation *op, Value value);


/// [B, H, S, X] -> [B, K, H/K, S, X] (query heads grouped by kv head).
Value groupHeads(OpBuilder &b, Location loc, Value t, int64_t kvHeads);
/// [B, K, G, S, X] -> [B, K*G, S, X].
Value ungroupHeads(OpBuilder &b, Location loc, Value t);

} // namespace mlir::attn::lowering

namespace mlir::attn {
// One populate function per op family (each in its own file).
void populateEmbeddingLoweringPatterns(RewritePatternSet &patterns);
void populateLayerLoweringPatterns(RewritePatternSet &patterns);
void populateAttentionLoweringPatterns(RewritePatternSet &patterns);
} // namespace mlir::attn

#endif // ATTNC_LIB_CONVERSION_ATTNTOLINALG_LOWERINGUTILS_H
