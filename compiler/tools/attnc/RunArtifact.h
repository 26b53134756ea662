//===- RunArtifact.h - `attnc run MODEL.attnc` ------------------*- C++ -*-===//
//
// The compiled-artifact way of computing a model's outputs for `attnc run`:
// the runtime's C API (attnc/runtime.h) opens the artifact, binds the
// weights and runs its `forward` entry point. Input parsing and output
// printing are RunInputs.h's, shared with --interpret.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_RUNARTIFACT_H
#define ATTNC_TOOLS_ATTNC_RUNARTIFACT_H

#include "RunInputs.h"

#include <optional>
#include <string>

namespace attnc::cli {

/// The config a compiled artifact was built from (its manifest's "config").
/// Prints why not to stderr and sets `exitCode` (2: unreadable or not an
/// artifact, 1: one this runtime cannot run).
std::optional<ModelConfig> loadArtifactConfig(const std::string &path,
                                              int &exitCode);

/// Runs the artifact at `path` with the checkpoint `weights` (naming as in
/// `attnc run --naming`) on `inputs`, batch 1. Inputs are checked first
/// (reference::checkInputs) so that nothing out of range reaches compiled
/// code. Returns an exit code; errors go to stderr.
int computeCompiled(const std::string &path, const std::string &weights,
                    const std::string &naming, const ModelConfig &config,
                    const reference::ReferenceInputs &inputs,
                    RunOutputs &outputs);

} // namespace attnc::cli

#endif // ATTNC_TOOLS_ATTNC_RUNARTIFACT_H
