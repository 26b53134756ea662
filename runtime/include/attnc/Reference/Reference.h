//===- Reference.h - The reference interpreter ------------------*- C++ -*-===//
//
// A plain, readable float32 implementation of what a config means: the
// numerical ground truth that compiled code is compared with, and that is
// itself compared with PyTorch on committed goldens (tests/e2e). No MLIR.
// Values are stored as float32; reductions (dot products, norm statistics,
// softmax sums) accumulate in double and are rounded once.
// "systems.md" below is shared/reference/systems.md.
//
// Sequence. The input groups (every group but `cache` ones) concatenated in
// `tokens` order; fixed groups have their size, dynamic ones the length
// given. n <= max_seq_len. Cache groups are not in the sequence: their keys
// and values come from ReferenceInputs::cache (noether size-None groups, 1.3).
// Positions default to 0..n-1 over the input sequence (a caller may give any
// non-negative positions, e.g. to continue after cached tokens).
//
// Embeddings, per input token:
//   tokens      embed.tokens[id] (x sqrt(hidden_dim) when scale_by_sqrt_dim,
//               gemma 5.2) + embed.token_types[type] when token_types > 0
//               (type defaults to 0; BERT)
//   image       patches in row-major order over the (H/p) x (W/p) grid;
//               pixels are HWC float32; a patch is flattened as [C, p, p] to
//               match the [d, C, p, p] convolution weight, then
//               embed.patch.weight . patch + embed.patch.bias
//   learned     the group's rows of embed.learned.<group>
//   embeddings  the caller's vectors
// then + embed.positions[pos] (learned) or + PE[pos] (sinusoidal, interleaved
// as attnax 3.2: PE[p,2i] = sin(p / 10000^(2i/d)), PE[p,2i+1] = cos(same)),
// for every input token; then embed.norm when embedding.norm.
//
// Blocks (Attn and MLP below; norms are the layer's):
//   pre_norm   h = x + PostAttnNorm?(Attn(AttnNorm(x)))
//              out = h + PostMlpNorm?(MLP(MlpNorm(h)))        (gemma 5.3)
//   post_norm  h = AttnNorm(x + PostAttnNorm?(Attn(x)))
//              out = MlpNorm(h + PostMlpNorm?(MLP(h)))         (BERT)
//   parallel   out = x + PostAttnNorm?(Attn(AttnNorm(x)))
//                    + PostMlpNorm?(MLP(MlpNorm(x)))           (GPT-NeoX, 2)
// Norms: LayerNorm (x - mean) / sqrt(var + eps) * w + b (biased variance);
// RMSNorm x / sqrt(mean(x^2) + eps) * w; zero-centred norms use (1 + w)
// (gemma, Megatron; systems.md 6).
//
// Attention, in the order of systems.md 6:
//   q, k, v projections (+ biases) -> qk_norm (RMSNorm over head_dim, eps
//   norm.eps, zero-centred like the other norms) -> RoPE when the layer uses
//   it: r = fraction x head_dim leading dims rotate, pair i has angle
//   (pos / scale_factor) / base^(2i / r) with the layer's base and scale;
//   split_half pairs dim i with i + r/2, interleaved pairs 2i with 2i + 1;
//   x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin
//   -> logits q.k x query_scale -> logit softcap cap tanh(x / cap)
//   -> mask -> ALiBi -> softmax over the visible keys -> . v -> o projection.
// GQA/MQA: query head h uses kv head h / (H / K) (systems.md 6).
// Mask, for a query at sequence index i in group G: it sees the key/value
// groups of the one pattern whose query_tokens hold G; an input key at
// sequence index j is visible under the pattern mask (full: always; causal:
// j <= i; sliding_window: 0 <= i - j < W) and, on a local layer of window
// W, when |i - j| < W (gemma LOCAL_SLIDING). Cache keys are always visible.
// A query that sees no key gets a zero attention output.
// ALiBi (position.kind alibi): head h's slope is the standard geometric one
// (2^(-8(h+1)/H) for H a power of two, interleaved for other H); the logit
// gets -slope (pos_i - pos_j) under causal/sliding masks and
// -slope |pos_i - pos_j| under full masks; cache keys get no bias.
// MLP: plain down(act(up x)); gated down(act(gate x) * up x); gelu is exact
// (erf), gelu_tanh the tanh approximation, relu, silu = x sigmoid(x).
//
// Output, after the final norm (when final_norm):
//   logits         x . head.weight^T (embed.tokens^T when tied), then the
//                  final softcap; [n, V]
//   hidden_states  [n, d]
//   classifier     pool (cls: the first input token; mean: the average over
//                  all input tokens) -> pooler tanh(W p + b) when
//                  output.pooler -> classifier; [num_classes]
//   hidden_states with output.pooler also returns the pooled vector.
// Every layer's K and V of the input tokens (after RoPE), [n, K x hd] each,
// are returned too, ready to be passed back as a cache group.
//
// Errors: runReference throws ReferenceError (never crashes) for inputs that
// do not fit the config (missing group, wrong size, token id out of range,
// too long, image of the wrong shape, bad positions) and for missing or
// mis-shaped weights; the message says which and what was expected.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_REFERENCE_REFERENCE_H
#define ATTNC_REFERENCE_REFERENCE_H

#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Schema/Config.h"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnc::reference {

/// A row-major float32 matrix.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), data(size_t(r * c), 0.f) {}
  float *row(int64_t i) { return data.data() + i * cols; }
  const float *row(int64_t i) const { return data.data() + i * cols; }
  float &at(int64_t i, int64_t j) { return data[size_t(i * cols + j)]; }
  float at(int64_t i, int64_t j) const { return data[size_t(i * cols + j)]; }
};

/// An image, HWC float32.
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<float> pixels;
};

/// One layer's keys and values, [n, num_kv_heads * head_dim] each.
struct LayerKV {
  Matrix k, v;
};

struct ReferenceInputs {
  /// Token ids per `tokens` group.
  std::map<std::string, std::vector<int64_t>> tokens;
  /// Pixels per `image` group.
  std::map<std::string, Image> images;
  /// Vectors [size, hidden_dim] per `embeddings` group.
  std::map<std::string, Matrix> embeddings;
  /// Keys/values per `cache` group, one entry per layer.
  std::map<std::string, std::vector<LayerKV>> cache;
  /// Token type per input position (empty: all 0).
  std::vector<int64_t> tokenTypes;
  /// Position per input position (empty: 0..n-1).
  std::vector<int64_t> positions;
};

/// Where an input group sits in the sequence.
struct GroupRange {
  std::string name;
  int64_t begin = 0, length = 0;
};

struct ReferenceOutputs {
  std::vector<GroupRange> layout; ///< input groups in sequence order
  Matrix logits;                  ///< [n, V] (output logits)
  Matrix hiddenStates;            ///< [n, d] (output hidden_states)
  std::vector<float> pooled;      ///< [d] (output.pooler)
  std::vector<float> classes;     ///< [num_classes] (output classifier)
  std::vector<LayerKV> kv;        ///< per layer, post-RoPE
};

class ReferenceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Runs `config` with `weights` (canonical names, float32) on `inputs`.
ReferenceOutputs runReference(const ModelConfig &config,
                              const runtime::WeightSet &weights,
                              const ReferenceInputs &inputs);

/// Checks `inputs` against `config` as runReference does (throws
/// ReferenceError saying what does not fit) and returns where each input
/// group sits in the sequence. For callers that compute the outputs another
/// way (a compiled artifact) and must not hand it inputs out of range.
std::vector<GroupRange> checkInputs(const ModelConfig &config,
                                    const ReferenceInputs &inputs);

/// The ALiBi slope of every head (exposed for tests).
std::vector<double> alibiSlopes(int64_t numHeads);

} // namespace attnc::reference

#endif // ATTNC_REFERENCE_REFERENCE_H
