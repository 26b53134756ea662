//===- EmitObject.cpp - LLVM dialect -> object -> shared-object artifact --===//
//
// In-process: translate to LLVM IR, add one `attnc_entry_<name>(void **)`
// wrapper per entry point (around MLIR's `_mlir_ciface_<name>`) and the
// exported manifest/ABI globals, internalize everything else, run the O3
// pipeline with the chosen TargetMachine and emit objects (the module in
// up to -j parts on as many threads: LLVMCodegen.cpp). Then ld.lld links
// them into a shared object against libc and libm (malloc/free and the
// libm calls math lowers to resolve at dlopen time).
//
//===----------------------------------------------------------------------===//

#include "attnc/Compiler/Target/Emit.h"

#include "LLVMCodegen.h"

#include "attnc/Compiler/Transforms/Passes.h"

#include "attnc/runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <memory>

using namespace llvm;

namespace {

void initLLVMTargets() {
  static bool done = [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)done;
}

/// void attnc_entry_<name>(void **args): args[i] is a pointer to argument
/// i (a memref descriptor, which the C interface takes by pointer, or a
/// scalar, which it takes by value).
bool addEntryWrapper(Module &m, const attnc::EntryPoint &entry,
                     std::string &error) {
  Function *ciface = m.getFunction("_mlir_ciface_" + entry.name);
  if (!ciface) {
    error = "no C interface generated for entry point '" + entry.name + "'";
    return false;
  }
  FunctionType *cty = ciface->getFunctionType();
  if (cty->getNumParams() != entry.args.size() ||
      !cty->getReturnType()->isVoidTy()) {
    error = "entry point '" + entry.name + "' lowered to " +
            std::to_string(cty->getNumParams()) +
            " parameters with a result; the manifest lists " +
            std::to_string(entry.args.size()) + " arguments and no result";
    return false;
  }
  LLVMContext &ctx = m.getContext();
  auto *ptrTy = PointerType::getUnqual(ctx);
  Function *wrapper = Function::Create(
      FunctionType::get(Type::getVoidTy(ctx), {ptrTy}, false),
      GlobalValue::ExternalLinkage, entry.symbol, m);
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", wrapper));
  SmallVector<Value *> args;
  Value *packed = wrapper->getArg(0);
  for (unsigned i = 0; i < cty->getNumParams(); ++i) {
    Value *slot = b.CreateConstInBoundsGEP1_64(ptrTy, packed, i);
    Value *p = b.CreateLoad(ptrTy, slot);
    Type *t = cty->getParamType(i);
    args.push_back(t->isPointerTy() ? p : b.CreateLoad(t, p));
  }
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
  return true;
}

/// Loops of the functions marked kNoUnrollAttr get llvm.loop.unroll.disable
/// (see attnc-parallelize-elementwise), and the mark is dropped.
void disableUnrollingWhereMarked(Module &m) {
  for (Function &f : m) {
    if (f.isDeclaration() || !f.hasFnAttribute(attnc::kNoUnrollAttr))
      continue;
    f.removeFnAttr(attnc::kNoUnrollAttr);
    DominatorTree dt(f);
    LoopInfo loops(dt);
    for (Loop *loop : loops.getLoopsInPreorder())
      loop->setLoopAlreadyUnrolled();
  }
}

void addConstant(Module &m, const char *name, Constant *init) {
  auto *gv = new GlobalVariable(m, init->getType(), /*isConstant=*/true,
                                GlobalValue::ExternalLinkage, init, name);
  gv->setVisibility(GlobalValue::DefaultVisibility);
}

/// Everything but the attnc_* exports becomes internal, so that O3 can
/// inline the C-interface wrappers and drop what no entry point reaches.
void internalize(Module &m) {
  for (Function &f : m)
    if (!f.isDeclaration() && !f.getName().starts_with("attnc_"))
      f.setLinkage(GlobalValue::InternalLinkage);
  for (GlobalVariable &g : m.globals())
    if (!g.isDeclaration() && !g.getName().starts_with("attnc_"))
      g.setLinkage(GlobalValue::InternalLinkage);
}

std::string findLinker(const std::string &requested) {
  if (!requested.empty())
    return requested;
  if (auto p = sys::findProgramByName("ld.lld"))
    return *p;
  return "/usr/lib/llvm-22/bin/ld.lld";
}

/// A temporary file next to `path`, renamed onto it by commit().
struct TempOutput {
  SmallString<256> tmp;
  std::string target;
  bool open(const std::string &path, std::string &error) {
    target = path;
    int fd;
    std::error_code ec =
        sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, tmp);
    if (ec) {
      error = "cannot create '" + path + "': " + ec.message();
      return false;
    }
    sys::Process::SafelyCloseFileDescriptor(fd);
    return true;
  }
  bool commit(std::string &error) {
    if (std::error_code ec = sys::fs::rename(tmp, target)) {
      error = "cannot write '" + target + "': " + ec.message();
      return false;
    }
    tmp.clear();
    return true;
  }
  ~TempOutput() {
    if (!tmp.empty())
      sys::fs::remove(tmp);
  }
};

bool link(const std::string &linker, ArrayRef<std::string> objects,
          StringRef output, std::string &error) {
  std::string soname = sys::path::filename(output).str();
  SmallVector<StringRef> argv = {linker, "-shared", "--hash-style=gnu",
                                 "-z", "noexecstack", "-z", "now", "-O2",
                                 "--as-needed"};
  // malloc/free and the libm calls: recorded as DT_NEEDED, resolved at
  // dlopen time. Their absolute paths avoid depending on a search path.
  for (const char *lib : {"/lib/x86_64-linux-gnu/libm.so.6",
                          "/lib/x86_64-linux-gnu/libc.so.6"})
    if (sys::fs::exists(lib))
      argv.push_back(lib);
  // Parallel kernels call LLVM's OpenMP runtime (libomp-22-dev); the rpath
  // picks LLVM 22's copy over an older libomp.so.5 on the search path.
  // --as-needed drops it from artifacts without parallel loops.
  static const char *const kOmp = "/usr/lib/llvm-22/lib/libomp.so";
  if (sys::fs::exists(kOmp)) {
    argv.push_back("-rpath");
    argv.push_back("/usr/lib/llvm-22/lib");
    argv.push_back(kOmp);
  }
  for (const std::string &object : objects)
    argv.push_back(object);
  argv.push_back("-o");
  argv.push_back(output);
  std::string message;
  SmallString<128> errFile;
  sys::fs::createTemporaryFile("attnc-ld", "txt", errFile);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(errFile),
                                          StringRef(errFile)};
  int rc = sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0, 0,
                               &message);
  auto buf = MemoryBuffer::getFile(errFile);
  sys::fs::remove(errFile);
  if (rc != 0) {
    error = "linking with '" + linker + "' failed";
    if (!message.empty())
      error += ": " + message;
    if (buf && !(*buf)->getBuffer().empty())
      error += ":\n" + (*buf)->getBuffer().rtrim().str();
    return false;
  }
  return true;
}

} // namespace

std::optional<attnc::CpuTarget>
attnc::resolveCpuTarget(const std::string &requested, std::string &error) {
  initLLVMTargets();
  CpuTarget t;
  t.triple = sys::getDefaultTargetTriple();
  if (!StringRef(t.triple).starts_with("x86_64")) {
    error = "the CPU target supports x86-64 only; this host is '" + t.triple +
            "'";
    return std::nullopt;
  }
  std::vector<std::string> features;
  if (requested.empty() || requested == "native") {
    t.cpu = sys::getHostCPUName().str();
    // Disabled features too: a virtual machine may hide some that the host
    // CPU's name implies.
    for (auto &f : sys::getHostCPUFeatures()) {
      if (f.second)
        features.push_back(f.first().str());
      t.features += (t.features.empty() ? "" : ",") +
                    std::string(f.second ? "+" : "-") + f.first().str();
    }
  } else {
    t.cpu = requested == "generic" ? "x86-64" : requested;
    if (!X86::parseArchX86(t.cpu, /*Only64Bit=*/true) &&
        t.cpu != "x86-64") {
      error = "unknown CPU '" + requested +
              "'; expected native, generic, x86-64-v2, x86-64-v3, x86-64-v4 "
              "or an LLVM x86-64 CPU name (e.g. skylake-avx512)";
      return std::nullopt;
    }
    // The CPU's own features plus those they imply (avx2 -> avx -> sse4.2).
    SmallVector<StringRef> fs;
    X86::getFeaturesForCPU(t.cpu, fs);
    StringMap<bool> all;
    for (StringRef f : fs) {
      all[f] = true;
      X86::updateImpliedFeatures(f, true, all);
    }
    for (auto &f : all)
      if (f.second)
        features.push_back(f.first().str());
  }
  t.info.arch = "x86_64";
  t.info.cpu = t.cpu;
  t.info.requestedCpu = requested.empty() ? "native" : requested;
  describeIsa(features, t.info);
  return t;
}

void attnc::registerCpuTargetDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::LLVM::LLVMDialect>();
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  // Parallel loops (scf.parallel -> omp.wsloop) become __kmpc_* calls.
  mlir::registerOpenMPDialectTranslation(registry);
}

bool attnc::emitCpu(mlir::ModuleOp module, const EmitOptions &options,
                    EmitKind kind, const std::string &outputPath,
                    std::string &error) {
  initLLVMTargets();
  const CpuTarget &t = options.target;
  std::unique_ptr<TargetMachine> tm = createCpuTargetMachine(t, error);
  if (!tm)
    return false;

  auto ctx = std::make_unique<LLVMContext>();
  std::unique_ptr<Module> m = mlir::translateModuleToLLVMIR(module, *ctx);
  if (!m) {
    error = "translation to LLVM IR failed";
    return false;
  }
  m->setTargetTriple(Triple(t.triple));
  m->setDataLayout(tm->createDataLayout());
  for (const EntryPoint &e : options.entries)
    if (!addEntryWrapper(*m, e, error))
      return false;
  addConstant(*m, "attnc_manifest",
              ConstantDataArray::getString(*ctx, options.manifestJson, true));
  addConstant(*m, "attnc_manifest_size",
              ConstantInt::get(Type::getInt64Ty(*ctx),
                               options.manifestJson.size()));
  addConstant(*m, "attnc_abi_version",
              ConstantInt::get(Type::getInt32Ty(*ctx), ATTNC_ABI_VERSION));
  internalize(*m);
  disableUnrollingWhereMarked(*m);
  // Code generation takes the CPU and features from every function.
  for (Function &f : *m)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", t.cpu);
      if (!t.features.empty())
        f.addFnAttr("target-features", t.features);
    }
  if (verifyModule(*m, &errs())) {
    error = "the generated LLVM IR does not verify";
    return false;
  }
  if (!options.dumpDir.empty())
    dumpModule(options.dumpDir, "llvm.ll", *m);

  if (kind == EmitKind::LLVMIR) {
    optimizeModule(*m, *tm, options.optLevel);
    if (!options.dumpDir.empty())
      dumpModule(options.dumpDir, "llvm-opt.ll", *m);
    if (outputPath.empty() || outputPath == "-") {
      m->print(outs(), nullptr);
      return true;
    }
    TempOutput out;
    if (!out.open(outputPath, error))
      return false;
    std::error_code ec;
    raw_fd_ostream os(out.tmp, ec);
    if (ec) {
      error = "cannot write '" + outputPath + "': " + ec.message();
      return false;
    }
    m->print(os, nullptr);
    os.close();
    return out.commit(error);
  }

  TempOutput out;
  if (!out.open(outputPath, error))
    return false;
  // An object file is one part; the artifact may be several, linked.
  unsigned parts = kind == EmitKind::Object ? 1 : std::max(options.jobs, 1u);
  SmallVector<std::string> objects;
  bool ok = compileToObjects(std::move(m), t, options.optLevel, parts,
                             options.dumpDir, objects, error);
  if (ok && kind == EmitKind::Object) {
    if (std::error_code ec = sys::fs::copy_file(objects.front(), out.tmp)) {
      error = "cannot write '" + outputPath + "': " + ec.message();
      ok = false;
    }
  } else if (ok) {
    ok = link(findLinker(options.linker), objects, out.tmp, error);
  }
  for (const std::string &object : objects)
    sys::fs::remove(object);
  return ok && out.commit(error);
}
