//===- DecoderInternal.h - What attnc_decoder holds -------------*- C++ -*-===//
//
// Shared by Decoder.cpp (the C API: create, the calls, cache groups) and
// DecoderStep.cpp (one call: checks, chunks, masks, the entry point).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_DECODERINTERNAL_H
#define ATTNC_RUNTIME_DECODERINTERNAL_H

#include "ArtifactInternal.h"
#include "CudaArtifact.h"
#include "attnc/runtime.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace attnc::rt {
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

/// The slots of one capacity: the full caches (window 0, capacity = the
/// cache length) or the rings of one window.
struct SlotSet {
  int64_t window = 0, capacity = 0;
  std::vector<int32_t> positions; // [batch, capacity], -1: empty
};

} // namespace attnc::rt

struct attnc_decoder {
  attnc_artifact *artifact = nullptr;
  int64_t batch = 0, length = 0, chunk = 0;
  attnc::rt::Step prefill, decode;
  std::vector<std::string> cacheNames;  // "layers.<i>.k", in entry order
  std::vector<std::vector<int64_t>> cacheShapes;
  std::vector<size_t> cacheBytes;
  std::vector<size_t> cacheSet;         // per cache: index into slotSets
  /// Per cache, updated in place: pieces of one zeroed buffer on huge pages
  /// (cacheArena), 64-byte aligned.
  std::vector<void *> caches;
  std::shared_ptr<void> cacheArena;
  /// A CUDA artifact's caches, on the device (`caches` stays empty).
  std::vector<std::unique_ptr<attnc::rt::CudaBuffer>> deviceCaches;
  /// A step failed on the device (its slot positions set, part of its keys
  /// and values perhaps written): every call is refused until
  /// attnc_decoder_reset.
  bool failed = false;
  std::vector<attnc::rt::SlotSet> slotSets;        // [0]: the full caches
  std::vector<int64_t> lastPosition;    // per row, -1: none yet
  std::vector<bool> paddedAfterStart;   // per row (rings: no more tokens)
  int64_t end = 0;
  int64_t memory = 0;     // slots [0, memory) hold the cache group
  int64_t imageTokens = 0; // tokens of the image the prefill takes (0: none)
  int64_t vocab = -1;     // rows of embed.tokens (-1: unknown)
  int64_t positionsTable = -1; // rows of embed.positions (learned positions)
  int64_t patternWindow = 0;   // > 0: the text pattern is sliding_window
  attnc::rt::Aligned logits;
  std::vector<int64_t> logitsShape;
  attnc_dtype logitsDtype = ATTNC_DTYPE_F32;
  bool rings() const { return slotSets.size() > 1; }
};

namespace attnc::rt {

/// Elements of a shape.
size_t elements(const std::vector<int64_t> &shape);

/// One call of n text tokens per row (plus the image's tokens): checks
/// everything, then runs it as steps of at most the prefill chunk when the
/// model has rings. `image` ([rows, H, W, C], prefill of an image
/// artifact) adds the image's tokens before the n text tokens of every row.
/// `mask`: the caller's attention_mask, [rows, N + n, maskColumns] 0/1.
attnc_status runCall(attnc_decoder *d, const Step &step, const int32_t *tokens,
                     int64_t rows, int64_t nText, const int32_t *positions,
                     attnc_tensor_view *out, const void *image = nullptr,
                     const uint8_t *mask = nullptr, int64_t maskColumns = 0);

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_DECODERINTERNAL_H
