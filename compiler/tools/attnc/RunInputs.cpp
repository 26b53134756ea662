//===- RunInputs.cpp - Inputs and outputs of `attnc run` ------------------===//

#include "RunInputs.h"
#include "IntegerList.h"

#include "attnc/Runtime/Npy.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

namespace attnc::cli {

namespace {

using reference::ReferenceInputs;

/// Thrown inside this file; turned into (error, usage) by buildInputs.
struct InputError {
  std::string message;
  bool usage;
};

[[noreturn]] void usageError(const std::string &message) {
  throw InputError{message, true};
}
[[noreturn]] void fitError(const std::string &message) {
  throw InputError{message, false};
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// "1, 2,3 4" -> {1, 2, 3, 4}.
std::vector<int64_t> parseIntList(const std::string &text,
                                  const std::string &what) {
  std::vector<int64_t> out;
  for (const ListItem &item : splitIntegerList(text)) {
    if (!item.value)
      usageError(what + ": '" + item.text + "' is not an integer");
    out.push_back(*item.value);
  }
  return out;
}

/// Splits "GROUP=VALUE" when GROUP names a group with `input`; otherwise the
/// value goes to the one group with that input.
std::pair<std::string, std::string> splitGroup(const ModelConfig &config,
                                               const std::string &text,
                                               TokenInput input,
                                               const std::string &flag) {
  size_t eq = text.find('=');
  if (eq != std::string::npos) {
    std::string name = text.substr(0, eq);
    if (const TokenSpec *t = config.findTokens(name)) {
      if (t->input != input)
        fitError(flag + ": token group '" + name + "' has input '" +
                 toString(t->input) + "'; " + flag + " is for groups with " +
                 "input '" + toString(input) + "'");
      return {name, text.substr(eq + 1)};
    }
  }
  std::vector<std::string> names;
  for (const TokenSpec &t : config.tokens)
    if (t.input == input)
      names.push_back(t.name);
  if (names.empty())
    fitError(flag + ": the config has no token group with input '" +
             toString(input) + "'");
  if (names.size() > 1) {
    std::string list;
    for (const std::string &n : names)
      list += (list.empty() ? "" : ", ") + n;
    usageError(flag + ": several token groups have input '" +
               toString(input) + "' (" + list + "); write " + flag +
               " GROUP=...");
  }
  return {names[0], text};
}

runtime::NpyArray readArray(const std::string &path, const std::string &flag) {
  runtime::NpyArray array;
  std::string error;
  if (!runtime::readNpy(path, array, error))
    usageError(flag + ": " + error);
  return array;
}

std::vector<int64_t> readTokensFile(const std::string &path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    runtime::NpyArray array = readArray(path, "--tokens-file");
    if (array.shape.size() > 2 || (array.shape.size() == 2 && array.shape[0] != 1))
      fitError("--tokens-file: " + path + " holds " + array.describe() +
               "; expected one sequence of ids, [n] or [1, n]");
    std::vector<int64_t> ids;
    std::string error;
    if (!array.toInt64(ids, error))
      usageError("--tokens-file: " + path + ": " + error);
    return ids;
  }
  std::ifstream in(path);
  if (!in)
    usageError("--tokens-file: cannot open '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parseIntList(text.str(), "--tokens-file " + path);
}

void addTokens(ReferenceInputs &inputs, const std::string &group,
               std::vector<int64_t> ids, const std::string &flag) {
  if (inputs.tokens.count(group))
    usageError(flag + ": token ids for group '" + group + "' given twice");
  inputs.tokens[group] = std::move(ids);
}

void buildInputsOrThrow(const ModelConfig &config, const RunInputFlags &flags,
                        ReferenceInputs &inputs) {
  for (const std::string &f : flags.tokens) {
    auto [group, value] = splitGroup(config, f, TokenInput::Tokens, "--tokens");
    addTokens(inputs, group, parseIntList(value, "--tokens"), "--tokens");
  }
  for (const std::string &f : flags.tokensFiles) {
    auto [group, path] =
        splitGroup(config, f, TokenInput::Tokens, "--tokens-file");
    addTokens(inputs, group, readTokensFile(path), "--tokens-file");
  }
  for (const std::string &f : flags.images) {
    auto [group, path] = splitGroup(config, f, TokenInput::Image, "--image");
    runtime::NpyArray a = readArray(path, "--image");
    std::vector<int64_t> s = a.shape;
    if (s.size() == 4 && s[0] == 1)
      s.erase(s.begin());
    if (s.size() != 3)
      fitError("--image: " + path + " holds " + a.describe() +
               "; expected an image [H, W, C] (HWC)");
    reference::Image &img = inputs.images[group];
    img.height = s[0];
    img.width = s[1];
    img.channels = s[2];
    img.pixels = a.toFloat32();
  }
  int64_t d = config.attention.hiddenDim;
  for (const std::string &f : flags.embeddings) {
    auto [group, path] =
        splitGroup(config, f, TokenInput::Embeddings, "--embeddings");
    runtime::NpyArray a = readArray(path, "--embeddings");
    if (a.shape.size() != 2 || a.shape[1] != d)
      fitError("--embeddings: " + path + " holds " + a.describe() +
               "; expected [n, " + std::to_string(d) + "] (hidden_dim)");
    reference::Matrix &m = inputs.embeddings[group];
    m.rows = a.shape[0];
    m.cols = a.shape[1];
    m.data = a.toFloat32();
  }
  int64_t width = config.attention.numKvHeads * config.attention.headDim;
  for (const std::string &f : flags.caches) {
    auto [group, path] = splitGroup(config, f, TokenInput::Cache, "--cache");
    runtime::NpyArray a = readArray(path, "--cache");
    const std::vector<int64_t> &s = a.shape;
    if (s.size() != 4 || s[0] != config.numLayers || s[1] != 2 ||
        s[3] != width)
      fitError("--cache: " + path + " holds " + a.describe() +
               "; expected [num_layers " + std::to_string(config.numLayers) +
               ", 2 (K, V), m, " + std::to_string(width) +
               " (num_kv_heads x head_dim)]");
    std::vector<float> values = a.toFloat32();
    std::vector<reference::LayerKV> &layers = inputs.cache[group];
    size_t block = size_t(s[2] * width);
    for (int64_t l = 0; l < s[0]; ++l) {
      reference::LayerKV kv;
      kv.k = reference::Matrix(s[2], width);
      kv.v = reference::Matrix(s[2], width);
      auto from = values.begin() + long(size_t(2 * l) * block);
      std::copy(from, from + long(block), kv.k.data.begin());
      std::copy(from + long(block), from + long(2 * block), kv.v.data.begin());
      layers.push_back(std::move(kv));
    }
  }
  if (!flags.positions.empty())
    inputs.positions = parseIntList(flags.positions, "--positions");
  if (!flags.tokenTypes.empty())
    inputs.tokenTypes = parseIntList(flags.tokenTypes, "--token-types");

  // A missing input is the most common mistake: say which flag.
  std::string prefix;
  for (const TokenSpec &t : config.tokens) {
    prefix = config.tokens.size() > 1 ? t.name + "=" : std::string();
    if (t.input == TokenInput::Tokens && !inputs.tokens.count(t.name))
      usageError("token group '" + t.name + "' needs ids: pass --tokens " +
                 prefix + "1,2,3 or --tokens-file " + prefix + "FILE");
    if (t.input == TokenInput::Image && !inputs.images.count(t.name))
      usageError("token group '" + t.name + "' needs an image: pass --image " +
                 prefix + "image.npy ([H, W, C])");
    if (t.input == TokenInput::Embeddings && !inputs.embeddings.count(t.name))
      usageError("token group '" + t.name + "' needs vectors: pass " +
                 "--embeddings " + prefix + "vectors.npy ([n, " +
                 std::to_string(d) + "])");
    if (t.input == TokenInput::Cache && !inputs.cache.count(t.name))
      usageError("cache group '" + t.name + "' needs keys and values: pass " +
                 "--cache " + prefix + "kv.npy ([" +
                 std::to_string(config.numLayers) + ", 2, m, " +
                 std::to_string(width) + "])");
  }
}

/// Indices of the k largest values, largest first.
std::vector<size_t> topIndices(const float *v, size_t n, size_t k) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, n);
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                    [&](size_t a, size_t b) {
                      return v[a] > v[b] || (v[a] == v[b] && a < b);
                    });
  idx.resize(k);
  return idx;
}

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", double(v));
  return buf;
}

} // namespace

bool buildInputs(const ModelConfig &config, const RunInputFlags &flags,
                 ReferenceInputs &inputs, std::string &error, bool &usage) {
  try {
    buildInputsOrThrow(config, flags, inputs);
  } catch (const InputError &e) {
    error = e.message;
    usage = e.usage;
    return false;
  }
  return true;
}

void printOutputs(const ModelConfig &config, const RunOutputs &out,
                  int64_t topK, bool json) {
  // The row that matters most: the last token's (logits, hidden states), or
  // the whole vector (classifier).
  bool perToken = out.shape.size() == 2;
  int64_t rows = perToken ? out.shape[0] : 1;
  size_t width = size_t(perToken ? out.shape[1] : out.shape[0]);
  const float *last = out.values.data() + size_t(rows - 1) * width;
  bool ranked = out.kind != "hidden_states";
  std::vector<size_t> top =
      ranked ? topIndices(last, width, size_t(std::max<int64_t>(topK, 0)))
             : std::vector<size_t>();

  if (json) {
    nlohmann::ordered_json j;
    j["model"] = config.name;
    j["output"] = out.kind;
    j["shape"] = out.shape;
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (const reference::GroupRange &g : out.layout)
      groups.push_back({{"name", g.name}, {"begin", g.begin},
                        {"length", g.length}});
    j["groups"] = groups;
    if (ranked) {
      nlohmann::ordered_json t = nlohmann::ordered_json::array();
      for (size_t i : top)
        t.push_back({{"index", i}, {"value", last[i]}});
      j["top_k"] = t;
    }
    j[perToken ? "last" : "values"] = std::vector<float>(last, last + width);
    if (!out.pooled.empty())
      j["pooled"] = out.pooled;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << (config.name.empty() ? std::string("model") : config.name)
            << ": " << out.kind << " " << shapeString(out.shape) << " for";
  for (const reference::GroupRange &g : out.layout)
    std::cout << " " << g.name << "[" << g.begin << ".."
              << g.begin + g.length << ")";
  std::cout << "\n";
  if (ranked) {
    std::cout << (perToken ? "last token, top " : "top ") << top.size()
              << (out.kind == "logits" ? " ids:" : " classes:");
    for (size_t i : top)
      std::cout << " " << i << " (" << number(last[i]) << ")";
    std::cout << "\n";
  } else {
    std::cout << "last token:";
    for (size_t i = 0; i < std::min<size_t>(width, 8); ++i)
      std::cout << " " << number(last[i]);
    std::cout << (width > 8 ? " ...\n" : "\n");
  }
  if (!out.pooled.empty()) {
    std::cout << "pooled [" << out.pooled.size() << "]:";
    for (size_t i = 0; i < std::min<size_t>(out.pooled.size(), 8); ++i)
      std::cout << " " << number(out.pooled[i]);
    std::cout << (out.pooled.size() > 8 ? " ...\n" : "\n");
  }
}

} // namespace attnc::cli
