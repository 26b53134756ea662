//===- CudaDriver.h - The CUDA driver API, loaded with dlopen ---*- C++ -*-===//
//
// Nothing CUDA at build time: the driver library (libcuda.so.1, or the file
// $ATTNC_LIBCUDA names, e.g. a fake driver in tests) is dlopen'ed when a CUDA
// artifact is opened, and the few entry points the runtime calls are looked
// up by name. Every failing call becomes a message with the driver's error
// name ("cuModuleLoadData: CUDA_ERROR_INVALID_PTX (a PTX JIT compilation
// failed)").
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CUDADRIVER_H
#define ATTNC_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <memory>
#include <string>

namespace attnc::rt::cuda {

// The driver API's types, as the ABI has them (cuda.h is not needed).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;

inline constexpr CUresult CUDA_SUCCESS = 0;
inline constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
inline constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

struct Driver {
  void *library = nullptr;
  std::string path;
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule *, const void *) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = nullptr;
  CUresult (*cuStreamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  // Optional (CUDA 11.2+): stream-ordered allocation.
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream) = nullptr;
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream) = nullptr;

  ~Driver();

  /// "<call>: CUDA_ERROR_X (driver's description)"; the name comes from the
  /// driver when it can give one, else from a built-in table.
  std::string describe(CUresult result, const char *call) const;
};

/// The library a CUDA artifact needs: $ATTNC_LIBCUDA when set, else
/// "libcuda.so.1".
std::string driverLibraryName();

/// dlopens `library`, resolves the entry points and runs cuInit(0). Returns
/// null with `error` saying what failed (the library cannot be loaded, an
/// entry point is missing, cuInit's error).
std::unique_ptr<Driver> loadDriver(const std::string &library,
                                   std::string &error);

/// The built-in name of a driver error code ("CUDA_ERROR_NO_DEVICE"), or
/// "CUDA error <n>".
std::string errorName(CUresult result);

} // namespace attnc::rt::cuda

#endif // ATTNC_RUNTIME_CUDADRIVER_H
