//===- IncrementalTest.cpp - KV-cached prefill/decode == a full forward ---===//
//
// The reference session (attnc/Reference/Incremental.h) against runReference
// over the whole sequence: every decode step's logits equal the full
// forward's last row (max|a - b| / max|b| < 1e-4; measured ~1e-7), on GQA,
// sliding-window layers past the window (ring buffers), windowed patterns +
// ALiBi + a fixed prefix group, learned positions, images, ragged batches
// padded with position -1, a cache group computed by an earlier run, chunked
// prefill; and every misuse is a clear error that leaves the session as it
// was.
//
//===----------------------------------------------------------------------===//

#include "ReferenceTestUtil.h"

#include "attnc/Reference/Incremental.h"
#include "attnc/Runtime/InitWeights.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace attnc;
using namespace attnc::reference;
using namespace attnc::test;

namespace {

double relErr(const float *a, const float *b, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return diff / scale;
}

/// Logits of the full forward's last token over `tokens` (+ `extra` inputs).
Matrix fullLast(const ModelConfig &c, const runtime::WeightSet &w,
                ReferenceInputs in, const std::string &group,
                const std::vector<int64_t> &tokens) {
  in.tokens[group] = tokens;
  ReferenceOutputs out = runReference(c, w, in);
  Matrix last(1, out.logits.cols);
  std::copy(out.logits.row(out.logits.rows - 1),
            out.logits.row(out.logits.rows - 1) + out.logits.cols,
            last.row(0));
  return last;
}

/// Prefills `prompt` into a batch-1 session, decodes `steps` tokens (a fixed
/// pseudo-random stream) and checks every step against the full forward.
/// Returns the largest relative error seen.
double checkDecode(const ModelConfig &c, const std::vector<int64_t> &prompt,
                   int64_t steps, ReferenceInputs extra = {},
                   int64_t cacheLength = 0) {
  runtime::WeightSet w = weightsOf(c);
  ReferenceSession s(c, w, 1,
                     cacheLength ? cacheLength
                                 : int64_t(prompt.size()) + steps);
  const std::string &group = s.decodeGroup();
  ReferenceInputs first = extra;
  first.tokens[group] = prompt;
  StepOptions last;
  last.lastOnly = true;
  StepOutputs out = s.prefill({first}, last);
  std::vector<int64_t> seq = prompt;
  double worst = relErr(out.logits[0].row(0),
                        fullLast(c, w, extra, group, seq).row(0),
                        out.logits[0].cols);
  const int64_t vocab = *c.vocabSize;
  for (int64_t t = 0; t < steps; ++t) {
    int64_t token = (seq.back() * 7 + 3 + t) % vocab;
    seq.push_back(token);
    out = s.decode({token});
    REQUIRE(out.logits[0].rows == 1);
    worst = std::max(worst, relErr(out.logits[0].row(0),
                                   fullLast(c, w, extra, group, seq).row(0),
                                   out.logits[0].cols));
  }
  return worst;
}

const char *kDecoder = R"({"attention": {"hidden_dim": 32, "num_heads": 4,
    "num_kv_heads": 2, "bias": false}, "position": {"kind": "rope"},
    "mlp": {"kind": "gated", "activation": "silu", "hidden_dim": 48},
    "norm": {"kind": "rms"}})";

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const ReferenceError &e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("incremental: decode equals the full forward (GQA, RoPE)",
          "[incremental]") {
  ModelConfig c = configOf(kDecoder);
  CHECK(checkDecode(c, {5, 9, 1, 77, 3}, 12) < 1e-4);
  // A one-token prompt; MQA.
  ModelConfig mqa = configOf(R"({"attention": {"hidden_dim": 32,
      "num_heads": 4, "num_kv_heads": 1}, "position": {"kind": "rope"}})");
  CHECK(checkDecode(mqa, {42}, 10) < 1e-4);
}

TEST_CASE("incremental: sliding-window layers past the window keep a "
          "window-sized ring buffer",
          "[incremental]") {
  ModelConfig c = configOf(R"({"num_layers": 3, "attention": {"hidden_dim":
      32, "num_heads": 4, "num_kv_heads": 2}, "position": {"kind": "rope"},
      "layers": {"kinds": {"local": {"window": 3, "rope_base": 100},
      "global": {"window": null}}, "pattern": ["local", "global"]}})");
  runtime::WeightSet w = weightsOf(c);
  ReferenceSession s(c, w, 1, 24);
  CHECK(s.capacity(0) == 3);
  CHECK(s.capacity(1) == 24);
  CHECK(s.capacity(2) == 3);
  // 20 tokens: far past the window of 3; a prompt longer than the ring.
  CHECK(checkDecode(c, {1, 2, 3, 4, 5, 6}, 14) < 1e-4);
  CHECK(checkDecode(c, {8}, 19) < 1e-4);
  // The gemma-style e2e model: local/global, softcaps, qk-norm, interleaved
  // partial RoPE with a scale factor, post norms, tied scaled embeddings.
  LoadResult gemma = loadConfigFile(std::string(ATTNC_SOURCE_DIR) +
                                    "/tests/e2e/gemma/model.yaml");
  REQUIRE(gemma.config);
  CHECK(checkDecode(*gemma.config, {2, 63, 18, 40}, 12) < 1e-4);
}

TEST_CASE("incremental: windowed patterns, ALiBi, a fixed prefix group; "
          "learned positions",
          "[incremental]") {
  LoadResult prefix = loadConfigFile(std::string(ATTNC_SOURCE_DIR) +
                                     "/tests/e2e/prefix-lm/model.yaml");
  REQUIRE(prefix.config);
  ReferenceInputs extra;
  extra.tokens["prefix"] = {4, 9, 31, 0};
  CHECK(checkDecode(*prefix.config, {12, 5}, 10, extra, 16) < 1e-4);

  LoadResult gpt2 = loadConfigFile(std::string(ATTNC_SOURCE_DIR) +
                                   "/tests/e2e/gpt2/model.yaml");
  REQUIRE(gpt2.config);
  CHECK(checkDecode(*gpt2.config, {1, 39, 7}, 9) < 1e-4);
}

TEST_CASE("incremental: an image group in the prefill, text decoded",
          "[incremental]") {
  ModelConfig c = configOf(R"({"tokens": [{"name": "img", "size": 4,
      "input": "image"}, {"text": "dynamic"}], "attention_patterns": [
      {"query_tokens": ["img"], "key_value_tokens": ["img"], "mask": "full"},
      {"query_tokens": ["text"], "key_value_tokens": ["img", "text"],
       "mask": "causal"}], "patch_embedding": {"image_size": 4,
      "patch_size": 2, "channels": 3}, "position": {"kind": "rope"},
      "attention": {"hidden_dim": 32, "num_heads": 4, "num_kv_heads": 2}})");
  ReferenceInputs extra;
  Image img{4, 4, 3, {}};
  for (int i = 0; i < 48; ++i)
    img.pixels.push_back(float(std::sin(0.3 * i)));
  extra.images["img"] = img;
  CHECK(checkDecode(c, {7, 8}, 8, extra, 14) < 1e-4);
}

TEST_CASE("incremental: a ragged batch padded with position -1",
          "[incremental]") {
  ModelConfig c = configOf(R"({"num_layers": 2, "attention": {"hidden_dim":
      32, "num_heads": 4, "num_kv_heads": 2}, "position": {"kind": "rope"},
      "layers": {"kinds": {"local": {"window": 3}, "global": {"window":
      null}}, "pattern": ["local", "global"]}})");
  runtime::WeightSet w = weightsOf(c);
  std::vector<std::vector<int64_t>> prompts = {{5, 9, 1, 77, 3}, {8, 2},
                                               {60, 61, 62, 63}};
  ReferenceSession s(c, w, 3, 16);
  std::vector<ReferenceInputs> rows(3);
  for (size_t b = 0; b < 3; ++b) {
    size_t pad = 5 - prompts[b].size();
    std::vector<int64_t> tokens(pad, 0), positions(pad, -1);
    for (size_t i = 0; i < prompts[b].size(); ++i) {
      tokens.push_back(prompts[b][i]);
      positions.push_back(int64_t(i));
    }
    rows[b].tokens["text"] = tokens;
    rows[b].positions = positions;
  }
  StepOptions last;
  last.lastOnly = true;
  StepOutputs out = s.prefill(rows, last);
  for (int64_t step = 0; step < 10; ++step) {
    std::vector<int64_t> next;
    for (size_t b = 0; b < 3; ++b) {
      Matrix full = fullLast(c, w, {}, "text", prompts[b]);
      INFO("row " << b << " step " << step);
      CHECK(relErr(out.logits[b].row(0), full.row(0), full.cols) < 1e-4);
      next.push_back((prompts[b].back() * 5 + int64_t(b) + step) % 100);
      prompts[b].push_back(next.back());
    }
    CHECK(s.nextPosition(1) == int64_t(prompts[1].size()) - 1);
    out = s.decode(next);
  }
}

TEST_CASE("incremental: chunked prefill equals one prefill; reset",
          "[incremental]") {
  ModelConfig c = configOf(kDecoder);
  runtime::WeightSet w = weightsOf(c);
  ReferenceSession s(c, w, 1, 12);
  ReferenceInputs a, b;
  a.tokens["text"] = {5, 9, 1};
  b.tokens["text"] = {77, 3, 4, 4};
  s.prefill({a});
  StepOutputs out = s.prefill({b});
  REQUIRE(out.logits[0].rows == 4);
  ReferenceInputs all;
  all.tokens["text"] = {5, 9, 1, 77, 3, 4, 4};
  ReferenceOutputs full = runReference(c, w, all);
  CHECK(relErr(out.logits[0].data.data(), full.logits.row(3), 4 * 100) <
        1e-4);
  CHECK(s.end() == 7);
  s.reset();
  CHECK(s.end() == 0);
  CHECK(s.nextPosition(0) == 0);
  out = s.prefill({all});
  CHECK(relErr(out.logits[0].data.data(), full.logits.data.data(), 7 * 100) <
        1e-4);
}

TEST_CASE("incremental: a cache group computed by an earlier run, reused "
          "by later query-only runs",
          "[incremental]") {
  ModelConfig c = configOf(R"({"tokens": [{"memory": null},
      {"text": "dynamic"}], "attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["memory", "text"],
       "mask": "causal"}], "position": {"kind": "rope"}})");
  runtime::WeightSet w = weightsOf(c);
  // Run 1: an empty memory, text A; its per-layer K/V become the memory.
  ReferenceInputs first;
  first.tokens["text"] = {11, 12, 13};
  for (int64_t l = 0; l < c.numLayers; ++l)
    first.cache["memory"].push_back(
        {Matrix(0, c.attention.numKvHeads * c.attention.headDim),
         Matrix(0, c.attention.numKvHeads * c.attention.headDim)});
  ReferenceSession producer(c, w, 1, 8);
  StepOptions kv;
  kv.returnKV = true;
  StepOutputs made = producer.prefill({first}, kv);
  REQUIRE(made.kv[0].size() == size_t(c.numLayers));
  ReferenceOutputs direct = runReference(c, w, first);
  CHECK(relErr(made.kv[0][1].k.data.data(), direct.kv[1].k.data.data(),
               int64_t(direct.kv[1].k.data.size())) < 1e-6);

  // Runs 2 and 3 attend to that memory: decode == full forward.
  ReferenceInputs extra;
  extra.cache["memory"] = made.kv[0];
  CHECK(checkDecode(c, {4, 8, 15}, 8, extra) < 1e-4);
  CHECK(checkDecode(c, {16}, 6, extra) < 1e-4);
}

TEST_CASE("incremental: generate() is greedy decoding over the cache",
          "[incremental]") {
  ModelConfig c = configOf(kDecoder);
  runtime::WeightSet w = weightsOf(c);
  ReferenceSession s(c, w, 2, 20);
  std::vector<ReferenceInputs> prompt(2);
  prompt[0].tokens["text"] = {5, 9, 1};
  prompt[1].tokens["text"] = {0, 40, 2};
  prompt[1].positions = {-1, 0, 1};
  runtime::Sampler greedy({});
  runtime::StopCriteria stop;
  stop.maxNewTokens = 8;
  auto out = generate(s, prompt, greedy, stop);
  REQUIRE(out.size() == 2);
  std::vector<std::vector<int64_t>> seqs = {{5, 9, 1}, {40, 2}};
  for (size_t b = 0; b < 2; ++b) {
    REQUIRE(out[b].size() == 8);
    for (int64_t token : out[b]) {
      Matrix l = fullLast(c, w, {}, "text", seqs[b]);
      CHECK(token == runtime::argmaxLogits(l.row(0), l.cols));
      seqs[b].push_back(token);
    }
  }
  // A stop token ends its row only.
  s.reset();
  stop.stopTokens = {out[1][2]};
  auto stopped = generate(s, prompt, greedy, stop);
  CHECK(stopped[1].size() == 3);
  CHECK(stopped[0].size() ==
        (std::count(out[0].begin(), out[0].end(), out[1][2])
             ? size_t(std::find(out[0].begin(), out[0].end(), out[1][2]) -
                      out[0].begin() + 1)
             : size_t(8)));
}

TEST_CASE("incremental: misuse is a clear error and changes nothing",
          "[incremental]") {
  ModelConfig c = configOf(R"({"max_seq_len": 10, "position": {"kind":
      "learned", "size": 10}, "layers": {"kinds": {"local": {"window": 2},
      "global": {"window": null}}, "pattern": ["local", "global"]}})");
  runtime::WeightSet w = weightsOf(c);
  ReferenceSession s(c, w, 2, 6);
  CHECK(errorOf([&] { s.decode({1, 2}); }) ==
        "decode before prefill: the cache is empty; prefill the prompt first");
  ReferenceInputs r;
  r.tokens["text"] = {1, 2, 3};
  CHECK(errorOf([&] { s.prefill({r}); }) ==
        "1 rows given; the session has batch 2");
  ReferenceInputs shorter;
  shorter.tokens["text"] = {1, 2};
  CHECK(errorOf([&] { s.prefill({r, shorter}); })
            .find("row 1 gives other token groups or lengths") !=
        std::string::npos);
  ReferenceInputs bad = r;
  bad.positions = {0, -2, 1};
  CHECK(errorOf([&] { s.prefill({r, bad}); }) ==
        "position -2 (row 1, token 1) is invalid; expected >= 0, or -1 for "
        "padding");
  bad.positions = {0, 2, 1};
  CHECK(errorOf([&] { s.prefill({r, bad}); }) ==
        "position 1 (row 1, token 2) does not follow the row's previous "
        "position 2; positions must increase");
  bad.positions = {0, 1, 10};
  CHECK(errorOf([&] { s.prefill({r, bad}); }) ==
        "position 10 (row 1, token 2) is past the learned position table "
        "(10 rows)");
  bad.positions = {0, -1, 1};
  CHECK(errorOf([&] { s.prefill({r, bad}); })
            .find("row 1 was padded after its first token") !=
        std::string::npos);
  ReferenceInputs badId;
  badId.tokens["text"] = {1, 200, 3};
  CHECK(errorOf([&] { s.prefill({r, badId}); }).find("token id 200") !=
        std::string::npos);
  CHECK(s.end() == 0); // nothing was written

  s.prefill({r, r});
  CHECK(errorOf([&] { s.decode({1}); }) ==
        "1 decode tokens given; the session has batch 2 (one token per row)");
  CHECK(errorOf([&] { s.decode({1, 2}, {3, 2}); }) ==
        "position 2 (row 1, token 0) does not follow the row's previous "
        "position 2; positions must increase");
  ReferenceInputs four;
  four.tokens["text"] = {1, 2, 3, 4};
  CHECK(errorOf([&] { s.prefill({four, four}); }) ==
        "KV cache overflow: the cache holds 6 tokens, 3 are written and this "
        "step adds 4");
  s.decode({1, 2});
  s.decode({1, 2});
  s.decode({1, 2});
  CHECK(s.end() == 6);
  CHECK(errorOf([&] { s.decode({1, 2}); }) ==
        "KV cache overflow: the cache holds 6 tokens, 6 are written and this "
        "step adds 1");

  CHECK(errorOf([&] { ReferenceSession(c, w, 0, 4); }) ==
        "batch size 0 is invalid; expected >= 1");
  CHECK(errorOf([&] { ReferenceSession(c, w, 1, 11); }) ==
        "cache length 11 exceeds max_seq_len 10");
  ModelConfig cls = configOf(R"({"output": {"kind": "classifier",
      "num_classes": 2}, "kind": "encoder"})");
  CHECK(errorOf([&] { ReferenceSession(cls, weightsOf(cls), 1, 4); })
            .find("output kind logits or hidden_states") != std::string::npos);
  ModelConfig mem = configOf(R"({"tokens": [{"memory": null},
      {"text": "dynamic"}], "attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["memory", "text"],
       "mask": "causal"}]})");
  ReferenceSession sm(mem, weightsOf(mem), 1, 4);
  CHECK(errorOf([&] { sm.prefill({r}); }) ==
        "cache group 'memory' has no keys/values for row 0; give them "
        "(setCacheGroup or the step's cache inputs) first");
}

namespace {

/// A row-major [n, length] mask: entry [j, s] = allowed(end + j, s).
std::vector<uint8_t> maskOf(int64_t end, int64_t n, int64_t length,
                            const std::function<bool(int64_t, int64_t)> &f) {
  std::vector<uint8_t> mask(size_t(n * length), 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t s = 0; s < length; ++s)
      mask[size_t(j * length + s)] = f(end + j, s) ? 1 : 0;
  return mask;
}

double worstRow(const Matrix &a, const Matrix &b, int64_t rowA,
                int64_t rowB) {
  return relErr(a.row(rowA), b.row(rowB), a.cols);
}

} // namespace

TEST_CASE("incremental: an explicit attention_mask replaces the pattern "
          "masks (gemma semantics)",
          "[incremental]") {
  // Independent oracles: the full forward of the same weights under other
  // pattern masks. A bidirectional prompt (prefix LM) is the `full`
  // pattern; a band of 3 is the sliding_window 3 pattern.
  const char *layers = R"("num_layers": 3, "attention": {"hidden_dim": 32,
      "num_heads": 4, "num_kv_heads": 2}, "position": {"kind": "rope"})";
  auto variant = [&](const std::string &pattern) {
    return configOf("{" + std::string(layers) +
                    R"(, "attention_patterns": [{"query_tokens": ["text"],
                    "key_value_tokens": ["text"], )" + pattern + "}]}");
  };
  ModelConfig causal = variant(R"("mask": "causal")");
  ModelConfig full = variant(R"("mask": "full")");
  ModelConfig band = variant(R"("mask": "sliding_window", "window": 3)");
  runtime::WeightSet w = weightsOf(causal);
  const std::vector<int64_t> prompt = {4, 17, 9, 33, 2, 60};
  const int64_t n = int64_t(prompt.size()), length = 16;

  SECTION("the default mask, given explicitly, changes nothing") {
    ReferenceSession plain(causal, w, 1, length), masked(causal, w, 1, length);
    ReferenceInputs in;
    in.tokens["text"] = prompt;
    StepOptions opts;
    opts.attentionMask = {maskOf(0, n, length,
                                 [](int64_t q, int64_t s) { return s <= q; })};
    StepOutputs a = plain.prefill({in}), b = masked.prefill({in}, opts);
    CHECK(worstRow(a.logits[0], b.logits[0], n - 1, n - 1) == 0.0);
    CHECK(worstRow(a.logits[0], b.logits[0], 0, 0) == 0.0);
  }

  SECTION("a bidirectional prompt equals the full pattern's forward") {
    ReferenceSession s(causal, w, 1, length);
    ReferenceInputs in;
    in.tokens["text"] = prompt;
    StepOptions opts;
    opts.attentionMask = {
        maskOf(0, n, length, [](int64_t, int64_t) { return true; })};
    StepOutputs got = s.prefill({in}, opts);
    ReferenceOutputs want = runReference(full, w, in);
    for (int64_t i = 0; i < n; ++i)
      CHECK(worstRow(got.logits[0], want.logits, i, i) < 1e-5);
    // And the mask matters: the causal forward differs at the first token.
    ReferenceOutputs causalOut = runReference(causal, w, in);
    CHECK(worstRow(got.logits[0], causalOut.logits, 0, 0) > 1e-3);
  }

  SECTION("a band mask in prefill and decode equals sliding_window 3") {
    ReferenceSession s(causal, w, 1, length);
    auto bandOf = [](int64_t q, int64_t s) { return s <= q && q - s < 3; };
    ReferenceInputs in;
    in.tokens["text"] = prompt;
    StepOptions opts;
    opts.attentionMask = {maskOf(0, n, length, bandOf)};
    StepOutputs got = s.prefill({in}, opts);
    std::vector<int64_t> seq = prompt;
    ReferenceOutputs want = runReference(band, w, in);
    for (int64_t i = 0; i < n; ++i)
      CHECK(worstRow(got.logits[0], want.logits, i, i) < 1e-5);
    for (int64_t token : {5, 71, 12}) {
      seq.push_back(token);
      opts.attentionMask = {maskOf(s.end(), 1, length, bandOf)};
      got = s.decode({token}, {}, opts);
      ReferenceInputs all;
      all.tokens["text"] = seq;
      want = runReference(band, w, all);
      CHECK(worstRow(got.logits[0], want.logits, 0, want.logits.rows - 1) <
            1e-5);
    }
  }

  SECTION("a mask of the wrong shape is an error that changes nothing") {
    ReferenceSession s(causal, w, 1, length);
    ReferenceInputs in;
    in.tokens["text"] = prompt;
    StepOptions opts;
    opts.attentionMask = {std::vector<uint8_t>(size_t(n * length - 1), 1)};
    CHECK(errorOf([&] { s.prefill({in}, opts); }) ==
          "the attention mask of row 0 has 95 entries; expected [6, 16] "
          "(step tokens x cache length) = 96");
    opts.attentionMask.push_back(opts.attentionMask[0]);
    CHECK(errorOf([&] { s.prefill({in}, opts); }) ==
          "the attention mask has 2 rows; expected one per batch row (1)");
    CHECK(s.end() == 0);
  }
}
