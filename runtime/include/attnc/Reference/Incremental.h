//===- Incremental.h - KV-cached prefill and decode in the reference -*- C++ -*-===//
//
// The reference interpreter run incrementally: a session owns a KV cache
// (gemma init_cache(batch_size, dtype, cache_length), systems.md 5.1) and
// runs steps of new tokens against it. It is the oracle for the compiled
// prefill/decode entry points: a step computes, for its new tokens, exactly
// what runReference computes for them over the whole sequence so far (the
// same math, in the same float32/double arithmetic).
//
// Cache layout and policy. Per layer and per sequence (row) of the batch, a
// ring of `capacity` slots holding post-RoPE keys and values
// ([num_kv_heads x head_dim] each, systems.md 6), the position of the token
// in the slot (-1: empty or padding, penzai 2.3) and its token group.
// Global layers have capacity = cache length; local layers (a `window` W)
// keep only min(W, cache length) slots, a ring buffer as in gemma 5.3:
// token number s of the session goes to slot s mod capacity. Slots are
// written at one end index shared by the batch (penzai's cache_end_index,
// gemma's end_index[0]); a step of n tokens writes n slots per row and
// fails when end + n would exceed the cache length (nothing is written).
//
// A step (prefill: n >= 1 tokens per row; decode: one token per row of the
// decode group) gives per row the inputs of some input groups, in `tokens`
// order (ReferenceInputs; learned groups join the first step). Each row has
// the same groups and lengths; a group of fixed size comes whole and once.
// Positions default to the row's next position + 0, 1, ... (the next
// position is 1 + the row's last valid position, 0 at first). Explicit
// positions override them (gemma semantics): one per step token, >= -1,
// -1 marking a padding token that is never attended to and whose output is
// meaningless (its query sees nothing: a zero attention output); the valid
// positions of a row must increase strictly over the session. Rows of
// different lengths are padded with -1 at their start (left padding). With
// ring-buffer layers a row must stay contiguous: once padded after its first
// token (a finished row), it takes no further valid tokens.
//
// Masks compare positions (penzai/gemma), which equals the sequence indices
// runReference compares when positions are the defaults: a query at
// position p of group G uses the one pattern whose query_tokens hold G and
// sees the keys of its key_value_tokens that are written (in the cache or
// in this step) with position q >= 0 and: full: always; causal: q <= p;
// sliding_window W: 0 <= p - q < W; and on a local layer of window W,
// |p - q| < W. Cache groups (size null) are always visible: their keys and
// values are per row and per layer (setCacheGroup, or ReferenceInputs::cache
// on a step), e.g. the `kv` an earlier step returned. ALiBi uses positions.
//
// An explicit attention mask (StepOptions::attentionMask, gemma semantics)
// replaces the patterns' masks for one step; the layer windows still apply.
//
// Errors throw ReferenceError and leave the session unchanged: rows other
// than the batch size, decode before any prefill, cache overflow, positions
// out of range (< -1, not increasing, past a learned table), a missing cache
// group, an attention mask of the wrong shape, inputs runReference would
// reject.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_REFERENCE_INCREMENTAL_H
#define ATTNC_REFERENCE_INCREMENTAL_H

#include "attnc/Reference/Reference.h"
#include "attnc/Runtime/Sampler.h"

#include <memory>

namespace attnc::reference {

struct StepOptions {
  /// Only each row's last valid token (gemma return_last_only); the output
  /// head runs on that row only.
  bool lastOnly = false;
  /// Also return the step tokens' per-layer keys and values.
  bool returnKV = false;
  /// Explicit attention mask (gemma's attention_mask), empty: the defaults.
  /// Per row a row-major [n, cacheLength] matrix of 0/1 (nonzero = may
  /// attend): entry [j, s] lets the step's token j see the session's token
  /// number s (0 = the first token written after reset; this step's tokens
  /// are end() .. end() + n - 1). It replaces the patterns' masks (causal,
  /// sliding_window, and which groups a pattern lists): token j sees token s
  /// iff the entry is nonzero, s is written (s < end() + n) with a position
  /// >= 0, j's position is >= 0 and, on a local layer of window W,
  /// |p_j - p_s| < W (gemma applies the window on top). Cache groups listed
  /// by j's pattern stay visible. Columns >= end() + n are ignored.
  std::vector<std::vector<uint8_t>> attentionMask;
};

struct StepOutputs {
  std::vector<Matrix> logits;       ///< per row: [n or 1, V] (output logits)
  std::vector<Matrix> hiddenStates; ///< per row: [n or 1, d] (hidden_states)
  std::vector<std::vector<LayerKV>> kv; ///< per row, per layer (returnKV)
};

class ReferenceSession {
public:
  /// A zero cache for `batch` rows of `cacheLength` tokens. Throws for a
  /// config whose output is a classifier, batch or length < 1, or a length
  /// past max_seq_len.
  ReferenceSession(const ModelConfig &config, const runtime::WeightSet &weights,
                   int64_t batch, int64_t cacheLength);
  ~ReferenceSession();
  ReferenceSession(ReferenceSession &&) noexcept;

  /// n >= 1 new tokens per row, written into the cache at the end index.
  StepOutputs prefill(const std::vector<ReferenceInputs> &rows,
                      const StepOptions &options = {});
  /// One token per row of the decode group (the last `tokens` group);
  /// positions as in prefill (empty: the defaults). Fails before a prefill.
  StepOutputs decode(const std::vector<int64_t> &tokens,
                     const std::vector<int64_t> &positions = {},
                     const StepOptions &options = {});

  /// Keys/values of cache group `group` for `row`, one LayerKV per layer.
  void setCacheGroup(int64_t row, const std::string &group,
                     std::vector<LayerKV> kv);
  /// Empties the KV cache (cache groups stay).
  void reset();

  int64_t batch() const;
  int64_t cacheLength() const;
  /// Slots written so far (the shared end index).
  int64_t end() const;
  /// The position the next default token of `row` gets.
  int64_t nextPosition(int64_t row) const;
  /// Slots of `layer`: the cache length, or the window on local layers.
  int64_t capacity(int64_t layer) const;
  /// The decode group's name (throws when the config has no tokens group).
  const std::string &decodeGroup() const;

private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Prefills `prompt` (one ReferenceInputs per row), then decodes one token
/// per row at a time, sampling from the last logits of each row, until every
/// row met `stop`. Finished rows are fed padding (position -1). Returns the
/// new tokens of every row (a stop token included).
std::vector<std::vector<int64_t>>
generate(ReferenceSession &session, const std::vector<ReferenceInputs> &prompt,
         runtime::Sampler &sampler, const runtime::StopCriteria &stop);

} // namespace attnc::reference

#endif // ATTNC_REFERENCE_INCREMENTAL_H
