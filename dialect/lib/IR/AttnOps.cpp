//===- AttnOps.cpp - attn ops: embeddings, layers, MLP verifiers ---------===//
//
// Holds the generated op definitions and the verifiers of the ops outside
// the attention core (those are in AttnAttentionOps.cpp). Folds are in
// AttnFolds.cpp.
//
//===----------------------------------------------------------------------===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "AttnAsm.h"
#include "AttnVerify.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

#define GET_OP_CLASSES
#include "attnc/Dialect/Attn/IR/AttnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared helpers (declared in AttnVerify.h)
//===----------------------------------------------------------------------===//

std::string verify::dimStr(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

std::string verify::num(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%g", value);
  return s;
}

std::string verify::shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::interleave(
      shape, [&](int64_t d) { s += dimStr(d); }, [&] { s += ", "; });
  return s + "]";
}

LogicalResult verify::rank(Operation *op, StringRef name, Value v,
                           int64_t rank, StringRef layout) {
  int64_t found = cast<RankedTensorType>(v.getType()).getRank();
  if (found == rank)
    return success();
  return op->emitOpError() << "expected " << name << " of rank " << rank << " "
                           << layout << ", found rank " << found;
}

LogicalResult verify::minRank(Operation *op, StringRef name, Value v,
                              int64_t rank, StringRef layout) {
  int64_t found = cast<RankedTensorType>(v.getType()).getRank();
  if (found >= rank)
    return success();
  return op->emitOpError() << "expected " << name << " of rank at least "
                           << rank << " " << layout << ", found rank "
                           << found;
}

LogicalResult verify::dim(Operation *op, StringRef what, int64_t found,
                          int64_t expected, StringRef why) {
  if (compatible(found, expected))
    return success();
  return op->emitOpError() << "expected " << what << " to be "
                           << dimStr(expected) << " (" << why << "), found "
                           << dimStr(found);
}

LogicalResult verify::elementType(Operation *op, StringRef what, Value v,
                                  Type expected, StringRef why) {
  Type found = cast<RankedTensorType>(v.getType()).getElementType();
  if (found == expected)
    return success();
  return op->emitOpError() << "expected " << what << " element type "
                           << expected << " (" << why << "), found " << found;
}

LogicalResult verify::positions(Operation *op, StringRef what, Value pos,
                                int64_t batch, int64_t seq) {
  ArrayRef<int64_t> shape = shapeOf(pos);
  if (shape.size() != 1 && shape.size() != 2)
    return op->emitOpError() << "expected " << what
                             << " of rank 1 [seq] or 2 [batch, seq], found rank "
                             << shape.size();
  std::string seqWhat = (what + " seq dim").str();
  if (shape.size() == 2 &&
      failed(dim(op, (what + " batch dim").str(), shape[0], batch, "batch")))
    return failure();
  return dim(op, seqWhat, shape.back(), seq, "sequence length");
}

LogicalResult verify::positive(Operation *op, StringRef what, double value) {
  if (value > 0 && std::isfinite(value))
    return success();
  return op->emitOpError() << "expected a positive " << what << ", found "
                           << num(value);
}

LogicalResult verify::headGroups(Operation *op, int64_t heads,
                                 int64_t kvHeads) {
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(kvHeads))
    return op->emitOpError()
           << "expected static head counts for the grouped-query mapping, "
              "found "
           << dimStr(heads) << " query heads and " << dimStr(kvHeads)
           << " key/value heads";
  if (kvHeads > 0 && heads % kvHeads == 0)
    return success();
  return op->emitOpError() << "expected query heads " << heads
                           << " to be a multiple of key/value heads "
                           << kvHeads;
}

//===----------------------------------------------------------------------===//
// Embeddings and positions
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  if (failed(verify::rank(*this, "ids", getIds(), 2, "[batch, seq]")) ||
      failed(verify::rank(*this, "table", getTable(), 2, "[vocab, hidden]")) ||
      failed(verify::rank(*this, "result", getResult(), 3,
                          "[batch, seq, hidden]")))
    return failure();
  auto ids = verify::shapeOf(getIds()), table = verify::shapeOf(getTable()),
       res = verify::shapeOf(getResult());
  if (failed(verify::dim(*this, "result batch dim", res[0], ids[0], "ids")) ||
      failed(verify::dim(*this, "result seq dim", res[1], ids[1], "ids")) ||
      failed(verify::dim(*this, "result hidden dim", res[2], table[1],
                         "table")) ||
      failed(verify::elementType(*this, "result", getResult(),
                                 getTable().getType().getElementType(),
                                 "table")))
    return failure();
  return success();
}

LogicalResult PatchEmbedOp::verify() {
  if (failed(verify::rank(*this, "images", getImages(), 4,
                          "[batch, height, width, channels]")) ||
      failed(verify::rank(*this, "weight", getWeight(), 4,
                          "[hidden, channels, patch, patch]")) ||
      failed(verify::rank(*this, "result", getResult(), 3,
                          "[batch, patches, hidden]")))
    return failure();
  auto img = verify::shapeOf(getImages()), w = verify::shapeOf(getWeight()),
       res = verify::shapeOf(getResult());
  if (ShapedType::isDynamic(w[2]) || w[2] != w[3])
    return emitOpError() << "expected a square patch of static size, found "
                            "weight of shape "
                         << verify::shapeStr(w);
  int64_t p = w[2];
  if (p <= 0)
    return emitOpError() << "expected a positive patch size, found " << p;
  if (failed(verify::dim(*this, "weight channels", w[1], img[3], "images")))
    return failure();
  for (auto [name, size] : {std::pair<StringRef, int64_t>{"height", img[1]},
                            std::pair<StringRef, int64_t>{"width", img[2]}})
    if (!ShapedType::isDynamic(size) && size % p != 0)
      return emitOpError() << "expected image " << name << " " << size
                           << " to be a multiple of the patch size " << p;
  int64_t patches = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(img[1]) && !ShapedType::isDynamic(img[2]))
    patches = (img[1] / p) * (img[2] / p);
  if (failed(verify::dim(*this, "result batch dim", res[0], img[0],
                         "images")) ||
      failed(verify::dim(*this, "result patch count", res[1], patches,
                         "(height / patch) * (width / patch)")) ||
      failed(verify::dim(*this, "result hidden dim", res[2], w[0], "weight")) ||
      failed(verify::elementType(*this, "weight", getWeight(),
                                 getImages().getType().getElementType(),
                                 "images")))
    return failure();
  if (Value bias = getBias()) {
    if (failed(verify::rank(*this, "bias", bias, 1, "[hidden]")) ||
        failed(verify::dim(*this, "bias size", verify::shapeOf(bias)[0], w[0],
                           "weight hidden dim")))
      return failure();
  }
  return success();
}

LogicalResult SinusoidalAddOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 3, "[batch, seq, hidden]")))
    return failure();
  auto x = verify::shapeOf(getX());
  if (!ShapedType::isDynamic(x[2]) && x[2] % 2 != 0)
    return emitOpError() << "expected hidden dim " << x[2]
                         << " to be even for sinusoidal positions";
  if (failed(verify::positive(*this, "base", getBase().convertToDouble())))
    return failure();
  return verify::positions(*this, "positions", getPositions(), x[0], x[1]);
}

LogicalResult LearnedPositionAddOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 3, "[batch, seq, hidden]")) ||
      failed(verify::rank(*this, "table", getTable(), 2,
                          "[positions, hidden]")))
    return failure();
  auto x = verify::shapeOf(getX()), table = verify::shapeOf(getTable());
  if (failed(verify::dim(*this, "table hidden dim", table[1], x[2], "x")) ||
      failed(verify::elementType(*this, "table", getTable(),
                                 getX().getType().getElementType(), "x")))
    return failure();
  return verify::positions(*this, "positions", getPositions(), x[0], x[1]);
}

int64_t RopeOp::getRotaryDim() {
  int64_t headDim = getX().getType().getShape().back();
  if (ShapedType::isDynamic(headDim))
    return -1;
  return static_cast<int64_t>(std::llround(getFraction().convertToDouble() *
                                           static_cast<double>(headDim)));
}

LogicalResult RopeOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 4,
                          "[batch, heads, seq, head_dim]")))
    return failure();
  auto x = verify::shapeOf(getX());
  int64_t headDim = x[3];
  double fraction = getFraction().convertToDouble();
  if (!ShapedType::isDynamic(headDim) && headDim % 2 != 0)
    return emitOpError() << "expected head_dim " << headDim
                         << " to be even for rope";
  if (!(fraction >= 0.0 && fraction <= 1.0))
    return emitOpError() << "expected fraction in [0, 1], found "
                         << verify::num(fraction);
  if (!ShapedType::isDynamic(headDim)) {
    double rotated = fraction * static_cast<double>(headDim);
    int64_t rounded = static_cast<int64_t>(std::llround(rotated));
    if (std::fabs(rotated - static_cast<double>(rounded)) > 1e-9 ||
        rounded % 2 != 0)
      return emitOpError() << "expected fraction " << verify::num(fraction)
                           << " of head_dim " << headDim
                           << " to rotate an even number of dims, found "
                           << verify::num(rotated);
  } else if (fraction != 0.0 && fraction != 1.0) {
    return emitOpError() << "expected a static head_dim for a partial rope "
                            "(fraction "
                         << verify::num(fraction) << "), found ?";
  }
  if (failed(verify::positive(*this, "base", getBase().convertToDouble())) ||
      failed(verify::positive(*this, "scale_factor",
                              getScaleFactor().convertToDouble())))
    return failure();
  return verify::positions(*this, "positions", getPositions(), x[0], x[2]);
}

//===----------------------------------------------------------------------===//
// Norms, projections, activations
//===----------------------------------------------------------------------===//

LogicalResult NormOp::verify() {
  NormKind kind = getKind();
  StringRef kindName = stringifyNormKind(kind);
  if (kind == NormKind::Identity) {
    if (getScale() || getBias())
      return emitOpError() << "expected no scale or bias for an identity norm";
    if (getZeroCentered())
      return emitOpError() << "expected no zero_centered for an identity norm";
    return success();
  }
  if (failed(verify::minRank(*this, "x", getX(), 1, "[..., hidden]")))
    return failure();
  if (!getScale())
    return emitOpError() << "expected a scale operand for a " << kindName
                         << " norm";
  if (kind == NormKind::RMS && getBias())
    return emitOpError() << "expected no bias for an rms norm, found one";
  int64_t hidden = verify::shapeOf(getX()).back();
  for (auto [name, v] : {std::pair<StringRef, Value>{"scale", getScale()},
                         std::pair<StringRef, Value>{"bias", getBias()}}) {
    if (!v)
      continue;
    if (failed(verify::rank(*this, name, v, 1, "[hidden]")) ||
        failed(verify::dim(*this, (name + " size").str(),
                           verify::shapeOf(v)[0], hidden, "last dim of x")) ||
        failed(verify::elementType(*this, name, v,
                                   getX().getType().getElementType(), "x")))
      return failure();
  }
  double eps = getEps().convertToDouble();
  if (!(eps >= 0.0))
    return emitOpError() << "expected a non-negative eps, found "
                         << verify::num(eps);
  return success();
}

/// A projection from `inDim` through `weight` [out, in] (+ bias [out]).
static LogicalResult verifyProjection(Operation *op, StringRef name,
                                      int64_t inDim, StringRef inWhy,
                                      Type elementType, Value weight,
                                      Value bias, int64_t outDim = -1) {
  std::string wName = (name + " weight").str();
  if (failed(verify::rank(op, wName, weight, 2, "[out, in]")))
    return failure();
  auto w = verify::shapeOf(weight);
  if (failed(verify::dim(op, wName + " input dim", w[1], inDim, inWhy)))
    return failure();
  if (outDim != -1 &&
      failed(verify::dim(op, wName + " output dim", w[0], outDim,
                         "the other projections")))
    return failure();
  if (failed(verify::elementType(op, wName, weight, elementType, "input")))
    return failure();
  if (!bias)
    return success();
  std::string bName = (name + " bias").str();
  if (failed(verify::rank(op, bName, bias, 1, "[out]")) ||
      failed(verify::dim(op, bName + " size", verify::shapeOf(bias)[0], w[0],
                         "weight output dim")) ||
      failed(verify::elementType(op, bName, bias, elementType, "input")))
    return failure();
  return success();
}

/// The result keeps every dim of `x` but the last, which becomes `lastDim`.
static LogicalResult verifyLastDimResult(Operation *op, Value x, Value result,
                                         int64_t lastDim) {
  auto xs = verify::shapeOf(x), rs = verify::shapeOf(result);
  if (xs.size() != rs.size())
    return op->emitOpError() << "expected result of rank " << xs.size()
                             << " (the input's), found rank " << rs.size();
  for (size_t i = 0; i + 1 < xs.size(); ++i)
    if (failed(verify::dim(op, "result dim " + std::to_string(i), rs[i], xs[i],
                           "input")))
      return failure();
  if (failed(verify::dim(op, "result last dim", rs.back(), lastDim,
                         "weight output dim")))
    return failure();
  return verify::elementType(
      op, "result", result,
      cast<RankedTensorType>(x.getType()).getElementType(), "input");
}

LogicalResult LinearOp::verify() {
  if (failed(verify::minRank(*this, "x", getX(), 1, "[..., in]")) ||
      failed(verifyProjection(*this, "linear", verify::shapeOf(getX()).back(),
                              "last dim of x", getX().getType().getElementType(),
                              getWeight(), getBias())))
    return failure();
  return verifyLastDimResult(*this, getX(), getResult(),
                             verify::shapeOf(getWeight())[0]);
}

LogicalResult SoftcapOp::verify() {
  return verify::positive(*this, "cap", getCap().convertToDouble());
}

LogicalResult SplitHeadsOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 3, "[batch, seq, hidden]")) ||
      failed(verify::rank(*this, "result", getResult(), 4,
                          "[batch, heads, seq, head_dim]")))
    return failure();
  auto x = verify::shapeOf(getX()), r = verify::shapeOf(getResult());
  if (ShapedType::isDynamic(r[1]))
    return emitOpError() << "expected a static number of heads, found ?";
  if (failed(verify::dim(*this, "result batch dim", r[0], x[0], "x")) ||
      failed(verify::dim(*this, "result seq dim", r[2], x[1], "x")))
    return failure();
  if (!ShapedType::isDynamic(x[2]) && !ShapedType::isDynamic(r[3]) &&
      x[2] != r[1] * r[3])
    return emitOpError() << "expected hidden dim " << x[2] << " to be heads ("
                         << r[1] << ") times head_dim (" << r[3] << ")";
  if (ShapedType::isDynamic(x[2]) != ShapedType::isDynamic(r[3]))
    return emitOpError() << "expected hidden dim and head_dim to be both "
                            "static or both dynamic, found "
                         << verify::dimStr(x[2]) << " and "
                         << verify::dimStr(r[3]);
  return verify::elementType(*this, "result", getResult(),
                             getX().getType().getElementType(), "x");
}

LogicalResult MergeHeadsOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 4,
                          "[batch, heads, seq, head_dim]")) ||
      failed(verify::rank(*this, "result", getResult(), 3,
                          "[batch, seq, hidden]")))
    return failure();
  auto x = verify::shapeOf(getX()), r = verify::shapeOf(getResult());
  if (ShapedType::isDynamic(x[1]))
    return emitOpError() << "expected a static number of heads, found ?";
  if (failed(verify::dim(*this, "result batch dim", r[0], x[0], "x")) ||
      failed(verify::dim(*this, "result seq dim", r[1], x[2], "x")))
    return failure();
  if (!ShapedType::isDynamic(r[2]) && !ShapedType::isDynamic(x[3]) &&
      r[2] != x[1] * x[3])
    return emitOpError() << "expected hidden dim " << r[2] << " to be heads ("
                         << x[1] << ") times head_dim (" << x[3] << ")";
  if (ShapedType::isDynamic(r[2]) != ShapedType::isDynamic(x[3]))
    return emitOpError() << "expected hidden dim and head_dim to be both "
                            "static or both dynamic, found "
                         << verify::dimStr(r[2]) << " and "
                         << verify::dimStr(x[3]);
  return verify::elementType(*this, "result", getResult(),
                             getX().getType().getElementType(), "x");
}

//===----------------------------------------------------------------------===//
// MLPs and outputs
//===----------------------------------------------------------------------===//

LogicalResult MlpOp::verify() {
  if (failed(verify::minRank(*this, "x", getX(), 1, "[..., hidden]")))
    return failure();
  if (static_cast<bool>(getUpBias()) != static_cast<bool>(getDownBias()))
    return emitOpError() << "expected both biases or neither";
  Type et = getX().getType().getElementType();
  if (failed(verifyProjection(*this, "up", verify::shapeOf(getX()).back(),
                              "last dim of x", et, getUp(), getUpBias())))
    return failure();
  if (failed(verifyProjection(*this, "down", verify::shapeOf(getUp())[0],
                              "up weight output dim", et, getDown(),
                              getDownBias())))
    return failure();
  return verifyLastDimResult(*this, getX(), getResult(),
                             verify::shapeOf(getDown())[0]);
}

LogicalResult GatedMlpOp::verify() {
  if (failed(verify::minRank(*this, "x", getX(), 1, "[..., hidden]")))
    return failure();
  bool g = static_cast<bool>(getGateBias()), u = static_cast<bool>(getUpBias()),
       d = static_cast<bool>(getDownBias());
  if (g != u || u != d)
    return emitOpError() << "expected all three biases or none";
  Type et = getX().getType().getElementType();
  int64_t hidden = verify::shapeOf(getX()).back();
  if (failed(verifyProjection(*this, "gate", hidden, "last dim of x", et,
                              getGate(), getGateBias())))
    return failure();
  int64_t ffn = verify::shapeOf(getGate())[0];
  if (failed(verifyProjection(*this, "up", hidden, "last dim of x", et,
                              getUp(), getUpBias(), ffn)) ||
      failed(verifyProjection(*this, "down", ffn, "gate weight output dim", et,
                              getDown(), getDownBias())))
    return failure();
  return verifyLastDimResult(*this, getX(), getResult(),
                             verify::shapeOf(getDown())[0]);
}

LogicalResult UnembedOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 3, "[batch, seq, hidden]")) ||
      failed(verify::rank(*this, "table", getTable(), 2, "[vocab, hidden]")) ||
      failed(verify::rank(*this, "result", getResult(), 3,
                          "[batch, seq, vocab]")))
    return failure();
  auto x = verify::shapeOf(getX()), t = verify::shapeOf(getTable()),
       r = verify::shapeOf(getResult());
  if (failed(verify::dim(*this, "table hidden dim", t[1], x[2], "x")) ||
      failed(verify::dim(*this, "result batch dim", r[0], x[0], "x")) ||
      failed(verify::dim(*this, "result seq dim", r[1], x[1], "x")) ||
      failed(verify::dim(*this, "result vocab dim", r[2], t[0], "table")) ||
      failed(verify::elementType(*this, "table", getTable(),
                                 getX().getType().getElementType(), "x")))
    return failure();
  return verify::elementType(*this, "result", getResult(),
                             getX().getType().getElementType(), "x");
}

LogicalResult PoolOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 3, "[batch, seq, hidden]")) ||
      failed(verify::rank(*this, "result", getResult(), 2,
                          "[batch, hidden]")))
    return failure();
  auto x = verify::shapeOf(getX()), r = verify::shapeOf(getResult());
  if (failed(verify::dim(*this, "result batch dim", r[0], x[0], "x")) ||
      failed(verify::dim(*this, "result hidden dim", r[1], x[2], "x")))
    return failure();
  return verify::elementType(*this, "result", getResult(),
                             getX().getType().getElementType(), "x");
}
