//===- CompileCommand.cpp - attnc compile ---------------------------------===//
//
// config -> attn -> linalg -> LLVM -> one shared-object artifact with an
// embedded manifest (attnc/Compiler/Target/CompileCpu.h does the work; this
// file only parses the command line).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "attnc/Compiler/Driver.h"
#include "attnc/Compiler/Target/CompileCpu.h"
#include "attnc/Compiler/Target/CompileCuda.h"

#include <iostream>
#include <sstream>

namespace attnc::cli {

namespace {

struct CompileOptions {
  std::string config;
  std::string fromMlir;
  std::string output;
  std::string target = "cpu";
  std::string cpu = "native";
  std::string gpuArch = "sm_90";
  std::string tensorCores; ///< empty: not given (auto)
  std::string emit = "artifact";
  std::string dumpDir;
  unsigned optLevel = 3;
  unsigned jobs = 0;
  bool timings = false;
  bool locations = false;
  bool incremental = false;
  std::string cacheDtype;
};

std::string defaultOutput(const CompileOptions &o) {
  std::string base = o.config.empty() ? o.fromMlir : o.config;
  size_t slash = base.find_last_of('/');
  if (slash != std::string::npos)
    base = base.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0)
    base = base.substr(0, dot);
  if (o.emit == "llvm")
    return base + ".ll";
  if (o.emit == "ptx" || o.emit == "cubin")
    return base + "." + o.emit;
  if (o.emit == "obj")
    return base + ".o";
  if (o.emit == "attn" || o.emit == "linalg" || o.emit == "llvm-mlir" ||
      o.emit == "gpu-mlir")
    return "-";
  return base + ".attnc";
}

int runCompile(const CompileOptions &o) {
  if (o.config.empty() == o.fromMlir.empty()) {
    std::cerr << "error: give either a config file or --from-mlir FILE\n";
    return kExitUsage;
  }
  CompileRequest req;
  std::optional<ModelConfig> config;
  if (!o.config.empty()) {
    int code = kExitOk;
    config = loadAndReport(o.config, code);
    if (!config)
      return code;
    req.config = &*config;
  }
  if (o.emit == "attn") {
    // The import alone: the attn dialect as the config describes it.
    if (!config) {
      std::cerr << "error: --emit=attn needs a config file\n";
      return kExitUsage;
    }
    std::ostringstream text;
    EmitModuleOptions options;
    options.debugInfo = o.locations;
    options.incremental = o.incremental;
    options.cacheDtype = o.cacheDtype;
    int code = emitModule(*config, EmitStage::Attn, text, std::cerr, options);
    if (code != 0)
      return kExitInvalidConfig;
    std::string error;
    if (!writeOutput(o.output.empty() ? "-" : o.output, text.str(), error)) {
      std::cerr << "error: " << error << "\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  // What both targets take.
  req.mlirFile = o.fromMlir;
  req.output = o.output.empty() ? defaultOutput(o) : o.output;
  req.emit = o.emit;
  req.optLevel = o.optLevel;
  req.jobs = o.jobs;
  req.dumpDir = o.dumpDir;
  req.timings = o.timings;
  req.incremental = o.incremental;
  req.cacheDtype = o.cacheDtype;
  if (o.target == "cuda") {
    CompileCudaRequest creq;
    static_cast<CompileRequest &>(creq) = req;
    creq.gpuArch = o.gpuArch;
    if (!o.tensorCores.empty())
      creq.tensorCores = o.tensorCores;
    return compileCuda(creq);
  }
  if (!o.tensorCores.empty()) {
    std::cerr << "error: --tensor-cores needs --target cuda\n";
    return kExitUsage;
  }
  if (o.emit == "ptx" || o.emit == "cubin" || o.emit == "gpu-mlir" ||
      o.emit == "cpu-emulation") {
    std::cerr << "error: --emit=" << o.emit << " needs --target cuda\n";
    return kExitUsage;
  }
  CompileCpuRequest cpuReq;
  static_cast<CompileRequest &>(cpuReq) = req;
  cpuReq.cpu = o.cpu;
  return compileCpu(cpuReq);
}

} // namespace

void addCompileCommand(CLI::App &app) {
  auto opts = std::make_shared<CompileOptions>();
  CLI::App *cmd = app.add_subcommand(
      "compile",
      "Compile a config to a native artifact: one shared object with an\n"
      "embedded manifest (config, hash, target ISA, entry points, weight\n"
      "table) that `attnc run` and the runtime library load. Weights are not\n"
      "compiled in; bind any matching checkpoint at run time.\n"
      "Exit 0 ok, 1 invalid config or compile error, 2 usage error.");
  cmd->add_option("config", opts->config, "YAML or JSON config file");
  cmd->add_option("-o,--output", opts->output,
                  "Output file (default: the config's name with .attnc, .ll "
                  "or .o; MLIR stages go to stdout)");
  cmd->add_option("--target", opts->target,
                  "Target: cpu, or cuda (PTX for --gpu-arch, checked into a "
                  "cubin by ptxas when found; compiler/docs/cuda.md)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--gpu-arch", opts->gpuArch,
                  "--target cuda: the GPU architecture")
      ->check(CLI::IsMember({"sm_80", "sm_90"}))
      ->capture_default_str();
  cmd->add_option("--tensor-cores", opts->tensorCores,
                  "--target cuda: auto (default: matmuls with bf16/f16 inputs "
                  "on the tensor cores, mma.sync with f32 sums), tf32 (f32 "
                  "matmuls too, as tf32: ~1e-3 relative error), off (every "
                  "matmul on the CUDA cores)")
      ->check(CLI::IsMember({"auto", "tf32", "off"}));
  cmd->add_option("--cpu", opts->cpu,
                  "Instruction set: native (this machine), x86-64-v3, "
                  "x86-64-v4, generic, or an LLVM CPU name")
      ->capture_default_str();
  cmd->add_option("--emit", opts->emit,
                  "What to write: attn (the imported attn dialect), linalg "
                  "(MLIR on tensors), llvm-mlir (LLVM dialect), llvm "
                  "(optimized LLVM IR), obj (object), artifact; with "
                  "--target cuda also gpu-mlir (host LLVM dialect + NVVM "
                  "kernels), ptx, cubin (needs ptxas), cpu-emulation (a CPU "
                  "artifact of the GPU loop mapping, for tests)")
      ->check(CLI::IsMember({"attn", "linalg", "llvm-mlir", "llvm", "obj",
                             "artifact", "gpu-mlir", "ptx", "cubin",
                             "cpu-emulation"}))
      ->capture_default_str();
  cmd->add_option("--dump-ir-after-all", opts->dumpDir,
                  "Write every stage (input, every pass, LLVM IR before/after "
                  "O3: llvm-opt.ll, or llvm-opt.<part>.ll with -j > 1, "
                  "manifest) into this directory");
  cmd->add_option("-O", opts->optLevel, "LLVM optimization level 0-3")
      ->check(CLI::Range(0u, 3u))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", opts->jobs,
                  "Threads for LLVM's optimizer and code generator (--target "
                  "cpu): the module is compiled in up to this many parts; 0 "
                  "means one per core. The artifact's code does not depend "
                  "on it beyond symbol order")
      ->capture_default_str();
  cmd->add_flag("--timings", opts->timings, "Print each phase's time");
  cmd->add_flag("--incremental", opts->incremental,
                "Entry points prefill and decode (KV cache, for attnc "
                "generate) instead of forward");
  cmd->add_option("--cache-dtype", opts->cacheDtype,
                  "With --incremental: the KV caches' dtype (default: the "
                  "model's)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  cmd->add_flag("--locations", opts->locations,
                "--emit=attn: print every op's location (config "
                "file:line:col and config path)");
  cmd->add_option("--from-mlir", opts->fromMlir,
                  "Compile an MLIR module (attn or linalg on tensors) instead "
                  "of a config")
      ->group(""); // hidden: for tests and debugging
  cmd->callback([opts] {
    int code = runCompile(*opts);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
