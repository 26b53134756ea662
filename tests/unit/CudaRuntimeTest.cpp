//===- CudaRuntimeTest.cpp - The CUDA runtime's host side, no GPU ---------===//
//
// The driver loader and its error messages, and a `--target cuda` artifact
// opened and run through the C API against fake drivers
// (Inputs/CudaFakeDriver.c: no device, an sm_70 device, a driver without
// cuLaunchKernel, an sm_90 "device" in host memory that counts what the
// runtime asks of it, one whose launches fail), and the decoder on an
// `--incremental` CUDA artifact (KV caches resident on the device). No
// kernel runs here: the numbers a GPU computes are not checked
// (compiler/docs/cuda.md).
//
//===----------------------------------------------------------------------===//

#include "CudaArtifact.h"
#include "CudaDriver.h"

#include "attnc/runtime.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace attnc::rt;
using Catch::Matchers::Contains;

namespace {

std::string fakeDriver(int variant) {
  return std::string(ATTNC_FAKE_CUDA_DIR) + "/libattnc-fake-cuda-" +
         std::to_string(variant) + ".so";
}

struct FakeStats {
  int launches, allocs, frees, htod, dtoh, moduleLoads, cubinLoaded;
  long long htodBytes;
  char lastKernel[128];
  unsigned lastGrid[3], lastBlock[3];
};

FakeStats &statsOf(int variant) {
  void *lib = dlopen(fakeDriver(variant).c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(lib);
  auto fn = reinterpret_cast<FakeStats *(*)()>(dlsym(lib, "fake_cuda_stats"));
  REQUIRE(fn);
  return *fn(); // the library stays loaded (one reference kept)
}

/// `attnc compile INPUT --target cuda` (INPUT: the file and flags) without a
/// cubin, into the test folder as `name`; returns the artifact's path.
std::string compileForCuda(const std::string &input, const std::string &name) {
  std::string path = std::string(ATTNC_TEST_TMP) + "/" + name;
  std::string cmd = "ATTNC_PTXAS=none " + std::string(ATTNC_BIN) +
                    " compile " + input + " --target cuda -o " + path;
  REQUIRE(std::system(cmd.c_str()) == 0);
  return path;
}

/// Opens `artifact` with `driver` as libcuda.so.1.
attnc_status openOn(const std::string &driver, const std::string &artifact,
                    attnc_artifact **a) {
  setenv("ATTNC_LIBCUDA", driver.c_str(), 1);
  attnc_status s = attnc_artifact_open(artifact.c_str(), a);
  unsetenv("ATTNC_LIBCUDA");
  return s;
}

/// tests/compile/Inputs/mlp-softmax.mlir for --target cuda.
attnc_status openWith(const std::string &driver, attnc_artifact **a) {
  static const std::string mlp = compileForCuda(
      "--from-mlir " + std::string(ATTNC_SOURCE_DIR) +
          "/tests/compile/Inputs/mlp-softmax.mlir",
      "mlp-cuda.attnc");
  return openOn(driver, mlp, a);
}

} // namespace

TEST_CASE("CUDA driver errors carry the driver's error name",
          "[cuda][runtime]") {
  CHECK(cuda::errorName(100) == "CUDA_ERROR_NO_DEVICE");
  CHECK(cuda::errorName(700) == "CUDA_ERROR_ILLEGAL_ADDRESS");
  CHECK(cuda::errorName(12345) == "CUDA error 12345");
  cuda::Driver none; // no cuGetErrorName: the built-in table
  CHECK(none.describe(218, "cuModuleLoadData") ==
        "cuModuleLoadData: CUDA_ERROR_INVALID_PTX");

  std::string error;
  CHECK(!cuda::loadDriver("/nonexistent/libcuda.so.1", error));
  CHECK_THAT(error, Contains("'/nonexistent/libcuda.so.1' cannot be loaded"));
  CHECK(!cuda::loadDriver(fakeDriver(1), error));
  CHECK_THAT(error, Contains("cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable "
                             "device is detected)"));
  CHECK(!cuda::loadDriver(fakeDriver(3), error));
  CHECK_THAT(error, Contains("lacks entry points the runtime calls: "
                             "cuLaunchKernel"));
  auto d = cuda::loadDriver(fakeDriver(5), error);
  REQUIRE(d);
  CHECK(d->describe(719, "cuLaunchKernel") ==
        "cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED (unspecified launch "
        "failure)");
  CHECK(cuda::driverLibraryName() == "libcuda.so.1");
}

TEST_CASE("The manifest's GPU architecture", "[cuda][runtime]") {
  CHECK(requiredComputeCapability(
            R"({"target": {"kind": "cuda", "gpu_archs": ["sm_80"]}})") == 80);
  CHECK(requiredComputeCapability(R"({"target": {"kind": "cuda"}})") == -1);
}

TEST_CASE("A CUDA artifact is refused with a reason where it cannot run",
          "[cuda][runtime]") {
  attnc_artifact *a = nullptr;
  CHECK(openWith("/nonexistent/libcuda.so.1", &a) ==
        ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK(!a);
  CHECK_THAT(attnc_last_error(),
             Contains("artifact targets CUDA (sm_90): the CUDA driver "
                      "library '/nonexistent/libcuda.so.1' cannot be loaded"));
  CHECK(openWith(fakeDriver(1), &a) == ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK_THAT(attnc_last_error(), Contains("CUDA_ERROR_NO_DEVICE"));
  CHECK(openWith(fakeDriver(2), &a) == ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK_THAT(attnc_last_error(),
             Contains("device 0 is sm_70; recompile with --gpu-arch"));
  CHECK(openWith(fakeDriver(3), &a) == ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK_THAT(attnc_last_error(), Contains("cuLaunchKernel"));
}

namespace {

/// Binds the MLP's weights, sets x [rows, 16] and runs `forward`... `mlp`.
attnc_status runMlp(attnc_artifact *a, attnc_session *s, int64_t rows,
                    std::vector<float> &w1, std::vector<float> &w2) {
  REQUIRE(attnc_artifact_bind_weight(a, "fc1.weight", w1.data(),
                                     w1.size() * 4) == ATTNC_OK);
  REQUIRE(attnc_artifact_bind_weight(a, "fc2.weight", w2.data(),
                                     w2.size() * 4) == ATTNC_OK);
  static std::vector<float> x(64 * 16, 0.5f), b1(32, 0.25f);
  int64_t xs[] = {rows, 16}, bs[] = {32};
  REQUIRE(attnc_session_set_input(s, "x", ATTNC_DTYPE_F32, x.data(), xs, 2) ==
          ATTNC_OK);
  REQUIRE(attnc_session_set_input(s, "fc1.bias", ATTNC_DTYPE_F32, b1.data(),
                                  bs, 1) == ATTNC_OK);
  return attnc_session_run(s);
}

} // namespace

TEST_CASE("A CUDA artifact's run: weights copied once, every kernel "
          "launched, outputs copied back",
          "[cuda][runtime]") {
  FakeStats &st = statsOf(4);
  std::memset(&st, 0, sizeof st);
  attnc_artifact *a = nullptr;
  REQUIRE(openWith(fakeDriver(4), &a) == ATTNC_OK);
  CHECK(st.moduleLoads == 1);
  CHECK(st.cubinLoaded == 0); // compiled without ptxas: the PTX
  attnc_session *s = nullptr;
  REQUIRE(attnc_session_create(a, "mlp", &s) == ATTNC_OK);
  std::vector<float> w1(16 * 32, 0.1f), w2(32 * 8, 0.2f);
  REQUIRE(runMlp(a, s, 5, w1, w2) == ATTNC_OK);
  // 13 launches (tests/compile/cuda-pipeline.test), the last one the copy
  // into the second output: [5, 8] as a 1x? grid of 8x32 thread blocks.
  CHECK(st.launches == 13);
  CHECK(std::string(st.lastKernel) == "mlp_kernel_10");
  CHECK(st.lastBlock[0] * st.lastBlock[1] * st.lastBlock[2] <= 256);
  CHECK(st.lastBlock[0] == 32);
  // Two weights and two inputs in; two outputs out.
  CHECK(st.htod == 4);
  CHECK(st.htodBytes == (16 * 32 + 32 * 8 + 5 * 16 + 32) * 4);
  CHECK(st.dtoh == 2);
  // Again: the weights stay on the device.
  REQUIRE(runMlp(a, s, 7, w1, w2) == ATTNC_OK);
  CHECK(st.launches == 26);
  CHECK(st.htod == 6);
  CHECK(st.dtoh == 4);
  // Every allocation of the two runs (inputs, outputs, intermediates) but
  // the two weights is freed.
  CHECK(st.allocs - st.frees == 2);
  // A rebound weight (another host buffer) is copied again.
  std::vector<float> w1b(16 * 32, 0.3f);
  REQUIRE(runMlp(a, s, 7, w1b, w2) == ATTNC_OK);
  CHECK(st.htod == 6 + 3);
  attnc_tensor_view y;
  REQUIRE(attnc_session_get_output(s, "y", &y) == ATTNC_OK);
  CHECK(y.shape[0] == 7);
  CHECK(y.shape[1] == 8);
  attnc_session_free(s);
  attnc_artifact_close(a);
  CHECK(st.allocs == st.frees);
}

TEST_CASE("A failing launch fails the run with the driver's error",
          "[cuda][runtime]") {
  attnc_artifact *a = nullptr;
  REQUIRE(openWith(fakeDriver(5), &a) == ATTNC_OK);
  attnc_session *s = nullptr;
  REQUIRE(attnc_session_create(a, "mlp", &s) == ATTNC_OK);
  std::vector<float> w1(16 * 32, 0.1f), w2(32 * 8, 0.2f);
  CHECK(runMlp(a, s, 3, w1, w2) == ATTNC_ERROR_STATE);
  CHECK_THAT(attnc_last_error(),
             Contains("the CUDA run failed: cuLaunchKernel: "
                      "CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure) "
                      "(kernel mlp_kernel"));
  // Only the first launch was tried.
  CHECK(statsOf(5).launches == 1);
  attnc_session_free(s);
  attnc_artifact_close(a);
}

namespace {

/// tests/e2e/generation/llama.yaml `--incremental` for --target cuda,
/// opened on `driver` with its weights bound.
attnc_artifact *cudaLlama(const std::string &driver) {
  static const std::string path = compileForCuda(
      std::string(ATTNC_SOURCE_DIR) +
          "/tests/e2e/generation/llama.yaml --incremental",
      "gen-llama-cuda.attnc");
  attnc_artifact *a = nullptr;
  REQUIRE(openOn(driver, path, &a) == ATTNC_OK);
  REQUIRE(attnc_artifact_bind_weights_file(
              a, (std::string(ATTNC_SOURCE_DIR) +
                  "/tests/e2e/llama/weights.safetensors")
                     .c_str()) == ATTNC_OK);
  return a;
}

} // namespace

TEST_CASE("The decoder keeps a CUDA artifact's KV caches on the device",
          "[cuda][runtime][decoder]") {
  FakeStats &st = statsOf(4);
  attnc_artifact *a = cudaLlama(fakeDriver(4));
  std::memset(&st, 0, sizeof st);
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(a, 2, 16, &d) == ATTNC_OK);
  // One zeroed device buffer per cache (keys and values of every layer),
  // allocated once.
  int64_t cacheBytes = attnc_decoder_cache_bytes(d);
  int caches = st.allocs;
  CHECK(caches >= 2);
  CHECK(caches % 2 == 0);
  CHECK(st.htodBytes == cacheBytes);
  CHECK(st.launches == 0);

  std::vector<int32_t> prompt = {3, 7, 11, 5, 2, 9};
  attnc_tensor_view logits;
  REQUIRE(attnc_decoder_prefill(d, prompt.data(), 2, 3, nullptr, &logits) ==
          ATTNC_OK);
  CHECK(logits.rank == 3);
  CHECK(logits.shape[0] == 2);
  CHECK(attnc_decoder_end_index(d) == 3);
  CHECK(st.launches > 0);
  // The weights went to the device with the first step and stay there,
  // like the caches; everything else of the step was freed.
  long long weightsAndInputs = st.htodBytes - cacheBytes;
  int resident = st.allocs - st.frees;
  CHECK(resident > caches);
  CHECK(st.dtoh >= 1); // the logits (and the host's reads of end_index)

  // Each decode step copies its small inputs only (tokens, positions, slot
  // positions, masks, the end index): the same bytes every step, none of
  // a cache or a weight.
  std::vector<long long> stepBytes;
  for (int step = 0; step < 3; ++step) {
    long long before = st.htodBytes;
    int launchesBefore = st.launches, dtohBefore = st.dtoh;
    int32_t next[] = {4, 8};
    REQUIRE(attnc_decoder_decode(d, next, 2, nullptr, &logits) == ATTNC_OK);
    stepBytes.push_back(st.htodBytes - before);
    CHECK(st.launches > launchesBefore);
    CHECK(st.dtoh > dtohBefore);
    CHECK(st.allocs - st.frees == resident);
  }
  CHECK(attnc_decoder_end_index(d) == 6);
  CHECK(stepBytes[0] == stepBytes[1]);
  CHECK(stepBytes[1] == stepBytes[2]);
  CHECK(stepBytes[0] < 1024);
  CHECK(weightsAndInputs > 100 * stepBytes[0]);
  CHECK(logits.shape[1] == 1);

  attnc_decoder_free(d);
  CHECK(st.allocs - st.frees == resident - caches);
  attnc_artifact_close(a);
  CHECK(st.allocs == st.frees);
}

TEST_CASE("A decoder step that fails on the device fails the decoder until "
          "reset",
          "[cuda][runtime][decoder]") {
  attnc_artifact *a = cudaLlama(fakeDriver(5));
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(a, 1, 16, &d) == ATTNC_OK);
  int32_t prompt[] = {3, 7};
  attnc_tensor_view logits;
  CHECK(attnc_decoder_prefill(d, prompt, 1, 2, nullptr, &logits) ==
        ATTNC_ERROR_STATE);
  CHECK_THAT(attnc_last_error(),
             Contains("prefill: the CUDA run failed: cuLaunchKernel: "
                      "CUDA_ERROR_LAUNCH_FAILED"));
  CHECK_THAT(attnc_last_error(), Contains("needs attnc_decoder_reset"));
  CHECK(attnc_decoder_end_index(d) == 0);
  // Refused (not run) until reset: its caches may hold part of the step.
  int launches = statsOf(5).launches;
  CHECK(attnc_decoder_prefill(d, prompt, 1, 2, nullptr, &logits) ==
        ATTNC_ERROR_STATE);
  CHECK_THAT(attnc_last_error(),
             Contains("an earlier step failed on the device"));
  CHECK(statsOf(5).launches == launches);
  attnc_decoder_reset(d);
  CHECK(attnc_decoder_prefill(d, prompt, 1, 2, nullptr, &logits) ==
        ATTNC_ERROR_STATE);
  CHECK_THAT(attnc_last_error(), Contains("CUDA_ERROR_LAUNCH_FAILED"));
  CHECK(statsOf(5).launches == launches + 1);
  attnc_decoder_free(d);
  attnc_artifact_close(a);
}
