//===- EntryPoints.cpp - Describe a module's entry points for the manifest ===//
//
// Runs on linalg on tensors, before bufferization: the public functions'
// arguments (tensors, scalars, and memrefs the function updates in place:
// "in_place", e.g. the KV caches of prefill/decode, with their ring's
// "window" from the `attnc.window` argument attribute) and results become
// the manifest's argument list (results last,
// as buffer-results-to-out-params appends them). For every dynamic dim of a
// result, the dim is traced back (through destination-style ops, casts,
// tensor.empty and reified result shapes) to `tensor.dim %argK, j` (plus a
// constant: `arith.addi`, `affine.apply` of one value + c, as a dynamic group
// after fixed-size groups gives) when the inputs determine it; that (K, j,
// offset) goes into the manifest so that the runtime can allocate the
// outputs.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Target/Emit.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <algorithm>

using namespace mlir;

namespace {

std::string dtypeOf(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isF64())
    return "f64";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(64) || type.isIndex())
    return "i64";
  if (type.isInteger(8))
    return "i8";
  return "";
}

/// Fills name/dtype/shape of one argument or result.
LogicalResult describeValue(func::FuncOp func, Type type, DictionaryAttr attrs,
                            const std::string &fallbackName,
                            attnc::EntryArg &arg) {
  arg.name = fallbackName;
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>(attnc::kNameAttr))
      arg.name = name.str();
  if (attrs)
    if (auto window = attrs.getAs<IntegerAttr>("attnc.window"))
      arg.window = window.getInt();
  Type elem = type;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    elem = tensor.getElementType();
    for (int64_t d : tensor.getShape())
      arg.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  } else if (auto memref = dyn_cast<MemRefType>(type)) {
    // A buffer the entry point writes in place (prefill/decode caches).
    elem = memref.getElementType();
    for (int64_t d : memref.getShape())
      arg.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    arg.inPlace = true;
  } else if (type.isIntOrIndexOrFloat()) {
    arg.scalar = true;
  } else {
    return func.emitError() << "entry point argument '" << arg.name
                            << "' has type " << type
                            << "; expected a ranked tensor, a memref or a scalar";
  }
  arg.dtype = dtypeOf(elem);
  if (arg.dtype.empty())
    return func.emitError() << "entry point value '" << arg.name
                            << "' has element type " << elem
                            << "; expected f32, f16, bf16, f64, i8, i32 or i64";
  return success();
}

using DimSource = attnc::EntryArg::DimSource;

std::optional<DimSource> traceDim(OpBuilder &b, Value v, int64_t d,
                                  Block *entry, int depth);

std::optional<DimSource> traceIndex(OpBuilder &b, Value index, Block *entry,
                                    int depth);

/// `src` + c.
std::optional<DimSource> plus(std::optional<DimSource> src, int64_t c) {
  if (src)
    src->offset += c;
  return src;
}

/// The input dim (+ a constant) of `v + c` (`affine.apply` of one value).
std::optional<DimSource> traceApply(OpBuilder &b, affine::AffineApplyOp apply,
                                    Block *entry, int depth) {
  AffineMap map = apply.getAffineMap();
  if (map.getNumResults() != 1 || apply.getMapOperands().size() != 1)
    return std::nullopt;
  AffineExpr e = map.getResult(0);
  int64_t c = 0;
  if (auto sum = dyn_cast<AffineBinaryOpExpr>(e);
      sum && sum.getKind() == AffineExprKind::Add) {
    auto k = dyn_cast<AffineConstantExpr>(sum.getRHS());
    if (!k)
      return std::nullopt;
    c = k.getValue();
    e = sum.getLHS();
  }
  if (!isa<AffineDimExpr, AffineSymbolExpr>(e))
    return std::nullopt;
  return plus(traceIndex(b, apply.getMapOperands()[0], entry, depth + 1), c);
}

/// The input dim (+ a constant) an index value is the size of, if any.
std::optional<DimSource> traceIndex(OpBuilder &b, Value index, Block *entry,
                                    int depth) {
  if (auto dim = index.getDefiningOp<tensor::DimOp>())
    if (std::optional<int64_t> i = dim.getConstantIndex())
      return traceDim(b, dim.getSource(), *i, entry, depth + 1);
  if (auto add = index.getDefiningOp<arith::AddIOp>()) {
    for (auto [x, y] : {std::pair(add.getLhs(), add.getRhs()),
                        std::pair(add.getRhs(), add.getLhs())})
      if (auto c = getConstantIntValue(y))
        return plus(traceIndex(b, x, entry, depth + 1), *c);
    return std::nullopt;
  }
  if (auto apply = index.getDefiningOp<affine::AffineApplyOp>())
    return traceApply(b, apply, entry, depth);
  return std::nullopt;
}

/// The input dim that dim `d` of tensor `v` equals: through casts,
/// destination-style ops (their tied init), tensor.empty sizes and any op
/// that can reify its result shapes (expand_shape, ...).
std::optional<DimSource> traceDim(OpBuilder &b, Value v, int64_t d,
                                  Block *entry, int depth) {
  if (depth > 10000)
    return std::nullopt;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != entry)
      return std::nullopt;
    return DimSource{int64_t(arg.getArgNumber()), d};
  }
  Operation *op = v.getDefiningOp();
  unsigned r = cast<OpResult>(v).getResultNumber();
  if (auto cast = dyn_cast<tensor::CastOp>(op))
    return traceDim(b, cast.getSource(), d, entry, depth + 1);
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
    if (r < unsigned(dps.getNumDpsInits()))
      return traceDim(b, dps.getDpsInitOperand(r)->get(), d, entry,
                      depth + 1);
  if (auto empty = dyn_cast<tensor::EmptyOp>(op))
    return traceIndex(b, empty.getDynamicSize(d), entry, depth + 1);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    if (auto size = dyn_cast<Value>(expand.getMixedOutputShape()[d]))
      return traceIndex(b, size, entry, depth + 1);
    return std::nullopt;
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    // A group of one dynamic dim and static 1s keeps that dim's size.
    std::optional<int64_t> only;
    for (int64_t s : collapse.getReassociationIndices()[d]) {
      int64_t size = collapse.getSrcType().getDimSize(s);
      if (size == 1)
        continue;
      if (only || !ShapedType::isDynamic(size))
        return std::nullopt;
      only = s;
    }
    if (!only)
      return std::nullopt;
    return traceDim(b, collapse.getSrc(), *only, entry, depth + 1);
  }
  if (auto reify = dyn_cast<ReifyRankedShapedTypeOpInterface>(op)) {
    b.setInsertionPoint(op);
    ReifiedRankedShapedTypeDims shapes;
    if (failed(reify.reifyResultShapes(b, shapes)) || r >= shapes.size() ||
        size_t(d) >= shapes[r].size())
      return std::nullopt;
    if (auto size = dyn_cast<Value>(shapes[r][d]))
      return traceIndex(b, size, entry, depth + 1);
  }
  return std::nullopt;
}

/// Finds, for each dynamic result dim of `func`, the argument dim it equals.
/// Works on a copy of the module: reifying shapes creates ops.
LogicalResult resolveDimSources(ModuleOp module, func::FuncOp func,
                                std::vector<attnc::EntryArg> &results) {
  for (attnc::EntryArg &r : results)
    r.dimSources.assign(r.shape.size(), std::nullopt);
  OwningOpRef<ModuleOp> copy = cast<ModuleOp>(module->clone());
  auto probe = cast<func::FuncOp>(SymbolTable(*copy).lookup(func.getSymName()));
  func::ReturnOp ret;
  probe.walk([&](func::ReturnOp op) { ret = op; });
  OpBuilder b(ret);
  for (auto [i, r] : llvm::enumerate(results))
    for (auto [d, size] : llvm::enumerate(r.shape)) {
      if (size >= 0)
        continue;
      std::optional<DimSource> src = traceDim(
          b, ret.getOperand(i), d, &probe.getBody().front(), 0);
      if (!src)
        return func.emitError()
               << "dim " << d << " of output '" << r.name
               << "' is not the size of an input dim; the runtime could not "
                  "allocate it";
      r.dimSources[d] = *src;
    }
  return success();
}

} // namespace

LogicalResult
attnc::describeEntryPoints(ModuleOp module,
                           const std::vector<std::string> &weightNames,
                           std::vector<EntryPoint> &entries) {
  std::vector<func::FuncOp> funcs;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      funcs.push_back(func);
  if (funcs.empty())
    return module.emitError("the module has no public function to export");

  for (func::FuncOp func : funcs) {
    EntryPoint entry;
    entry.name = func.getSymName().str();
    entry.symbol = "attnc_entry_" + entry.name;
    FunctionType type = func.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      EntryArg arg;
      DictionaryAttr attrs = func.getArgAttrDict(i);
      if (failed(describeValue(func, type.getInput(i), attrs,
                               "arg" + std::to_string(i), arg)))
        return failure();
      StringAttr role = attrs ? attrs.getAs<StringAttr>(kRoleAttr) : nullptr;
      bool weight = role ? role.getValue() == "weight"
                         : std::find(weightNames.begin(), weightNames.end(),
                                     arg.name) != weightNames.end();
      arg.role = weight ? EntryArg::Role::Weight : EntryArg::Role::Input;
      entry.args.push_back(std::move(arg));
    }
    std::vector<EntryArg> results;
    for (unsigned i = 0; i < type.getNumResults(); ++i) {
      EntryArg res;
      res.role = EntryArg::Role::Output;
      if (failed(describeValue(func, type.getResult(i),
                               func.getResultAttrDict(i),
                               "result" + std::to_string(i), res)))
        return failure();
      if (res.scalar)
        return func.emitError() << "entry point result '" << res.name
                                << "' is a scalar; expected a tensor";
      results.push_back(std::move(res));
    }
    if (failed(resolveDimSources(module, func, results)))
      return failure();
    for (EntryArg &r : results)
      entry.args.push_back(std::move(r));
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  UnitAttr::get(module.getContext()));
    entries.push_back(std::move(entry));
  }
  return success();
}
