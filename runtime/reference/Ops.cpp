//===- Ops.cpp - Linear layers, norms, activations, RoPE ------------------===//

#include "Internal.h"

#include "attnc/Schema/Weights.h"

#include <cmath>

namespace attnc::reference::detail {

namespace {

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

const runtime::WeightTensor &Weights::get(const std::string &name) const {
  const runtime::WeightTensor *t = set_.find(name);
  if (!t)
    throw ReferenceError("missing weight '" + name + "'");
  return *t;
}

void checkWeights(const ModelConfig &config, const Weights &weights) {
  std::string problems;
  int count = 0;
  for (const WeightSpec &spec : weightTable(config)) {
    const runtime::WeightTensor *t = weights.find(spec.name);
    if (!t)
      problems += "\n  missing weight '" + spec.name + "' " +
                  shapeString(spec.shape);
    else if (t->shape != spec.shape || !t->data)
      problems += "\n  weight '" + spec.name + "' has shape " +
                  shapeString(t->shape) + "; expected " +
                  shapeString(spec.shape);
    else
      continue;
    ++count;
  }
  if (count)
    throw ReferenceError(std::to_string(count) +
                         (count == 1 ? " weight does" : " weights do") +
                         " not fit the config:" + problems);
}

Matrix linear(const Matrix &x, const runtime::WeightTensor &w,
              const runtime::WeightTensor *bias) {
  int64_t out = w.shape[0], in = w.shape[1];
  Matrix y(x.rows, out);
  for (int64_t i = 0; i < x.rows; ++i) {
    const float *xi = x.row(i);
    for (int64_t o = 0; o < out; ++o) {
      const float *wo = w.data + o * in;
      double acc = bias ? double(bias->data[o]) : 0.0;
      for (int64_t k = 0; k < in; ++k)
        acc += double(xi[k]) * double(wo[k]);
      y.at(i, o) = float(acc);
    }
  }
  return y;
}

void rmsNorm(float *v, int64_t n, const float *w, double eps,
             bool zeroCentered) {
  double sumSq = 0;
  for (int64_t k = 0; k < n; ++k)
    sumSq += double(v[k]) * double(v[k]);
  double inv = 1.0 / std::sqrt(sumSq / double(n) + eps);
  for (int64_t k = 0; k < n; ++k) {
    double scale = zeroCentered ? 1.0 + double(w[k]) : double(w[k]);
    v[k] = float(double(v[k]) * inv * scale);
  }
}

void applyNorm(Matrix &x, const ModelConfig &config, const Weights &weights,
               const std::string &prefix) {
  const NormConfig &norm = config.norm;
  const float *w = weights.get(prefix + ".weight").data;
  if (norm.kind == NormKind::Rms) {
    for (int64_t i = 0; i < x.rows; ++i)
      rmsNorm(x.row(i), x.cols, w, norm.eps, norm.zeroCentered);
    return;
  }
  const float *b =
      norm.bias ? weights.get(prefix + ".bias").data : nullptr;
  for (int64_t i = 0; i < x.rows; ++i) {
    float *v = x.row(i);
    double mean = 0;
    for (int64_t k = 0; k < x.cols; ++k)
      mean += v[k];
    mean /= double(x.cols);
    double var = 0;
    for (int64_t k = 0; k < x.cols; ++k)
      var += (v[k] - mean) * (v[k] - mean);
    var /= double(x.cols);
    double inv = 1.0 / std::sqrt(var + norm.eps);
    for (int64_t k = 0; k < x.cols; ++k) {
      double scale = norm.zeroCentered ? 1.0 + double(w[k]) : double(w[k]);
      v[k] = float((v[k] - mean) * inv * scale + (b ? double(b[k]) : 0.0));
    }
  }
}

float activate(Activation act, float xf) {
  double x = xf;
  switch (act) {
  case Activation::Gelu:
    return float(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
  case Activation::GeluTanh: {
    const double c = std::sqrt(2.0 / 3.14159265358979323846);
    return float(0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))));
  }
  case Activation::Relu:
    return float(x > 0 ? x : 0.0);
  case Activation::Silu:
    return float(x / (1.0 + std::exp(-x)));
  }
  return xf;
}

void applyRope(Matrix &m, int64_t heads, int64_t headDim,
               const std::vector<int64_t> &positions,
               const PositionConfig &position, const LayerSettings &layer) {
  int64_t r = std::llround(position.ropeFraction * double(headDim));
  if (r < 2)
    return;
  int64_t pairs = r / 2;
  for (int64_t i = 0; i < m.rows; ++i) {
    double pos = double(positions[size_t(i)]) / layer.ropeScaleFactor;
    for (int64_t h = 0; h < heads; ++h) {
      float *v = m.row(i) + h * headDim;
      for (int64_t p = 0; p < pairs; ++p) {
        double angle =
            pos / std::pow(layer.ropeBase, double(2 * p) / double(r));
        double c = std::cos(angle), s = std::sin(angle);
        int64_t a = position.ropeStyle == RopeStyle::SplitHalf ? p : 2 * p;
        int64_t b = position.ropeStyle == RopeStyle::SplitHalf ? p + pairs
                                                                : 2 * p + 1;
        double x1 = v[a], x2 = v[b];
        v[a] = float(x1 * c - x2 * s);
        v[b] = float(x2 * c + x1 * s);
      }
    }
  }
}

} // namespace attnc::reference::detail
