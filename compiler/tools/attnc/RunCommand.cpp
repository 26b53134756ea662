//===- RunCommand.cpp - attnc run -----------------------------------------===//
//
// Runs a model on inputs given on the command line and prints (or saves) its
// outputs. Input parsing and output printing are shared (RunInputs.h); only
// the way outputs are computed differs:
//   --interpret CONFIG   the reference interpreter (attnc/Reference), on a
//                        config and a safetensors checkpoint
//   MODEL.attnc          a compiled artifact (`attnc compile`), through the
//                        runtime's C API (RunArtifact.h)
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "RunArtifact.h"
#include "RunInputs.h"

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Runtime/Npy.h"

#include <iostream>

namespace attnc::cli {

namespace {

struct RunOptions {
  std::string model; ///< a config with --interpret, else an artifact
  bool interpret = false;
  std::string weights;
  std::string naming = "auto";
  RunInputFlags inputs;
  int64_t topK = 5;
  std::string out;
  std::string outPooled;
  bool json = false;
};

/// Outputs computed by the reference interpreter. Returns an exit code.
int computeInterpreted(const RunOptions &opts, const ModelConfig &config,
                       const reference::ReferenceInputs &inputs,
                       RunOutputs &outputs) {
  if (opts.weights.empty()) {
    std::cerr << "attnc run: --interpret needs --weights FILE.safetensors "
                 "(attnc init-weights writes one)\n";
    return kExitUsage;
  }
  runtime::CheckpointNaming naming = runtime::CheckpointNaming::Auto;
  runtime::parseCheckpointNaming(opts.naming, naming);
  std::vector<std::string> errors;
  std::unique_ptr<runtime::SafetensorsFile> file =
      runtime::SafetensorsFile::open(opts.weights, errors);
  std::optional<runtime::WeightSet> weights;
  if (file)
    weights = runtime::loadWeights(
        config, std::shared_ptr<const runtime::SafetensorsFile>(std::move(file)),
        naming, errors);
  if (!weights) {
    for (const std::string &e : errors)
      std::cerr << "error: " << e << "\n";
    // Unreadable is a usage problem; a file that does not fit is invalid.
    bool unreadable = !errors.empty() &&
                      (errors[0].find(": cannot open") != std::string::npos ||
                       errors[0].find(": not a regular file") !=
                           std::string::npos);
    return unreadable ? kExitUsage : kExitInvalidConfig;
  }
  reference::ReferenceOutputs ref;
  try {
    ref = reference::runReference(config, *weights, inputs);
  } catch (const reference::ReferenceError &e) {
    std::cerr << "attnc run: " << e.what() << "\n";
    return kExitInvalidConfig;
  }
  outputs.layout = ref.layout;
  outputs.pooled = ref.pooled;
  switch (config.output.kind) {
  case OutputKind::Logits:
    outputs.kind = "logits";
    outputs.shape = {ref.logits.rows, ref.logits.cols};
    outputs.values = std::move(ref.logits.data);
    break;
  case OutputKind::HiddenStates:
    outputs.kind = "hidden_states";
    outputs.shape = {ref.hiddenStates.rows, ref.hiddenStates.cols};
    outputs.values = std::move(ref.hiddenStates.data);
    break;
  case OutputKind::Classifier:
    outputs.kind = "classifier";
    outputs.shape = {int64_t(ref.classes.size())};
    outputs.values = std::move(ref.classes);
    break;
  }
  return kExitOk;
}

int runRun(const RunOptions &opts) {
  int code = kExitOk;
  std::optional<ModelConfig> config =
      opts.interpret ? loadAndReport(opts.model, code)
                     : loadArtifactConfig(opts.model, code);
  if (!config)
    return code;

  reference::ReferenceInputs inputs;
  std::string error;
  bool usage = false;
  if (!buildInputs(*config, opts.inputs, inputs, error, usage)) {
    std::cerr << "attnc run: " << error << "\n";
    return usage ? kExitUsage : kExitInvalidConfig;
  }

  RunOutputs outputs;
  code = opts.interpret ? computeInterpreted(opts, *config, inputs, outputs)
                        : computeCompiled(opts.model, opts.weights, opts.naming,
                                          *config, inputs, outputs);
  if (code != kExitOk)
    return code;

  if (!opts.out.empty() &&
      !runtime::writeNpy(opts.out,
                         runtime::makeNpyFloat32(outputs.shape, outputs.values),
                         error)) {
    std::cerr << "attnc run: " << error << "\n";
    return kExitUsage;
  }
  if (!opts.outPooled.empty()) {
    if (outputs.pooled.empty()) {
      std::cerr << "attnc run: --out-pooled: the model has no pooler "
                   "(output.pooler)\n";
      return kExitUsage;
    }
    if (!runtime::writeNpy(opts.outPooled,
                           runtime::makeNpyFloat32(
                               {int64_t(outputs.pooled.size())},
                               outputs.pooled),
                           error)) {
      std::cerr << "attnc run: " << error << "\n";
      return kExitUsage;
    }
  }
  printOutputs(*config, outputs, opts.topK, opts.json);
  return kExitOk;
}

} // namespace

void addRunCommand(CLI::App &app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App *cmd = app.add_subcommand(
      "run",
      "Run a model on the given inputs and print its outputs.\n"
      "MODEL is an artifact from `attnc compile` (its manifest holds the\n"
      "config), run natively with --weights; with --interpret, MODEL is a\n"
      "config run by the reference interpreter (plain float32 C++, the\n"
      "numerical ground truth) with --weights.\n"
      "Group-valued flags take GROUP=VALUE, or VALUE when the config has\n"
      "one group of that kind.\n"
      "Exit 0 success, 1 invalid config or input/weights that do not fit the\n"
      "model, 2 usage error or unreadable file.");
  cmd->add_option("model", opts->model,
                  "Compiled artifact (.attnc), or a config with --interpret")
      ->required();
  cmd->add_flag("--interpret", opts->interpret,
                "Run the reference interpreter on a config");
  cmd->add_option("--weights", opts->weights, "safetensors checkpoint");
  cmd->add_option("--naming", opts->naming,
                  "Checkpoint names: auto, canonical, llama, gpt2 or bert "
                  "(runtime/docs/weights.md)")
      ->check(CLI::IsMember({"auto", "canonical", "llama", "gpt2", "bert"}))
      ->capture_default_str();
  RunInputFlags &in = opts->inputs;
  cmd->add_option("--tokens", in.tokens, "[GROUP=]token ids, e.g. 1,2,3");
  cmd->add_option("--tokens-file", in.tokensFiles,
                  "[GROUP=]file of token ids (text or .npy)");
  cmd->add_option("--image", in.images,
                  "[GROUP=]image.npy, [H, W, C] float32 or uint8, used as is");
  cmd->add_option("--embeddings", in.embeddings,
                  "[GROUP=]vectors.npy, [n, hidden_dim]");
  cmd->add_option("--cache", in.caches,
                  "[GROUP=]kv.npy for a cache group, [num_layers, 2, m, "
                  "num_kv_heads * head_dim] (K then V)");
  cmd->add_option("--positions", in.positions,
                  "Position of every input token (default 0..n-1)");
  cmd->add_option("--token-types", in.tokenTypes,
                  "Token type of every input token (default 0)");
  cmd->add_option("--top-k", opts->topK, "Print the K largest logits/classes")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--out", opts->out,
                  "Save the output (logits [n, V], hidden states [n, d] or "
                  "classes [C]) as float32 .npy");
  cmd->add_option("--out-pooled", opts->outPooled,
                  "Save the pooler's output [d] as float32 .npy");
  cmd->add_flag("--json", opts->json, "Print the summary as JSON");
  cmd->callback([opts] {
    int code = runRun(*opts);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
