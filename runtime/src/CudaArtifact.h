//===- CudaArtifact.h - Running a CUDA artifact's entry points --*- C++ -*-===//
//
// A `--target cuda` artifact is a shared object like a CPU one: its entry
// points take memref descriptors, but their data pointers are device
// pointers, and its host code calls four functions through exported pointer
// slots that the runtime fills (compiler/docs/cuda.md, "launch ABI"):
//
//   attnc_cuda_launch_fn(kernel name, grid x/y/z, block x/y/z, shared bytes,
//                        int64 *slots, int64 nparams): parameter i in the
//                        first bytes of slots[i]
//   attnc_cuda_alloc_fn(bytes) / attnc_cuda_aligned_alloc_fn(align, bytes)
//   attnc_cuda_free_fn(ptr)
//   attnc_cuda_memcpy_dtoh_fn(host dst, device src, bytes)
//
// and exports its kernels as attnc_cuda_ptx[_size] (+ attnc_cuda_cubin[_size]
// when ptxas made one). Opening one loads the driver (CudaDriver.h), picks
// device 0, checks its compute capability against the manifest's gpu_archs,
// loads the module (the cubin on the exact architecture, else the PTX for
// the driver to compile) and fills the slots. A run copies the weights to
// the device once per artifact, the inputs every run, and the outputs back.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDAARTIFACT_H
#define ATTNC_RUNTIME_CUDAARTIFACT_H

#include "ArtifactManifest.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attnc::rt {

struct CudaState;

/// The manifest's "gpu_archs" ("sm_90" -> 90), or -1 when it names none.
int requiredComputeCapability(const std::string &manifestJson);

/// Opens a "cuda" artifact (see the file comment). On failure returns
/// ATTNC_ERROR_VERSION or ATTNC_ERROR_UNSUPPORTED_ISA (no driver, no device,
/// a device too old, a module the driver refuses) with `error` saying why.
attnc_status cudaOpen(void *handle, const Manifest &manifest,
                      int64_t exportedAbi, std::shared_ptr<CudaState> &out,
                      std::string &error);

/// One call of an entry point on the device.
class CudaCall {
public:
  /// Replaces data[i] (host pointers: inputs, bound weights, output
  /// buffers, as attnc_session_run has them) by device pointers; `shapes`
  /// are the concrete shapes. Arguments with onDevice[i] set already hold
  /// device pointers (the decoder's KV caches, CudaBuffer) and are passed
  /// as they are. Returns null with `error` set.
  static std::unique_ptr<CudaCall>
  prepare(const std::shared_ptr<CudaState> &state, const EntrySpec &entry,
          const std::vector<std::vector<int64_t>> &shapes,
          std::vector<const void *> &data, std::string &error,
          const std::vector<bool> &onDevice = {});

  /// Waits for the kernels, copies the outputs back to the host buffers and
  /// frees the call's device memory; the first error of the call (a failed
  /// launch or allocation included) as a status and message.
  attnc_status finish(std::string &error);

  ~CudaCall();

private:
  std::shared_ptr<CudaState> state;
  struct Output {
    void *host;
    unsigned long long device;
    size_t bytes;
  };
  std::vector<Output> outputs;
  std::vector<unsigned long long> owned; // inputs and outputs
  bool finished = false;
};

/// Device memory that outlives calls: the decoder's KV caches, which the
/// entry points update in place on the device (never copied per step).
class CudaBuffer {
public:
  /// `bytes` of zeroed device memory; null with `error` set on failure.
  static std::unique_ptr<CudaBuffer>
  allocate(const std::shared_ptr<CudaState> &state, size_t bytes,
           std::string &error);

  /// The device pointer, as an entry point's memref descriptor takes it.
  const void *device() const {
    return reinterpret_cast<const void *>(uintptr_t(pointer));
  }

  /// Copies `bytes` from host memory to `offset` bytes into the buffer.
  bool upload(size_t offset, const void *host, size_t bytes,
              std::string &error);

  ~CudaBuffer();

private:
  std::shared_ptr<CudaState> state;
  unsigned long long pointer = 0;
};

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_CUDAARTIFACT_H
