//===- InitWeightsCommand.cpp - attnc init-weights ------------------------===//
//
// Writes a safetensors checkpoint with every weight of a config, initialised
// per attention.init_weights (the modes and the RNG are documented in
// attnc/Runtime/InitWeights.h). The same config, seed and dtype give the
// same file, byte for byte, on every machine.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Runtime/InitWeights.h"
#include "attnc/Runtime/Safetensors.h"

#include <iostream>

namespace attnc::cli {

namespace {

struct InitWeightsOptions {
  std::string config;
  std::string output;
  uint64_t seed = 0;
  std::string dtype; ///< empty: the config's dtype
  std::string mode;  ///< empty: attention.init_weights
  double normNoise = 0;
  bool quiet = false;
};

std::optional<InitWeights> parseMode(const std::string &text) {
  for (InitWeights m :
       {InitWeights::TruncNormal002, InitWeights::TruncNormal,
        InitWeights::TruncNormal002Identity, InitWeights::Torch,
        InitWeights::Zeros})
    if (text == toString(m))
      return m;
  return std::nullopt;
}

int runInitWeights(const InitWeightsOptions &opts) {
  int code = kExitOk;
  std::optional<ModelConfig> config = loadAndReport(opts.config, code);
  if (!config)
    return code;

  runtime::StDType dtype = runtime::toStDType(config->dtype);
  if (opts.dtype == "float32")
    dtype = runtime::StDType::F32;
  else if (opts.dtype == "bfloat16")
    dtype = runtime::StDType::BF16;
  else if (opts.dtype == "float16")
    dtype = runtime::StDType::F16;

  runtime::InitOptions init;
  init.seed = opts.seed;
  init.normNoise = opts.normNoise;
  if (!opts.mode.empty())
    init.mode = parseMode(opts.mode);
  InitWeights mode = init.mode.value_or(config->attention.initWeights);

  // One tensor at a time: memory is the largest tensor, not the model.
  std::vector<WeightSpec> table = weightTable(*config);
  std::vector<runtime::TensorHeader> headers;
  int64_t parameters = 0;
  for (const WeightSpec &w : table) {
    parameters += w.elements();
    headers.push_back({w.name, dtype, w.shape});
  }
  // No time stamps or paths: the file depends on config, seed and dtype only.
  std::map<std::string, std::string> metadata = {
      {"format", "pt"},
      {"attnc.config", config->name},
      {"attnc.init_weights", toString(mode)},
      {"attnc.seed", std::to_string(opts.seed)},
  };
  if (opts.normNoise > 0)
    metadata["attnc.norm_noise"] = std::to_string(opts.normNoise);

  std::string error;
  auto produce = [&](size_t i, std::vector<uint8_t> &bytes) {
    const WeightSpec &w = table[i];
    bytes = runtime::encodeTensor(w.name, w.shape,
                                  runtime::initWeight(*config, w, init), dtype)
                .data;
  };
  if (!runtime::writeSafetensorsStreamed(opts.output, headers, metadata,
                                         produce, error)) {
    std::cerr << "attnc init-weights: " << error << "\n";
    return kExitUsage;
  }
  if (!opts.quiet)
    std::cout << "wrote " << opts.output << ": " << headers.size()
              << " tensors, " << parameters << " parameters, "
              << runtime::toString(dtype) << ", init " << toString(mode)
              << ", seed " << opts.seed << "\n";
  return kExitOk;
}

} // namespace

void addInitWeightsCommand(CLI::App &app) {
  auto opts = std::make_shared<InitWeightsOptions>();
  CLI::App *cmd = app.add_subcommand(
      "init-weights",
      "Write a safetensors checkpoint with every weight of a config,\n"
      "initialised per attention.init_weights (truncnormal002: truncated\n"
      "normal std 0.02, biases 0; truncnormal002-identity: the same with\n"
      "attn.o and mlp.down 0; torch: PyTorch's Linear defaults, embeddings\n"
      "N(0, 1); zeros). Norm scales start as the identity. Deterministic:\n"
      "the same config, seed and dtype give the same file on every machine.\n"
      "Exit 0 written, 1 invalid config, 2 usage error or unwritable file.");
  cmd->add_option("config", opts->config, "YAML or JSON config")->required();
  cmd->add_option("-o,--output", opts->output, "Checkpoint to write")
      ->required();
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->add_option("--dtype", opts->dtype,
                  "float32, bfloat16 or float16 (default: the config's dtype)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  cmd->add_option("--init", opts->mode,
                  "Override attention.init_weights")
      ->check(CLI::IsMember({"truncnormal002", "truncnormal",
                             "truncnormal002-identity", "torch", "zeros"}));
  cmd->add_option("--norm-noise", opts->normNoise,
                  "Add N(0, STD) to norm scales and biases (tests: makes "
                  "every norm weight matter)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", opts->quiet, "Print nothing on success");
  cmd->callback([opts] {
    int code = runInitWeights(*opts);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
