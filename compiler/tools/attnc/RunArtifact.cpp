//===- RunArtifact.cpp - `attnc run MODEL.attnc` --------------------------===//
//
// Opens a compiled artifact through the runtime's C API, binds a checkpoint
// (attnc_artifact_bind_weights_file: canonical names, zero-copy when the
// dtype matches; Hugging Face names go through runtime::loadWeights and are
// bound one by one), turns the reference-style inputs into the entry point's
// arguments (compiler/docs/entry-points.md; batch 1) and its results back
// into RunOutputs.
//
//===----------------------------------------------------------------------===//

#include "RunArtifact.h"

#include "Commands.h"

#include "attnc/Runtime/Artifact.hpp"
#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Runtime/HalfFloat.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <iostream>
#include <map>

namespace attnc::cli {

namespace {

using reference::ReferenceInputs;

/// Exit code for a runtime failure: files that cannot be read or are not
/// artifacts/checkpoints are usage problems, the rest do not fit.
int exitCodeOf(attnc_status status) {
  return status == ATTNC_ERROR_IO || status == ATTNC_ERROR_FORMAT ||
                 status == ATTNC_ERROR_ARGUMENT
             ? kExitUsage
             : kExitInvalidConfig;
}

bool looksLikeConfig(const std::string &path) {
  for (const char *ext : {".yaml", ".yml", ".json"}) {
    size_t n = std::strlen(ext);
    if (path.size() >= n && path.compare(path.size() - n, n, ext) == 0)
      return true;
  }
  return false;
}

/// One argument's data in the entry point's dtype.
struct ArgBuffer {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> shape;
};

void putFloats(ArgBuffer &buf, const std::string &dtype,
               const std::vector<float> &values) {
  if (dtype == "f32") {
    buf.bytes.resize(values.size() * 4);
    std::memcpy(buf.bytes.data(), values.data(), buf.bytes.size());
    return;
  }
  buf.bytes.resize(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t h = dtype == "bf16" ? runtime::floatToBf16(values[i])
                                 : runtime::floatToF16(values[i]);
    std::memcpy(buf.bytes.data() + 2 * i, &h, 2);
  }
}

void putInts(ArgBuffer &buf, const std::vector<int64_t> &values) {
  buf.bytes.resize(values.size() * 4);
  for (size_t i = 0; i < values.size(); ++i) {
    int32_t v = int32_t(values[i]);
    std::memcpy(buf.bytes.data() + 4 * i, &v, 4);
  }
}

attnc_dtype dtypeOf(const std::string &name) {
  if (name == "bf16")
    return ATTNC_DTYPE_BF16;
  if (name == "f16")
    return ATTNC_DTYPE_F16;
  if (name == "i32")
    return ATTNC_DTYPE_I32;
  if (name == "i64")
    return ATTNC_DTYPE_I64;
  return ATTNC_DTYPE_F32;
}

std::vector<float> toFloats(const attnc_tensor_view &v) {
  size_t n = 1;
  for (int32_t d = 0; d < v.rank; ++d)
    n *= size_t(v.shape[d]);
  std::vector<float> out(n);
  const auto *p = static_cast<const uint8_t *>(v.data);
  for (size_t i = 0; i < n; ++i) {
    if (v.dtype == ATTNC_DTYPE_F32) {
      std::memcpy(&out[i], p + 4 * i, 4);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    out[i] = v.dtype == ATTNC_DTYPE_BF16 ? runtime::bf16ToFloat(h)
                                         : runtime::f16ToFloat(h);
  }
  return out;
}

/// The argument `name` (role input) of the entry point, from the inputs.
/// `seqLen` is the input sequence's length.
bool buildArg(const std::string &name, const std::string &dtype,
              const ModelConfig &config, const ReferenceInputs &in,
              int64_t seqLen, ArgBuffer &buf, std::string &error) {
  auto after = [&](const char *prefix) {
    return name.compare(0, std::strlen(prefix), prefix) == 0
               ? name.substr(std::strlen(prefix))
               : std::string();
  };
  if (std::string g = after("tokens."); !g.empty()) {
    const std::vector<int64_t> &ids = in.tokens.at(g);
    putInts(buf, ids);
    buf.shape = {1, int64_t(ids.size())};
  } else if (std::string g = after("image."); !g.empty()) {
    const reference::Image &img = in.images.at(g);
    putFloats(buf, dtype, img.pixels);
    buf.shape = {1, img.height, img.width, img.channels};
  } else if (std::string g = after("embeddings."); !g.empty()) {
    const reference::Matrix &m = in.embeddings.at(g);
    putFloats(buf, dtype, m.data);
    buf.shape = {1, m.rows, m.cols};
  } else if (name == "positions" || name == "token_types") {
    std::vector<int64_t> v =
        name == "positions" ? in.positions : in.tokenTypes;
    if (v.empty())
      for (int64_t i = 0; i < seqLen; ++i)
        v.push_back(name == "positions" ? i : 0);
    putInts(buf, v);
    buf.shape = {1, seqLen};
  } else if (std::string rest = after("cache.layers."); !rest.empty()) {
    // cache.layers.<i>.<group>.k|v: [1, K, m, hd] from [m, K * hd].
    size_t dot = rest.find('.');
    int64_t layer = std::stoll(rest.substr(0, dot));
    bool isK = rest.substr(rest.size() - 2) == ".k";
    std::string group = rest.substr(dot + 1, rest.size() - dot - 3);
    const reference::LayerKV &kv = in.cache.at(group).at(size_t(layer));
    const reference::Matrix &m = isK ? kv.k : kv.v;
    int64_t heads = config.attention.numKvHeads;
    int64_t hd = config.attention.headDim;
    std::vector<float> t(m.data.size());
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t r = 0; r < m.rows; ++r)
        for (int64_t j = 0; j < hd; ++j)
          t[size_t((h * m.rows + r) * hd + j)] = m.at(r, h * hd + j);
    putFloats(buf, dtype, t);
    buf.shape = {1, heads, m.rows, hd};
  } else {
    error = "the artifact's entry point takes an input '" + name +
            "' that attnc run does not know how to give";
    return false;
  }
  return true;
}

/// Binds `path`: canonical names through the C API (zero-copy), Hugging
/// Face names through runtime::loadWeights (float32 artifacts only).
int bindWeights(rt::Artifact &artifact, const std::string &path,
                const std::string &naming, const ModelConfig &config,
                std::optional<runtime::WeightSet> &hfWeights) {
  runtime::CheckpointNaming kind = runtime::CheckpointNaming::Auto;
  runtime::parseCheckpointNaming(naming, kind);
  std::vector<std::string> errors;
  if (kind == runtime::CheckpointNaming::Auto) {
    auto file = runtime::SafetensorsFile::open(path, errors);
    if (file)
      kind = runtime::detectNaming(*file);
  }
  if (kind == runtime::CheckpointNaming::Auto ||
      kind == runtime::CheckpointNaming::Canonical) {
    attnc_status s =
        attnc_artifact_bind_weights_file(artifact.get(), path.c_str());
    if (s != ATTNC_OK) {
      // "FILE: N problems with the weights: a; b; c": one line each.
      std::string message = attnc_last_error();
      const std::string colon = " with the weights: ";
      size_t at = message.find(colon);
      if (at == std::string::npos) {
        std::cerr << "error: " << message << "\n";
        return exitCodeOf(s);
      }
      std::cerr << "error: " << message.substr(0, at + colon.size() - 2)
                << "\n";
      for (size_t i = at + colon.size(); i < message.size();) {
        size_t end = message.find("; ", i);
        if (end == std::string::npos)
          end = message.size();
        std::cerr << "  " << message.substr(i, end - i) << "\n";
        i = end + 2;
      }
      return exitCodeOf(s);
    }
    return kExitOk;
  }
  if (config.dtype != DType::Float32) {
    std::cerr << "attnc run: a " << toString(config.dtype)
              << " artifact binds canonical names only; --naming "
              << runtime::toString(kind)
              << " works with float32 artifacts\n";
    return kExitUsage;
  }
  hfWeights = runtime::loadWeightsFile(config, path, kind, errors);
  if (!hfWeights) {
    for (const std::string &e : errors)
      std::cerr << "error: " << e << "\n";
    return kExitInvalidConfig;
  }
  for (const std::string &name : artifact.weightNames()) {
    const runtime::WeightTensor *w = hfWeights->find(name);
    if (!w) {
      std::cerr << "error: " << path << ": no weight '" << name << "'\n";
      return kExitInvalidConfig;
    }
    attnc_status s = attnc_artifact_bind_weight(
        artifact.get(), name.c_str(), w->data, size_t(w->elements()) * 4);
    if (s != ATTNC_OK) {
      std::cerr << "error: " << attnc_last_error() << "\n";
      return exitCodeOf(s);
    }
  }
  return kExitOk;
}

} // namespace

std::optional<ModelConfig> loadArtifactConfig(const std::string &path,
                                              int &exitCode) {
  exitCode = kExitUsage;
  if (looksLikeConfig(path)) {
    std::cerr << "attnc run: '" << path
              << "' is a config; compile it first (attnc compile " << path
              << " -o model.attnc), or pass --interpret to run the reference "
                 "interpreter on it\n";
    return std::nullopt;
  }
  attnc_artifact *raw = nullptr;
  attnc_status s = attnc_artifact_open(path.c_str(), &raw);
  if (s != ATTNC_OK) {
    std::cerr << "error: " << attnc_last_error() << "\n";
    exitCode = exitCodeOf(s);
    return std::nullopt;
  }
  std::string text = attnc_artifact_manifest(raw);
  attnc_artifact_close(raw);
  nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("config") ||
      !manifest["config"].is_object()) {
    std::cerr << "attnc run: '" << path
              << "' was compiled from MLIR, not a config: its manifest has no "
                 "config to take inputs for\n";
    return std::nullopt;
  }
  LoadResult result =
      loadConfigString(manifest["config"].dump(), path + " (manifest config)");
  if (!result.config) {
    printDiagnosticsText(std::cerr, result);
    std::cerr << path << ": the config in its manifest does not load\n";
    exitCode = kExitInvalidConfig;
    return std::nullopt;
  }
  exitCode = kExitOk;
  return std::move(result.config);
}

int computeCompiled(const std::string &path, const std::string &weights,
                    const std::string &naming, const ModelConfig &config,
                    const ReferenceInputs &inputs, RunOutputs &outputs) {
  if (weights.empty()) {
    std::cerr << "attnc run: a compiled model needs --weights "
                 "FILE.safetensors (attnc init-weights writes one)\n";
    return kExitUsage;
  }
  // Inputs first: compiled code trusts its arguments.
  try {
    outputs.layout = reference::checkInputs(config, inputs);
  } catch (const reference::ReferenceError &e) {
    std::cerr << "attnc run: " << e.what() << "\n";
    return kExitInvalidConfig;
  }
  int64_t seqLen = 0;
  for (const reference::GroupRange &g : outputs.layout)
    seqLen += g.length;

  try {
    rt::Artifact artifact(path);
    std::optional<runtime::WeightSet> hfWeights; // outlives the run
    if (int code = bindWeights(artifact, weights, naming, config, hfWeights))
      return code;
    nlohmann::json manifest = nlohmann::json::parse(artifact.manifest());
    const nlohmann::json &entry = manifest["entry_points"].at(0);
    rt::Session session(artifact, entry["name"].get<std::string>());
    std::map<std::string, ArgBuffer> buffers;
    std::vector<std::pair<std::string, std::string>> results; // name, dtype
    for (const nlohmann::json &arg : entry["args"]) {
      std::string name = arg["name"], role = arg["role"], dtype = arg["dtype"];
      if (role == "output")
        results.emplace_back(name, dtype);
      if (role != "input")
        continue;
      std::string error;
      ArgBuffer &buf = buffers[name];
      if (!buildArg(name, dtype, config, inputs, seqLen, buf, error)) {
        std::cerr << "attnc run: " << error << "\n";
        return kExitInvalidConfig;
      }
      session.setInput(name, dtypeOf(dtype), buf.bytes.data(), buf.shape);
    }
    session.run();
    for (const auto &[name, dtype] : results) {
      attnc_tensor_view view = session.output(name);
      std::vector<int64_t> shape(view.shape + 1, view.shape + view.rank);
      if (name == "pooled") {
        outputs.pooled = toFloats(view);
      } else if (name == "logits" || name == "hidden_states" ||
                 name == "classes") {
        outputs.kind = name == "classes" ? "classifier" : name;
        outputs.shape = shape;
        outputs.values = toFloats(view);
      }
    }
  } catch (const rt::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return exitCodeOf(e.status());
  } catch (const std::exception &e) {
    std::cerr << "attnc run: " << path << ": " << e.what() << "\n";
    return kExitInvalidConfig;
  }
  if (outputs.kind.empty()) {
    std::cerr << "attnc run: " << path << " returns no logits, hidden states "
              << "or classes\n";
    return kExitInvalidConfig;
  }
  return kExitOk;
}

} // namespace attnc::cli
