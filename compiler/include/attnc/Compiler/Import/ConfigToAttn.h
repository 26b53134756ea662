//===- ConfigToAttn.h - ModelConfig -> attn dialect module --------*- C++ -*-===//
//
// The import: a validated ModelConfig becomes a module in the attn dialect
// with one function per entry point: `forward` (the whole input sequence in,
// logits / hidden states / classes out), or with
// ImportOptions::incremental `prefill` and `decode` (a decoder against a KV
// cache the caller owns; compiler/docs/entry-points.md, last section).
//
// `func.func @forward` takes, in this order (compiler/docs/entry-points.md
// has the full table; every argument and result carries its name in an
// `attnc.name` attribute and its role, "input" or "weight", in
// `attnc.role`):
//
//   1. one input per input token group, in `tokens` order:
//        tokens      "tokens.<group>"      [B, n] i32 token ids
//        image       "image.<group>"       [B, H, W, C] pixels (HWC, dtype)
//        embeddings  "embeddings.<group>"  [B, n, hidden_dim] (dtype)
//      (learned groups have no input: they are weights; cache groups are 3.)
//   2. "token_types" [B, S] i32, when embedding.token_types > 0 (only the
//      positions of token groups are read);
//      "positions" [B, S] i32, when positions are used (learned,
//      sinusoidal or ALiBi positions, or RoPE on any layer);
//   3. per layer i, per cache group g in `tokens` order:
//      "cache.layers.<i>.<g>.k" and ".v", [B, num_kv_heads, n_g, head_dim],
//      keys after RoPE (the layout `forward` returns them in);
//   4. every weight of schema/include/attnc/Schema/Weights.h, in the weight
//      table's order, with its canonical name and PyTorch shape.
// B (batch) is dynamic; S (the input sequence, every non-cache group
// concatenated in `tokens` order) is static when every input group has a
// fixed size. Results: "logits" [B, S, V] (output logits), "hidden_states"
// [B, S, hidden_dim] (+ "pooled" [B, hidden_dim] with output.pooler), or
// "classes" [B, num_classes]; then, when the config has cache groups (or
// ImportOptions::returnKV), "layers.<i>.k" / "layers.<i>.v" per layer:
// the input tokens' keys (after RoPE) and values, [B, K, S, head_dim], ready
// to be passed back as a cache group.
//
// Every op carries FusedLoc[FileLineColLoc(config file, line, col),
// NameLoc(config path such as "layers[3].attention")], so that a diagnostic
// from any later pass points back into the config.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_IMPORT_CONFIGTOATTN_H
#define ATTNC_COMPILER_IMPORT_CONFIGTOATTN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace attnc {

struct ModelConfig;
struct SourceLoc;

struct ImportOptions {
  /// Return every layer's keys and values even without cache groups.
  bool returnKV = false;
  /// Emit `prefill` and `decode` (incremental decoding with a KV cache)
  /// instead of `forward`; see compiler/docs/entry-points.md. Only for
  /// decoders with one dynamic `tokens` group and one causal pattern.
  bool incremental = false;
  /// With `incremental`: `prefill` returns only the last row's logits
  /// ([B, 1, V]) instead of every row's.
  bool returnLastOnly = true;
  /// With `incremental`: the KV caches' element type, "f32", "bf16" or
  /// "f16" (gemma init_cache's dtype); empty: the model's dtype. The step's
  /// keys and values are converted into it; the attention reads the cache
  /// converted back to the model's dtype.
  std::string cacheDtype;
};

/// Builds the attn module of `config`. On failure (a config the compiler
/// cannot build, e.g. one without any input group), reports errors through
/// `context`'s diagnostic
/// engine, at the config location of the feature, and returns null. The
/// context must have the dialects of attnc::registerAllDialects loaded or
/// registered.
mlir::OwningOpRef<mlir::ModuleOp> importConfig(mlir::MLIRContext &context,
                                               const ModelConfig &config,
                                               const ImportOptions &options = {});

/// FusedLoc[FileLineColLoc(loc), NameLoc(path)]; an unknown line falls back
/// to `fallback` (e.g. the file itself).
mlir::Location configLocation(mlir::MLIRContext &context, const SourceLoc &loc,
                              const std::string &path,
                              const SourceLoc *fallback = nullptr);

} // namespace attnc

#endif // ATTNC_COMPILER_IMPORT_CONFIGTOATTN_H
