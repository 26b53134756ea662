//===- AttnAttentionOps.cpp - verifiers of the attention and cache ops ---===//

#include "attnc/Dialect/Attn/IR/AttnOps.h"

#include "AttnVerify.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::attn;

static constexpr StringLiteral kQueryLayout = "[batch, heads, seq, head_dim]";
static constexpr StringLiteral kKeyLayout =
    "[batch, kv_heads, kv_seq, head_dim]";
static constexpr StringLiteral kValueLayout =
    "[batch, kv_heads, kv_seq, value_dim]";

LogicalResult RepeatKVOp::verify() {
  if (failed(verify::rank(*this, "x", getX(), 4, kKeyLayout)) ||
      failed(verify::rank(*this, "result", getResult(), 4, kQueryLayout)))
    return failure();
  auto x = verify::shapeOf(getX()), r = verify::shapeOf(getResult());
  if (failed(verify::headGroups(*this, r[1], x[1])))
    return failure();
  for (int i : {0, 2, 3})
    if (failed(verify::dim(*this, "result dim " + std::to_string(i), r[i],
                           x[i], "x")))
      return failure();
  return verify::elementType(*this, "result", getResult(),
                             getX().getType().getElementType(), "x");
}

/// ALiBi: slopes (one per query head) exactly when positions are given.
static LogicalResult verifyAlibi(Operation *op, bool hasPositions,
                                 std::optional<ArrayRef<double>> slopes,
                                 int64_t heads) {
  if (hasPositions != slopes.has_value())
    return op->emitOpError() << "expected ALiBi positions and slopes "
                                "together, found "
                             << (hasPositions ? "positions" : "slopes")
                             << " only";
  if (slopes && !ShapedType::isDynamic(heads) &&
      int64_t(slopes->size()) != heads)
    return op->emitOpError() << "expected " << heads
                             << " ALiBi slopes (one per query head), found "
                             << slopes->size();
  return success();
}

/// Checks shared by query_key and sdpa: query/key shapes, the head mapping,
/// positions, the allowed mask, scale and softcap.
/// Key/value element type: `expected` (the query's), or with `narrower` also
/// a float type narrower than it (a bf16 KV cache in an f32 model: the
/// lowering extends it, summing in the query's type).
static LogicalResult kvElementType(Operation *op, StringRef what, Value v,
                                   Type expected, StringRef why,
                                   bool narrower) {
  if (!narrower)
    return verify::elementType(op, what, v, expected, why);
  Type found = cast<ShapedType>(v.getType()).getElementType();
  auto f = dyn_cast<FloatType>(found);
  auto e = dyn_cast<FloatType>(expected);
  if (found == expected || (f && e && f.getWidth() < e.getWidth()))
    return success();
  return op->emitOpError() << "expected " << what << " element type "
                           << expected << " (" << why
                           << ") or a narrower float, found " << found;
}

static LogicalResult verifyQueryKey(Operation *op, Value query, Value key,
                                    Value qPos, Value kPos, Value allowed,
                                    double scale,
                                    std::optional<APFloat> softcap,
                                    Value alibiQ = nullptr,
                                    Value alibiK = nullptr,
                                    std::optional<ArrayRef<double>> slopes =
                                        std::nullopt,
                                    bool narrowerKey = false) {
  if (failed(verify::rank(op, "query", query, 4, kQueryLayout)) ||
      failed(verify::rank(op, "key", key, 4, kKeyLayout)))
    return failure();
  auto q = verify::shapeOf(query), k = verify::shapeOf(key);
  if (failed(verify::dim(op, "key batch dim", k[0], q[0], "query")) ||
      failed(verify::dim(op, "key head_dim", k[3], q[3], "query head_dim")) ||
      failed(verify::headGroups(op, q[1], k[1])) ||
      failed(kvElementType(
          op, "key", key,
          cast<RankedTensorType>(query.getType()).getElementType(), "query",
          narrowerKey)))
    return failure();
  if (static_cast<bool>(qPos) != static_cast<bool>(kPos))
    return op->emitOpError() << "expected both query and key positions or "
                                "neither";
  if (qPos && (failed(verify::positions(op, "query positions", qPos, q[0],
                                        q[2])) ||
               failed(verify::positions(op, "key positions", kPos, k[0],
                                        k[2]))))
    return failure();
  if (allowed) {
    if (failed(verify::rank(op, "allowed mask", allowed, 3,
                            "[batch, seq, kv_seq]")))
      return failure();
    auto m = verify::shapeOf(allowed);
    if (failed(verify::dim(op, "allowed mask batch dim", m[0], q[0],
                           "query")) ||
        failed(verify::dim(op, "allowed mask query dim", m[1], q[2],
                           "query seq")) ||
        failed(verify::dim(op, "allowed mask key dim", m[2], k[2],
                           "key seq")))
      return failure();
  }
  if (failed(verify::positive(op, "scale", scale)))
    return failure();
  if (softcap && failed(verify::positive(op, "softcap",
                                         softcap->convertToDouble())))
    return failure();
  if (failed(verifyAlibi(op, static_cast<bool>(alibiQ), slopes, q[1])))
    return failure();
  if (alibiQ && (failed(verify::positions(op, "ALiBi query positions", alibiQ,
                                          q[0], q[2])) ||
                 failed(verify::positions(op, "ALiBi key positions", alibiK,
                                          k[0], k[2]))))
    return failure();
  return success();
}

/// `value` [batch, kv_heads, kv_seq, value_dim] against the key (or, for
/// weights_value, the weights' batch and key length).
static LogicalResult verifyValue(Operation *op, Value value, StringRef name,
                                 int64_t batch,
                                 int64_t kvHeads, int64_t kvSeq,
                                 StringRef kvWhy, Type elementType,
                                 bool narrower = false) {
  if (failed(verify::rank(op, name, value, 4, kValueLayout)))
    return failure();
  auto v = verify::shapeOf(value);
  std::string n = name.str();
  if (failed(verify::dim(op, n + " batch dim", v[0], batch, kvWhy)) ||
      (!ShapedType::isDynamic(kvHeads) &&
       failed(verify::dim(op, n + " kv_heads dim", v[1], kvHeads, kvWhy))) ||
      failed(verify::dim(op, n + " kv_seq dim", v[2], kvSeq, kvWhy)) ||
      failed(kvElementType(op, name, value, elementType, kvWhy, narrower)))
    return failure();
  return success();
}

/// result [batch, heads, seq, last] of element type `elementType`.
static LogicalResult verifyHeadsResult(Operation *op, Value result,
                                       ArrayRef<int64_t> query, int64_t last,
                                       StringRef lastName, Type elementType) {
  if (failed(verify::rank(op, "result", result, 4,
                          ("[batch, heads, seq, " + lastName + "]").str())))
    return failure();
  auto r = verify::shapeOf(result);
  if (failed(verify::dim(op, "result batch dim", r[0], query[0], "query")) ||
      failed(verify::dim(op, "result heads dim", r[1], query[1], "query")) ||
      failed(verify::dim(op, "result seq dim", r[2], query[2], "query")) ||
      failed(verify::dim(op, ("result " + lastName + " dim").str(), r[3], last,
                         lastName)) ||
      failed(verify::elementType(op, "result", result, elementType, "query")))
    return failure();
  return success();
}

LogicalResult QueryKeyOp::verify() {
  if (failed(verifyQueryKey(*this, getQuery(), getKey(), getQueryPositions(),
                            getKeyPositions(), getAllowed(),
                            getScale().convertToDouble(), getSoftcap(),
                            getAlibiQueryPositions(), getAlibiKeyPositions(),
                            getAlibiSlopes(), /*narrowerKey=*/true)))
    return failure();
  return verifyHeadsResult(*this, getResult(), verify::shapeOf(getQuery()),
                           verify::shapeOf(getKey())[2], "kv_seq",
                           getQuery().getType().getElementType());
}

LogicalResult WeightsValueOp::verify() {
  if (failed(verify::rank(*this, "weights", getWeights(), 4,
                          "[batch, heads, seq, kv_seq]")))
    return failure();
  auto w = verify::shapeOf(getWeights());
  Type et = getWeights().getType().getElementType();
  if (failed(verifyValue(*this, getValue(), "value", w[0], ShapedType::kDynamic, w[3],
                         "weights", et, /*narrower=*/true)) ||
      failed(verify::headGroups(*this, w[1], verify::shapeOf(getValue())[1])))
    return failure();
  return verifyHeadsResult(*this, getResult(), w,
                           verify::shapeOf(getValue())[3], "value_dim", et);
}

LogicalResult SdpaOp::verify() {
  // Key and value may be a narrower float than the query (a bf16 KV cache
  // in an f32 model); the result has the query's type.
  if (failed(verifyQueryKey(*this, getQuery(), getKey(), getQueryPositions(),
                            getKeyPositions(), getAllowed(),
                            getScale().convertToDouble(), getSoftcap(),
                            getAlibiQueryPositions(), getAlibiKeyPositions(),
                            getAlibiSlopes(), /*narrowerKey=*/true)))
    return failure();
  auto k = verify::shapeOf(getKey());
  Type et = getQuery().getType().getElementType();
  if (failed(verifyValue(*this, getValue(), "value", k[0], k[1], k[2], "key",
                         et, /*narrower=*/true)))
    return failure();
  return verifyHeadsResult(*this, getResult(), verify::shapeOf(getQuery()),
                           verify::shapeOf(getValue())[3], "value_dim", et);
}

//===----------------------------------------------------------------------===//
// mixed_sdpa: token groups and attention patterns
//===----------------------------------------------------------------------===//

TokenGroupAttr MixedSdpaOp::lookupGroup(StringRef name) {
  for (Attribute attr : getGroups()) {
    auto group = cast<TokenGroupAttr>(attr);
    if (group.getName() == name)
      return group;
  }
  return {};
}

/// The token groups: unique names, at most one dynamic group, sizes that
/// cover the sequence. Counts the cache groups.
static LogicalResult verifyGroups(MixedSdpaOp op, int64_t seqLen,
                                  unsigned &numCacheGroups) {
  llvm::StringSet<> names;
  int64_t staticTotal = 0;
  TokenGroupAttr dynamicGroup;
  numCacheGroups = 0;
  for (Attribute attr : op.getGroups()) {
    auto group = cast<TokenGroupAttr>(attr);
    if (!names.insert(group.getName()).second)
      return op.emitOpError() << "expected unique token group names, found '"
                              << group.getName() << "' twice";
    if (group.getFromCache()) {
      ++numCacheGroups;
    } else if (group.isDynamic()) {
      if (dynamicGroup)
        return op.emitOpError()
               << "expected at most one dynamic token group, found '"
               << dynamicGroup.getName() << "' and '" << group.getName()
               << "'";
      dynamicGroup = group;
    } else {
      staticTotal += group.getSize();
    }
  }
  if (ShapedType::isDynamic(seqLen))
    return success();
  if (!dynamicGroup && staticTotal != seqLen)
    return op.emitOpError() << "expected the token groups to cover the "
                               "sequence of "
                            << seqLen << " tokens, found " << staticTotal;
  if (dynamicGroup && staticTotal > seqLen)
    return op.emitOpError() << "expected the fixed-size token groups to fit "
                               "the sequence of "
                            << seqLen << " tokens, found " << staticTotal;
  return success();
}

/// The patterns: known names, no cache group as a query, no name twice in a
/// list, and every input group the query of exactly one pattern.
static LogicalResult verifyPatterns(MixedSdpaOp op) {
  llvm::StringMap<unsigned> queryCount;
  for (auto [index, attr] : llvm::enumerate(op.getPatterns())) {
    auto pattern = cast<AttentionPatternAttr>(attr);
    for (auto [listName, list] :
         {std::pair<StringRef, ArrayAttr>{"queries", pattern.getQueries()},
          std::pair<StringRef, ArrayAttr>{"keys/values",
                                          pattern.getKeyValues()}}) {
      llvm::StringSet<> seen;
      for (Attribute nameAttr : list) {
        StringRef name = cast<StringAttr>(nameAttr).getValue();
        TokenGroupAttr group = op.lookupGroup(name);
        if (!group)
          return op.emitOpError() << "expected the " << listName
                                  << " of pattern " << index
                                  << " to name token groups, found unknown '"
                                  << name << "'";
        if (!seen.insert(name).second)
          return op.emitOpError() << "expected token group '" << name
                                  << "' at most once in the " << listName
                                  << " of pattern " << index
                                  << ", found it twice";
        if (listName == "queries") {
          if (group.getFromCache())
            return op.emitOpError() << "expected the queries of pattern "
                                    << index << " to be input groups, found "
                                    << "cache group '" << name << "'";
          ++queryCount[name];
        }
      }
    }
  }
  for (Attribute attr : op.getGroups()) {
    auto group = cast<TokenGroupAttr>(attr);
    if (group.getFromCache())
      continue;
    unsigned count = queryCount.lookup(group.getName());
    if (count != 1)
      return op.emitOpError() << "expected token group '" << group.getName()
                              << "' to be the query of exactly one pattern, "
                                 "found "
                              << count;
  }
  return success();
}

LogicalResult MixedSdpaOp::verify() {
  if (failed(verifyQueryKey(*this, getQuery(), getKey(), nullptr, nullptr,
                            nullptr, getScale().convertToDouble(),
                            getSoftcap())))
    return failure();
  auto q = verify::shapeOf(getQuery()), k = verify::shapeOf(getKey());
  Type et = getQuery().getType().getElementType();
  if (failed(verify::dim(*this, "key seq dim", k[2], q[2], "query seq")) ||
      failed(verifyValue(*this, getValue(), "value", k[0], k[1], k[2], "key", et)))
    return failure();
  int64_t valueDim = verify::shapeOf(getValue())[3];

  unsigned numCacheGroups = 0;
  if (failed(verifyGroups(*this, q[2], numCacheGroups)))
    return failure();
  if (getCached().size() != 2 * numCacheGroups)
    return emitOpError() << "expected " << 2 * numCacheGroups
                         << " cached operands (keys and values of "
                         << numCacheGroups << " cache groups), found "
                         << getCached().size();
  for (unsigned i = 0; i < numCacheGroups; ++i) {
    Value keys = getCachedKeys(i), values = getCachedValues(i);
    std::string what = "cached keys " + std::to_string(i);
    if (failed(verify::rank(*this, what, keys, 4, kKeyLayout)))
      return failure();
    auto ck = verify::shapeOf(keys);
    if (failed(verify::dim(*this, what + " batch dim", ck[0], k[0], "key")) ||
        failed(verify::dim(*this, what + " kv_heads dim", ck[1], k[1],
                           "key")) ||
        failed(verify::dim(*this, what + " head_dim", ck[3], k[3], "key")) ||
        failed(verify::elementType(*this, what, keys, et, "query")) ||
        failed(verifyValue(*this, values,
                           "cached values " + std::to_string(i), ck[0], ck[1],
                           ck[2], what, et)) ||
        failed(verify::dim(*this,
                           "cached values " + std::to_string(i) + " value_dim",
                           verify::shapeOf(values)[3], valueDim, "value")))
      return failure();
  }
  if (failed(verifyPatterns(*this)))
    return failure();
  if (failed(verifyAlibi(*this, static_cast<bool>(getAlibiPositions()),
                         getAlibiSlopes(), q[1])))
    return failure();
  if (Value pos = getAlibiPositions())
    if (failed(verify::positions(*this, "ALiBi positions", pos, q[0], q[2])))
      return failure();
  return verifyHeadsResult(*this, getResult(), q, valueDim, "value_dim", et);
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

LogicalResult KVAppendOp::verify() {
  if (failed(verify::rank(*this, "update", getUpdate(), 4,
                          "[batch, kv_heads, seq, head_dim]")) ||
      failed(verify::rank(*this, "cache", getCache(), 4,
                          "[batch, kv_heads, cache_len, head_dim]")))
    return failure();
  auto u = verify::shapeOf(getUpdate()), c = verify::shapeOf(getCache());
  if (failed(verify::dim(*this, "update batch dim", u[0], c[0], "cache")) ||
      failed(verify::dim(*this, "update kv_heads dim", u[1], c[1], "cache")) ||
      failed(verify::dim(*this, "update head_dim", u[3], c[3], "cache")) ||
      failed(verify::elementType(*this, "update", getUpdate(),
                                 getCache().getType().getElementType(),
                                 "cache")))
    return failure();
  if (!ShapedType::isDynamic(u[2]) && !ShapedType::isDynamic(c[2]) &&
      u[2] > c[2])
    return emitOpError() << "expected an update of at most " << c[2]
                         << " slots (the cache length), found " << u[2];
  return success();
}

LogicalResult KVReadOp::verify() {
  if (failed(verify::rank(*this, "cache", getCache(), 4,
                          "[batch, kv_heads, cache_len, head_dim]")) ||
      failed(verify::rank(*this, "result", getResult(), 4,
                          "[batch, kv_heads, length, head_dim]")))
    return failure();
  auto c = verify::shapeOf(getCache()), r = verify::shapeOf(getResult());
  for (int i : {0, 1, 3})
    if (failed(verify::dim(*this, "result dim " + std::to_string(i), r[i],
                           c[i], "cache")))
      return failure();
  if (!ShapedType::isDynamic(r[2]) && !ShapedType::isDynamic(c[2]) &&
      r[2] > c[2])
    return emitOpError() << "expected at most " << c[2]
                         << " slots (the cache length), found " << r[2];
  APInt length;
  if (!ShapedType::isDynamic(r[2]) &&
      matchPattern(getLength(), m_ConstantInt(&length)) &&
      length.getSExtValue() != r[2])
    return emitOpError() << "expected result length " << length.getSExtValue()
                         << " (the length operand), found " << r[2];
  return verify::elementType(*this, "result", getResult(),
                             getCache().getType().getElementType(), "cache");
}
