//===- ArtifactInternal.h - What the C API's objects hold -------*- C++ -*-===//
//
// Shared by the files that implement attnc/runtime.h (Artifact.cpp: open,
// sessions, runs; BindWeights.cpp: binding a safetensors file).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_ARTIFACTINTERNAL_H
#define ATTNC_RUNTIME_ARTIFACTINTERNAL_H

#include "ArtifactManifest.h"

#include "attnc/runtime.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnc::rt {

struct CudaState; // CudaArtifact.h

using EntryFn = void (*)(void **);

/// Sets the thread's last error and returns `status`.
attnc_status fail(attnc_status status, std::string message);

/// "[2, ?, 768]".
std::string shapeString(const std::vector<int64_t> &shape);

/// The memref descriptor an entry point takes for a dense row-major tensor
/// at `data` of `shape`: {allocated, aligned, offset, sizes, strides}.
/// Returns what the packed argument array points at (desc.data()).
void *memrefDescriptor(std::vector<int64_t> &desc, const void *data,
                       const std::vector<int64_t> &shape);

} // namespace attnc::rt

struct attnc_artifact {
  void *handle = nullptr;
  std::string path;
  attnc::rt::Manifest manifest;
  std::map<std::string, size_t> weightIndex;
  std::vector<const void *> weightData;
  std::vector<attnc::rt::EntryFn> entryFns;
  /// Storage behind bound weights that the artifact owns: mapped
  /// checkpoints, converted copies. Freed with the artifact.
  std::vector<std::shared_ptr<const void>> owned;
  /// A "cuda" artifact's device, module and weight copies (CudaArtifact.h).
  std::shared_ptr<attnc::rt::CudaState> cuda;
  /// A CPU artifact's heap buffers come from the runtime's cache
  /// (HostAllocator.h); closing it releases its share.
  bool routedAllocations = false;
  ~attnc_artifact();
};

#endif // ATTNC_RUNTIME_ARTIFACTINTERNAL_H
