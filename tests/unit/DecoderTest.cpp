//===- DecoderTest.cpp - Compiled prefill/decode through attnc_decoder ----===//
//
// Compiles tests/e2e/generation/llama.yaml with `attnc compile
// --incremental` and drives the runtime's decoder (attnc_decoder_*): the
// PyTorch greedy goldens as one ragged batch (prompts left-padded with
// position -1), and every misuse the C API must refuse, leaving the decoder
// unchanged. A small cross-attention config (a cache group) checks
// attnc_decoder_set_cache_group: each row of a batch gets its own memory
// (the batch equals the rows run alone), the memory changes the logits, and
// misuse is refused. (Its numbers against the reference:
// tests/e2e/compiled_generation.py.) A small multimodal config (an 8x8
// image of 4 patch tokens before the text) checks
// attnc_decoder_prefill_image the same way, and
// attnc_decoder_prefill_image_masked: a mask equal to the patterns' gives
// the same logits bit for bit, a mask that hides the image from the text
// other ones.
//
//===----------------------------------------------------------------------===//

#include "attnc/runtime.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <unistd.h>
#include <string>
#include <vector>

namespace {

const std::string kGen = std::string(ATTNC_SOURCE_DIR) + "/tests/e2e/generation/";

/// The compiled llama generation model with its weights bound (once).
attnc_artifact *llama() {
  static attnc_artifact *artifact = [] {
    // One file per process: ctest runs the test cases side by side.
    std::string out = std::string(ATTNC_TEST_TMP) + "/gen-llama-" +
                      std::to_string(getpid()) + ".attnc";
    std::string cmd = std::string(ATTNC_BIN) + " compile " + kGen +
                      "llama.yaml --incremental -o " + out;
    REQUIRE(std::system(cmd.c_str()) == 0);
    attnc_artifact *a = nullptr;
    REQUIRE(attnc_artifact_open(out.c_str(), &a) == ATTNC_OK);
    REQUIRE(attnc_artifact_bind_weights_file(
                a, (kGen + "../llama/weights.safetensors").c_str()) ==
            ATTNC_OK);
    return a;
  }();
  return artifact;
}

/// Index of the largest logit of row `r` (ties: the lowest index).
int32_t argmax(const attnc_tensor_view &v, int64_t r) {
  int64_t vocab = v.shape[v.rank - 1];
  const float *row = static_cast<const float *>(v.data) + r * vocab;
  return int32_t(std::max_element(row, row + vocab) - row);
}

} // namespace

TEST_CASE("decoder: a ragged batch reproduces the PyTorch greedy goldens",
          "[decoder][e2e]") {
  std::ifstream file(kGen + "generation.json");
  REQUIRE(file);
  nlohmann::json manifest = nlohmann::json::parse(file);
  const nlohmann::json &c = manifest["cases"][0];
  REQUIRE(c["name"] == "llama");
  auto prompts = c["prompts"].get<std::vector<std::vector<int32_t>>>();
  auto expected = c["expected"].get<std::vector<std::vector<int32_t>>>();
  int64_t rows = int64_t(prompts.size()), longest = 0;
  for (const auto &p : prompts)
    longest = std::max(longest, int64_t(p.size()));
  int64_t maxNew = int64_t(expected[0].size());

  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(llama(), rows, longest + maxNew, &d) ==
          ATTNC_OK);
  std::vector<int32_t> tokens, positions;
  for (const auto &p : prompts) {
    int64_t pad = longest - int64_t(p.size());
    for (int64_t j = 0; j < longest; ++j) {
      tokens.push_back(j < pad ? 0 : p[size_t(j - pad)]);
      positions.push_back(j < pad ? -1 : int32_t(j - pad));
    }
  }
  attnc_tensor_view v;
  REQUIRE(attnc_decoder_prefill(d, tokens.data(), rows, longest,
                                positions.data(), &v) == ATTNC_OK);
  REQUIRE(v.rank == 3);
  CHECK(v.shape[0] == rows);
  CHECK(v.shape[1] == 1);
  std::vector<std::vector<int32_t>> got(static_cast<size_t>(rows));
  for (int64_t step = 0; step < maxNew; ++step) {
    std::vector<int32_t> next(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      next[size_t(r)] = argmax(v, r);
      got[size_t(r)].push_back(next[size_t(r)]);
    }
    if (step + 1 < maxNew)
      REQUIRE(attnc_decoder_decode(d, next.data(), rows, nullptr, &v) ==
              ATTNC_OK);
  }
  for (int64_t r = 0; r < rows; ++r) {
    INFO("row " << r);
    CHECK(got[size_t(r)] == expected[size_t(r)]);
  }
  CHECK(attnc_decoder_end_index(d) == longest + maxNew - 1);
  attnc_decoder_free(d);
}

TEST_CASE("decoder: misuse is refused with a status and nothing changes",
          "[decoder]") {
  attnc_decoder *d = nullptr;
  CHECK(attnc_decoder_create(llama(), 0, 8, &d) == ATTNC_ERROR_ARGUMENT);
  REQUIRE(attnc_decoder_create(llama(), 2, 8, &d) == ATTNC_OK);
  attnc_tensor_view v;
  int32_t one[2] = {1, 2};

  CHECK(attnc_decoder_decode(d, one, 2, nullptr, &v) == ATTNC_ERROR_STATE);
  CHECK(std::string(attnc_last_error()).find("decode before prefill") !=
        std::string::npos);
  CHECK(attnc_decoder_prefill(d, one, 1, 1, nullptr, &v) == ATTNC_ERROR_SHAPE);
  CHECK(std::string(attnc_last_error()).find("batch is 2") != std::string::npos);

  std::vector<int32_t> nine(18, 3);
  CHECK(attnc_decoder_prefill(d, nine.data(), 2, 9, nullptr, &v) ==
        ATTNC_ERROR_STATE);
  CHECK(std::string(attnc_last_error()).find("overflow") != std::string::npos);
  CHECK(attnc_decoder_end_index(d) == 0);

  int32_t badToken[2] = {1, 48};
  CHECK(attnc_decoder_prefill(d, badToken, 2, 1, nullptr, &v) ==
        ATTNC_ERROR_ARGUMENT);
  int32_t belowPadding[2] = {0, -2};
  CHECK(attnc_decoder_prefill(d, one, 2, 1, belowPadding, &v) ==
        ATTNC_ERROR_ARGUMENT);
  CHECK(attnc_decoder_end_index(d) == 0);

  // Four tokens per row, then positions must keep increasing.
  std::vector<int32_t> four = {1, 2, 3, 4, 5, 6, 7, 8};
  REQUIRE(attnc_decoder_prefill(d, four.data(), 2, 4, nullptr, &v) ==
          ATTNC_OK);
  CHECK(attnc_decoder_end_index(d) == 4);
  int32_t stale[2] = {4, 3};
  CHECK(attnc_decoder_decode(d, one, 2, stale, &v) == ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()).find("last position 3") !=
        std::string::npos);
  CHECK(attnc_decoder_end_index(d) == 4);
  REQUIRE(attnc_decoder_decode(d, one, 2, nullptr, &v) == ATTNC_OK);
  CHECK(attnc_decoder_end_index(d) == 5);
  // 3 slots left: a prefill of 4 overflows and writes nothing.
  CHECK(attnc_decoder_prefill(d, four.data(), 2, 4, nullptr, &v) ==
        ATTNC_ERROR_STATE);
  CHECK(attnc_decoder_end_index(d) == 5);

  attnc_decoder_reset(d);
  CHECK(attnc_decoder_end_index(d) == 0);
  CHECK(attnc_decoder_decode(d, one, 2, nullptr, &v) == ATTNC_ERROR_STATE);
  // No cache group in llama.
  std::vector<float> zeros(1024, 0.f);
  std::vector<const void *> kv(64, zeros.data());
  CHECK(attnc_decoder_set_cache_group(d, 1, kv.data()) ==
        ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()).find("no cache group") !=
        std::string::npos);
  attnc_decoder_free(d);

  // An artifact without prefill/decode.
  std::string out = std::string(ATTNC_TEST_TMP) + "/gen-llama-forward.attnc";
  REQUIRE(std::system((std::string(ATTNC_BIN) + " compile " + kGen +
                       "llama.yaml -o " + out)
                          .c_str()) == 0);
  attnc_artifact *forward = nullptr;
  REQUIRE(attnc_artifact_open(out.c_str(), &forward) == ATTNC_OK);
  CHECK(attnc_decoder_create(forward, 1, 8, &d) == ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()).find("--incremental") !=
        std::string::npos);
  attnc_artifact_close(forward);
}

namespace {

/// Compiles `yaml` (--incremental) with seed-3 weights bound.
attnc_artifact *compileSmall(const std::string &tag, const std::string &yaml) {
  std::string base = std::string(ATTNC_TEST_TMP) + "/gen-" + tag + "-" +
                     std::to_string(getpid());
  std::ofstream(base + ".yaml") << yaml;
  std::string bin = ATTNC_BIN;
  REQUIRE(std::system((bin + " compile " + base + ".yaml --incremental -o " +
                       base + ".attnc").c_str()) == 0);
  REQUIRE(std::system((bin + " init-weights " + base + ".yaml -o " + base +
                       ".safetensors --seed 3 -q").c_str()) == 0);
  attnc_artifact *a = nullptr;
  REQUIRE(attnc_artifact_open((base + ".attnc").c_str(), &a) == ATTNC_OK);
  REQUIRE(attnc_artifact_bind_weights_file(
              a, (base + ".safetensors").c_str()) == ATTNC_OK);
  return a;
}

/// The logits `v` of the step just run ([rows, 64]), then those of two
/// decode steps (tokens 7, then 8, on every row), concatenated.
std::vector<float> withTwoDecodes(attnc_decoder *d, int64_t rows,
                                  attnc_tensor_view &v) {
  std::vector<float> out;
  for (int step = 0; step < 3; ++step) {
    const float *f = static_cast<const float *>(v.data);
    out.insert(out.end(), f, f + rows * 64);
    if (step < 2) {
      std::vector<int32_t> next(size_t(rows), int32_t(7 + step));
      REQUIRE(attnc_decoder_decode(d, next.data(), rows, nullptr, &v) ==
              ATTNC_OK);
    }
  }
  return out;
}

/// A small cross-attention decoder (memory: cache group, text: causal).
attnc_artifact *crossAttention() {
  static attnc_artifact *artifact = compileSmall("cross", R"(attnc: 1
name: cross-test
kind: decoder
vocab_size: 64
max_seq_len: 32
num_layers: 2
tokens:
  - {name: memory, size: null}
  - {name: text, size: dynamic}
attention_patterns:
  - {query_tokens: [text], key_value_tokens: [memory, text], mask: causal}
attention: {hidden_dim: 32, num_heads: 4, num_kv_heads: 2, bias: false}
position: {kind: rope}
mlp: {kind: gated, activation: silu, hidden_dim: 48, bias: false}
norm: {kind: rms, eps: 1.0e-6}
)");
  return artifact;
}

/// Last logits of every step for `rows` rows with memories `mem` (per row
/// [layers][2][K][m][hd] floats), prompt 3 tokens, then 2 decode steps.
std::vector<float> crossRun(int64_t rows, const std::vector<float> &mem,
                            int64_t m) {
  const int64_t layers = 2, block = 2 * m * 8; // K = 2, hd = 8
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(crossAttention(), rows, m + 6, &d) ==
          ATTNC_OK);
  // [rows][layers][2][block] -> per layer/kind [rows][block].
  std::vector<std::vector<float>> parts(size_t(2 * layers));
  for (int64_t l = 0; l < 2 * layers; ++l)
    for (int64_t r = 0; r < rows; ++r)
      parts[size_t(l)].insert(
          parts[size_t(l)].end(),
          mem.begin() + long((r * 2 * layers + l) * block),
          mem.begin() + long((r * 2 * layers + l + 1) * block));
  std::vector<const void *> kv;
  for (const auto &p : parts)
    kv.push_back(p.data());
  REQUIRE(attnc_decoder_set_cache_group(d, m, kv.data()) == ATTNC_OK);
  CHECK(attnc_decoder_end_index(d) == m);
  attnc_tensor_view v;
  CHECK(attnc_decoder_decode(d, std::vector<int32_t>(size_t(rows), 1).data(),
                             rows, nullptr, &v) == ATTNC_ERROR_STATE);
  CHECK(attnc_decoder_set_cache_group(d, m, kv.data()) == ATTNC_ERROR_STATE);
  std::vector<int32_t> prompt;
  for (int64_t r = 0; r < rows; ++r)
    prompt.insert(prompt.end(), {5, 17, 42});
  REQUIRE(attnc_decoder_prefill(d, prompt.data(), rows, 3, nullptr, &v) ==
          ATTNC_OK);
  std::vector<float> out = withTwoDecodes(d, rows, v);
  attnc_decoder_free(d);
  return out;
}

} // namespace

namespace {

/// `both` holds 3 steps x 2 rows x 64 logits of a batch of two; `a` and
/// `b` the same steps of each row run alone. The batch must reproduce each
/// row (< 1e-4) and the rows must differ (their inputs do).
void checkRowsMatchAlone(const std::vector<float> &both,
                         const std::vector<float> &a,
                         const std::vector<float> &b) {
  float diffRows = 0, worst = 0;
  for (int step = 0; step < 3; ++step)
    for (int i = 0; i < 64; ++i) {
      float r0 = both[size_t(step * 128 + i)],
            r1 = both[size_t(step * 128 + 64 + i)];
      worst = std::max({worst, std::abs(r0 - a[size_t(step * 64 + i)]),
                        std::abs(r1 - b[size_t(step * 64 + i)])});
      diffRows = std::max(diffRows, std::abs(r0 - r1));
    }
  CHECK(worst < 1e-4f);
  CHECK(diffRows > 1e-3f);
}

} // namespace

TEST_CASE("decoder: a cache group per row (attnc_decoder_set_cache_group)",
          "[decoder][e2e]") {
  const int64_t m = 3, per = 2 * 2 * 2 * m * 8;
  std::vector<float> mem(size_t(2 * per));
  for (size_t i = 0; i < mem.size(); ++i)
    mem[i] = float((i * 37 % 101) / 50.0 - 1.0);
  std::vector<float> both = crossRun(2, mem, m);
  std::vector<float> a = crossRun(1, {mem.begin(), mem.begin() + per}, m);
  std::vector<float> b = crossRun(1, {mem.begin() + per, mem.end()}, m);
  checkRowsMatchAlone(both, a, b); // the memories differ, so must the logits

  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(crossAttention(), 1, 4, &d) == ATTNC_OK);
  std::vector<const void *> kv(4, mem.data());
  CHECK(attnc_decoder_set_cache_group(d, 4, kv.data()) == ATTNC_ERROR_SHAPE);
  kv[3] = nullptr;
  CHECK(attnc_decoder_set_cache_group(d, 1, kv.data()) ==
        ATTNC_ERROR_ARGUMENT);
  CHECK(attnc_decoder_end_index(d) == 0);
  attnc_decoder_free(d);
}

namespace {

/// A small multimodal decoder (a leading image group, then text).
attnc_artifact *multimodal() {
  static attnc_artifact *artifact = compileSmall("mm", R"(attnc: 1
name: mm-test
kind: decoder
vocab_size: 64
max_seq_len: 32
num_layers: 2
tokens:
  - {name: image, size: 4, input: image}
  - {name: text, size: dynamic, input: tokens}
attention_patterns:
  - {query_tokens: [image], key_value_tokens: [image], mask: full}
  - {query_tokens: [text], key_value_tokens: [image, text], mask: causal}
attention: {hidden_dim: 32, num_heads: 4, num_kv_heads: 2, bias: false}
patch_embedding: {image_size: 8, patch_size: 4, channels: 3}
position: {kind: rope}
mlp: {kind: gated, activation: silu, hidden_dim: 48, bias: false}
norm: {kind: rms, eps: 1.0e-6}
)");
  return artifact;
}

/// Last logits of a prefill (image + 3 tokens) and 2 decode steps.
std::vector<float> imageRun(int64_t rows, const std::vector<float> &pixels) {
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(multimodal(), rows, 4 + 5, &d) == ATTNC_OK);
  std::vector<int32_t> prompt;
  for (int64_t r = 0; r < rows; ++r)
    prompt.insert(prompt.end(), {5, 17, 42});
  attnc_tensor_view v;
  CHECK(attnc_decoder_prefill(d, prompt.data(), rows, 3, nullptr, &v) ==
        ATTNC_ERROR_ARGUMENT);
  REQUIRE(attnc_decoder_prefill_image(d, pixels.data(), prompt.data(), rows,
                                      3, nullptr, &v) == ATTNC_OK);
  CHECK(attnc_decoder_end_index(d) == 7);
  std::vector<float> out = withTwoDecodes(d, rows, v);
  CHECK(attnc_decoder_prefill_image(d, pixels.data(), prompt.data(), rows, 1,
                                    nullptr, &v) == ATTNC_ERROR_STATE);
  attnc_decoder_free(d);
  return out;
}

} // namespace

TEST_CASE("decoder: an image group in the prefill "
          "(attnc_decoder_prefill_image)",
          "[decoder][e2e]") {
  const size_t per = 8 * 8 * 3;
  std::vector<float> pixels(2 * per);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = float((i * 53 % 97) / 48.0 - 1.0);
  std::vector<float> both = imageRun(2, pixels);
  std::vector<float> a = imageRun(1, {pixels.begin(), pixels.begin() + per});
  std::vector<float> b = imageRun(1, {pixels.begin() + per, pixels.end()});
  checkRowsMatchAlone(both, a, b); // the images differ, so must the logits

  // An image for a model without one.
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create(llama(), 1, 8, &d) == ATTNC_OK);
  attnc_tensor_view v;
  int32_t one = 1;
  CHECK(attnc_decoder_prefill_image(d, pixels.data(), &one, 1, 1, nullptr,
                                    &v) == ATTNC_ERROR_ARGUMENT);
  CHECK(attnc_decoder_end_index(d) == 0);
  attnc_decoder_free(d);
}

TEST_CASE("decoder: an explicit mask with an image "
          "(attnc_decoder_prefill_image_masked)",
          "[decoder][e2e]") {
  const int64_t N = 4, n = 3, length = N + n + 2;
  std::vector<float> pixels(8 * 8 * 3);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = float((i * 31 % 89) / 44.0 - 1.0);
  const std::vector<int32_t> prompt = {5, 17, 42};
  // The patterns' mask over session tokens: the image sees the image, the
  // text the image and, causally, the text.
  auto patterns = [&](int64_t q, int64_t s) { return s < N || s <= q; };
  auto run = [&](const std::function<bool(int64_t, int64_t)> &allowed) {
    attnc_decoder *d = nullptr;
    REQUIRE(attnc_decoder_create(multimodal(), 1, length, &d) == ATTNC_OK);
    attnc_tensor_view v;
    std::vector<float> out;
    if (!allowed) {
      REQUIRE(attnc_decoder_prefill_image(d, pixels.data(), prompt.data(), 1,
                                          n, nullptr, &v) == ATTNC_OK);
    } else {
      std::vector<uint8_t> mask;
      for (int64_t q = 0; q < N + n; ++q)
        for (int64_t s = 0; s < length; ++s)
          mask.push_back(allowed(q, s) ? 1 : 0);
      CHECK(attnc_decoder_prefill_image_masked(d, pixels.data(), prompt.data(),
                                               1, n, nullptr, mask.data(),
                                               length - 1, &v) ==
            ATTNC_ERROR_SHAPE);
      REQUIRE(attnc_decoder_prefill_image_masked(
                  d, pixels.data(), prompt.data(), 1, n, nullptr, mask.data(),
                  length, &v) == ATTNC_OK);
    }
    const float *f = static_cast<const float *>(v.data);
    out.assign(f, f + 64);
    attnc_decoder_free(d);
    return out;
  };
  std::vector<float> plain = run(nullptr);
  CHECK(run(patterns) == plain);
  std::vector<float> blind =
      run([&](int64_t q, int64_t s) { return q < N ? s < N : s >= N && s <= q; });
  CHECK(blind != plain);
}
