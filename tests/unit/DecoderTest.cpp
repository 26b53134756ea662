//===- DecoderTest.cpp - Compiled prefill/decode through attnc_decoder ----===//
//
// Compiles tests/e2e/generation/llama.yaml with `attnc compile
// --incremental` and drives the runtime's decoder (attnc_decoder_*): the
// PyTorch greedy goldens as one ragged batch (prompts left-padded with
// position -1), and every misuse the C API must refuse, leaving the decoder
// unchanged.
//
//===----------------------------------------------------------------------===//

#include "attnc/runtime.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
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
