//===- CudaDriver.cpp - The CUDA driver API, loaded with dlopen -----------===//

#include "CudaDriver.h"

#include <dlfcn.h>

#include <cstdlib>

using namespace attnc::rt::cuda;

namespace {

template <typename Fn>
bool resolve(void *lib, const char *name, Fn &slot, std::string &missing) {
  slot = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!slot)
    missing += (missing.empty() ? "" : ", ") + std::string(name);
  return slot != nullptr;
}

} // namespace

Driver::~Driver() {
  if (library)
    dlclose(library);
}

std::string attnc::rt::cuda::errorName(CUresult r) {
  switch (r) {
  case 0: return "CUDA_SUCCESS";
  case 1: return "CUDA_ERROR_INVALID_VALUE";
  case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3: return "CUDA_ERROR_NOT_INITIALIZED";
  case 4: return "CUDA_ERROR_DEINITIALIZED";
  case 34: return "CUDA_ERROR_STUB_LIBRARY";
  case 100: return "CUDA_ERROR_NO_DEVICE";
  case 101: return "CUDA_ERROR_INVALID_DEVICE";
  case 200: return "CUDA_ERROR_INVALID_IMAGE";
  case 201: return "CUDA_ERROR_INVALID_CONTEXT";
  case 209: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case 218: return "CUDA_ERROR_INVALID_PTX";
  case 222: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 400: return "CUDA_ERROR_INVALID_HANDLE";
  case 500: return "CUDA_ERROR_NOT_FOUND";
  case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case 701: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case 702: return "CUDA_ERROR_LAUNCH_TIMEOUT";
  case 719: return "CUDA_ERROR_LAUNCH_FAILED";
  case 803: return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
  case 999: return "CUDA_ERROR_UNKNOWN";
  }
  return "CUDA error " + std::to_string(r);
}

std::string Driver::describe(CUresult r, const char *call) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName && cuGetErrorName(r, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (cuGetErrorString && cuGetErrorString(r, &text) != CUDA_SUCCESS)
    text = nullptr;
  std::string s = std::string(call) + ": " + (name ? name : errorName(r));
  if (text && *text)
    s += std::string(" (") + text + ")";
  return s;
}

std::string attnc::rt::cuda::driverLibraryName() {
  const char *env = std::getenv("ATTNC_LIBCUDA");
  return env && *env ? env : "libcuda.so.1";
}

std::unique_ptr<Driver> attnc::rt::cuda::loadDriver(const std::string &library,
                                                    std::string &error) {
  auto d = std::make_unique<Driver>();
  d->path = library;
  d->library = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!d->library) {
    const char *why = dlerror();
    error = "the CUDA driver library '" + library +
            "' cannot be loaded (" + (why ? why : "dlopen failed") +
            "); is an NVIDIA driver installed?";
    return nullptr;
  }
  void *l = d->library;
  std::string missing;
  resolve(l, "cuInit", d->cuInit, missing);
  resolve(l, "cuGetErrorName", d->cuGetErrorName, missing);
  resolve(l, "cuGetErrorString", d->cuGetErrorString, missing);
  resolve(l, "cuDeviceGetCount", d->cuDeviceGetCount, missing);
  resolve(l, "cuDeviceGet", d->cuDeviceGet, missing);
  resolve(l, "cuDeviceGetAttribute", d->cuDeviceGetAttribute, missing);
  resolve(l, "cuDevicePrimaryCtxRetain", d->cuDevicePrimaryCtxRetain, missing);
  resolve(l, "cuDevicePrimaryCtxRelease_v2", d->cuDevicePrimaryCtxRelease,
          missing);
  resolve(l, "cuCtxSetCurrent", d->cuCtxSetCurrent, missing);
  resolve(l, "cuModuleLoadData", d->cuModuleLoadData, missing);
  resolve(l, "cuModuleUnload", d->cuModuleUnload, missing);
  resolve(l, "cuModuleGetFunction", d->cuModuleGetFunction, missing);
  resolve(l, "cuLaunchKernel", d->cuLaunchKernel, missing);
  resolve(l, "cuMemAlloc_v2", d->cuMemAlloc, missing);
  resolve(l, "cuMemFree_v2", d->cuMemFree, missing);
  resolve(l, "cuMemcpyHtoD_v2", d->cuMemcpyHtoD, missing);
  resolve(l, "cuMemcpyDtoH_v2", d->cuMemcpyDtoH, missing);
  resolve(l, "cuStreamCreate", d->cuStreamCreate, missing);
  resolve(l, "cuStreamDestroy_v2", d->cuStreamDestroy, missing);
  resolve(l, "cuStreamSynchronize", d->cuStreamSynchronize, missing);
  if (!missing.empty()) {
    error = "the CUDA driver library '" + library +
            "' lacks entry points the runtime calls: " + missing;
    return nullptr;
  }
  std::string optional;
  resolve(l, "cuMemAllocAsync", d->cuMemAllocAsync, optional);
  resolve(l, "cuMemFreeAsync", d->cuMemFreeAsync, optional);
  if (!d->cuMemAllocAsync || !d->cuMemFreeAsync)
    d->cuMemAllocAsync = nullptr, d->cuMemFreeAsync = nullptr;
  if (CUresult r = d->cuInit(0); r != CUDA_SUCCESS) {
    error = "the CUDA driver cannot start: " + d->describe(r, "cuInit");
    return nullptr;
  }
  return d;
}
