/* A fake CUDA driver (libcuda.so.1 stand-in) for CudaRuntimeTest.cpp.
 * FAKE_CUDA_VARIANT: 1 no device (cuInit fails), 2 one sm_70 device,
 * 3 missing cuLaunchKernel, 4 one sm_90 device whose "device memory" is host
 * memory: allocations, copies, module loads and launches are counted (no
 * kernel runs), 5 like 4 but every launch fails with
 * CUDA_ERROR_LAUNCH_FAILED. */
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

struct FakeStats {
  int launches, allocs, frees, htod, dtoh, moduleLoads, cubinLoaded;
  long long htodBytes;
  char lastKernel[128];
  unsigned lastGrid[3], lastBlock[3];
};
static struct FakeStats stats;
struct FakeStats *fake_cuda_stats(void) { return &stats; }

CUresult cuInit(unsigned flags) {
  (void)flags;
  return FAKE_CUDA_VARIANT == 1 ? 100 : 0;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == 100 ? "CUDA_ERROR_NO_DEVICE"
     : r == 719 ? "CUDA_ERROR_LAUNCH_FAILED" : "CUDA_ERROR_UNKNOWN";
  return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = r == 100 ? "no CUDA-capable device is detected"
     : r == 719 ? "unspecified launch failure" : "unknown error";
  return 0;
}
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int i) { *d = i; return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
  (void)dev;
  int major = FAKE_CUDA_VARIANT == 2 ? 7 : 9;
  *v = attr == 75 ? major : 0;
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) {
  (void)dev;
  *ctx = (void *)&stats;
  return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { (void)dev; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { (void)ctx; return 0; }
CUresult cuModuleLoadData(void **m, const void *image) {
  ++stats.moduleLoads;
  stats.cubinLoaded = memcmp(image, "\177ELF", 4) == 0;
  if (!stats.cubinLoaded && !strstr((const char *)image, ".target sm_"))
    return 218; /* CUDA_ERROR_INVALID_PTX */
  *m = (void *)&stats;
  return 0;
}
CUresult cuModuleUnload(void *m) { (void)m; return 0; }
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
  (void)m;
  *f = strdup(name); /* leaked: a test process */
  return 0;
}
#if FAKE_CUDA_VARIANT != 3
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  (void)shared; (void)stream; (void)params; (void)extra;
  ++stats.launches;
  strncpy(stats.lastKernel, (const char *)f, sizeof stats.lastKernel - 1);
  stats.lastGrid[0] = gx, stats.lastGrid[1] = gy, stats.lastGrid[2] = gz;
  stats.lastBlock[0] = bx, stats.lastBlock[1] = by, stats.lastBlock[2] = bz;
  return FAKE_CUDA_VARIANT == 5 ? 719 : 0;
}
#endif
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
  ++stats.allocs;
  *p = (CUdeviceptr)calloc(1, n);
  return *p ? 0 : 2;
}
CUresult cuMemFree_v2(CUdeviceptr p) { ++stats.frees; free((void *)p); return 0; }
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) {
  ++stats.htod;
  stats.htodBytes += (long long)n;
  memcpy((void *)d, s, n);
  return 0;
}
CUresult cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) {
  ++stats.dtoh;
  memcpy(d, (const void *)s, n);
  return 0;
}
CUresult cuStreamCreate(void **s, unsigned flags) {
  (void)flags;
  *s = (void *)&stats;
  return 0;
}
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void *s) { (void)s; return 0; }
