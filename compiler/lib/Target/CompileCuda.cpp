//===- CompileCuda.cpp - `attnc compile --target cuda`, end to end --------===//
//
// After the attnc-cuda-pipeline, gpu-module-to-binary{format=isa} gives the
// PTX; ptxas (when found) checks it and makes a cubin. Then the host module
// is made self-contained (attnc launch ABI, compiler/docs/cuda.md):
//   - every gpu.launch_func becomes a call through the exported pointer
//     attnc_cuda_launch_fn(kernel name, grid xyz, block xyz, shared bytes,
//     int64 *slots, n) that the runtime sets: parameter i in slots[i];
//   - _mlir_memref_to_llvm_alloc/aligned_alloc/free (device buffers) call
//     through attnc_cuda_alloc_fn / attnc_cuda_free_fn;
//   - the PTX (and cubin) become exported constants attnc_cuda_ptx[_size]
//     (attnc_cuda_cubin[_size]);
// so the shared object links nothing CUDA, dlopens on any machine and the
// runtime loads the GPU module itself. emitCpu (generic x86-64 host code)
// then adds the entry wrappers and the manifest.
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Target/CompileCuda.h"

#include "CompileSteps.h"

#include "attnc/Compiler/Pipelines/Pipelines.h"
#include "attnc/Compiler/Target/Emit.h"
#include "attnc/Compiler/Target/Manifest.h"
#include "attnc/Compiler/Transforms/Passes.h"
#include "attnc/Dialect/Attn/Transforms/Passes.h"
#include "attnc/InitAllAttnc.h"
#include "attnc/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace attnc::compile;

namespace {

/// An exported (external, non-constant) pointer global, null at load.
LLVM::GlobalOp pointerSlot(OpBuilder &b, ModuleOp m, StringRef name) {
  if (auto g = m.lookupSymbol<LLVM::GlobalOp>(name))
    return g;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(m.getBody());
  auto ptrTy = LLVM::LLVMPointerType::get(b.getContext());
  auto g = LLVM::GlobalOp::create(b, m.getLoc(), ptrTy, /*isConstant=*/false,
                                    LLVM::Linkage::External, name,
                                    Attribute());
  Block *init = b.createBlock(&g.getInitializerRegion());
  b.setInsertionPointToStart(init);
  Value zero = LLVM::ZeroOp::create(b, m.getLoc(), ptrTy);
  LLVM::ReturnOp::create(b, m.getLoc(), zero);
  return g;
}

/// Gives a declared function a body that calls through `slot`.
void forwardThrough(OpBuilder &b, ModuleOp m, LLVM::LLVMFuncOp fn,
                    StringRef slot) {
  LLVM::GlobalOp g = pointerSlot(b, m, slot);
  OpBuilder::InsertionGuard guard(b);
  Block *entry = fn.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  Location loc = fn.getLoc();
  auto ptrTy = LLVM::LLVMPointerType::get(b.getContext());
  Value addr = LLVM::AddressOfOp::create(b, loc, g);
  Value callee = LLVM::LoadOp::create(b, loc, ptrTy, addr);
  SmallVector<Value> args{callee};
  llvm::append_range(args, entry->getArguments());
  auto call = LLVM::CallOp::create(b, loc, fn.getFunctionType(), args);
  if (fn.getFunctionType().getReturnType() ==
      LLVM::LLVMVoidType::get(b.getContext()))
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  else
    LLVM::ReturnOp::create(b, loc, call.getResult());
  fn.setLinkage(LLVM::Linkage::Internal);
}

void addBytes(OpBuilder &b, ModuleOp m, StringRef name, StringRef bytes,
              bool nulTerminate) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(m.getBody());
  std::string data = bytes.str();
  if (nulTerminate)
    data.push_back('\0');
  auto ty = LLVM::LLVMArrayType::get(b.getI8Type(), data.size());
  LLVM::GlobalOp::create(b, m.getLoc(), ty, /*isConstant=*/true,
                           LLVM::Linkage::External, name,
                           b.getStringAttr(data), /*alignment=*/16);
  LLVM::GlobalOp::create(b, m.getLoc(), b.getI64Type(), true,
                           LLVM::Linkage::External, (name + "_size").str(),
                           b.getI64IntegerAttr(int64_t(bytes.size())));
}

/// The host side of the launch ABI (file comment). Fails on a launch the
/// ABI does not cover (async, clusters).
LogicalResult lowerToLaunchAbi(ModuleOp m, StringRef ptx, StringRef cubin) {
  MLIRContext *ctx = m.getContext();
  OpBuilder b(ctx);
  auto ptrTy = LLVM::LLVMPointerType::get(ctx);
  auto i64 = b.getI64Type();
  auto i32 = b.getI32Type();
  auto voidTy = LLVM::LLVMVoidType::get(ctx);
  auto launchTy = LLVM::LLVMFunctionType::get(
      voidTy, {ptrTy, i64, i64, i64, i64, i64, i64, i32, ptrTy, i64});
  LLVM::GlobalOp launchSlot = pointerSlot(b, m, "attnc_cuda_launch_fn");
  llvm::StringMap<LLVM::GlobalOp> names;
  llvm::DenseMap<Operation *, Value> slotBuffers;
  SmallVector<gpu::LaunchFuncOp> launches;
  m.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
  for (gpu::LaunchFuncOp op : launches) {
    if (op.getAsyncToken() || !op.getAsyncDependencies().empty() ||
        op.getAsyncObject() || op.hasClusterSize())
      return op.emitError("the attnc launch ABI takes synchronous launches "
                          "without clusters");
    Location loc = op.getLoc();
    StringRef kernel = op.getKernelName().getValue();
    LLVM::GlobalOp &name = names[kernel];
    if (!name) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToEnd(m.getBody());
      std::string text = kernel.str();
      text.push_back('\0');
      name = LLVM::GlobalOp::create(b, 
          loc, LLVM::LLVMArrayType::get(b.getI8Type(), text.size()),
          /*isConstant=*/true, LLVM::Linkage::Internal,
          ("attnc_kname_" + kernel).str(), b.getStringAttr(text));
    }
    // The parameters go into 8-byte slots of one buffer per host function
    // (the runtime makes cuLaunchKernel's pointer array from it).
    ValueRange operands = op.getKernelOperands();
    int64_t n = operands.size();
    auto host = op->getParentOfType<LLVM::LLVMFuncOp>();
    Value &buffer = slotBuffers[host];
    if (!buffer) {
      int64_t most = 1;
      host.walk([&](gpu::LaunchFuncOp l) {
        most = std::max<int64_t>(most, l.getKernelOperands().size());
      });
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&host.getBody().front());
      buffer = LLVM::AllocaOp::create(
          b, loc, ptrTy, i64, LLVM::ConstantOp::create(b, loc, i64, most), 8);
    }
    b.setInsertionPoint(op);
    for (int64_t i = 0; i < n; ++i) {
      Value v = operands[i];
      if (!isa<LLVM::LLVMPointerType>(v.getType()) &&
          (!v.getType().isIntOrFloat() ||
           v.getType().getIntOrFloatBitWidth() > 64))
        return op.emitError("kernel parameter ")
               << i << " of type " << v.getType()
               << " does not fit the launch ABI's 8-byte slots";
      Value at = LLVM::GEPOp::create(b, loc, ptrTy, i64, buffer,
                                     ArrayRef<LLVM::GEPArg>{int32_t(i)});
      LLVM::StoreOp::create(b, loc, v, at);
    }
    Value params = buffer;
    auto toI64 = [&](Value v) -> Value {
      if (v.getType() == i64)
        return v;
      return LLVM::ZExtOp::create(b, loc, i64, v);
    };
    Value shared = op.getDynamicSharedMemorySize();
    if (!shared)
      shared = LLVM::ConstantOp::create(b, loc, i32, 0);
    Value callee = LLVM::LoadOp::create(b, 
        loc, ptrTy, LLVM::AddressOfOp::create(b, loc, launchSlot));
    LLVM::CallOp::create(b, 
        loc, launchTy,
        ValueRange{callee, LLVM::AddressOfOp::create(b, loc, name),
                   toI64(op.getGridSizeX()), toI64(op.getGridSizeY()),
                   toI64(op.getGridSizeZ()), toI64(op.getBlockSizeX()),
                   toI64(op.getBlockSizeY()), toI64(op.getBlockSizeZ()),
                   shared, params, LLVM::ConstantOp::create(b, loc, i64, n)});
    op.erase();
  }
  for (auto fn : llvm::make_early_inc_range(m.getOps<LLVM::LLVMFuncOp>())) {
    if (!fn.isExternal())
      continue;
    StringRef name = fn.getName();
    if (name == "_mlir_memref_to_llvm_alloc" ||
        name == "_mlir_memref_to_llvm_aligned_alloc")
      forwardThrough(b, m, fn,
                     name.ends_with("aligned_alloc")
                         ? "attnc_cuda_aligned_alloc_fn"
                         : "attnc_cuda_alloc_fn");
    else if (name == "_mlir_memref_to_llvm_free")
      forwardThrough(b, m, fn, "attnc_cuda_free_fn");
    else if (name == "attnc_cuda_memcpy_dtoh")
      forwardThrough(b, m, fn, "attnc_cuda_memcpy_dtoh_fn");
  }
  for (Operation &op : llvm::make_early_inc_range(*m.getBody()))
    if (isa<gpu::BinaryOp, gpu::GPUModuleOp>(op))
      op.erase();
  m->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  addBytes(b, m, "attnc_cuda_ptx", ptx, /*nulTerminate=*/true);
  if (!cubin.empty())
    addBytes(b, m, "attnc_cuda_cubin", cubin, false);
  // Anything else the host code still calls would be unresolved at dlopen.
  for (auto fn : m.getOps<LLVM::LLVMFuncOp>())
    if (fn.isExternal() && !fn.getName().starts_with("_mlir_ciface_"))
      return fn.emitError("the CUDA host code calls '")
             << fn.getName() << "', which the launch ABI does not provide";
  return success();
}

/// Runs ptxas on `ptx`; returns false with `error` (its output) on failure.
bool runPtxas(const std::string &ptxas, const std::string &arch,
              StringRef ptx, std::string &cubin, std::string &error) {
  llvm::SmallString<128> in, out, log;
  llvm::sys::fs::createTemporaryFile("attnc-cuda", "ptx", in);
  llvm::sys::fs::createTemporaryFile("attnc-cuda", "cubin", out);
  llvm::sys::fs::createTemporaryFile("attnc-ptxas", "txt", log);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    os << ptx;
  }
  SmallVector<StringRef> argv = {ptxas, "-arch", arch, "-O3", in, "-o", out};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, argv, std::nullopt, redirects, 0,
                                     0, &message);
  auto logText = llvm::MemoryBuffer::getFile(log);
  auto bin = llvm::MemoryBuffer::getFile(out);
  llvm::sys::fs::remove(in);
  llvm::sys::fs::remove(out);
  llvm::sys::fs::remove(log);
  if (rc != 0 || !bin) {
    error = "ptxas (" + ptxas + ") rejected the PTX for " + arch;
    if (!message.empty())
      error += ": " + message;
    if (logText && !(*logText)->getBuffer().empty())
      error += ":\n" + (*logText)->getBuffer().rtrim().str();
    return false;
  }
  cubin = (*bin)->getBuffer().str();
  return true;
}

/// The CPU manifest's target object (flat: no nested braces) replaced by
/// the CUDA one.
std::string cudaManifest(const std::string &cpuManifest,
                         const std::string &arch, bool cubin,
                         const std::string &ptxVersion,
                         const std::string &tensorCores) {
  size_t at = cpuManifest.find("\"target\": {");
  size_t end = at == std::string::npos ? at : cpuManifest.find('}', at);
  if (end == std::string::npos)
    return cpuManifest;
  std::string target = "\"target\": {\"kind\": \"cuda\", \"arch\": \"nvptx64\", "
                       "\"gpu_archs\": [\"" + arch + "\"], \"ptx_version\": \"" +
                       ptxVersion + "\", \"cubin\": " +
                       (cubin ? "true" : "false") +
                       ", \"tensor_cores\": \"" + tensorCores +
                       "\", \"host_arch\": \"x86_64\"}";
  return cpuManifest.substr(0, at) + target + cpuManifest.substr(end + 1);
}

/// --emit=cpu-emulation: a CPU artifact of the CUDA mapping (see
/// buildCudaEmulationPipeline); host reads of device scalars become
/// memcpy.
int emulateOnCpu(ModuleOp module, const std::vector<attnc::EntryPoint> &entries,
                 const std::string &manifest, const attnc::CpuTarget &host,
                 const attnc::CompileCudaRequest &req) {
  if (failed(runPipeline(module, req.dumpDir, "2-cuda-emulation",
                         [&](PassManager &pm) {
                           return attnc::buildCudaEmulationPipeline(
                               pm, req.tensorCores);
                         })))
    return kFailed;
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>("attnc_cuda_memcpy_dtoh");
      fn && fn.isExternal()) {
    OpBuilder b(module.getContext());
    Block *entry = fn.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    auto ptrTy = LLVM::LLVMPointerType::get(b.getContext());
    Value dst = LLVM::IntToPtrOp::create(b, fn.getLoc(), ptrTy,
                                         entry->getArgument(0));
    Value src = LLVM::IntToPtrOp::create(b, fn.getLoc(), ptrTy,
                                         entry->getArgument(1));
    LLVM::MemcpyOp::create(b, fn.getLoc(), dst, src, entry->getArgument(2),
                           /*isVolatile=*/false);
    LLVM::ReturnOp::create(b, fn.getLoc(), ValueRange{});
    fn.setLinkage(LLVM::Linkage::Internal);
  }
  attnc::EmitOptions options;
  options.target = host;
  options.entries = entries;
  options.manifestJson = manifest;
  options.optLevel = std::min(req.optLevel, 1u);
  options.dumpDir = req.dumpDir;
  std::string error;
  if (!attnc::emitCpu(module, options, attnc::EmitKind::SharedObject,
                      req.output, error)) {
    llvm::errs() << "error: " << error << "\n";
    return kFailed;
  }
  return kOk;
}

} // namespace

bool attnc::isSupportedGpuArch(const std::string &arch) {
  return arch == "sm_80" || arch == "sm_90";
}

std::string attnc::findPtxas() {
  auto usable = [](const std::string &p) {
    return !p.empty() && llvm::sys::fs::can_execute(p);
  };
  if (const char *env = std::getenv("ATTNC_PTXAS"))
    return usable(env) ? env : "";
  if (auto p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  if (const char *home = std::getenv("CUDA_HOME"))
    if (usable(std::string(home) + "/bin/ptxas"))
      return std::string(home) + "/bin/ptxas";
  if (usable("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  return "";
}

int attnc::compileCuda(const CompileCudaRequest &req) {
  PhaseTimer timer{req.timings};
  static const char *const kEmits[] = {"linalg", "gpu-mlir", "ptx",
                                       "cubin",  "llvm",     "artifact",
                                       "cpu-emulation"};
  if (std::find(std::begin(kEmits), std::end(kEmits), req.emit) ==
      std::end(kEmits)) {
    llvm::errs() << "error: --target cuda cannot --emit '" << req.emit
                 << "'; expected linalg, gpu-mlir, ptx, cubin, llvm, "
                    "artifact or cpu-emulation\n";
    return kUsage;
  }
  if (!isSupportedGpuArch(req.gpuArch)) {
    llvm::errs() << "error: unknown --gpu-arch '" << req.gpuArch
                 << "'; expected sm_80 or sm_90\n";
    return kUsage;
  }
  std::string ptxas = req.ptxas == "none" ? "" : req.ptxas;
  if (req.ptxas.empty())
    ptxas = findPtxas();
  if (req.emit == "cubin" && ptxas.empty()) {
    llvm::errs() << "error: --emit=cubin needs ptxas (set ATTNC_PTXAS or put "
                    "the CUDA toolkit's bin/ on PATH)\n";
    return kUsage;
  }
  if (!createDumpDir(req.dumpDir))
    return kUsage;
  std::string error;
  std::optional<CpuTarget> host = resolveCpuTarget("generic", error);
  if (!host) {
    llvm::errs() << "error: " << error << "\n";
    return kUsage;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerCpuTargetDialects(registry);
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  registerAllExtensions(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  OwningOpRef<ModuleOp> module =
      loadModel(ctx, sourceMgr, req.config, req.mlirFile, req.incremental,
                req.cacheDtype);
  if (!module)
    return kFailed;
  timer.phase("parse / import");
  if (failed(runPipeline(*module, req.dumpDir, "1-lower-to-linalg",
                         [](PassManager &pm) {
                           // Every attn.sdpa (after the pattern expansion)
                           // becomes one forall that is one GPU kernel
                           // (attnc-cuda-fused-attention); what that pass
                           // leaves is decomposed: the CPU's tiled (flash)
                           // attention is not used.
                           pm.addPass(attn::createAttnExpandPatterns());
                           pm.addPass(createCanonicalizerPass());
                           pm.addPass(attnc::createAttncCudaFusedAttention());
                           buildLowerToLinalgPipeline(
                               pm, /*flashAttention=*/false);
                           return success();
                         })))
    return kFailed;
  timer.phase("attn -> linalg");
  auto print = [&](llvm::raw_ostream &os) { module->print(os); };
  if (req.emit == "linalg")
    return writeText(req.output, print) ? kOk : kUsage;

  std::vector<EntryPoint> entries;
  std::string cpuManifest;
  if (failed(describeModel(*module, req.config, host->info, entries,
                           cpuManifest)))
    return kFailed;
  timer.phase("entry points / manifest");

  if (req.emit == "cpu-emulation")
    return emulateOnCpu(*module, entries, cpuManifest, *host, req);

  if (failed(runPipeline(*module, req.dumpDir, "2-cuda-pipeline",
                         [&](PassManager &pm) {
                           return buildCudaPipeline(pm, req.gpuArch,
                                                    req.tensorCores);
                         })))
    return kFailed;
  timer.phase("linalg -> GPU + host LLVM");
  if (req.emit == "gpu-mlir")
    return writeText(req.output, print) ? kOk : kUsage;

  if (failed(runPipeline(*module, req.dumpDir, "3-to-binary",
                         [](PassManager &pm) {
                           return parsePassPipeline(
                               "gpu-module-to-binary{format=isa}", pm,
                               llvm::errs());
                         })))
    return kFailed;
  std::string ptx;
  for (auto bin : module->getOps<gpu::BinaryOp>())
    for (Attribute a : bin.getObjects())
      if (auto obj = dyn_cast<gpu::ObjectAttr>(a))
        ptx += obj.getObject().getValue().str();
  if (ptx.empty()) {
    llvm::errs() << "error: the model produced no GPU kernels\n";
    return kFailed;
  }
  timer.phase("NVPTX -> PTX");
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "kernels.ptx"),
              [&](llvm::raw_ostream &os) { os << ptx; });
  if (req.emit == "ptx")
    return writeText(req.output, [&](llvm::raw_ostream &os) { os << ptx; })
               ? kOk
               : kUsage;

  std::string cubin;
  if (!ptxas.empty()) {
    if (!runPtxas(ptxas, req.gpuArch, ptx, cubin, error)) {
      llvm::errs() << "error: " << error << "\n";
      return kFailed;
    }
    timer.phase("ptxas -> cubin");
  }
  if (req.emit == "cubin")
    return writeText(req.output, [&](llvm::raw_ostream &os) { os << cubin; })
               ? kOk
               : kUsage;

  if (failed(lowerToLaunchAbi(*module, ptx, cubin)))
    return kFailed;
  std::string ptxVersion;
  if (size_t at = ptx.find(".version "); at != std::string::npos)
    ptxVersion = ptx.substr(at + 9, ptx.find('\n', at) - at - 9);
  EmitOptions options;
  options.target = *host;
  options.entries = entries;
  options.manifestJson =
      cudaManifest(cpuManifest, req.gpuArch, !cubin.empty(), ptxVersion,
                   req.tensorCores);
  // The host code only computes sizes and launches: O1 is plenty and keeps
  // LLVM fast on functions with hundreds of launches.
  options.optLevel = std::min(req.optLevel, 1u);
  options.dumpDir = req.dumpDir;
  if (!req.dumpDir.empty())
    writeText(stagePath(req.dumpDir, "manifest.json"),
              [&](llvm::raw_ostream &os) { os << options.manifestJson; });
  EmitKind kind =
      req.emit == "llvm" ? EmitKind::LLVMIR : EmitKind::SharedObject;
  if (!emitCpu(*module, options, kind, req.output, error)) {
    llvm::errs() << "error: " << error << "\n";
    return kFailed;
  }
  timer.phase("host LLVM, link");
  timer.total();
  return kOk;
}
