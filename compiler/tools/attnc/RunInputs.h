//===- RunInputs.h - Inputs and outputs of `attnc run` ----------*- C++ -*-===//
//
// What `attnc run` shares between its ways of computing a model's outputs
// (the reference interpreter with --interpret, a compiled artifact later):
// turning the command line into model inputs, and printing/saving outputs.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_RUNINPUTS_H
#define ATTNC_TOOLS_ATTNC_RUNINPUTS_H

#include "attnc/Reference/Reference.h"
#include "attnc/Schema/Config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::cli {

/// The input flags of `attnc run`, as given. Group-valued flags take
/// `GROUP=VALUE`, or just `VALUE` when the config has one group of that kind.
struct RunInputFlags {
  std::vector<std::string> tokens;      ///< [G=]1,2,3
  std::vector<std::string> tokensFiles; ///< [G=]file (text or .npy)
  std::vector<std::string> images;      ///< [G=]file.npy, [H, W, C]
  std::vector<std::string> embeddings;  ///< [G=]file.npy, [n, d]
  std::vector<std::string> caches;      ///< [G=]file.npy, [L, 2, m, K*hd]
  std::string positions;                ///< 0,1,2
  std::string tokenTypes;               ///< 0,0,1
};

/// Builds model inputs from the flags (reading the files they name). Returns
/// false with `error` set; `usage` tells a malformed flag or unreadable file
/// (exit 2) from input that does not fit the model (exit 1).
bool buildInputs(const ModelConfig &config, const RunInputFlags &flags,
                 reference::ReferenceInputs &inputs, std::string &error,
                 bool &usage);

/// A model's outputs, whatever computed them.
struct RunOutputs {
  std::string kind;           ///< "logits", "hidden_states", "classifier"
  std::vector<int64_t> shape; ///< of values
  std::vector<float> values;
  std::vector<float> pooled; ///< output.pooler
  std::vector<reference::GroupRange> layout;
};

/// Prints a summary (text, or JSON with --json) to stdout.
void printOutputs(const ModelConfig &config, const RunOutputs &outputs,
                  int64_t topK, bool json);

} // namespace attnc::cli

#endif // ATTNC_TOOLS_ATTNC_RUNINPUTS_H
