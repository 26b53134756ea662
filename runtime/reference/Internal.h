//===- Internal.h - Pieces of the reference interpreter ---------*- C++ -*-===//
//
// Semantics are documented in attnc/Reference/Reference.h.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_REFERENCE_INTERNAL_H
#define ATTNC_REFERENCE_INTERNAL_H

#include "attnc/Reference/Reference.h"

#include <functional>

namespace attnc::reference::detail {

/// Checked access to the weights by canonical name.
class Weights {
public:
  explicit Weights(const runtime::WeightSet &set) : set_(set) {}
  /// The weight; throws ReferenceError when it is absent.
  const runtime::WeightTensor &get(const std::string &name) const;
  /// The weight or null.
  const runtime::WeightTensor *find(const std::string &name) const {
    return set_.find(name);
  }

private:
  const runtime::WeightSet &set_;
};

/// Throws ReferenceError listing every weight of weightTable(config) that
/// is missing or has another shape.
void checkWeights(const ModelConfig &config, const Weights &weights);

/// y = x . W^T (+ b); W is [out, in].
Matrix linear(const Matrix &x, const runtime::WeightTensor &w,
              const runtime::WeightTensor *bias);

/// Normalises each row of x in place with the model's norm `prefix`
/// (prefix.weight, prefix.bias for LayerNorm with bias).
void applyNorm(Matrix &x, const ModelConfig &config, const Weights &weights,
               const std::string &prefix);

/// RMSNorm of `n` values in place with scale w (1 + w when zeroCentered).
void rmsNorm(float *v, int64_t n, const float *w, double eps,
             bool zeroCentered);

/// The activation function of the MLP.
float activate(Activation act, float x);

/// Rotates the heads of m ([n, heads * headDim]) by RoPE at `positions`
/// with the layer's base and scale factor.
void applyRope(Matrix &m, int64_t heads, int64_t headDim,
               const std::vector<int64_t> &positions,
               const PositionConfig &position, const LayerSettings &layer);

/// The input sequence of a run, after the inputs were checked.
struct Sequence {
  std::vector<GroupRange> layout; ///< input groups in sequence order
  std::vector<int64_t> positions; ///< one per input token
  int64_t length = 0;
  /// Sequence index -> index into layout.
  std::vector<size_t> groupOf;
};

/// Lays out and checks the inputs (throws ReferenceError).
Sequence layoutSequence(const ModelConfig &config,
                        const ReferenceInputs &inputs);

/// The input groups of one incremental step (Incremental.h): those `inputs`
/// give ids, an image or vectors for, plus the learned groups when
/// `includeLearned`, in `tokens` order, checked as layoutSequence checks
/// them. Positions are left to the caller.
Sequence layoutStep(const ModelConfig &config, const ReferenceInputs &inputs,
                    bool includeLearned);

/// The embedded input sequence [n, d] (before the first block).
Matrix embed(const ModelConfig &config, const Weights &weights,
             const ReferenceInputs &inputs, const Sequence &seq);

/// Attention of layer `layer` on the (already normalised) x; fills kvOut
/// with this layer's post-RoPE keys and values of the input tokens.
Matrix attention(const ModelConfig &config, const Weights &weights,
                 int64_t layer, const Matrix &x, const Sequence &seq,
                 const ReferenceInputs &inputs, LayerKV &kvOut);

/// Layer `layer`'s q, k, v of x (projections, qk-norm, then RoPE at
/// `positions` when the layer uses it).
void projectQKV(const ModelConfig &config, const Weights &weights,
                int64_t layer, const Matrix &x,
                const std::vector<int64_t> &positions, Matrix &q, Matrix &k,
                Matrix &v);

/// A key a query may attend to: a row of some K/V, and its ALiBi distance
/// term per unit slope (0 for cache-group keys).
struct KeyRef {
  const float *k;
  const float *v;
  double bias;
};

/// One query row (all heads, before the o projection) over `keys`: scale,
/// softcap, ALiBi (`slopes` empty: none), softmax, . v. No key: zeros.
void attendQuery(const ModelConfig &config, const float *query,
                 const std::vector<KeyRef> &keys,
                 const std::vector<double> &slopes, float *out);

/// The attention branch of one block: normalised x in, attention out.
using AttentionFn = std::function<Matrix(const Matrix &)>;

/// One transformer block on x, in place, with `attend` as its attention.
void block(const ModelConfig &config, const Weights &weights, int64_t layer,
           Matrix &x, const AttentionFn &attend);

/// The final norm and the output head on the last hidden states x (every
/// row a token): logits, hidden states, pooled vector or classes into out.
void finishOutputs(const ModelConfig &config, const Weights &weights,
                   Matrix x, ReferenceOutputs &out);

} // namespace attnc::reference::detail

#endif // ATTNC_REFERENCE_INTERNAL_H
