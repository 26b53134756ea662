//===- ImportInternal.h - the config importer's state -------------*- C++ -*-===//
//
// Private to compiler/lib/Import. ConfigToAttn.cpp builds the signature,
// the embeddings and the outputs; ImportLayer.cpp builds the blocks.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_IMPORT_IMPORTINTERNAL_H
#define ATTNC_LIB_IMPORT_IMPORTINTERNAL_H

#include "attnc/Compiler/Import/ConfigToAttn.h"
#include "attnc/Dialect/Attn/IR/AttnOps.h"
#include "attnc/Schema/Config.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnc::import {

/// One argument or result of the entry point.
struct Port {
  std::string name;
  mlir::Type type;
  bool weight = false;
  int64_t window = 0; ///< a ring cache's window (attnc.window)
};

class Importer {
public:
  Importer(mlir::MLIRContext &ctx, const ModelConfig &config,
           const ImportOptions &options);
  mlir::OwningOpRef<mlir::ModuleOp> run();

  // ---- shared helpers (ConfigToAttn.cpp) ----
  /// FusedLoc of a config section and a config path.
  mlir::Location loc(const SourceLoc &where, const std::string &path);
  /// tensor<shape x elementType>.
  mlir::RankedTensorType tensor(llvm::ArrayRef<int64_t> shape,
                                mlir::Type elementType = {});
  /// The weight argument `name`; null when the model has no such weight.
  mlir::Value weight(const std::string &name);
  /// attn.norm of the model's kind on `x` with weights `<prefix>.weight`
  /// (and `.bias`); `size` picks an rms norm over head_dim (qk norm).
  mlir::Value norm(mlir::Value x, const std::string &prefix,
                   mlir::Location where, bool qkNorm = false);
  mlir::Value linear(mlir::Value x, const std::string &prefix, int64_t out,
                     mlir::Location where);
  /// Reports an unsupported feature; run() then fails.
  void unsupported(const SourceLoc &where, const std::string &path,
                   const std::string &message);

  // ---- blocks (ImportLayer.cpp) ----
  mlir::Value layer(int64_t index, mlir::Value x);

  mlir::MLIRContext &ctx;
  const ModelConfig &c;
  const ImportOptions &options;
  mlir::OpBuilder b;
  mlir::Type et; ///< activation/weight element type
  mlir::Type cacheEt; ///< KV cache element type (incremental)

  int64_t hidden = 0, heads = 0, kvHeads = 0, headDim = 0;
  int64_t seqLen = 0; ///< static S or kDynamic

  llvm::StringMap<mlir::Value> args; ///< by port name
  mlir::Value positions;             ///< [B, S] i32 or null
  /// Per layer, per cache group: (keys, values).
  std::vector<std::vector<std::pair<mlir::Value, mlir::Value>>> cacheArgs;
  /// Per layer: post-RoPE keys and values, [B, K, S, hd] (incremental:
  /// the updated caches, [B, K, L, hd]).
  std::vector<std::pair<mlir::Value, mlir::Value>> layerKV;
  bool failed = false;

  // ---- incremental entry points (ImportIncremental.cpp) ----
  /// Building `prefill` / `decode` rather than `forward`.
  bool incremental = false;
  mlir::Value endIndex;       ///< index: tokens written before this call
  mlir::Value unmaskedPrefix; ///< index: cache-group slots first (or null)
  /// The pattern of the text queries (checkIncremental).
  const AttentionPattern *textPattern = nullptr;
  /// Tokens of the image group that leads the first prefill (0: none).
  int64_t imageTokens = 0;
  /// One layer's cache: the caller's buffers ([B, K, L or R, hd]), them as
  /// writable tensors, the slot positions and the allowed mask [B, n, L/R].
  struct CachedKV {
    mlir::Value kBuffer, vBuffer, k, v, slotPositions, allowed;
  };
  std::vector<CachedKV> kvCaches;
  /// Checks that the config fits the incremental entry points.
  bool checkIncremental();
  /// Whether the config has a cache group.
  bool hasCacheGroup() const;
  /// The window of layer `layer` when it keeps a ring buffer.
  std::optional<int64_t> ringWindow(int64_t layer) const;
  /// The distinct ring windows, ascending.
  std::vector<int64_t> ringWindows() const;
  /// Ports of `prefill` (n dynamic) or `decode` (n = 1).
  std::vector<Port> incrementalSignature(int64_t n);
  /// End index, cache prefix, masks and caches from the arguments.
  void setUpIncremental(mlir::Location where);
  /// `x` with element type `to` (elementwise extf/truncf; `x` if equal).
  mlir::Value convert(mlir::Value x, mlir::Type to, mlir::Location where);
  /// kv_append of `update` at the end index (a ring: at end mod R, wrapping).
  mlir::Value append(mlir::Value update, mlir::Value cache, bool ring,
                     mlir::Location where);
  /// Writes the step's keys and values into layer `layer`'s cache and
  /// attends to it.
  mlir::Value cachedAttention(int64_t layer, mlir::Value q, mlir::Value k,
                              mlir::Value v, mlir::Location where,
                              mlir::FloatAttr softcap,
                              mlir::DenseF64ArrayAttr slopes);

private:
  void buildFunction(mlir::ModuleOp module, const std::string &name,
                     int64_t incrementalLength);
  std::vector<Port> signature();
  mlir::Value embedInputs(mlir::Location where);
  void outputs(mlir::Value x, std::vector<Port> &results,
               llvm::SmallVectorImpl<mlir::Value> &values);
  bool returnKV() const;
};

} // namespace attnc::import

#endif // ATTNC_LIB_IMPORT_IMPORTINTERNAL_H
