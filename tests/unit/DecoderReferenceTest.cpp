//===- DecoderReferenceTest.cpp - Compiled decoder vs ReferenceSession ----===//
//
// A small gemma-like config (GQA, a local layer of window 3 then a global
// one, attention softcap) compiled with `attnc compile --incremental` and
// run through attnc_decoder_* against the reference session
// (runtime/include/attnc/Reference/Incremental.h) on the same fresh random
// weights, as one ragged batch (a left-padded row): every step's last
// logits must agree (max|a - b| / max|b| < 1e-4)
//   * with the default masks, with rings of W + C - 1 = 4 slots (prefill
//     chunk 2: the prompt runs as steps of 2, 2, 1 and the rings wrap);
//   * with random explicit attention masks (a bidirectional prefix,
//     blocked tokens, random columns past the written tokens, which must
//     be ignored) for the prefill and every decode step, the rings
//     wrapping during decode;
// and the C API refuses bad masks, chunks and padding with a status. The
// same config compiled with --cache-dtype bf16 stays within 2e-2 of the
// float32 reference, and a decoder asking for another cache dtype is
// refused.
//
//===----------------------------------------------------------------------===//

#include "ReferenceTestUtil.h"

#include "attnc/Reference/Incremental.h"
#include "attnc/runtime.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <unistd.h>

using namespace attnc;
using namespace attnc::test;
using attnc::reference::ReferenceSession;
using attnc::reference::StepOptions;
using attnc::reference::StepOutputs;

namespace {

const char *kGemmaLike = R"({
  "num_layers": 2,
  "attention": {"hidden_dim": 32, "num_heads": 4, "num_kv_heads": 2,
                "logit_softcap": 50.0},
  "layers": {"kinds": {"local": {"window": 3}, "global": {"window": null}},
             "pattern": ["local", "global"]}
})";

constexpr int64_t kBatch = 2, kLength = 12;

struct Model {
  ModelConfig config;
  runtime::WeightSet weights;
  attnc_artifact *artifact = nullptr;
};

/// The config compiled with `flags`, fresh random weights bound.
Model compile(const std::string &flags) {
  Model m;
  nlohmann::json j = baseConfig();
  j.merge_patch(nlohmann::json::parse(kGemmaLike));
  m.config = configOf(kGemmaLike);
  m.weights = weightsOf(m.config, 11);
  std::string base = std::string(ATTNC_TEST_TMP) + "/decoder-ref-" +
                     std::to_string(getpid()) +
                     (flags.empty() ? "" : "-flags");
  std::ofstream(base + ".json") << j.dump(2);
  std::string cmd = std::string(ATTNC_BIN) + " compile " + base +
                    ".json --incremental " + flags + " -o " + base + ".attnc";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(attnc_artifact_open((base + ".attnc").c_str(), &m.artifact) ==
          ATTNC_OK);
  for (size_t i = 0; i < attnc_artifact_num_weights(m.artifact); ++i) {
    const char *name = attnc_artifact_weight_name(m.artifact, i);
    const runtime::WeightTensor *t = m.weights.find(name);
    REQUIRE(t);
    REQUIRE(attnc_artifact_bind_weight(m.artifact, name, t->data,
                                       size_t(t->elements()) * 4) == ATTNC_OK);
  }
  return m;
}

Model &model() {
  static Model m = compile("");
  return m;
}

/// The same with bf16 caches (--cache-dtype bf16).
Model &bf16Model() {
  static Model m = compile("--cache-dtype bf16");
  return m;
}

attnc_decoder *decoder(int64_t chunk, Model &m = model()) {
  attnc_decoder_options options = {kBatch, kLength, chunk, nullptr};
  attnc_decoder *d = nullptr;
  REQUIRE(attnc_decoder_create_with_options(m.artifact, &options, &d) ==
          ATTNC_OK);
  return d;
}

/// max|compiled row - reference row| / max|reference row|.
double relError(const attnc_tensor_view &v, int64_t row,
                const reference::Matrix &want) {
  int64_t vocab = v.shape[2];
  const float *got = static_cast<const float *>(v.data) + row * vocab;
  const float *ref = want.row(want.rows - 1);
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    diff = std::max(diff, double(std::fabs(got[i] - ref[i])));
    scale = std::max(scale, double(std::fabs(ref[i])));
  }
  return diff / std::max(scale, 1e-30);
}

/// A ragged prompt: row 0 has 5 tokens, row 1 has 3 after 2 pads.
struct Prompt {
  std::vector<int32_t> tokens, positions;
  std::vector<reference::ReferenceInputs> rows;
};

Prompt prompt() {
  Prompt p;
  const std::vector<std::vector<int64_t>> ids = {{4, 17, 9, 33, 2},
                                                 {0, 0, 61, 7, 40}};
  const std::vector<std::vector<int64_t>> pos = {{0, 1, 2, 3, 4},
                                                 {-1, -1, 0, 1, 2}};
  for (size_t r = 0; r < ids.size(); ++r) {
    reference::ReferenceInputs in;
    in.tokens["text"] = ids[r];
    in.positions = pos[r];
    p.rows.push_back(in);
    for (size_t j = 0; j < ids[r].size(); ++j) {
      p.tokens.push_back(int32_t(ids[r][j]));
      p.positions.push_back(int32_t(pos[r][j]));
    }
  }
  return p;
}

/// Per row a random [n, kLength] mask for the step's tokens end .. end + n:
/// tokens 0..2 visible to everyone (a bidirectional prefix), earlier tokens
/// and the token itself with probability 3/4, later tokens of the step with
/// 1/4, and random entries past end + n (ignored).
std::vector<std::vector<uint8_t>> randomMask(std::mt19937 &rng, int64_t end,
                                             int64_t n) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::vector<uint8_t>> mask(kBatch);
  for (auto &m : mask)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t s = 0; s < kLength; ++s) {
        int64_t q = end + j;
        double p = s < 3 ? 1.0 : s <= q ? 0.75 : 0.25;
        m.push_back(u(rng) < p ? 1 : 0);
      }
  return mask;
}

std::vector<uint8_t> flat(const std::vector<std::vector<uint8_t>> &mask) {
  std::vector<uint8_t> all;
  for (const auto &m : mask)
    all.insert(all.end(), m.begin(), m.end());
  return all;
}

/// Runs prefill + decode steps on both sides; masked: random masks.
void compare(attnc_decoder *d, bool masked, uint32_t seed,
             double tolerance = 1e-4) {
  Model &m = model();
  ReferenceSession ref(m.config, m.weights, kBatch, kLength);
  std::mt19937 rng(seed);
  Prompt p = prompt();
  const int64_t n = 5;
  StepOptions opts;
  opts.lastOnly = true;
  attnc_tensor_view v;
  std::vector<uint8_t> mask;
  if (masked) {
    opts.attentionMask = randomMask(rng, 0, n);
    mask = flat(opts.attentionMask);
    REQUIRE(attnc_decoder_prefill_masked(d, p.tokens.data(), kBatch, n,
                                         p.positions.data(), mask.data(),
                                         kLength, &v) == ATTNC_OK);
  } else {
    REQUIRE(attnc_decoder_prefill(d, p.tokens.data(), kBatch, n,
                                  p.positions.data(), &v) == ATTNC_OK);
  }
  StepOutputs want = ref.prefill(p.rows, opts);
  for (int64_t r = 0; r < kBatch; ++r) {
    INFO("prefill, row " << r);
    CHECK(relError(v, r, want.logits[size_t(r)]) < tolerance);
  }
  // Decode to the end of the cache: past the window, the rings wrap.
  for (int64_t step = 0; n + step < kLength; ++step) {
    std::vector<int32_t> next(kBatch);
    std::vector<int64_t> next64(kBatch);
    for (int64_t r = 0; r < kBatch; ++r)
      next64[size_t(r)] = next[size_t(r)] = int32_t((7 * step + 13 * r) % 100);
    if (masked) {
      opts.attentionMask = randomMask(rng, n + step, 1);
      mask = flat(opts.attentionMask);
      REQUIRE(attnc_decoder_decode_masked(d, next.data(), kBatch, nullptr,
                                          mask.data(), kLength, &v) ==
              ATTNC_OK);
    } else {
      REQUIRE(attnc_decoder_decode(d, next.data(), kBatch, nullptr, &v) ==
              ATTNC_OK);
    }
    want = ref.decode(next64, {}, opts);
    for (int64_t r = 0; r < kBatch; ++r) {
      INFO("decode step " << step << ", row " << r);
      CHECK(relError(v, r, want.logits[size_t(r)]) < tolerance);
    }
  }
}

} // namespace

TEST_CASE("decoder vs reference: rings of W + C - 1 slots, ragged batch",
          "[decoder][reference]") {
  attnc_decoder *d = decoder(2);
  // Local layer: 3 + 2 - 1 slots; global: the cache length.
  CHECK(attnc_decoder_capacity(d, 0) == 4);
  CHECK(attnc_decoder_capacity(d, 1) == kLength);
  // [B, K, slots, hd] f32, keys and values, both layers.
  CHECK(attnc_decoder_cache_bytes(d) == 2 * kBatch * 2 * (4 + kLength) * 8 * 4);
  compare(d, /*masked=*/false, 1);
  attnc_decoder_free(d);
}

TEST_CASE("decoder vs reference: random explicit attention masks",
          "[decoder][reference]") {
  // Chunk 8: rings of 10 slots; a masked prefill runs as one step.
  attnc_decoder *d = decoder(8);
  CHECK(attnc_decoder_capacity(d, 0) == 10);
  uint32_t seed = uint32_t(std::random_device{}());
  INFO("seed " << seed);
  compare(d, /*masked=*/true, seed);
  attnc_decoder_free(d);
}

TEST_CASE("decoder: attention masks, chunks and padding are checked",
          "[decoder]") {
  attnc_decoder *d = decoder(2);
  Prompt p = prompt();
  attnc_tensor_view v;
  std::vector<uint8_t> mask(size_t(kBatch * 2 * kLength), 1);
  // A masked prefill longer than the chunk on a model with rings.
  std::vector<uint8_t> mask5(size_t(kBatch * 5 * kLength), 1);
  CHECK(attnc_decoder_prefill_masked(d, p.tokens.data(), kBatch, 5,
                                     p.positions.data(), mask5.data(),
                                     kLength, &v) == ATTNC_ERROR_SHAPE);
  CHECK(std::string(attnc_last_error()).find("prefill chunk, 2 tokens") !=
        std::string::npos);
  const int32_t tokens[4] = {1, 2, 3, 4};
  CHECK(attnc_decoder_prefill_masked(d, tokens, kBatch, 2, nullptr,
                                     mask.data(), kLength - 1, &v) ==
        ATTNC_ERROR_SHAPE);
  CHECK(attnc_decoder_prefill_masked(d, tokens, kBatch, 2, nullptr, nullptr,
                                     kLength, &v) == ATTNC_ERROR_ARGUMENT);
  mask[3] = 2;
  CHECK(attnc_decoder_prefill_masked(d, tokens, kBatch, 2, nullptr,
                                     mask.data(), kLength, &v) ==
        ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()).find("expected 0 or 1") !=
        std::string::npos);
  CHECK(attnc_decoder_end_index(d) == 0);
  // With rings a row may not take tokens after padding that follows its
  // first token.
  const int32_t positions[4] = {0, -1, 0, 1};
  REQUIRE(attnc_decoder_prefill(d, tokens, kBatch, 2, positions, &v) ==
          ATTNC_OK);
  const int32_t more[2] = {5, 6};
  CHECK(attnc_decoder_decode(d, more, kBatch, nullptr, &v) ==
        ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()).find("stay contiguous") !=
        std::string::npos);
  CHECK(attnc_decoder_end_index(d) == 2);
  attnc_decoder_options bad = {kBatch, kLength, -1, nullptr};
  attnc_decoder *none = nullptr;
  CHECK(attnc_decoder_create_with_options(model().artifact, &bad, &none) ==
        ATTNC_ERROR_ARGUMENT);
  attnc_decoder_free(d);
}

TEST_CASE("decoder vs reference: bf16 caches (--cache-dtype bf16)",
          "[decoder][reference]") {
  attnc_decoder *d = decoder(2, bf16Model());
  // Half the bytes of the f32 caches.
  CHECK(attnc_decoder_cache_bytes(d) == 2 * kBatch * 2 * (4 + kLength) * 8 * 2);
  compare(d, /*masked=*/false, 3, 2e-2);
  attnc_decoder_free(d);
  // The artifact fixes the caches' dtype; asking for another is refused.
  attnc_decoder_options options = {kBatch, kLength, 0, "f32"};
  attnc_decoder *none = nullptr;
  CHECK(attnc_decoder_create_with_options(bf16Model().artifact, &options,
                                          &none) == ATTNC_ERROR_ARGUMENT);
  CHECK(std::string(attnc_last_error()) ==
        "attnc_decoder_create: the artifact's KV caches are bf16, not f32; "
        "compile with `attnc compile --incremental --cache-dtype f32` for "
        "f32 caches");
  options.cache_dtype = "f64";
  CHECK(attnc_decoder_create_with_options(bf16Model().artifact, &options,
                                          &none) == ATTNC_ERROR_ARGUMENT);
  options.cache_dtype = "bf16";
  REQUIRE(attnc_decoder_create_with_options(bf16Model().artifact, &options,
                                            &none) == ATTNC_OK);
  attnc_decoder_free(none);
  options.cache_dtype = "f32";
  REQUIRE(attnc_decoder_create_with_options(model().artifact, &options,
                                            &none) == ATTNC_OK);
  attnc_decoder_free(none);
}
