//===- LLVMCodegen.cpp - O3 and object emission, in one part or several ---===//
//
// LLVM's optimizer and code generator run on one thread per module, and on
// a 12-layer model they are ~80% of `attnc compile` (Zen 3, llama-style
// --incremental: 11.9 of 14.7 s). The module is made of independent pieces:
// every kernel is a noinline function (attnc-outline-kernels) with its
// OpenMP-outlined bodies, and every entry point is a wrapper around a
// function that calls the kernels. So the module is cut into parts along
// those lines and each part is optimized and compiled on its own thread,
// in its own LLVMContext (contexts are not thread-safe), into its own
// object; ld.lld links them.
//
// Before the cut, the whole module gets what O3 learns across calls
// (propagateAcrossFunctions: constants, value ranges and dead arguments of
// the kernels' parameters, the fast calling convention), so a kernel in
// another part than its caller is compiled as it was in one module.
// What is kept together (a cluster): a function that is only called and is
// noinline (a kernel) starts a cluster; any other internal function goes
// with the one function that references it (an OpenMP-outlined body, which
// inherits noinline, with its kernel; the C interface with its entry
// point), so the inlining O3 did before still happens. Small helpers that
// several functions call (malloc/free wrappers) and internal constants
// (OpenMP source locations) are copied into every part. A function or
// global that ends up referenced from another part becomes
// hidden-external: visible to the linker, not exported by the artifact.
// Clusters go to parts by size, largest first, to the least loaded part.
// llama-style on Zen 3 (2 threads): `--incremental` 12.7-16.6 -> 8.0-11.0
// s, forward 4.9-6.8 -> 3.0-4.1 s; logits bit-identical.
//
//===----------------------------------------------------------------------===//

#include "LLVMCodegen.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <thread>

using namespace llvm;

std::unique_ptr<TargetMachine>
attnc::createCpuTargetMachine(const CpuTarget &t, std::string &error) {
  const Target *target = TargetRegistry::lookupTarget(Triple(t.triple), error);
  if (!target)
    return nullptr;
  std::unique_ptr<TargetMachine> tm(target->createTargetMachine(
      Triple(t.triple), t.cpu, t.features, TargetOptions(), Reloc::PIC_,
      std::nullopt, CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create a target machine for '" + t.cpu + "'";
  return tm;
}

namespace {
/// Runs the module pipeline `build` makes on `m`, with `tm`'s analyses.
template <typename Build>
void runModulePipeline(Module &m, TargetMachine &tm, PipelineTuningOptions pto,
                       Build build) {
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  ModulePassManager mpm = build(pb);
  mpm.run(m, mam);
}
} // namespace

void attnc::optimizeModule(Module &m, TargetMachine &tm, unsigned level) {
  PipelineTuningOptions pto;
  pto.LoopVectorization = level >= 2;
  pto.SLPVectorization = level >= 2;
  OptimizationLevel ol = level >= 3   ? OptimizationLevel::O3
                         : level == 2 ? OptimizationLevel::O2
                         : level == 1 ? OptimizationLevel::O1
                                      : OptimizationLevel::O0;
  runModulePipeline(m, tm, pto, [&](PassBuilder &pb) {
    return level == 0 ? pb.buildO0DefaultPipeline(ol)
                      : pb.buildPerModuleDefaultPipeline(ol);
  });
}

void attnc::dumpModule(const std::string &dir, const std::string &name,
                       const Module &m) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (!ec)
    m.print(os, nullptr);
}

bool attnc::writeObjectFile(Module &m, TargetMachine &tm, StringRef path,
                            std::string &error) {
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return false;
  }
  legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit an object file";
    return false;
  }
  pm.run(m);
  return true;
}

namespace {

/// Helpers up to this many instructions are copied into every part that
/// calls them instead of being called across parts.
constexpr unsigned kCopyHelperLimit = 64;

bool createTemporaryObject(std::string &path, std::string &error) {
  SmallString<128> p;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("attnc-artifact", "o", p)) {
    error = "cannot create a temporary object file: " + ec.message();
    return false;
  }
  path = p.str().str();
  return true;
}

/// The functions whose bodies use `c` (through constant expressions too);
/// `viaGlobal` is set when a global variable's initializer uses it.
void collectReferrers(const Value *c, SmallPtrSetImpl<const Function *> &fns,
                      bool &viaGlobal) {
  for (const User *u : c->users()) {
    if (auto *inst = dyn_cast<Instruction>(u))
      fns.insert(inst->getFunction());
    else if (isa<GlobalVariable>(u))
      viaGlobal = true;
    else if (isa<Constant>(u))
      collectReferrers(u, fns, viaGlobal);
  }
}

/// Whether every use of `f` is a direct call of it.
bool onlyCalled(const Function &f) {
  for (const Use &u : f.uses()) {
    auto *call = dyn_cast<CallBase>(u.getUser());
    if (!call || !call->isCallee(&u))
      return false;
  }
  return true;
}

/// Where each function and global variable of the module goes, by its
/// position in the module (positions survive a bitcode round trip; names
/// of unnamed globals do not exist).
struct Partition {
  static constexpr int kEveryPart = -1;
  std::vector<int> functionPart; ///< kEveryPart: copied into each part
  std::vector<int> globalPart;
  unsigned parts = 1;
};

/// Assigns clusters to parts (largest first, to the least loaded part)
/// and makes cross-part references hidden-external in `m`.
Partition partitionModule(Module &m, unsigned maxParts) {
  DenseMap<const GlobalValue *, unsigned> index;
  std::vector<Function *> fns;
  for (Function &f : m) {
    index[&f] = fns.size();
    fns.push_back(&f);
  }
  std::vector<GlobalVariable *> globals;
  for (GlobalVariable &g : m.globals()) {
    index[&g] = globals.size();
    globals.push_back(&g);
  }

  Partition p;
  p.functionPart.assign(fns.size(), 0);
  p.globalPart.assign(globals.size(), 0);
  EquivalenceClasses<const Function *> clusters;
  for (Function *f : fns) {
    if (f->isDeclaration())
      continue;
    clusters.insert(f);
    if (!f->hasLocalLinkage())
      continue;
    SmallPtrSet<const Function *, 4> referrers;
    bool viaGlobal = false;
    collectReferrers(f, referrers, viaGlobal);
    // A noinline function that is only called (a kernel) is a cluster of
    // its own; one whose address is passed (an OpenMP-outlined body, which
    // inherits its kernel's noinline) stays with the function that passes it.
    bool kernel = f->hasFnAttribute(Attribute::NoInline) && onlyCalled(*f);
    if (kernel)
      continue;
    if (referrers.size() == 1 && !viaGlobal)
      clusters.unionSets(f, *referrers.begin());
    else if (!viaGlobal && f->getInstructionCount() <= kCopyHelperLimit)
      p.functionPart[index[f]] = Partition::kEveryPart;
  }
  for (GlobalVariable *g : globals)
    if (g->hasLocalLinkage() && g->isConstant() && g->hasInitializer())
      p.globalPart[index[g]] = Partition::kEveryPart;

  // Cluster sizes in instructions, before O3: a rough but monotone proxy
  // for the time LLVM spends on them.
  struct Cluster {
    const Function *leader;
    uint64_t size = 0;
  };
  std::vector<Cluster> list;
  DenseMap<const Function *, unsigned> clusterOf;
  for (Function *f : fns) {
    if (f->isDeclaration() ||
        p.functionPart[index[f]] == Partition::kEveryPart)
      continue;
    const Function *leader = clusters.getLeaderValue(f);
    auto [it, added] = clusterOf.try_emplace(leader, list.size());
    if (added)
      list.push_back({leader});
    list[it->second].size += f->getInstructionCount();
  }
  p.parts = std::max<unsigned>(1, std::min<size_t>(maxParts, list.size()));
  std::vector<unsigned> order(list.size());
  for (unsigned i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return list[a].size != list[b].size ? list[a].size > list[b].size : a < b;
  });
  std::vector<uint64_t> load(p.parts, 0);
  std::vector<unsigned> partOfCluster(list.size(), 0);
  for (unsigned c : order) {
    unsigned least = std::min_element(load.begin(), load.end()) - load.begin();
    partOfCluster[c] = least;
    load[least] += list[c].size;
  }
  for (Function *f : fns)
    if (!f->isDeclaration() &&
        p.functionPart[index[f]] != Partition::kEveryPart)
      p.functionPart[index[f]] =
          partOfCluster[clusterOf[clusters.getLeaderValue(f)]];

  // A definition with one home referenced from elsewhere (another part, a
  // copied helper, a copied constant) must be visible to the linker.
  auto homeOf = [&](const GlobalValue *gv) {
    if (auto *f = dyn_cast<Function>(gv))
      return p.functionPart[index[f]];
    return p.globalPart[index[gv]];
  };
  auto exposeIfShared = [&](GlobalValue *gv) {
    if (gv->isDeclaration() || !gv->hasLocalLinkage())
      return;
    int home = homeOf(gv);
    if (home == Partition::kEveryPart)
      return;
    SmallPtrSet<const Function *, 4> referrers;
    bool viaGlobal = false;
    collectReferrers(gv, referrers, viaGlobal);
    bool shared = viaGlobal;
    for (const Function *r : referrers)
      shared |= homeOf(r) != home;
    if (shared) {
      if (!gv->hasName()) // each part would number it on its own
        gv->setName("attnc.shared");
      gv->setLinkage(GlobalValue::ExternalLinkage);
      gv->setVisibility(GlobalValue::HiddenVisibility);
    }
  };
  for (Function *f : fns)
    exposeIfShared(f);
  for (GlobalVariable *g : globals)
    exposeIfShared(g);
  return p;
}

/// Keeps only part `part`'s definitions (and the copied ones) in `m`.
void keepPart(Module &m, const Partition &p, int part) {
  unsigned i = 0;
  for (Function &f : m) {
    int home = p.functionPart[i++];
    if (!f.isDeclaration() && home != part && home != Partition::kEveryPart)
      f.deleteBody(); // becomes an external declaration
  }
  i = 0;
  for (GlobalVariable &g : m.globals()) {
    int home = p.globalPart[i++];
    if (!g.isDeclaration() && home != part && home != Partition::kEveryPart) {
      g.setInitializer(nullptr);
      g.setLinkage(GlobalValue::ExternalLinkage);
      g.setComdat(nullptr);
    }
  }
}

/// What O3 learns across the calls of the whole module, before the module
/// is cut: after the callers are cleaned up (sroa, instcombine), IPSCCP
/// gives the kernels the constants and value ranges every call passes
/// (memref sizes and strides; e.g. a row count known to be in [0, 64]),
/// deadargelim drops the descriptor fields a kernel never reads, and
/// globalopt gives internal functions the fast calling convention. Without
/// this, a kernel in another part than its caller sees opaque arguments
/// (llama-style prefill measured ~8% slower).
bool propagateAcrossFunctions(Module &m, const attnc::CpuTarget &t,
                              std::string &error) {
  std::unique_ptr<TargetMachine> tm = attnc::createCpuTargetMachine(t, error);
  if (!tm)
    return false;
  runModulePipeline(m, *tm, PipelineTuningOptions(), [](PassBuilder &pb) {
    ModulePassManager mpm;
    // A fixed, valid pipeline text: parsing cannot fail.
    cantFail(pb.parsePassPipeline(
        mpm, "function(sroa,instcombine,simplifycfg),ipsccp,globalopt,"
             "deadargelim"));
    return mpm;
  });
  return true;
}

/// O3 on `m`, optionally dumped to dumpDir/dumpName, then a temporary
/// object file (its path in `object`, set once the file exists).
bool optimizeAndEmit(Module &m, const attnc::CpuTarget &t, unsigned optLevel,
                     const std::string &dumpDir, const std::string &dumpName,
                     std::string &object, std::string &error) {
  std::unique_ptr<TargetMachine> tm = attnc::createCpuTargetMachine(t, error);
  if (!tm)
    return false;
  attnc::optimizeModule(m, *tm, optLevel);
  if (!dumpDir.empty())
    attnc::dumpModule(dumpDir, dumpName, m);
  return createTemporaryObject(object, error) &&
         attnc::writeObjectFile(m, *tm, object, error);
}

struct PartResult {
  std::string object;
  std::string error;
  bool ok = false;
};

void compilePart(MemoryBufferRef bitcode, const Partition &p, int part,
                 const attnc::CpuTarget &t, unsigned optLevel,
                 const std::string &dumpDir, PartResult &result) {
  LLVMContext ctx;
  Expected<std::unique_ptr<Module>> m = parseBitcodeFile(bitcode, ctx);
  if (!m) {
    result.error = "cannot read back the module's part " +
                   std::to_string(part) + ": " + toString(m.takeError());
    return;
  }
  keepPart(**m, p, part);
  result.ok = optimizeAndEmit(**m, t, optLevel, dumpDir,
                              "llvm-opt." + std::to_string(part) + ".ll",
                              result.object, result.error);
}

} // namespace

bool attnc::compileToObjects(std::unique_ptr<Module> m, const CpuTarget &t,
                             unsigned optLevel, unsigned parts,
                             const std::string &dumpDir,
                             SmallVectorImpl<std::string> &objects,
                             std::string &error) {
  if (parts > 1 && optLevel > 0)
    if (!propagateAcrossFunctions(*m, t, error))
      return false;
  Partition p = partitionModule(*m, std::max(parts, 1u));
  if (p.parts <= 1) {
    std::string object;
    bool ok = optimizeAndEmit(*m, t, optLevel, dumpDir, "llvm-opt.ll", object,
                              error);
    if (!object.empty())
      objects.push_back(object);
    return ok;
  }

  // Each thread reads the whole module back into its own context and drops
  // the other parts' bodies: cheaper than cloning per part, and in parallel.
  SmallVector<char, 0> bitcode;
  {
    raw_svector_ostream os(bitcode);
    WriteBitcodeToFile(*m, os);
  }
  m.reset();
  MemoryBufferRef buffer(StringRef(bitcode.data(), bitcode.size()),
                         "attnc-module");
  std::vector<PartResult> results(p.parts);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < p.parts; ++i)
    threads.emplace_back([&, i] {
      compilePart(buffer, p, i, t, optLevel, dumpDir, results[i]);
    });
  for (std::thread &th : threads)
    th.join();
  for (PartResult &r : results) {
    if (!r.object.empty())
      objects.push_back(r.object);
    if (!r.ok && error.empty())
      error = r.error;
  }
  return error.empty();
}
