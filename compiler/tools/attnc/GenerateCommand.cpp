//===- GenerateCommand.cpp - attnc generate -------------------------------===//
//
// attnc generate MODEL.attnc --weights W.safetensors --tokens 1,2,3
//   [--max-new 64] [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   [--stop ID,...] [--cache-length L] [--prefill-chunk C]
//   [--logits-out FILE.npy] [--cache KV.npy] [--image IMAGE.npy]
//
// Runs an artifact compiled with `attnc compile --incremental` through the
// runtime's decoder (attnc_decoder_*, runtime/include/attnc/runtime.h):
// prefill of the prompt, then one decode step per new token, sampling each
// next token from the last logits (runtime/include/attnc/Runtime/Sampler.h).
// The new ids go to stdout as they are produced; prefill and decode speeds
// (tokens/s) to stderr. --logits-out writes every step's logits, [steps, V]
// float32 (the prefill's last row first), for tests. --cache gives a cache
// group's keys and values (the layout of `attnc run --cache`: [num_layers,
// 2, m, num_kv_heads x head_dim] float32; float32 artifacts), set through
// attnc_decoder_set_cache_group before the prefill. --image gives a leading
// image group's pixels ([H, W, C] float32, float32 artifacts) to the
// prefill (attnc_decoder_prefill_image). --prefill-chunk sets the
// decoder's prefill chunk (the rings of local layers hold min(L, W + C - 1)
// slots; longer prefills run in steps of C); the caches' bytes go to
// stderr.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "IntegerList.h"

#include "attnc/Runtime/HalfFloat.h"
#include "attnc/Runtime/Npy.h"
#include "attnc/Runtime/Sampler.h"
#include "attnc/runtime.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

namespace attnc::cli {
namespace {

struct GenerateOptions {
  std::string artifact, weights, tokens, stop, logitsOut, cache, image;
  int64_t maxNew = 64;
  int64_t cacheLength = 0;
  int64_t prefillChunk = 0;
  int64_t kvHeads = 0;
  double temperature = 0.0, topP = 1.0;
  int64_t topK = 0;
  uint64_t seed = 0;
};

/// "1, 2,3" -> {1, 2, 3}; nullopt (and a message per bad item) on anything
/// that is not a token id.
std::optional<std::vector<int64_t>> parseIds(const std::string &text,
                                             const std::string &flag) {
  std::vector<int64_t> out;
  bool ok = true;
  for (const ListItem &item : splitIntegerList(text)) {
    if (!item.value || *item.value < 0 || *item.value > INT32_MAX) {
      std::cerr << "error: " << flag << ": '" << item.text
                << "' is not a token id (an integer >= 0)\n";
      ok = false;
      continue;
    }
    out.push_back(*item.value);
  }
  if (!ok)
    return std::nullopt;
  return out;
}

std::vector<float> rowAsFloat(const attnc_tensor_view &view, int64_t vocab) {
  std::vector<float> row(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) {
    if (view.dtype == ATTNC_DTYPE_F32) {
      row[size_t(i)] = static_cast<const float *>(view.data)[i];
    } else {
      uint16_t h = static_cast<const uint16_t *>(view.data)[i];
      row[size_t(i)] = view.dtype == ATTNC_DTYPE_BF16 ? runtime::bf16ToFloat(h)
                                                      : runtime::f16ToFloat(h);
    }
  }
  return row;
}

/// The runtime's message, after `what` when given.
int fail(const char *what) {
  std::cerr << "error: " << what << (*what ? ": " : "") << attnc_last_error()
            << "\n";
  return kExitInvalidConfig;
}

int runGenerate(const GenerateOptions &o) {
  auto prompt = parseIds(o.tokens, "--tokens");
  if (!prompt)
    return kExitUsage;
  if (prompt->empty()) {
    std::cerr << "error: --tokens: the prompt needs at least one token id\n";
    return kExitUsage;
  }
  auto stops = parseIds(o.stop, "--stop");
  if (!stops)
    return kExitUsage;
  if (o.maxNew < 1) {
    std::cerr << "error: --max-new must be at least 1\n";
    return kExitUsage;
  }
  runtime::SamplingOptions sampling;
  sampling.temperature = o.temperature;
  sampling.topK = o.topK;
  sampling.topP = o.topP;
  sampling.seed = o.seed;
  if (std::string why = runtime::validateSamplingOptions(sampling);
      !why.empty()) {
    std::cerr << "error: " << why << "\n";
    return kExitUsage;
  }
  int64_t n = int64_t(prompt->size());
  runtime::NpyArray memory;
  int64_t m = 0;
  if (!o.cache.empty()) {
    std::string error;
    if (!runtime::readNpy(o.cache, memory, error)) {
      std::cerr << "error: --cache: " << error << "\n";
      return kExitUsage;
    }
    if (memory.shape.size() != 4 || memory.shape[1] != 2) {
      std::cerr << "error: --cache: " << o.cache << " holds "
                << memory.describe()
                << "; expected [num_layers, 2 (K, V), m, kv width]\n";
      return kExitUsage;
    }
    m = memory.shape[2];
  }
  if (!o.image.empty() && !o.cacheLength) {
    std::cerr << "error: --image needs --cache-length (the image's tokens "
                 "+ prompt + max-new)\n";
    return kExitUsage;
  }
  int64_t length = o.cacheLength ? o.cacheLength : m + n + o.maxNew;
  if (length < m + n + o.maxNew - 1) {
    std::cerr << "error: --cache-length " << length << " cannot hold "
              << n << " prompt tokens and " << o.maxNew << " new ones\n";
    return kExitUsage;
  }

  attnc_artifact *raw = nullptr;
  if (attnc_status s = attnc_artifact_open(o.artifact.c_str(), &raw);
      s != ATTNC_OK) {
    fail("cannot open the artifact");
    return s == ATTNC_ERROR_IO ? kExitUsage : kExitInvalidConfig;
  }
  std::unique_ptr<attnc_artifact, void (*)(attnc_artifact *)> artifact(
      raw, attnc_artifact_close);
  if (attnc_artifact_bind_weights_file(artifact.get(), o.weights.c_str()) !=
      ATTNC_OK)
    return fail("cannot bind the weights");
  attnc_decoder *rawDecoder = nullptr;
  attnc_decoder_options options = {1, length, o.prefillChunk, nullptr};
  if (attnc_decoder_create_with_options(artifact.get(), &options,
                                        &rawDecoder) != ATTNC_OK)
    return fail("cannot start a decoder");
  std::fprintf(stderr, "kv cache: %lld bytes\n",
               (long long)attnc_decoder_cache_bytes(rawDecoder));
  std::unique_ptr<attnc_decoder, void (*)(attnc_decoder *)> decoder(
      rawDecoder, attnc_decoder_free);

  if (m) {
    // [layers, 2, m, K hd] -> per layer and K/V [1, K, m, hd].
    std::vector<float> values = memory.toFloat32();
    int64_t layers = memory.shape[0], width = memory.shape[3];
    std::vector<std::vector<float>> blocks;
    std::vector<const void *> pointers;
    int64_t kvHeads = o.kvHeads;
    if (kvHeads < 1 || width % kvHeads) {
      std::cerr << "error: --cache needs --kv-heads (num_kv_heads)\n";
      return kExitUsage;
    }
    int64_t hd = width / kvHeads;
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t kv = 0; kv < 2; ++kv) {
        const float *src = values.data() + ((l * 2 + kv) * m) * width;
        std::vector<float> block(size_t(m * width));
        for (int64_t h = 0; h < kvHeads; ++h)
          for (int64_t s = 0; s < m; ++s)
            for (int64_t e = 0; e < hd; ++e)
              block[size_t((h * m + s) * hd + e)] =
                  src[s * width + h * hd + e];
        blocks.push_back(std::move(block));
      }
    for (const auto &block : blocks)
      pointers.push_back(block.data());
    if (attnc_decoder_set_cache_group(decoder.get(), m, pointers.data()) !=
        ATTNC_OK)
      return fail("--cache");
  }

  runtime::Sampler sampler(sampling);
  runtime::StopCriteria stop;
  stop.stopTokens = *stops;
  stop.maxNewTokens = o.maxNew;
  std::vector<float> allLogits;
  int64_t vocab = 0;
  using Clock = std::chrono::steady_clock;

  std::vector<int32_t> ids(prompt->begin(), prompt->end());
  attnc_tensor_view view;
  auto t0 = Clock::now();
  std::vector<float> pixels;
  if (!o.image.empty()) {
    runtime::NpyArray a;
    std::string error;
    if (!runtime::readNpy(o.image, a, error)) {
      std::cerr << "error: --image: " << error << "\n";
      return kExitUsage;
    }
    pixels = a.toFloat32();
  }
  if ((pixels.empty()
           ? attnc_decoder_prefill(decoder.get(), ids.data(), 1, n, nullptr,
                                   &view)
           : attnc_decoder_prefill_image(decoder.get(), pixels.data(),
                                         ids.data(), 1, n, nullptr, &view)) !=
      ATTNC_OK)
    return fail("");
  double prefillSeconds =
      std::chrono::duration<double>(Clock::now() - t0).count();
  double decodeSeconds = 0;
  int64_t produced = 0, decoded = 0;
  while (true) {
    vocab = view.shape[view.rank - 1];
    std::vector<float> row = rowAsFloat(view, vocab);
    if (!o.logitsOut.empty())
      allLogits.insert(allLogits.end(), row.begin(), row.end());
    int64_t next = 0;
    try {
      next = sampler.sample(row.data(), vocab);
    } catch (const runtime::SamplingError &e) {
      std::cerr << "\nerror: " << e.what() << "\n";
      return kExitInvalidConfig;
    }
    ++produced;
    std::cout << (produced > 1 ? " " : "") << next << std::flush;
    if (stop.done(next, produced))
      break;
    int32_t token = int32_t(next);
    auto t1 = Clock::now();
    if (attnc_decoder_decode(decoder.get(), &token, 1, nullptr, &view) !=
        ATTNC_OK) {
      std::cout << "\n";
      return fail("");
    }
    decodeSeconds += std::chrono::duration<double>(Clock::now() - t1).count();
    ++decoded;
  }
  std::cout << "\n" << std::flush;
  std::fprintf(stderr,
               "prefill: %lld tokens in %.2f ms (%.1f tokens/s); decode: "
               "%lld tokens in %.2f ms (%.1f tokens/s)\n",
               (long long)n, prefillSeconds * 1e3,
               prefillSeconds > 0 ? double(n) / prefillSeconds : 0.0,
               (long long)decoded, decodeSeconds * 1e3,
               decodeSeconds > 0 ? double(decoded) / decodeSeconds : 0.0);
  if (!o.logitsOut.empty()) {
    std::string error;
    if (!runtime::writeNpy(o.logitsOut,
                           runtime::makeNpyFloat32({produced, vocab},
                                                   allLogits),
                           error)) {
      std::cerr << "error: " << error << "\n";
      return kExitUsage;
    }
  }
  return kExitOk;
}

} // namespace

void addGenerateCommand(CLI::App &app) {
  auto opts = std::make_shared<GenerateOptions>();
  CLI::App *cmd = app.add_subcommand(
      "generate",
      "Generate tokens with an artifact compiled with --incremental:\n"
      "prefill the prompt, then decode one token at a time (KV cache),\n"
      "printing the new ids as they come and the tokens/s to stderr");
  cmd->add_option("artifact", opts->artifact,
                  "Artifact from `attnc compile --incremental`")
      ->required();
  cmd->add_option("--weights", opts->weights, "safetensors checkpoint")
      ->required();
  cmd->add_option("--tokens", opts->tokens, "Prompt token ids: 1,2,3")
      ->required();
  cmd->add_option("--max-new", opts->maxNew, "New tokens at most (64)");
  cmd->add_option("--temperature", opts->temperature, "0: greedy (default)");
  cmd->add_option("--top-k", opts->topK, "Keep the k most likely (0: all)");
  cmd->add_option("--top-p", opts->topP, "Nucleus cut (1: none)");
  cmd->add_option("--seed", opts->seed, "Seed of the sampler's draws");
  cmd->add_option("--stop", opts->stop, "Stop after any of these ids: 2,7");
  cmd->add_option("--prefill-chunk", opts->prefillChunk,
                  "Most tokens per prefill step on models with sliding-window "
                  "rings (0: the runtime's default, 256)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--cache-length", opts->cacheLength,
                  "KV cache slots (default: prompt + max-new)");
  cmd->add_option("--cache", opts->cache,
                  "Cache group K/V, [num_layers, 2, m, K x hd] float32 .npy "
                  "(float32 artifacts)");
  cmd->add_option("--image", opts->image,
                  "Image group pixels, [H, W, C] float32 .npy (float32 "
                  "artifacts), for the prefill");
  cmd->add_option("--kv-heads", opts->kvHeads,
                  "num_kv_heads, to split --cache into heads");
  cmd->add_option("--logits-out", opts->logitsOut,
                  "Write every step's logits, [steps, V] float32, as .npy");
  cmd->callback([opts] {
    int code = runGenerate(*opts);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
