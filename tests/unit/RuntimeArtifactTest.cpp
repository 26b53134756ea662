//===- RuntimeArtifactTest.cpp - Compiled artifacts through the C API -----===//
//
// Compiles tests/compile/Inputs/mlp-softmax.mlir with `attnc compile`, runs
// it through the runtime's C API (and the C++ wrapper) with random inputs
// and compares with a plain C++ computation; checks the runtime's refusals
// (format version, ABI, ISA level, CPU features, not an artifact) and its
// argument errors.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/Artifact.hpp"
#include "attnc/runtime.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

std::string compileMlp(const std::string &cpu) {
  std::string out = std::string(ATTNC_TEST_TMP) + "/mlp-" + cpu + ".attnc";
  std::string cmd = std::string(ATTNC_BIN) + " compile --from-mlir " +
                    ATTNC_SOURCE_DIR +
                    "/tests/compile/Inputs/mlp-softmax.mlir --cpu=" + cpu +
                    " -o " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  return out;
}

std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// y = gelu(x w1 + b1) w2, probs = softmax(y) per row; x [n,16].
void reference(const std::vector<float> &x, const std::vector<float> &w1,
               const std::vector<float> &b1, const std::vector<float> &w2,
               int64_t n, std::vector<double> &y, std::vector<double> &p) {
  y.assign(n * 8, 0);
  p.assign(n * 8, 0);
  for (int64_t i = 0; i < n; ++i) {
    double h[32];
    for (int j = 0; j < 32; ++j) {
      double s = b1[j];
      for (int k = 0; k < 16; ++k)
        s += double(x[i * 16 + k]) * w1[k * 32 + j];
      h[j] = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
    }
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < 8; ++j) {
      double s = 0;
      for (int k = 0; k < 32; ++k)
        s += h[k] * w2[k * 8 + j];
      y[i * 8 + j] = s;
      mx = std::max(mx, s);
    }
    for (int j = 0; j < 8; ++j)
      sum += std::exp(y[i * 8 + j] - mx);
    for (int j = 0; j < 8; ++j)
      p[i * 8 + j] = std::exp(y[i * 8 + j] - mx) / sum;
  }
}

double maxRelErr(const attnc_tensor_view &v, const std::vector<double> &ref) {
  auto *data = static_cast<const float *>(v.data);
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::fabs(data[i] - ref[i]) /
                                std::max(std::fabs(ref[i]), 1e-2));
  return worst;
}

} // namespace

TEST_CASE("a compiled MLP + softmax matches C++ through the C API",
          "[runtime]") {
  for (std::string cpu : {"native", "generic"}) {
    std::string path = compileMlp(cpu);
    attnc_artifact *a = nullptr;
    REQUIRE(attnc_artifact_open(path.c_str(), &a) == ATTNC_OK);
    {
      // Its heap buffers go through the runtime's cache, not malloc/free
      // (the slots' defaults; runtime/src/HostAllocator.h).
      void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
      REQUIRE(h);
      for (const char *name : {"attnc_host_alloc_fn", "attnc_host_free_fn"}) {
        auto *slot = static_cast<void **>(dlsym(h, name));
        INFO(name);
        REQUIRE(slot);
        CHECK(*slot);
        CHECK(*slot != reinterpret_cast<void *>(&malloc));
        CHECK(*slot != reinterpret_cast<void *>(&free));
      }
      dlclose(h);
    }
    REQUIRE(attnc_artifact_num_weights(a) == 2);
    CHECK(std::string(attnc_artifact_weight_name(a, 0)) == "fc1.weight");
    std::mt19937 rng(42);
    auto w1 = randomVector(16 * 32, rng), b1 = randomVector(32, rng),
         w2 = randomVector(32 * 8, rng);
    REQUIRE(attnc_artifact_bind_weight(a, "fc1.weight", w1.data(),
                                       w1.size() * 4) == ATTNC_OK);
    REQUIRE(attnc_artifact_bind_weight(a, "fc2.weight", w2.data(),
                                       w2.size() * 4) == ATTNC_OK);
    attnc_session *s = nullptr;
    REQUIRE(attnc_session_create(a, "mlp", &s) == ATTNC_OK);
    for (int64_t n : {1, 5, 37}) {
      auto x = randomVector(n * 16, rng);
      int64_t xs[] = {n, 16}, bs[] = {32};
      REQUIRE(attnc_session_set_input(s, "x", ATTNC_DTYPE_F32, x.data(), xs,
                                      2) == ATTNC_OK);
      REQUIRE(attnc_session_set_input(s, "fc1.bias", ATTNC_DTYPE_F32,
                                      b1.data(), bs, 1) == ATTNC_OK);
      REQUIRE(attnc_session_run(s) == ATTNC_OK);
      std::vector<double> y, p;
      reference(x, w1, b1, w2, n, y, p);
      attnc_tensor_view vy, vp;
      REQUIRE(attnc_session_get_output(s, "y", &vy) == ATTNC_OK);
      REQUIRE(attnc_session_get_output(s, "probs", &vp) == ATTNC_OK);
      REQUIRE(vy.rank == 2);
      CHECK(vy.shape[0] == n);
      CHECK(vy.shape[1] == 8);
      INFO("cpu " << cpu << ", rows " << n);
      CHECK(maxRelErr(vy, y) < 1e-4);
      CHECK(maxRelErr(vp, p) < 1e-4);
    }
    attnc_session_free(s);
    attnc_artifact_close(a);
  }
}

TEST_CASE("the runtime reports misuse with a status and a message",
          "[runtime]") {
  attnc::rt::Artifact a(compileMlp("native"));
  std::vector<float> w(16 * 32);
  try {
    a.bindWeight("fc1.weight", w.data(), 12);
    FAIL("a wrong size was accepted");
  } catch (const attnc::rt::Error &e) {
    CHECK(e.status() == ATTNC_ERROR_WEIGHTS);
    CHECK(std::string(e.what()) ==
          "weight 'fc1.weight' [16, 32] needs 2048 bytes; got 12");
  }
  CHECK_THROWS_WITH(a.bindWeight("nope", w.data(), 4),
                    "the model has no weight 'nope'");
  CHECK_THROWS_WITH(attnc::rt::Session(a, "forward"),
                    "the artifact has no entry point 'forward'");
  attnc::rt::Session s(a);
  CHECK_THROWS_WITH(s.run(), "input 'x' is not set");
  std::vector<float> x(3 * 15);
  CHECK_THROWS_WITH(s.setInput("x", ATTNC_DTYPE_F32, x.data(), {3, 15}),
                    "input 'x' must have shape [?, 16]; got [3, 15]");
  std::vector<float> x2(3 * 16), b(32);
  s.setInput("x", ATTNC_DTYPE_F32, x2.data(), {3, 16});
  s.setInput("fc1.bias", ATTNC_DTYPE_F32, b.data(), {32});
  CHECK_THROWS_WITH(s.run(), "weight 'fc1.weight' is not bound");
}

TEST_CASE("the runtime refuses artifacts it cannot run, saying why",
          "[runtime]") {
  auto open = [](const std::string &path, attnc_status expected) {
    attnc_artifact *a = nullptr;
    CHECK(attnc_artifact_open(path.c_str(), &a) == expected);
    CHECK(a == nullptr);
    return std::string(attnc_last_error());
  };
  std::string dir = ATTNC_FAKE_ARTIFACT_DIR;
  std::string msg = open(dir + "/libattnc-fake-artifact-1.so",
                         ATTNC_ERROR_VERSION);
  CHECK_THAT(msg, Catch::Contains("artifact format version 99 is not "
                                  "supported: this runtime reads version 1"));
  msg = open(dir + "/libattnc-fake-artifact-2.so", ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK_THAT(msg, Catch::Contains("artifact needs a x86-64-v9 CPU (built with "
                                  "--cpu=fakecpu (fakecpu))"));
  msg = open(dir + "/libattnc-fake-artifact-3.so", ATTNC_ERROR_UNSUPPORTED_ISA);
  CHECK_THAT(msg, Catch::Contains("uses CPU features this CPU lacks "
                                  "(avx10.2-512;"));
  msg = open(dir + "/libattnc-fake-artifact-4.so", ATTNC_ERROR_VERSION);
  CHECK_THAT(msg, Catch::Contains("entry-point ABI version 7 is not supported"));
  msg = open(ATTNC_RUNTIME_LIB, ATTNC_ERROR_FORMAT);
  CHECK_THAT(msg, Catch::Contains("is not an attnc artifact: it exports no "
                                  "attnc_manifest"));
  msg = open(dir + "/no-such-file.attnc", ATTNC_ERROR_IO);
  CHECK_THAT(msg, Catch::Contains("cannot open artifact"));
}

TEST_CASE("projections match double precision on the dot-product and the "
          "packed broadcast-FMA paths",
          "[runtime]") {
  // tests/compile/Inputs/two-linears.mlir: a = x wa^T, b = x wb^T with
  // [128, 64] weights. From 16 rows on (attnc-vectorize-contractions'
  // pack-min-rows) each 64-column chunk of the weight is transposed in
  // registers into a [64, 64] buffer and multiplied by 6 x 4 broadcast-FMA
  // blocks; fewer rows take 1 x 4 dot-product blocks.
  std::string path = std::string(ATTNC_TEST_TMP) + "/two-linears.attnc";
  std::string cmd = std::string(ATTNC_BIN) + " compile --from-mlir " +
                    ATTNC_SOURCE_DIR +
                    "/tests/compile/Inputs/two-linears.mlir -o " + path;
  REQUIRE(std::system(cmd.c_str()) == 0);
  attnc::rt::Artifact a(path);
  attnc::rt::Session s(a);
  std::mt19937 rng(std::random_device{}());
  auto wa = randomVector(128 * 64, rng), wb = randomVector(128 * 64, rng);
  s.setInput("wa", ATTNC_DTYPE_F32, wa.data(), {128, 64});
  s.setInput("wb", ATTNC_DTYPE_F32, wb.data(), {128, 64});
  // (batch, rows): dot blocks; exactly pack-min-rows; packed with a row
  // remainder (40 = 6 * 6 + 4) and a batch of two.
  for (auto [batch, rows] : {std::pair<int64_t, int64_t>{1, 7}, {1, 16},
                             {2, 40}}) {
    auto x = randomVector(size_t(batch * rows * 64), rng);
    s.setInput("x", ATTNC_DTYPE_F32, x.data(), {batch, rows, 64});
    s.run();
    for (auto [name, w] : {std::pair<const char *, std::vector<float> *>{
                               "a", &wa},
                           {"b", &wb}}) {
      attnc_tensor_view v = s.output(name);
      REQUIRE(v.rank == 3);
      REQUIRE(v.shape[1] == rows);
      auto *out = static_cast<const float *>(v.data);
      double worst = 0;
      for (int64_t r = 0; r < batch * rows; ++r)
        for (int64_t n = 0; n < 128; ++n) {
          double ref = 0;
          for (int64_t k = 0; k < 64; ++k)
            ref += double(x[r * 64 + k]) * (*w)[n * 64 + k];
          worst = std::max(worst, std::fabs(out[r * 128 + n] - ref) /
                                      std::max(std::fabs(ref), 1.0));
        }
      INFO(name << ": batch " << batch << ", rows " << rows);
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("sibling projections sharing one thread loop match double "
          "precision",
          "[runtime]") {
  // tests/compile/Inputs/sibling-projections.mlir: q = x wq^T ([128, 64]),
  // k = x wk^T, v = x wv^T ([96, 64] each: a full and a partial chunk of
  // 64 columns) run as one parallel loop whose iterations are q's column
  // chunks, then k's, then v's (tests/compile/cpu-sibling-projections.test);
  // o = (k + v) wo^T. Once per register shape (buildCpuPipeline): SSE
  // (4 lanes, 6 x 2 blocks), AVX2 (8 lanes, 6 x 2) and, on a machine that
  // has it, AVX-512 (16 lanes, 6 x 4), whatever the host would pick.
  std::string cpu = GENERATE(as<std::string>{}, "x86-64-v2", "x86-64-v3",
                             "x86-64-v4");
  if (cpu == "x86-64-v4" && !__builtin_cpu_supports("avx512f")) {
    SUCCEED("no AVX-512 here: the x86-64-v4 shape is not run");
    return;
  }
  INFO("--cpu=" << cpu);
  std::string path =
      std::string(ATTNC_TEST_TMP) + "/sibling-projections-" + cpu + ".attnc";
  std::string cmd = std::string(ATTNC_BIN) + " compile --from-mlir " +
                    ATTNC_SOURCE_DIR +
                    "/tests/compile/Inputs/sibling-projections.mlir --cpu=" +
                    cpu + " -o " + path;
  REQUIRE(std::system(cmd.c_str()) == 0);
  attnc::rt::Artifact a(path);
  attnc::rt::Session s(a);
  std::mt19937 rng(std::random_device{}());
  auto wq = randomVector(128 * 64, rng), wk = randomVector(96 * 64, rng),
       wv = randomVector(96 * 64, rng), wo = randomVector(64 * 96, rng);
  s.setInput("wq", ATTNC_DTYPE_F32, wq.data(), {128, 64});
  s.setInput("wk", ATTNC_DTYPE_F32, wk.data(), {96, 64});
  s.setInput("wv", ATTNC_DTYPE_F32, wv.data(), {96, 64});
  s.setInput("wo", ATTNC_DTYPE_F32, wo.data(), {64, 96});
  auto dot = [](const float *a, const float *b, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
      sum += double(a[i]) * b[i];
    return sum;
  };
  auto relErr = [](double got, double want) {
    return std::fabs(got - want) / std::max(std::fabs(want), 1.0);
  };
  // 1 row (decode: dot-product blocks), 7, and 40 (packed broadcast-FMA).
  for (int64_t rows : {1, 7, 40}) {
    auto x = randomVector(size_t(rows * 64), rng);
    s.setInput("x", ATTNC_DTYPE_F32, x.data(), {rows, 64});
    s.run();
    attnc_tensor_view qv = s.output("q"), ov = s.output("o");
    REQUIRE(qv.shape[0] == rows);
    REQUIRE(ov.shape[0] == rows);
    auto *q = static_cast<const float *>(qv.data);
    auto *o = static_cast<const float *>(ov.data);
    double worstQ = 0, worstO = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = &x[size_t(r * 64)];
      for (int64_t n = 0; n < 128; ++n)
        worstQ = std::max(worstQ, relErr(q[r * 128 + n],
                                         dot(xr, &wq[size_t(n * 64)], 64)));
      std::vector<float> kv(96);
      for (int64_t n = 0; n < 96; ++n)
        kv[size_t(n)] = float(dot(xr, &wk[size_t(n * 64)], 64) +
                              dot(xr, &wv[size_t(n * 64)], 64));
      for (int64_t n = 0; n < 64; ++n)
        worstO = std::max(worstO, relErr(o[r * 64 + n],
                                         dot(kv.data(), &wo[size_t(n * 96)], 96)));
    }
    INFO("rows " << rows);
    CHECK(worstQ < 1e-5);
    CHECK(worstO < 1e-4);
  }
}
