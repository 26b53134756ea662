//===- Decoder.cpp - The C API: prefill / decode against a KV cache -------===//
//
// attnc_decoder runs the `prefill` and `decode` entry points of an artifact
// compiled with `attnc compile --incremental` (compiler/docs/entry-points.md,
// "prefill and decode"). It owns one buffer per layer for keys and one for
// values (pieces of one zeroed allocation on huge pages); the entry points
// write a step's keys and values into them in place (nothing else of a
// cache is copied). Global layers keep
// cache_length slots; a local layer of window W (the config's
// `layers[i].window`) keeps a ring of R = min(cache_length, W + C - 1)
// slots, C the prefill chunk: a prefill of more than C tokens runs as steps
// of at most C tokens, so that a step's first query still finds the W - 1
// tokens before it after the step's C keys went in. Slot positions (per
// capacity), the attention masks over the slots (the caller's
// attention_mask, or the pattern's causal / sliding-window mask by
// position, see defaultAllowed) and the end index live here (the reference
// session's semantics, runtime/include/attnc/Reference/Incremental.h). A
// config's cache group goes into the first slots
// (attnc_decoder_set_cache_group, passed as `cache_prefix`); a leading
// image group's pixels come with the session's one prefill
// (attnc_decoder_prefill_image), its patch tokens first. A CUDA artifact's
// caches are device buffers (CudaBuffer) for the decoder's lifetime; a step
// copies its small inputs in and the logits out (DecoderStep.cpp).
//
//===----------------------------------------------------------------------===//

#include "DecoderInternal.h"
#include "WeightCopy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using attnc::rt::ArgSpec;
using attnc::rt::EntrySpec;
using attnc::rt::SlotSet;
using attnc::rt::Step;
using attnc::rt::elements;
using attnc::rt::runCall;
using attnc::rt::fail;

namespace {

const ArgSpec *findArg(const EntrySpec &e, const std::string &name,
                       ArgSpec::Role role) {
  for (const ArgSpec &a : e.args)
    if (a.name == name && a.role == role)
      return &a;
  return nullptr;
}

/// The text pattern's sliding window from the manifest's config (0: causal).
int64_t patternWindowOf(const attnc_artifact *a) {
  nlohmann::json m = nlohmann::json::parse(a->manifest.json, nullptr, false);
  if (m.is_discarded() || !m.contains("config") || !m["config"].is_object())
    return 0;
  const nlohmann::json &patterns = m["config"].value("attention_patterns",
                                                     nlohmann::json::array());
  for (const nlohmann::json &p : patterns)
    if (p.is_object() && p.value("mask", "") == "sliding_window" &&
        p.contains("window") && p["window"].is_number_integer())
      return p["window"].get<int64_t>();
  return 0;
}

} // namespace

extern "C" {

attnc_status attnc_decoder_create_with_options(
    attnc_artifact *artifact, const attnc_decoder_options *options,
    attnc_decoder **out) {
  if (!artifact || !options || !out)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_create: null argument");
  *out = nullptr;
  int64_t batch = options->batch, cacheLength = options->cache_length;
  if (batch < 1 || cacheLength < 1)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_create: batch and cache length must be >= 1");
  if (options->prefill_chunk < 0)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_create: prefill_chunk must be >= 1 (0: the "
                "default, " + std::to_string(ATTNC_DEFAULT_PREFILL_CHUNK) + ")");
  auto d = std::make_unique<attnc_decoder>();
  d->artifact = artifact;
  d->batch = batch;
  d->length = cacheLength;
  d->chunk = options->prefill_chunk ? options->prefill_chunk
                                    : ATTNC_DEFAULT_PREFILL_CHUNK;
  const auto &entries = artifact->manifest.entries;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].name == "prefill")
      d->prefill = {&entries[i], artifact->entryFns[i]};
    if (entries[i].name == "decode")
      d->decode = {&entries[i], artifact->entryFns[i]};
  }
  if (!d->prefill.entry || !d->decode.entry)
    return fail(ATTNC_ERROR_ARGUMENT,
                "the artifact has no prefill/decode entry points; compile "
                "the config with `attnc compile --incremental`");
  d->slotSets.push_back({0, cacheLength, {}});
  for (const Step *step : {&d->prefill, &d->decode}) {
    int outputs = 0;
    for (const ArgSpec &arg : step->entry->args) {
      if (arg.role == ArgSpec::Role::Output &&
          (arg.name != "logits" || arg.shape.size() != 3 || ++outputs > 1))
        return fail(ATTNC_ERROR_FORMAT,
                    step->entry->name + " returns '" + arg.name +
                        "'; this runtime's decoder expects the logits only "
                        "(caches updated in place): recompile the artifact "
                        "with this attnc");
      if (arg.role == ArgSpec::Role::Input &&
          arg.name.rfind("ring_positions.", 0) == 0 && step == &d->prefill) {
        int64_t w = std::atoll(arg.name.c_str() + 15);
        if (w < 1)
          return fail(ATTNC_ERROR_FORMAT, "bad ring input '" + arg.name + "'");
        d->slotSets.push_back(
            {w, std::min(cacheLength, w + d->chunk - 1), {}});
      }
    }
    if (outputs != 1)
      return fail(ATTNC_ERROR_FORMAT,
                  step->entry->name + " has no logits output");
  }
  for (const ArgSpec &arg : d->prefill.entry->args) {
    if (arg.role != ArgSpec::Role::Input || arg.name.rfind("cache.", 0) != 0)
      continue;
    if (arg.shape.size() != 4 || arg.shape[1] < 0 || arg.shape[3] < 0 ||
        arg.name.rfind("cache.layers.", 0) != 0)
      return fail(ATTNC_ERROR_FORMAT,
                  "prefill's cache '" + arg.name + "' is not [B, K, L, hd]");
    std::string name = arg.name.substr(6);
    size_t set = 0;
    for (size_t k = 1; k < d->slotSets.size(); ++k)
      if (d->slotSets[k].window == arg.window)
        set = k;
    if (arg.window && !set)
      return fail(ATTNC_ERROR_FORMAT, "prefill's cache '" + arg.name +
                                          "' is a ring of window " +
                                          std::to_string(arg.window) +
                                          " without ring_positions");
    std::vector<int64_t> shape = {batch, arg.shape[1],
                                  d->slotSets[set].capacity, arg.shape[3]};
    size_t bytes = elements(shape) * attnc_dtype_size(arg.dtype);
    d->cacheNames.push_back(name);
    d->cacheShapes.push_back(shape);
    d->cacheBytes.push_back(bytes);
    d->cacheSet.push_back(set);
    if (artifact->cuda) {
      // On the device for the decoder's lifetime: the entry points write a
      // step's keys and values there, nothing of a cache is copied per step.
      std::string error;
      d->deviceCaches.push_back(
          attnc::rt::CudaBuffer::allocate(artifact->cuda, bytes, error));
      if (!d->deviceCaches.back())
        return fail(error.find("OUT_OF_MEMORY") != std::string::npos
                        ? ATTNC_ERROR_OUT_OF_MEMORY
                        : ATTNC_ERROR_STATE,
                    "attnc_decoder_create: KV cache '" + name + "': " + error);
    }
  }
  if (!artifact->cuda && !d->cacheBytes.empty()) {
    // One buffer on huge pages: the caches are read once per step, after
    // the weights have evicted them, and 4 KiB pages cost each head's slots
    // a TLB miss every 16 slots (decode attention 88-96 -> 77-87 us per
    // layer, llama-style at 2 threads on Zen 3). 64 bytes of slack after
    // the last cache, as each Aligned buffer has.
    size_t total = 0;
    for (size_t bytes : d->cacheBytes)
      total += (bytes + 63) / 64 * 64;
    d->cacheArena = attnc::rt::allocateHugePages(total + 64);
    if (!d->cacheArena)
      return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                  "cannot allocate the KV caches (" + std::to_string(total) +
                      " bytes)");
    auto *at = static_cast<char *>(d->cacheArena.get());
    std::memset(at, 0, total);
    for (size_t bytes : d->cacheBytes) {
      d->caches.push_back(at);
      at += (bytes + 63) / 64 * 64;
    }
  }
  for (const Step *step : {&d->prefill, &d->decode})
    for (const ArgSpec &arg : step->entry->args) {
      if (arg.role == ArgSpec::Role::Weight) {
        if (!artifact->weightIndex.count(arg.name))
          return fail(ATTNC_ERROR_FORMAT,
                      "unknown weight '" + arg.name + "'");
      } else if (arg.role == ArgSpec::Role::Input &&
                 arg.name.rfind("cache.", 0) == 0 &&
                 std::find(d->cacheNames.begin(), d->cacheNames.end(),
                           arg.name.substr(6)) == d->cacheNames.end()) {
        return fail(ATTNC_ERROR_FORMAT, step->entry->name +
                                            ": unexpected argument '" +
                                            arg.name + "'");
      }
    }
  if (options->cache_dtype && !d->cacheNames.empty()) {
    attnc_dtype want = ATTNC_DTYPE_F32, have = ATTNC_DTYPE_F32;
    std::string wanted = options->cache_dtype;
    const char *names[] = {"f32", "f16", "bf16"}; // attnc_dtype 0, 1, 2
    for (const ArgSpec &arg : d->prefill.entry->args)
      if (arg.name.rfind("cache.", 0) == 0)
        have = arg.dtype;
    if (!attnc::rt::parseDtype(wanted, want) || want > ATTNC_DTYPE_BF16)
      return fail(ATTNC_ERROR_ARGUMENT,
                  "attnc_decoder_create: cache dtype '" + wanted +
                      "' is not one of f32, bf16, f16");
    if (want != have)
      return fail(ATTNC_ERROR_ARGUMENT,
                  "attnc_decoder_create: the artifact's KV caches are " +
                      std::string(names[have]) + ", not " + wanted +
                      "; compile with `attnc compile --incremental "
                      "--cache-dtype " + wanted + "` for " + wanted +
                      " caches");
  }
  int64_t patch = 0;
  for (const auto &w : artifact->manifest.weights)
    if (w.name == "embed.patch.weight" && w.shape.size() == 4)
      patch = w.shape[3];
  for (const ArgSpec &arg : d->prefill.entry->args)
    if (arg.role == ArgSpec::Role::Input &&
        arg.name.rfind("image.", 0) == 0 && arg.shape.size() == 4 &&
        patch > 0)
      d->imageTokens = (arg.shape[1] / patch) * (arg.shape[2] / patch);
  for (const auto &w : artifact->manifest.weights)
    if (w.name == "embed.tokens" && !w.shape.empty())
      d->vocab = w.shape[0];
    else if (w.name == "embed.positions" && !w.shape.empty())
      d->positionsTable = w.shape[0];
  d->patternWindow = patternWindowOf(artifact);
  attnc_decoder_reset(d.get());
  *out = d.release();
  return ATTNC_OK;
}

attnc_status attnc_decoder_create(attnc_artifact *artifact, int64_t batch,
                                  int64_t cacheLength, attnc_decoder **out) {
  attnc_decoder_options options = {batch, cacheLength, 0, nullptr};
  return attnc_decoder_create_with_options(artifact, &options, out);
}

void attnc_decoder_free(attnc_decoder *decoder) { delete decoder; }

/// Weights bound (checked before anything is written).
static attnc_status checkWeights(attnc_decoder *d) {
  attnc_artifact *a = d->artifact;
  for (const ArgSpec &arg : d->prefill.entry->args)
    if (arg.role == ArgSpec::Role::Weight &&
        !a->weightData[a->weightIndex.at(arg.name)])
      return fail(ATTNC_ERROR_WEIGHTS,
                  "weight '" + arg.name + "' is not bound");
  return ATTNC_OK;
}

attnc_status attnc_decoder_prefill(attnc_decoder *d, const int32_t *tokens,
                                   int64_t rows, int64_t n,
                                   const int32_t *positions,
                                   attnc_tensor_view *logits) {
  if (!d)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_prefill: null decoder");
  if (attnc_status s = checkWeights(d))
    return s;
  return runCall(d, d->prefill, tokens, rows, n, positions, logits);
}

attnc_status attnc_decoder_prefill_masked(attnc_decoder *d,
                                          const int32_t *tokens, int64_t rows,
                                          int64_t n, const int32_t *positions,
                                          const uint8_t *mask,
                                          int64_t mask_columns,
                                          attnc_tensor_view *logits) {
  if (!d || !mask)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_prefill_masked: null decoder or mask");
  if (attnc_status s = checkWeights(d))
    return s;
  return runCall(d, d->prefill, tokens, rows, n, positions, logits, nullptr,
                 mask, mask_columns);
}

attnc_status attnc_decoder_prefill_image(attnc_decoder *d, const void *image,
                                         const int32_t *tokens, int64_t rows,
                                         int64_t n, const int32_t *positions,
                                         attnc_tensor_view *logits) {
  if (!d || !image)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_prefill_image: null decoder or image");
  if (attnc_status s = checkWeights(d))
    return s;
  return runCall(d, d->prefill, tokens, rows, n, positions, logits, image);
}

attnc_status attnc_decoder_prefill_image_masked(
    attnc_decoder *d, const void *image, const int32_t *tokens, int64_t rows,
    int64_t n, const int32_t *positions, const uint8_t *mask,
    int64_t mask_columns, attnc_tensor_view *logits) {
  if (!d || !image || !mask)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_prefill_image_masked: "
                                      "null decoder, image or mask");
  if (attnc_status s = checkWeights(d))
    return s;
  return runCall(d, d->prefill, tokens, rows, n, positions, logits, image,
                 mask, mask_columns);
}

static attnc_status decodeStep(attnc_decoder *d, const int32_t *tokens,
                               int64_t rows, const int32_t *positions,
                               const uint8_t *mask, int64_t maskColumns,
                               attnc_tensor_view *logits) {
  if (attnc_status s = checkWeights(d))
    return s;
  if (d->end == d->memory)
    return fail(ATTNC_ERROR_STATE,
                "decode before prefill: the cache is empty; prefill the "
                "prompt first");
  return runCall(d, d->decode, tokens, rows, 1, positions, logits, nullptr,
                 mask, maskColumns);
}

attnc_status attnc_decoder_decode(attnc_decoder *d, const int32_t *tokens,
                                  int64_t rows, const int32_t *positions,
                                  attnc_tensor_view *logits) {
  if (!d)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_decode: null decoder");
  return decodeStep(d, tokens, rows, positions, nullptr, 0, logits);
}

attnc_status attnc_decoder_decode_masked(attnc_decoder *d,
                                         const int32_t *tokens, int64_t rows,
                                         const int32_t *positions,
                                         const uint8_t *mask,
                                         int64_t mask_columns,
                                         attnc_tensor_view *logits) {
  if (!d || !mask)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_decode_masked: null decoder or mask");
  return decodeStep(d, tokens, rows, positions, mask, mask_columns, logits);
}

attnc_status attnc_decoder_set_cache_group(attnc_decoder *d, int64_t m,
                                           const void *const *kv) {
  if (!d || !kv)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_set_cache_group: null argument");
  if (!findArg(*d->prefill.entry, "cache_prefix", ArgSpec::Role::Input))
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_set_cache_group: the artifact's config has no "
                "cache group");
  if (d->end != 0)
    return fail(ATTNC_ERROR_STATE,
                "attnc_decoder_set_cache_group: the decoder has run steps; "
                "reset it first");
  if (m < 1 || m >= d->length)
    return fail(ATTNC_ERROR_SHAPE,
                "attnc_decoder_set_cache_group: " + std::to_string(m) +
                    " slots do not fit a cache of " +
                    std::to_string(d->length) +
                    " with room for the text");
  size_t layers = d->cacheNames.size() / 2;
  for (size_t i = 0; i < 2 * layers; ++i)
    if (!kv[i])
      return fail(ATTNC_ERROR_ARGUMENT,
                  "attnc_decoder_set_cache_group: null keys or values for "
                  "layer " + std::to_string(i / 2));
  for (size_t c = 0; c < d->cacheNames.size(); ++c) {
    // "layers.<i>.k" / ".v" -> kv[2 i] / kv[2 i + 1]. Models with a cache
    // group keep full-length caches (no rings).
    const std::string &name = d->cacheNames[c];
    size_t layer = std::stoul(name.substr(7));
    bool values = name.back() == 'v';
    const auto &shape = d->cacheShapes[c];
    size_t elem = d->cacheBytes[c] / elements(shape);
    size_t row = size_t(shape[3]) * elem;
    const char *src = static_cast<const char *>(kv[2 * layer + values]);
    for (int64_t bh = 0; bh < shape[0] * shape[1]; ++bh) {
      size_t to = size_t(bh * shape[2]) * row, bytes = size_t(m) * row;
      const char *from = src + size_t(bh * m) * row;
      std::string error;
      if (d->deviceCaches.empty())
        std::memcpy(static_cast<char *>(d->caches[c]) + to, from, bytes);
      else if (!d->deviceCaches[c]->upload(to, from, bytes, error))
        return fail(ATTNC_ERROR_STATE,
                    "attnc_decoder_set_cache_group: " + error);
    }
  }
  SlotSet &full = d->slotSets[0];
  for (int64_t r = 0; r < d->batch; ++r)
    for (int64_t s = 0; s < m; ++s)
      full.positions[size_t(r * d->length + s)] = 0;
  d->end = d->memory = m;
  return ATTNC_OK;
}

int64_t attnc_decoder_end_index(const attnc_decoder *d) {
  return d ? d->end : 0;
}

int64_t attnc_decoder_cache_bytes(const attnc_decoder *d) {
  int64_t bytes = 0;
  for (size_t c = 0; d && c < d->cacheBytes.size(); ++c)
    bytes += int64_t(d->cacheBytes[c]);
  return bytes;
}

int64_t attnc_decoder_capacity(const attnc_decoder *d, int64_t layer) {
  if (!d || layer < 0 || size_t(2 * layer) >= d->cacheSet.size())
    return 0;
  return d->slotSets[d->cacheSet[size_t(2 * layer)]].capacity;
}

void attnc_decoder_reset(attnc_decoder *d) {
  if (!d)
    return;
  d->end = 0;
  d->memory = 0;
  d->failed = false;
  for (SlotSet &set : d->slotSets)
    set.positions.assign(size_t(d->batch * set.capacity), -1);
  d->lastPosition.assign(size_t(d->batch), -1);
  d->paddedAfterStart.assign(size_t(d->batch), false);
}

} // extern "C"
