//===- Decoder.cpp - The C API: prefill / decode against a KV cache -------===//
//
// attnc_decoder runs the `prefill` and `decode` entry points of an artifact
// compiled with `attnc compile --incremental` (compiler/docs/entry-points.md,
// "prefill and decode"). It owns one buffer per layer for keys and one for
// values; the entry points write a step's keys and values into them in
// place (nothing else of a cache is copied). Global layers keep
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
// (attnc_decoder_prefill_image), its patch tokens first.
//
//===----------------------------------------------------------------------===//

#include "ArtifactInternal.h"
#include "attnc/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using attnc::rt::ArgSpec;
using attnc::rt::EntryFn;
using attnc::rt::EntrySpec;
using attnc::rt::fail;

namespace {

/// 64-byte aligned, zeroed storage.
struct Aligned {
  void *data = nullptr;
  size_t bytes = 0;
  Aligned() = default;
  Aligned(const Aligned &) = delete;
  Aligned(Aligned &&o) noexcept : data(o.data), bytes(o.bytes) {
    o.data = nullptr;
  }
  ~Aligned() { std::free(data); }
  bool allocate(size_t n) {
    std::free(data);
    data = std::aligned_alloc(64, ((n + 63) / 64) * 64 + 64);
    bytes = n;
    if (data)
      std::memset(data, 0, n);
    return data != nullptr;
  }
};

struct Step {
  const EntrySpec *entry = nullptr;
  EntryFn fn = nullptr;
};

} // namespace

/// The slots of one capacity: the full caches (window 0, capacity = the
/// cache length) or the rings of one window.
struct SlotSet {
  int64_t window = 0, capacity = 0;
  std::vector<int32_t> positions; // [batch, capacity], -1: empty
};

struct attnc_decoder {
  attnc_artifact *artifact = nullptr;
  int64_t batch = 0, length = 0, chunk = 0;
  Step prefill, decode;
  std::vector<std::string> cacheNames;  // "layers.<i>.k", in entry order
  std::vector<std::vector<int64_t>> cacheShapes;
  std::vector<size_t> cacheBytes;
  std::vector<size_t> cacheSet;         // per cache: index into slotSets
  std::vector<Aligned> caches;          // per cache, updated in place
  std::vector<SlotSet> slotSets;        // [0]: the full caches
  std::vector<int64_t> lastPosition;    // per row, -1: none yet
  std::vector<bool> paddedAfterStart;   // per row (rings: no more tokens)
  int64_t end = 0;
  int64_t memory = 0;     // slots [0, memory) hold the cache group
  int64_t imageTokens = 0; // tokens of the image the prefill takes (0: none)
  int64_t vocab = -1;     // rows of embed.tokens (-1: unknown)
  int64_t positionsTable = -1; // rows of embed.positions (learned positions)
  int64_t patternWindow = 0;   // > 0: the text pattern is sliding_window
  Aligned logits;
  std::vector<int64_t> logitsShape;
  attnc_dtype logitsDtype = ATTNC_DTYPE_F32;
  bool rings() const { return slotSets.size() > 1; }
};

namespace {

const ArgSpec *findArg(const EntrySpec &e, const std::string &name,
                       ArgSpec::Role role) {
  for (const ArgSpec &a : e.args)
    if (a.name == name && a.role == role)
      return &a;
  return nullptr;
}

size_t elements(const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  return n;
}

/// The token number (slot index in an unbounded cache) that slot r of a
/// capacity-R set holds once `written` tokens are in; -1: none yet.
int64_t tokenInSlot(int64_t r, int64_t R, int64_t written) {
  if (r >= written)
    return -1;
  return r + R * ((written - 1 - r) / R);
}

/// One step (a chunk of a call) as the entry point sees it.
struct StepInputs {
  std::vector<int32_t> tokens;    // [rows, nText]
  std::vector<int32_t> positions; // [rows, n]
  int64_t nText = 0, n = 0;
  const void *image = nullptr;
  const uint8_t *mask = nullptr;  // [rows, callN, length] (caller's)
  int64_t callN = 0, maskRow0 = 0; // this step's rows of the caller's mask
};

/// allowed[b, j, r] of slot set `set` for the step's queries, with the
/// step's tokens written (end already advanced by the step's n): the
/// caller's attention_mask (column = token number - memory), or the text
/// pattern's mask by position (causal: q <= p; sliding_window w:
/// 0 <= p - q < w; a leading image is visible to every valid query).
/// Cache-group slots are always allowed (the entry point's unmasked
/// prefix); empty slots never.
std::vector<uint8_t> allowedMask(const attnc_decoder *d, const SlotSet &set,
                                 const StepInputs &in, int64_t written) {
  int64_t R = set.capacity, n = in.n;
  std::vector<uint8_t> allowed(size_t(d->batch * n * R), 0);
  for (int64_t r = 0; r < R; ++r) {
    int64_t t = tokenInSlot(r, R, written);
    if (t < 0)
      continue;
    for (int64_t b = 0; b < d->batch; ++b) {
      int32_t q = set.positions[size_t(b * R + r)];
      for (int64_t j = 0; j < n; ++j) {
        uint8_t &a = allowed[size_t((b * n + j) * R + r)];
        int64_t s = t - d->memory;
        if (s < 0) {
          a = 1;
        } else if (in.mask) {
          a = in.mask[size_t((b * in.callN + in.maskRow0 + j) * d->length +
                             s)] != 0;
        } else {
          int64_t p = in.positions[size_t(b * n + j)];
          if (p < 0 || q < 0)
            a = 0;
          else if (s < d->imageTokens)
            a = 1;
          else if (d->patternWindow > 0)
            a = p - q >= 0 && p - q < d->patternWindow;
          else
            a = q <= p;
        }
      }
    }
  }
  return allowed;
}

/// Runs one step of in.n <= the room left tokens per row through `step`.
void runStep(attnc_decoder *d, const Step &step, const StepInputs &in) {
  int64_t rows = d->batch, n = in.n;
  int64_t written = d->end + n;
  for (SlotSet &set : d->slotSets)
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t j = 0; j < n; ++j)
        set.positions[size_t(b * set.capacity +
                             (d->end + j) % set.capacity)] =
            in.positions[size_t(b * n + j)];
  std::vector<std::vector<uint8_t>> masks;
  for (const SlotSet &set : d->slotSets)
    masks.push_back(allowedMask(d, set, in, written));
  int32_t endIndex = int32_t(d->end);
  int32_t prefix = int32_t(d->memory);

  // Arguments in manifest order.
  const auto &args = step.entry->args;
  std::vector<const void *> data(args.size());
  std::vector<std::vector<int64_t>> shapes(args.size());
  attnc_artifact *a = d->artifact;
  auto setOf = [&](const std::string &name, const char *prefixName) {
    // "<prefixName>.<W>" -> the slot set of window W.
    int64_t w = std::stoll(name.substr(std::strlen(prefixName) + 1));
    for (size_t k = 1; k < d->slotSets.size(); ++k)
      if (d->slotSets[k].window == w)
        return k;
    return size_t(0);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &arg = args[i];
    const std::string &name = arg.name;
    if (arg.role == ArgSpec::Role::Weight) {
      data[i] = a->weightData[a->weightIndex.at(name)];
      shapes[i] = arg.shape;
    } else if (arg.role == ArgSpec::Role::Output) {
      // The logits (the only output; checked at create).
      shapes[i] = {rows, arg.shape[1] >= 0 ? arg.shape[1] : n,
                   arg.shape.back()};
      data[i] = d->logits.data;
    } else if (name.rfind("tokens.", 0) == 0) {
      data[i] = in.tokens.data();
      shapes[i] = {rows, in.nText};
    } else if (name.rfind("image.", 0) == 0) {
      data[i] = in.image;
      shapes[i] = {rows, arg.shape[1], arg.shape[2], arg.shape[3]};
    } else if (name == "positions") {
      data[i] = in.positions.data();
      shapes[i] = {rows, n};
    } else if (name == "cache_positions" || name.rfind("ring_positions.", 0) == 0) {
      size_t k = name == "cache_positions" ? 0 : setOf(name, "ring_positions");
      data[i] = d->slotSets[k].positions.data();
      shapes[i] = {rows, d->slotSets[k].capacity};
    } else if (name == "cache_mask" || name.rfind("ring_mask.", 0) == 0) {
      size_t k = name == "cache_mask" ? 0 : setOf(name, "ring_mask");
      data[i] = masks[k].data();
      shapes[i] = {rows, n, d->slotSets[k].capacity};
    } else if (name == "cache_prefix") {
      data[i] = &prefix;
      shapes[i] = {1};
    } else if (name == "end_index") {
      data[i] = &endIndex;
      shapes[i] = {1};
    } else {
      // "cache.layers.<i>.k" (checked at create).
      size_t c = size_t(std::find(d->cacheNames.begin(), d->cacheNames.end(),
                                  name.substr(6)) -
                        d->cacheNames.begin());
      data[i] = d->caches[c].data;
      shapes[i] = d->cacheShapes[c];
    }
  }
  std::vector<std::vector<int64_t>> descriptors(args.size());
  std::vector<void *> packed(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const auto &shape = shapes[i];
    auto &desc = descriptors[i];
    desc.resize(3 + 2 * shape.size());
    desc[0] = desc[1] = int64_t(reinterpret_cast<intptr_t>(data[i]));
    desc[2] = 0;
    int64_t stride = 1;
    for (size_t k = shape.size(); k-- > 0;) {
      desc[3 + k] = shape[k];
      desc[3 + shape.size() + k] = stride;
      stride *= shape[k];
    }
    packed[i] = desc.data();
  }
  step.fn(packed.data());
  d->end = written;
}

/// One call of n text tokens per row (plus the image's tokens): checks
/// everything, then runs it as steps of at most the prefill chunk when the
/// model has rings. `image` ([rows, H, W, C], prefill of an image
/// artifact) adds the image's tokens before the n text tokens of every row.
/// `mask`: the caller's attention_mask, [rows, N + n, maskColumns] 0/1.
attnc_status runCall(attnc_decoder *d, const Step &step, const int32_t *tokens,
                     int64_t rows, int64_t nText, const int32_t *positions,
                     attnc_tensor_view *out, const void *image = nullptr,
                     const uint8_t *mask = nullptr, int64_t maskColumns = 0) {
  const char *what = step.entry->name.c_str();
  if (!tokens || !out)
    return fail(ATTNC_ERROR_ARGUMENT,
                std::string("attnc_decoder_") + what + ": null argument");
  bool wantsImage = &step == &d->prefill && d->imageTokens > 0;
  if (wantsImage != (image != nullptr))
    return fail(ATTNC_ERROR_ARGUMENT,
                std::string(what) +
                    (wantsImage ? ": the model's prefill takes an image: "
                                  "call attnc_decoder_prefill_image"
                                : ": the model takes no image"));
  if (image && d->end != 0)
    return fail(ATTNC_ERROR_STATE,
                std::string(what) + ": the image goes into an empty cache "
                                    "(one prefill per session; continue "
                                    "with decode, or reset)");
  int64_t n = nText + (image ? d->imageTokens : 0);
  if (rows != d->batch)
    return fail(ATTNC_ERROR_SHAPE, std::string(what) + ": got " +
                                       std::to_string(rows) +
                                       " rows; the decoder's batch is " +
                                       std::to_string(d->batch));
  if (nText < 1)
    return fail(ATTNC_ERROR_SHAPE, std::string(what) +
                                       ": expected at least one token per row");
  if (d->end + n > d->length)
    return fail(ATTNC_ERROR_STATE,
                std::string(what) + ": " + std::to_string(n) +
                    " more tokens would overflow the cache (" +
                    std::to_string(d->end) + " of " +
                    std::to_string(d->length) +
                    " slots used); nothing was written");
  if (mask && maskColumns != d->length)
    return fail(ATTNC_ERROR_SHAPE,
                std::string(what) + ": the attention mask has " +
                    std::to_string(maskColumns) +
                    " columns; expected the cache length, " +
                    std::to_string(d->length) + " (one per token of the session)");
  bool chunked = d->rings() && n > d->chunk;
  if (chunked && mask)
    return fail(ATTNC_ERROR_SHAPE,
                std::string(what) + ": a masked step of " + std::to_string(n) +
                    " tokens on a model with sliding-window rings takes at "
                    "most the prefill chunk, " + std::to_string(d->chunk) +
                    " tokens (its queries may see any token of the step); "
                    "split it or create the decoder with a larger "
                    "prefill_chunk");
  const ArgSpec *logitsArg = nullptr;
  for (const ArgSpec &arg : step.entry->args)
    if (arg.role == ArgSpec::Role::Output)
      logitsArg = &arg;
  bool perToken = logitsArg->shape[1] < 0;
  if (chunked && perToken)
    return fail(ATTNC_ERROR_SHAPE,
                std::string(what) + ": " + std::to_string(n) +
                    " tokens exceed the prefill chunk (" +
                    std::to_string(d->chunk) +
                    ") of an artifact that returns every token's logits");
  for (int64_t i = 0; d->vocab > 0 && i < rows * nText; ++i)
    if (tokens[i] < 0 || tokens[i] >= d->vocab)
      return fail(ATTNC_ERROR_ARGUMENT,
                  std::string(what) + ": token id " +
                      std::to_string(tokens[i]) +
                      " is outside the vocabulary [0, " +
                      std::to_string(d->vocab) + ")");
  for (int64_t i = 0; mask && i < rows * n * maskColumns; ++i)
    if (mask[i] > 1)
      return fail(ATTNC_ERROR_ARGUMENT,
                  std::string(what) + ": attention mask entry " +
                      std::to_string(i) + " is " + std::to_string(mask[i]) +
                      "; expected 0 or 1");
  // Positions: given (checked) or each row's next ones.
  std::vector<int32_t> pos(size_t(rows * n));
  std::vector<int64_t> last = d->lastPosition;
  std::vector<bool> padded = d->paddedAfterStart;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      int64_t p = positions ? positions[r * n + j] : last[r] + 1;
      if (p >= 0 && d->positionsTable > 0 && p >= d->positionsTable)
        return fail(ATTNC_ERROR_ARGUMENT,
                    std::string(what) + ": position " + std::to_string(p) +
                        " of row " + std::to_string(r) +
                        " is past the learned position table (" +
                        std::to_string(d->positionsTable) + " rows)");
      if (p < -1 || (p >= 0 && p <= last[r]) || p > INT32_MAX - 1)
        return fail(ATTNC_ERROR_ARGUMENT,
                    std::string(what) + ": position " + std::to_string(p) +
                        " of row " + std::to_string(r) +
                        (p < -1 ? " is below -1 (-1 marks padding)"
                                : " does not follow the row's last position " +
                                      std::to_string(last[r])));
      if (p == -1)
        padded[size_t(r)] = padded[size_t(r)] || last[r] >= 0;
      else if (padded[size_t(r)] && d->rings())
        return fail(ATTNC_ERROR_ARGUMENT,
                    std::string(what) + ": row " + std::to_string(r) +
                        " was padded after its first token; with "
                        "sliding-window layers (ring buffers) a row must "
                        "stay contiguous: pad only before its first token");
      if (p >= 0)
        last[r] = p;
      pos[size_t(r * n + j)] = int32_t(p);
    }
  size_t logitsBytes = size_t(rows) *
                       size_t(perToken ? n : logitsArg->shape[1]) *
                       size_t(logitsArg->shape.back()) *
                       attnc_dtype_size(logitsArg->dtype);
  if (d->logits.bytes != logitsBytes && !d->logits.allocate(logitsBytes))
    return fail(ATTNC_ERROR_OUT_OF_MEMORY, "cannot allocate the logits");

  // Steps of at most the chunk (rings) or the whole call.
  int64_t step0 = chunked ? d->chunk : n;
  for (int64_t j0 = 0; j0 < n; j0 += step0) {
    StepInputs in;
    in.n = std::min(step0, n - j0);
    in.image = j0 == 0 ? image : nullptr;
    int64_t textFrom = j0 - (image ? d->imageTokens : 0);
    in.nText = in.n - (in.image ? d->imageTokens : 0);
    in.tokens.resize(size_t(rows * in.nText));
    in.positions.resize(size_t(rows * in.n));
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(tokens + r * nText + std::max<int64_t>(textFrom, 0),
                  in.nText, in.tokens.begin() + r * in.nText);
      std::copy_n(pos.begin() + r * n + j0, in.n,
                  in.positions.begin() + r * in.n);
    }
    in.mask = mask;
    in.callN = n;
    in.maskRow0 = j0;
    runStep(d, step, in);
  }
  d->lastPosition = std::move(last);
  d->paddedAfterStart = std::move(padded);
  d->logitsShape = {rows, perToken ? n : logitsArg->shape[1],
                    logitsArg->shape.back()};
  d->logitsDtype = logitsArg->dtype;
  out->data = d->logits.data;
  out->dtype = d->logitsDtype;
  out->rank = int32_t(d->logitsShape.size());
  out->shape = d->logitsShape.data();
  return ATTNC_OK;
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
    d->caches.emplace_back();
    if (!d->caches.back().allocate(bytes))
      return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                  "cannot allocate a KV cache of " + std::to_string(bytes) +
                      " bytes");
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
  attnc_decoder_options options = {batch, cacheLength, 0};
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
    char *dst = static_cast<char *>(d->caches[c].data);
    for (int64_t bh = 0; bh < shape[0] * shape[1]; ++bh)
      std::memcpy(dst + size_t(bh * shape[2]) * row,
                  src + size_t(bh * m) * row, size_t(m) * row);
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
  for (SlotSet &set : d->slotSets)
    set.positions.assign(size_t(d->batch * set.capacity), -1);
  d->lastPosition.assign(size_t(d->batch), -1);
  d->paddedAfterStart.assign(size_t(d->batch), false);
}

} // extern "C"
