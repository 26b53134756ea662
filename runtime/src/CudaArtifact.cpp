//===- CudaArtifact.cpp - Running a CUDA artifact's entry points ----------===//

#include "CudaArtifact.h"

#include "CudaDriver.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

using namespace attnc::rt;
using namespace attnc::rt::cuda;

struct attnc::rt::CudaState {
  std::unique_ptr<Driver> driver;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  std::mutex mutex;
  std::map<std::string, CUfunction> kernels;
  /// Device copies of the weights: name -> (host pointer, device pointer).
  std::map<std::string, std::pair<const void *, CUdeviceptr>> weights;
  /// The first error since the current call began (launch ABI callbacks).
  std::string error;

  bool check(CUresult r, const char *call) {
    if (r == CUDA_SUCCESS)
      return true;
    if (error.empty())
      error = driver->describe(r, call);
    return false;
  }
  CUdeviceptr alloc(size_t bytes) {
    CUdeviceptr p = 0;
    bytes = bytes ? bytes : 1;
    if (driver->cuMemAllocAsync)
      check(driver->cuMemAllocAsync(&p, bytes, stream), "cuMemAllocAsync");
    else
      check(driver->cuMemAlloc(&p, bytes), "cuMemAlloc");
    return p;
  }
  void free(CUdeviceptr p) {
    if (!p)
      return;
    if (driver->cuMemFreeAsync) {
      check(driver->cuMemFreeAsync(p, stream), "cuMemFreeAsync");
      return;
    }
    check(driver->cuStreamSynchronize(stream), "cuStreamSynchronize");
    check(driver->cuMemFree(p), "cuMemFree");
  }
  ~CudaState() {
    if (!driver)
      return;
    if (context)
      driver->cuCtxSetCurrent(context);
    for (auto &w : weights)
      driver->cuMemFree(w.second.second);
    if (stream)
      driver->cuStreamDestroy(stream);
    if (module)
      driver->cuModuleUnload(module);
    if (context)
      driver->cuDevicePrimaryCtxRelease(device);
  }
};

namespace {

/// The state the launch ABI callbacks act on: set for the duration of one
/// entry-point call (CudaCall), on the calling thread.
thread_local CudaState *tCurrent = nullptr;

CudaState *current(const char *what) {
  if (!tCurrent)
    std::fprintf(stderr,
                 "attnc: a CUDA artifact's %s ran outside a session's or "
                 "a decoder's call (entry points run through the runtime "
                 "only); ignored\n",
                 what);
  return tCurrent;
}

void launchCallback(const char *name, int64_t gx, int64_t gy, int64_t gz,
                    int64_t bx, int64_t by, int64_t bz, int32_t shared,
                    int64_t *slots, int64_t count) {
  CudaState *s = current("kernel launch");
  if (!s || !s->error.empty())
    return;
  if (gx == 0 || gy == 0 || gz == 0)
    return; // an empty grid (a zero-sized dim): nothing to do
  CUfunction &fn = s->kernels[name];
  if (!fn && !s->check(s->driver->cuModuleGetFunction(&fn, s->module, name),
                       "cuModuleGetFunction"))
    return;
  // Parameter i is in slots[i] (8 bytes each); the driver wants pointers.
  std::vector<void *> params(size_t(count > 0 ? count : 1));
  for (int64_t i = 0; i < count; ++i)
    params[size_t(i)] = &slots[i];
  if (!s->check(s->driver->cuLaunchKernel(
                    fn, unsigned(gx), unsigned(gy), unsigned(gz), unsigned(bx),
                    unsigned(by), unsigned(bz), unsigned(shared), s->stream,
                    params.data(), nullptr),
                "cuLaunchKernel"))
    s->error += std::string(" (kernel ") + name + ")";
}

void *allocCallback(int64_t bytes) {
  CudaState *s = current("allocation");
  if (!s || !s->error.empty())
    return nullptr;
  return reinterpret_cast<void *>(uintptr_t(s->alloc(size_t(bytes))));
}

void *alignedAllocCallback(int64_t /*alignment: cuMemAlloc gives 256*/,
                           int64_t bytes) {
  return allocCallback(bytes);
}

void freeCallback(void *p) {
  if (CudaState *s = current("deallocation"))
    s->free(CUdeviceptr(uintptr_t(p)));
}

void memcpyDtohCallback(int64_t dst, int64_t src, int64_t bytes) {
  CudaState *s = current("device read");
  if (!s || !s->error.empty()) {
    std::memset(reinterpret_cast<void *>(dst), 0, size_t(bytes));
    return;
  }
  if (!s->check(s->driver->cuStreamSynchronize(s->stream),
                "cuStreamSynchronize") ||
      !s->check(s->driver->cuMemcpyDtoH(reinterpret_cast<void *>(dst),
                                        CUdeviceptr(src), size_t(bytes)),
                "cuMemcpyDtoH"))
    std::memset(reinterpret_cast<void *>(dst), 0, size_t(bytes));
}

bool setSlot(void *handle, const char *name, void *fn, std::string &error) {
  auto *slot = static_cast<void **>(dlsym(handle, name));
  if (!slot) {
    error = std::string("the CUDA artifact exports no ") + name +
            " (compiled by an older attnc?)";
    return false;
  }
  *slot = fn;
  return true;
}

} // namespace

int attnc::rt::requiredComputeCapability(const std::string &json) {
  // "gpu_archs": ["sm_90"]: the first one (attnc writes exactly one).
  size_t at = json.find("\"gpu_archs\"");
  if (at == std::string::npos)
    return -1;
  at = json.find("sm_", at);
  if (at == std::string::npos)
    return -1;
  int cc = 0;
  size_t i = at + 3;
  for (; i < json.size() && json[i] >= '0' && json[i] <= '9'; ++i)
    cc = cc * 10 + (json[i] - '0');
  return i == at + 3 ? -1 : cc;
}

attnc_status attnc::rt::cudaOpen(void *handle, const Manifest &m,
                                 int64_t exportedAbi,
                                 std::shared_ptr<CudaState> &out,
                                 std::string &error) {
  if (m.formatVersion != ATTNC_ARTIFACT_FORMAT_VERSION ||
      m.abiVersion != ATTNC_ABI_VERSION || exportedAbi != ATTNC_ABI_VERSION) {
    error = "artifact format/ABI version " + std::to_string(m.formatVersion) +
            "/" + std::to_string(exportedAbi) +
            " is not supported; recompile the model with a matching attnc";
    return ATTNC_ERROR_VERSION;
  }
  int need = requiredComputeCapability(m.json);
  std::string arch = need > 0 ? "sm_" + std::to_string(need) : "?";
  std::string prefix = "artifact targets CUDA (" + arch + "): ";
  auto state = std::make_shared<CudaState>();
  state->driver = loadDriver(driverLibraryName(), error);
  if (!state->driver) {
    error = prefix + error;
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  Driver &d = *state->driver;
  int count = 0;
  if (!state->check(d.cuDeviceGetCount(&count), "cuDeviceGetCount") ||
      count == 0) {
    error = prefix + (state->error.empty() ? "no CUDA device is present"
                                           : state->error);
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  int major = 0, minor = 0;
  if (!state->check(d.cuDeviceGet(&state->device, 0), "cuDeviceGet") ||
      !state->check(d.cuDeviceGetAttribute(
                        &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                        state->device),
                    "cuDeviceGetAttribute") ||
      !state->check(d.cuDeviceGetAttribute(
                        &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                        state->device),
                    "cuDeviceGetAttribute")) {
    error = prefix + state->error;
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  int have = major * 10 + minor;
  if (need < 0 || have < need) {
    error = prefix + "device 0 is sm_" + std::to_string(have) +
            "; recompile with --gpu-arch for it (sm_80 or sm_90)";
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  // The cubin runs on its own architecture; elsewhere the driver compiles
  // the PTX (forward compatible).
  const void *image = nullptr;
  auto *cubin = static_cast<const char *>(dlsym(handle, "attnc_cuda_cubin"));
  if (cubin && have == need)
    image = cubin;
  else
    image = dlsym(handle, "attnc_cuda_ptx");
  if (!image) {
    error = prefix + "the artifact exports no attnc_cuda_ptx";
    return ATTNC_ERROR_FORMAT;
  }
  if (!state->check(d.cuDevicePrimaryCtxRetain(&state->context, state->device),
                    "cuDevicePrimaryCtxRetain") ||
      !state->check(d.cuCtxSetCurrent(state->context), "cuCtxSetCurrent") ||
      !state->check(d.cuModuleLoadData(&state->module, image),
                    "cuModuleLoadData") ||
      !state->check(d.cuStreamCreate(&state->stream, 0), "cuStreamCreate")) {
    error = prefix + state->error;
    return ATTNC_ERROR_UNSUPPORTED_ISA;
  }
  if (!setSlot(handle, "attnc_cuda_launch_fn",
               reinterpret_cast<void *>(&launchCallback), error) ||
      !setSlot(handle, "attnc_cuda_alloc_fn",
               reinterpret_cast<void *>(&allocCallback), error) ||
      !setSlot(handle, "attnc_cuda_free_fn",
               reinterpret_cast<void *>(&freeCallback), error))
    return ATTNC_ERROR_FORMAT;
  // Present only when the host code needs them.
  if (auto *slot = static_cast<void **>(
          dlsym(handle, "attnc_cuda_aligned_alloc_fn")))
    *slot = reinterpret_cast<void *>(&alignedAllocCallback);
  if (auto *slot =
          static_cast<void **>(dlsym(handle, "attnc_cuda_memcpy_dtoh_fn")))
    *slot = reinterpret_cast<void *>(&memcpyDtohCallback);
  out = std::move(state);
  return ATTNC_OK;
}

std::unique_ptr<CudaCall>
CudaCall::prepare(const std::shared_ptr<CudaState> &state,
                  const EntrySpec &entry,
                  const std::vector<std::vector<int64_t>> &shapes,
                  std::vector<const void *> &data, std::string &error,
                  const std::vector<bool> &onDevice) {
  CudaState &s = *state;
  s.mutex.lock(); // released by ~CudaCall: one call at a time per artifact
  auto call = std::unique_ptr<CudaCall>(new CudaCall);
  call->state = state;
  s.error.clear();
  Driver &d = *s.driver;
  s.check(d.cuCtxSetCurrent(s.context), "cuCtxSetCurrent");
  for (size_t i = 0; i < entry.args.size() && s.error.empty(); ++i) {
    const ArgSpec &a = entry.args[i];
    if (a.scalar || (i < onDevice.size() && onDevice[i]))
      continue;
    size_t bytes = attnc_dtype_size(a.dtype);
    for (int64_t dim : shapes[i])
      bytes *= size_t(dim);
    if (a.role == ArgSpec::Role::Weight) {
      auto &cached = s.weights[a.name];
      if (cached.first != data[i] || !cached.second) {
        if (cached.second)
          d.cuMemFree(cached.second);
        cached = {data[i], 0};
        if (s.check(d.cuMemAlloc(&cached.second, bytes ? bytes : 1),
                    "cuMemAlloc"))
          s.check(d.cuMemcpyHtoD(cached.second, data[i], bytes),
                  "cuMemcpyHtoD");
        if (!s.error.empty())
          cached = {nullptr, 0};
      }
      data[i] = reinterpret_cast<const void *>(uintptr_t(cached.second));
      continue;
    }
    CUdeviceptr p = 0;
    if (!s.check(d.cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc"))
      break;
    call->owned.push_back(p);
    if (a.role == ArgSpec::Role::Input)
      s.check(d.cuMemcpyHtoD(p, data[i], bytes), "cuMemcpyHtoD");
    else
      call->outputs.push_back({const_cast<void *>(data[i]), p, bytes});
    data[i] = reinterpret_cast<const void *>(uintptr_t(p));
  }
  if (!s.error.empty()) {
    error = "cannot prepare the CUDA call: " + s.error;
    return nullptr;
  }
  tCurrent = &s;
  return call;
}

attnc_status CudaCall::finish(std::string &error) {
  finished = true;
  tCurrent = nullptr;
  CudaState &s = *state;
  Driver &d = *s.driver;
  s.check(d.cuStreamSynchronize(s.stream), "cuStreamSynchronize");
  for (const Output &o : outputs)
    if (s.error.empty())
      s.check(d.cuMemcpyDtoH(o.host, o.device, o.bytes), "cuMemcpyDtoH");
  if (!s.error.empty()) {
    error = "the CUDA run failed: " + s.error;
    return s.error.find("OUT_OF_MEMORY") != std::string::npos
               ? ATTNC_ERROR_OUT_OF_MEMORY
               : ATTNC_ERROR_STATE;
  }
  return ATTNC_OK;
}

CudaCall::~CudaCall() {
  if (tCurrent == state.get())
    tCurrent = nullptr;
  Driver &d = *state->driver;
  if (!finished)
    d.cuStreamSynchronize(state->stream);
  for (CUdeviceptr p : owned)
    d.cuMemFree(p);
  state->mutex.unlock();
}

std::unique_ptr<CudaBuffer>
CudaBuffer::allocate(const std::shared_ptr<CudaState> &state, size_t bytes,
                     std::string &error) {
  CudaState &s = *state;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.error.clear();
  Driver &d = *s.driver;
  auto buffer = std::unique_ptr<CudaBuffer>(new CudaBuffer);
  buffer->state = state;
  if (s.check(d.cuCtxSetCurrent(s.context), "cuCtxSetCurrent"))
    s.check(d.cuMemAlloc(&buffer->pointer, bytes ? bytes : 1), "cuMemAlloc");
  // Zeroed like the CPU decoder's caches: copies of a zero block (the
  // driver's memset is not among the functions CudaDriver.h loads).
  std::vector<char> zeros(std::min<size_t>(bytes, size_t(1) << 20), 0);
  for (size_t at = 0; at < bytes && s.error.empty(); at += zeros.size())
    s.check(d.cuMemcpyHtoD(buffer->pointer + at, zeros.data(),
                           std::min(zeros.size(), bytes - at)),
            "cuMemcpyHtoD");
  if (!s.error.empty()) {
    error = "cannot allocate " + std::to_string(bytes) +
            " bytes of device memory: " + s.error;
    return nullptr; // ~CudaBuffer frees what was allocated
  }
  return buffer;
}

bool CudaBuffer::upload(size_t offset, const void *host, size_t bytes,
                        std::string &error) {
  CudaState &s = *state;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.error.clear();
  Driver &d = *s.driver;
  if (s.check(d.cuCtxSetCurrent(s.context), "cuCtxSetCurrent"))
    s.check(d.cuMemcpyHtoD(pointer + offset, host, bytes), "cuMemcpyHtoD");
  if (s.error.empty())
    return true;
  error = "cannot copy to the device: " + s.error;
  return false;
}

CudaBuffer::~CudaBuffer() {
  if (!pointer)
    return;
  std::lock_guard<std::mutex> lock(state->mutex);
  // The kernels of the last call may still use it.
  state->driver->cuCtxSetCurrent(state->context);
  state->driver->cuStreamSynchronize(state->stream);
  state->driver->cuMemFree(pointer);
}
