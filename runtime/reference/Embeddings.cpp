//===- Embeddings.cpp - The input sequence: layout, checks, embeddings ----===//

#include "Internal.h"

#include <algorithm>
#include <cmath>

namespace attnc::reference::detail {

namespace {

[[noreturn]] void fail(const std::string &message) {
  throw ReferenceError(message);
}

std::string str(int64_t v) { return std::to_string(v); }

/// Every key of an input map must name a group with that input.
template <typename Map>
void checkKeys(const ModelConfig &config, const Map &map, TokenInput input,
               const char *what) {
  for (const auto &entry : map) {
    const TokenSpec *t = config.findTokens(entry.first);
    if (!t)
      fail(std::string(what) + " given for '" + entry.first +
           "', which is not a token group of the config");
    if (t->input != input)
      fail(std::string(what) + " given for token group '" + entry.first +
           "', whose input is '" + toString(t->input) + "'; expected '" +
           toString(input) + "'");
  }
}

int64_t groupLength(const ModelConfig &config, const TokenSpec &t,
                    const ReferenceInputs &in) {
  const int64_t d = config.attention.hiddenDim;
  auto checkSize = [&](int64_t given, const char *unit) {
    if (t.size && given != *t.size)
      fail("token group '" + t.name + "' has size " + str(*t.size) + " but " +
           str(given) + " " + unit + " were given");
    return given;
  };
  switch (t.input) {
  case TokenInput::Tokens: {
    auto it = in.tokens.find(t.name);
    if (it == in.tokens.end())
      fail("token group '" + t.name + "' needs token ids");
    int64_t vocab = config.vocabSize.value_or(0);
    for (size_t i = 0; i < it->second.size(); ++i)
      if (it->second[i] < 0 || it->second[i] >= vocab)
        fail("token id " + str(it->second[i]) + " (index " + str(int64_t(i)) +
             " of group '" + t.name + "') is out of range; expected 0 <= id < " +
             "vocab_size " + str(vocab));
    return checkSize(int64_t(it->second.size()), "token ids");
  }
  case TokenInput::Image: {
    auto it = in.images.find(t.name);
    if (it == in.images.end())
      fail("image token group '" + t.name + "' needs an image");
    const PatchEmbeddingConfig &pe = *config.patchEmbedding;
    const Image &img = it->second;
    if (img.height != pe.imageHeight || img.width != pe.imageWidth ||
        img.channels != pe.channels ||
        int64_t(img.pixels.size()) != img.height * img.width * img.channels)
      fail("the image for group '" + t.name + "' is [" + str(img.height) +
           ", " + str(img.width) + ", " + str(img.channels) +
           "] (HWC); expected [" + str(pe.imageHeight) + ", " +
           str(pe.imageWidth) + ", " + str(pe.channels) + "]");
    return pe.numPatches();
  }
  case TokenInput::Learned:
    return t.size.value_or(0);
  case TokenInput::Embeddings: {
    auto it = in.embeddings.find(t.name);
    if (it == in.embeddings.end())
      fail("token group '" + t.name + "' needs embeddings [n, " + str(d) + "]");
    if (it->second.cols != d)
      fail("the embeddings for group '" + t.name + "' have width " +
           str(it->second.cols) + "; expected hidden_dim " + str(d));
    return checkSize(it->second.rows, "embedding rows");
  }
  case TokenInput::Cache:
    break;
  }
  return 0;
}

void checkCache(const ModelConfig &config, const TokenSpec &t,
                const ReferenceInputs &in) {
  auto it = in.cache.find(t.name);
  if (it == in.cache.end())
    fail("cache group '" + t.name + "' needs keys and values (one K and V " +
         "per layer)");
  const std::vector<LayerKV> &layers = it->second;
  int64_t width = config.attention.numKvHeads * config.attention.headDim;
  if (int64_t(layers.size()) != config.numLayers)
    fail("cache group '" + t.name + "' has keys/values for " +
         str(int64_t(layers.size())) + " layers; expected " +
         str(config.numLayers));
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerKV &kv = layers[l];
    if (kv.k.cols != width || kv.v.cols != width ||
        kv.k.rows != layers[0].k.rows || kv.v.rows != kv.k.rows)
      fail("cache group '" + t.name + "' layer " + str(int64_t(l)) +
           ": K is [" + str(kv.k.rows) + ", " + str(kv.k.cols) + "] and V [" +
           str(kv.v.rows) + ", " + str(kv.v.cols) + "]; expected both [" +
           str(layers[0].k.rows) + ", " + str(width) + "] (num_kv_heads x " +
           "head_dim)");
  }
}

void checkTokenTypes(const ModelConfig &config, const ReferenceInputs &in,
                     int64_t length) {
  if (in.tokenTypes.empty())
    return;
  if (int64_t(in.tokenTypes.size()) != length)
    fail(str(int64_t(in.tokenTypes.size())) + " token types given for " +
         str(length) + " input tokens; expected one per token");
  int64_t types = std::max<int64_t>(config.embedding.tokenTypes, 1);
  for (int64_t type : in.tokenTypes)
    if (type < 0 || type >= types)
      fail("token type " + str(type) + " is out of range; expected 0 <= " +
           "type < " + str(types));
}

} // namespace

Sequence layoutSequence(const ModelConfig &config,
                        const ReferenceInputs &in) {
  checkKeys(config, in.tokens, TokenInput::Tokens, "token ids");
  checkKeys(config, in.images, TokenInput::Image, "an image");
  checkKeys(config, in.embeddings, TokenInput::Embeddings, "embeddings");
  checkKeys(config, in.cache, TokenInput::Cache, "a cache");
  Sequence seq;
  for (const TokenSpec &t : config.tokens) {
    if (t.fromCache()) {
      checkCache(config, t, in);
      continue;
    }
    int64_t length = groupLength(config, t, in);
    seq.layout.push_back({t.name, seq.length, length});
    seq.groupOf.insert(seq.groupOf.end(), size_t(length),
                       seq.layout.size() - 1);
    seq.length += length;
  }
  if (seq.length == 0)
    fail("the input sequence is empty");
  if (config.maxSeqLen > 0 && seq.length > config.maxSeqLen)
    fail("the input has " + str(seq.length) + " tokens; max_seq_len is " +
         str(config.maxSeqLen));

  if (in.positions.empty()) {
    for (int64_t i = 0; i < seq.length; ++i)
      seq.positions.push_back(i);
  } else {
    if (int64_t(in.positions.size()) != seq.length)
      fail(str(int64_t(in.positions.size())) + " positions given for " +
           str(seq.length) + " input tokens; expected one per token");
    seq.positions = in.positions;
  }
  for (size_t i = 0; i < seq.positions.size(); ++i) {
    int64_t p = seq.positions[i];
    if (p < 0)
      fail("position " + str(p) + " (index " + str(int64_t(i)) +
           ") is negative");
    if (config.position.kind == PositionKind::Learned &&
        p >= config.position.size)
      fail("position " + str(p) + " (index " + str(int64_t(i)) +
           ") is past the learned position table (" +
           str(config.position.size) + " rows)");
  }
  checkTokenTypes(config, in, seq.length);
  return seq;
}

Sequence layoutStep(const ModelConfig &config, const ReferenceInputs &in,
                    bool includeLearned) {
  checkKeys(config, in.tokens, TokenInput::Tokens, "token ids");
  checkKeys(config, in.images, TokenInput::Image, "an image");
  checkKeys(config, in.embeddings, TokenInput::Embeddings, "embeddings");
  Sequence seq;
  for (const TokenSpec &t : config.tokens) {
    bool given = false;
    switch (t.input) {
    case TokenInput::Tokens:
      given = in.tokens.count(t.name);
      break;
    case TokenInput::Image:
      given = in.images.count(t.name);
      break;
    case TokenInput::Embeddings:
      given = in.embeddings.count(t.name);
      break;
    case TokenInput::Learned:
      given = includeLearned;
      break;
    case TokenInput::Cache:
      break;
    }
    if (!given)
      continue;
    int64_t length = groupLength(config, t, in);
    seq.layout.push_back({t.name, seq.length, length});
    seq.groupOf.insert(seq.groupOf.end(), size_t(length),
                       seq.layout.size() - 1);
    seq.length += length;
  }
  if (seq.length == 0)
    fail("the step has no input tokens");
  checkTokenTypes(config, in, seq.length);
  return seq;
}

Matrix embed(const ModelConfig &config, const Weights &weights,
             const ReferenceInputs &in, const Sequence &seq) {
  const int64_t d = config.attention.hiddenDim;
  Matrix x(seq.length, d);
  for (const GroupRange &g : seq.layout) {
    const TokenSpec &t = *config.findTokens(g.name);
    for (int64_t r = 0; r < g.length; ++r) {
      int64_t i = g.begin + r;
      float *xi = x.row(i);
      switch (t.input) {
      case TokenInput::Tokens: {
        const runtime::WeightTensor &table = weights.get("embed.tokens");
        int64_t id = in.tokens.at(g.name)[size_t(r)];
        double scale =
            config.embedding.scaleBySqrtDim ? std::sqrt(double(d)) : 1.0;
        for (int64_t k = 0; k < d; ++k)
          xi[k] = float(double(table.data[id * d + k]) * scale);
        if (config.embedding.tokenTypes > 0) {
          int64_t type = in.tokenTypes.empty() ? 0 : in.tokenTypes[size_t(i)];
          const float *row =
              weights.get("embed.token_types").data + type * d;
          for (int64_t k = 0; k < d; ++k)
            xi[k] += row[k];
        }
        break;
      }
      case TokenInput::Image: {
        // Patch r of the grid, row-major; its vector is [C, p, p].
        const PatchEmbeddingConfig &pe = *config.patchEmbedding;
        const Image &img = in.images.at(g.name);
        int64_t p = pe.patchSize, gw = pe.imageWidth / p;
        int64_t py = r / gw, px = r % gw, c = pe.channels;
        const runtime::WeightTensor &w = weights.get("embed.patch.weight");
        const runtime::WeightTensor *b = weights.find("embed.patch.bias");
        for (int64_t o = 0; o < d; ++o) {
          double acc = b ? double(b->data[o]) : 0.0;
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t ky = 0; ky < p; ++ky)
              for (int64_t kx = 0; kx < p; ++kx) {
                int64_t y = py * p + ky, xx = px * p + kx;
                double pixel = img.pixels[size_t((y * img.width + xx) * c + ch)];
                acc += pixel * w.data[((o * c + ch) * p + ky) * p + kx];
              }
          xi[o] = float(acc);
        }
        break;
      }
      case TokenInput::Learned: {
        const float *row = weights.get("embed.learned." + g.name).data + r * d;
        std::copy(row, row + d, xi);
        break;
      }
      case TokenInput::Embeddings: {
        const float *row = in.embeddings.at(g.name).row(r);
        std::copy(row, row + d, xi);
        break;
      }
      case TokenInput::Cache:
        break;
      }
    }
  }
  for (int64_t i = 0; i < seq.length; ++i) {
    int64_t pos = seq.positions[size_t(i)];
    float *xi = x.row(i);
    if (config.position.kind == PositionKind::Learned) {
      const float *row = weights.get("embed.positions").data + pos * d;
      for (int64_t k = 0; k < d; ++k)
        xi[k] += row[k];
    } else if (config.position.kind == PositionKind::Sinusoidal) {
      for (int64_t k = 0; k < d; ++k) {
        int64_t pairIndex = k / 2; // dims 2i and 2i + 1 share an angle
        double angle = double(pos) / std::pow(10000.0, double(2 * pairIndex) /
                                                           double(d));
        xi[k] = float(double(xi[k]) +
                      (k % 2 == 0 ? std::sin(angle) : std::cos(angle)));
      }
    }
  }
  if (config.embedding.norm)
    applyNorm(x, config, weights, "embed.norm");
  return x;
}

} // namespace attnc::reference::detail
