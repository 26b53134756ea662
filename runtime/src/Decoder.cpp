//===- Decoder.cpp - The C API: prefill / decode against a KV cache -------===//
//
// attnc_decoder runs the `prefill` and `decode` entry points of an artifact
// compiled with `attnc compile --incremental` (compiler/docs/entry-points.md,
// "prefill and decode"). It owns two sets of per-layer K/V caches: the
// current one goes in as `cache.layers.<i>.k/.v`, the entry point writes the
// updated caches (`layers.<i>.k/.v`) into the other, and the two swap after
// a successful step. Slot positions and the end index live here; the entry
// point gets `cache_positions` with this step's slots already filled, so
// that its masks compare positions (the reference session's semantics,
// runtime/include/attnc/Reference/Incremental.h). A config's cache group
// goes into the first slots (attnc_decoder_set_cache_group, passed as
// `cache_prefix`); a leading image group's pixels come with the session's
// one prefill (attnc_decoder_prefill_image), its patch tokens first.
//
//===----------------------------------------------------------------------===//

#include "ArtifactInternal.h"
#include "attnc/runtime.h"

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

struct attnc_decoder {
  attnc_artifact *artifact = nullptr;
  int64_t batch = 0, length = 0;
  Step prefill, decode;
  std::vector<std::string> cacheNames;  // "layers.<i>.k", in entry order
  std::vector<std::vector<int64_t>> cacheShapes;
  std::vector<size_t> cacheBytes;
  std::vector<Aligned> current, spare;  // per cache
  std::vector<int32_t> cachePositions;  // [batch, length]
  std::vector<int64_t> lastPosition;    // per row, -1: none yet
  int64_t end = 0;
  int64_t memory = 0;     // slots [0, memory) hold the cache group
  int64_t imageTokens = 0; // tokens of the image the prefill takes (0: none)
  int64_t vocab = -1;     // rows of embed.tokens (-1: unknown)
  int64_t positionsTable = -1; // rows of embed.positions (learned positions)
  Aligned logits;
  std::vector<int64_t> logitsShape;
  attnc_dtype logitsDtype = ATTNC_DTYPE_F32;
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

/// One step of n tokens per row through `step`.
/// `image` ([rows, H, W, C], prefill of an image artifact) adds the image's
/// tokens before the n text tokens of every row.
attnc_status runStep(attnc_decoder *d, const Step &step, const int32_t *tokens,
                     int64_t rows, int64_t nText, const int32_t *positions,
                     attnc_tensor_view *out, const void *image = nullptr) {
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
  for (int64_t i = 0; d->vocab > 0 && i < rows * nText; ++i)
    if (tokens[i] < 0 || tokens[i] >= d->vocab)
      return fail(ATTNC_ERROR_ARGUMENT,
                  std::string(what) + ": token id " +
                      std::to_string(tokens[i]) +
                      " is outside the vocabulary [0, " +
                      std::to_string(d->vocab) + ")");
  // Positions: given (checked) or each row's next ones.
  std::vector<int32_t> pos(size_t(rows * n));
  std::vector<int64_t> last = d->lastPosition;
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
      if (p >= 0)
        last[r] = p;
      pos[size_t(r * n + j)] = int32_t(p);
    }
  std::vector<int32_t> cachePos = d->cachePositions;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j)
      cachePos[size_t(r * d->length + d->end + j)] = pos[size_t(r * n + j)];
  int32_t endIndex = int32_t(d->end);
  int32_t prefix = int32_t(d->memory);

  // Arguments in manifest order.
  const auto &args = step.entry->args;
  std::vector<const void *> data(args.size());
  std::vector<std::vector<int64_t>> shapes(args.size());
  attnc_artifact *a = d->artifact;
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &arg = args[i];
    if (arg.role == ArgSpec::Role::Weight) {
      auto it = a->weightIndex.find(arg.name);
      if (it == a->weightIndex.end() || !a->weightData[it->second])
        return fail(ATTNC_ERROR_WEIGHTS,
                    "weight '" + arg.name + "' is not bound");
      data[i] = a->weightData[it->second];
      shapes[i] = arg.shape;
      continue;
    }
    bool input = arg.role == ArgSpec::Role::Input;
    if (input && arg.name.rfind("tokens.", 0) == 0) {
      data[i] = tokens;
      shapes[i] = {rows, nText};
    } else if (input && arg.name.rfind("image.", 0) == 0 &&
               arg.shape.size() == 4) {
      data[i] = image;
      shapes[i] = {rows, arg.shape[1], arg.shape[2], arg.shape[3]};
    } else if (input && arg.name == "positions") {
      data[i] = pos.data();
      shapes[i] = {rows, n};
    } else if (input && arg.name == "cache_positions") {
      data[i] = cachePos.data();
      shapes[i] = {rows, d->length};
    } else if (input && arg.name == "cache_prefix") {
      data[i] = &prefix;
      shapes[i] = {1};
    } else if (input && arg.name == "end_index") {
      data[i] = &endIndex;
      shapes[i] = {1};
    } else if (!input && arg.name == "logits") {
      shapes[i] = {rows, arg.shape.size() > 1 && arg.shape[1] >= 0
                             ? arg.shape[1]
                             : n,
                   arg.shape.back()};
      size_t bytes = elements(shapes[i]) * attnc_dtype_size(arg.dtype);
      if (d->logits.bytes != bytes && !d->logits.allocate(bytes))
        return fail(ATTNC_ERROR_OUT_OF_MEMORY, "cannot allocate the logits");
      data[i] = d->logits.data;
      d->logitsShape = shapes[i];
      d->logitsDtype = arg.dtype;
    } else {
      std::string name = input && arg.name.rfind("cache.", 0) == 0
                             ? arg.name.substr(6)
                             : arg.name;
      size_t c = 0;
      while (c < d->cacheNames.size() && d->cacheNames[c] != name)
        ++c;
      if (c == d->cacheNames.size())
        return fail(ATTNC_ERROR_FORMAT, std::string(what) +
                                            ": unexpected argument '" +
                                            arg.name + "'");
      data[i] = input ? d->current[c].data : d->spare[c].data;
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

  std::swap(d->current, d->spare);
  d->cachePositions = std::move(cachePos);
  d->lastPosition = std::move(last);
  d->end += n;
  out->data = d->logits.data;
  out->dtype = d->logitsDtype;
  out->rank = int32_t(d->logitsShape.size());
  out->shape = d->logitsShape.data();
  return ATTNC_OK;
}

} // namespace

extern "C" {

attnc_status attnc_decoder_create(attnc_artifact *artifact, int64_t batch,
                                  int64_t cacheLength, attnc_decoder **out) {
  if (!artifact || !out)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_create: null argument");
  *out = nullptr;
  if (batch < 1 || cacheLength < 1)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_create: batch and cache length must be >= 1");
  auto d = std::make_unique<attnc_decoder>();
  d->artifact = artifact;
  d->batch = batch;
  d->length = cacheLength;
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
  for (const ArgSpec &arg : d->prefill.entry->args) {
    if (arg.role != ArgSpec::Role::Input || arg.name.rfind("cache.", 0) != 0)
      continue;
    if (arg.shape.size() != 4 || arg.shape[1] < 0 || arg.shape[3] < 0 ||
        !findArg(*d->prefill.entry, arg.name.substr(6), ArgSpec::Role::Output))
      return fail(ATTNC_ERROR_FORMAT,
                  "prefill's cache '" + arg.name +
                      "' is not [B, K, L, hd] with a matching output");
    std::vector<int64_t> shape = {batch, arg.shape[1], cacheLength,
                                  arg.shape[3]};
    size_t bytes = elements(shape) * attnc_dtype_size(arg.dtype);
    d->cacheNames.push_back(arg.name.substr(6));
    d->cacheShapes.push_back(shape);
    d->cacheBytes.push_back(bytes);
    d->current.emplace_back();
    d->spare.emplace_back();
    if (!d->current.back().allocate(bytes) || !d->spare.back().allocate(bytes))
      return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                  "cannot allocate a KV cache of " + std::to_string(bytes) +
                      " bytes");
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
  attnc_decoder_reset(d.get());
  *out = d.release();
  return ATTNC_OK;
}

void attnc_decoder_free(attnc_decoder *decoder) { delete decoder; }

attnc_status attnc_decoder_prefill(attnc_decoder *d, const int32_t *tokens,
                                   int64_t rows, int64_t n,
                                   const int32_t *positions,
                                   attnc_tensor_view *logits) {
  if (!d)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_prefill: null decoder");
  return runStep(d, d->prefill, tokens, rows, n, positions, logits);
}

attnc_status attnc_decoder_prefill_image(attnc_decoder *d, const void *image,
                                         const int32_t *tokens, int64_t rows,
                                         int64_t n, const int32_t *positions,
                                         attnc_tensor_view *logits) {
  if (!d || !image)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_decoder_prefill_image: null decoder or image");
  return runStep(d, d->prefill, tokens, rows, n, positions, logits, image);
}

attnc_status attnc_decoder_decode(attnc_decoder *d, const int32_t *tokens,
                                  int64_t rows, const int32_t *positions,
                                  attnc_tensor_view *logits) {
  if (!d)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_decoder_decode: null decoder");
  if (d->end == d->memory)
    return fail(ATTNC_ERROR_STATE,
                "decode before prefill: the cache is empty; prefill the "
                "prompt first");
  return runStep(d, d->decode, tokens, rows, 1, positions, logits);
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
    // "layers.<i>.k" / ".v" -> kv[2 i] / kv[2 i + 1].
    const std::string &name = d->cacheNames[c];
    size_t layer = std::stoul(name.substr(7));
    bool values = name.back() == 'v';
    const auto &shape = d->cacheShapes[c];
    size_t elem = d->cacheBytes[c] / elements(shape);
    size_t row = size_t(shape[3]) * elem;
    const char *src = static_cast<const char *>(kv[2 * layer + values]);
    char *dst = static_cast<char *>(d->current[c].data);
    for (int64_t bh = 0; bh < shape[0] * shape[1]; ++bh)
      std::memcpy(dst + size_t(bh * shape[2]) * row,
                  src + size_t(bh * m) * row, size_t(m) * row);
  }
  for (int64_t r = 0; r < d->batch; ++r)
    for (int64_t s = 0; s < m; ++s)
      d->cachePositions[size_t(r * d->length + s)] = 0;
  d->end = d->memory = m;
  return ATTNC_OK;
}

int64_t attnc_decoder_end_index(const attnc_decoder *d) {
  return d ? d->end : 0;
}

void attnc_decoder_reset(attnc_decoder *d) {
  if (!d)
    return;
  d->end = 0;
  d->memory = 0;
  d->cachePositions.assign(size_t(d->batch * d->length), -1);
  d->lastPosition.assign(size_t(d->batch), -1);
}

} // extern "C"
