//===- EntryPoints.cpp - Describe a module's entry points for the manifest ===//
//
// Runs on linalg on tensors, before bufferization: the public functions'
// arguments and results become the manifest's argument list (results last,
// as buffer-results-to-out-params appends them). For every dynamic dim of a
// result, a copy of the function returns `tensor.dim result, d` instead, and
// resolve-ranked-shaped-type-result-dims folds that to `tensor.dim %argK, j`
// when the inputs determine it; that (K, j) goes into the manifest so that
// the runtime can allocate the outputs.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Target/Emit.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

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
  Type elem = type;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    elem = tensor.getElementType();
    for (int64_t d : tensor.getShape())
      arg.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  } else if (type.isIntOrIndexOrFloat()) {
    arg.scalar = true;
  } else {
    return func.emitError() << "entry point argument '" << arg.name
                            << "' has type " << type
                            << "; expected a ranked tensor or a scalar";
  }
  arg.dtype = dtypeOf(elem);
  if (arg.dtype.empty())
    return func.emitError() << "entry point value '" << arg.name
                            << "' has element type " << elem
                            << "; expected f32, f16, bf16, f64, i8, i32 or i64";
  return success();
}

/// Finds, for each dynamic result dim of `func`, the argument dim it equals.
LogicalResult resolveDimSources(ModuleOp module, func::FuncOp func,
                                std::vector<attnc::EntryArg> &results,
                                int64_t numArgs) {
  std::vector<std::pair<unsigned, unsigned>> wanted; // (result, dim)
  for (auto [i, r] : llvm::enumerate(results))
    for (auto [d, size] : llvm::enumerate(r.shape))
      if (size < 0)
        wanted.push_back({unsigned(i), unsigned(d)});
  for (attnc::EntryArg &r : results)
    r.dimSources.assign(r.shape.size(), std::nullopt);
  if (wanted.empty())
    return success();

  OwningOpRef<ModuleOp> copy = cast<ModuleOp>(module->clone());
  auto probe = cast<func::FuncOp>(
      SymbolTable(*copy).lookup(func.getSymName())->clone());
  probe.setSymName("__attnc_dims_probe");
  probe.setPrivate();
  copy->push_back(probe);
  func::ReturnOp ret;
  probe.walk([&](func::ReturnOp op) { ret = op; });
  OpBuilder b(ret);
  SmallVector<Value> dims;
  for (auto [i, d] : wanted) {
    Value idx = b.create<arith::ConstantIndexOp>(ret.getLoc(), d);
    dims.push_back(
        b.create<tensor::DimOp>(ret.getLoc(), ret.getOperand(i), idx));
  }
  b.create<func::ReturnOp>(ret.getLoc(), dims);
  ret.erase();
  probe.setType(FunctionType::get(
      b.getContext(), probe.getArgumentTypes(),
      SmallVector<Type>(dims.size(), b.getIndexType())));
  probe.setAllResultAttrs(ArrayRef<DictionaryAttr>{});

  PassManager pm(module.getContext());
  pm.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(*copy)))
    return func.emitError() << "cannot analyse the output shapes";

  probe.walk([&](func::ReturnOp op) { ret = op; });
  for (auto [k, v] : llvm::enumerate(ret.getOperands())) {
    auto [i, d] = wanted[k];
    auto dim = v.getDefiningOp<tensor::DimOp>();
    auto arg = dim ? dyn_cast<BlockArgument>(dim.getSource()) : BlockArgument();
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!arg || !index || arg.getOwner() != &probe.getBody().front() ||
        int64_t(arg.getArgNumber()) >= numArgs)
      return func.emitError()
             << "dim " << d << " of output '" << results[i].name
             << "' is not the size of an input dim; the runtime could not "
                "allocate it";
    results[i].dimSources[d] =
        attnc::EntryArg::DimSource{int64_t(arg.getArgNumber()), *index};
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
    if (failed(resolveDimSources(module, func, results, type.getNumInputs())))
      return failure();
    for (EntryArg &r : results)
      entry.args.push_back(std::move(r));
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  UnitAttr::get(module.getContext()));
    entries.push_back(std::move(entry));
  }
  return success();
}
