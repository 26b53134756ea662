//===- DecoderStep.cpp - One prefill / decode call of attnc_decoder -------===//
//
// Checks a call (rows, tokens, positions, mask, room), splits it into steps
// of at most the prefill chunk on models with rings, and runs each step's
// entry point: the slot positions and, per capacity, the mask over the
// slots (the caller's attention_mask or the pattern's mask by position)
// are filled here; the entry point writes the step's keys and values into
// the caches in place.
//
//===----------------------------------------------------------------------===//

#include "DecoderInternal.h"

#include <algorithm>

using attnc::rt::ArgSpec;
using attnc::rt::SlotSet;
using attnc::rt::Step;
using attnc::rt::fail;

size_t attnc::rt::elements(const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  return n;
}

namespace {

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
/// prefix); empty and padding slots never, nor anything to a padding query.
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
        int64_t p = in.positions[size_t(b * n + j)];
        if (p < 0) {
          a = 0; // a padding query sees nothing
        } else if (s < 0) {
          a = 1; // the cache group
        } else if (q < 0) {
          a = 0;
        } else if (in.mask) {
          a = in.mask[size_t((b * in.callN + in.maskRow0 + j) * d->length +
                             s)] != 0;
        } else {
          if (s < d->imageTokens)
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
/// Fails only on a CUDA artifact (the device's error).
attnc_status runStep(attnc_decoder *d, const Step &step,
                     const StepInputs &in) {
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
  std::vector<bool> onDevice(args.size(), false); // a CUDA artifact's caches
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
      if (d->deviceCaches.empty()) {
        data[i] = d->caches[c];
      } else {
        data[i] = d->deviceCaches[c]->device();
        onDevice[i] = true;
      }
      shapes[i] = d->cacheShapes[c];
    }
  }
  // A CUDA artifact: the step's inputs go to the device, the logits come
  // back; the weights stay there from the first call, the caches always.
  std::unique_ptr<attnc::rt::CudaCall> cudaCall;
  std::string error;
  if (a->cuda) {
    cudaCall = attnc::rt::CudaCall::prepare(a->cuda, *step.entry, shapes,
                                            data, error, onDevice);
    if (!cudaCall) {
      // The slot positions above are already this step's.
      d->failed = true;
      return fail(ATTNC_ERROR_STATE, step.entry->name + ": " + error +
                                         " (the decoder needs "
                                         "attnc_decoder_reset)");
    }
  }
  std::vector<std::vector<int64_t>> descriptors(args.size());
  std::vector<void *> packed(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    packed[i] =
        attnc::rt::memrefDescriptor(descriptors[i], data[i], shapes[i]);
  }
  step.fn(packed.data());
  if (cudaCall)
    if (attnc_status st = cudaCall->finish(error); st != ATTNC_OK) {
      d->failed = true;
      return fail(st, step.entry->name + ": " + error +
                          " (the decoder needs attnc_decoder_reset)");
    }
  d->end = written;
  return ATTNC_OK;
}

} // namespace

/// One call of n text tokens per row (plus the image's tokens): checks
/// everything, then runs it as steps of at most the prefill chunk when the
/// model has rings. `image` ([rows, H, W, C], prefill of an image
/// artifact) adds the image's tokens before the n text tokens of every row.
/// `mask`: the caller's attention_mask, [rows, N + n, maskColumns] 0/1.
attnc_status attnc::rt::runCall(attnc_decoder *d, const Step &step,
                                const int32_t *tokens, int64_t rows,
                                int64_t nText, const int32_t *positions,
                                attnc_tensor_view *out, const void *image,
                                const uint8_t *mask, int64_t maskColumns) {
  const char *what = step.entry->name.c_str();
  if (!tokens || !out)
    return fail(ATTNC_ERROR_ARGUMENT,
                std::string("attnc_decoder_") + what + ": null argument");
  if (d->failed)
    return fail(ATTNC_ERROR_STATE,
                std::string(what) + ": an earlier step failed on the device "
                                    "and may have left part of its keys and "
                                    "values in the cache; call "
                                    "attnc_decoder_reset first");
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
    if (attnc_status s = runStep(d, step, in))
      return s;
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

