//===- Emit.cpp - ModelConfig back to JSON / YAML -------------------------===//

#include "attnc/Schema/Emit.h"

#include "Document.h"
#include "EnumNames.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>

namespace attnc {

using nlohmann::ordered_json;

namespace {

ordered_json optionalNumber(const std::optional<double> &v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json layerSettings(const LayerSettings &s, const LayerSettings &base) {
  ordered_json j = ordered_json::object();
  if (s.window != base.window)
    j["window"] = s.window ? ordered_json(*s.window) : ordered_json(nullptr);
  if (s.ropeBase != base.ropeBase)
    j["rope_base"] = s.ropeBase;
  if (s.ropeScaleFactor != base.ropeScaleFactor)
    j["rope_scale_factor"] = s.ropeScaleFactor;
  if (s.useRope != base.useRope)
    j["use_rope"] = s.useRope;
  return j;
}

} // namespace

ordered_json toJson(const ModelConfig &c) {
  ordered_json j;
  j["attnc"] = c.formatVersion;
  if (!c.name.empty())
    j["name"] = c.name;
  if (!c.description.empty())
    j["description"] = c.description;
  j["kind"] = toString(c.kind);
  if (c.vocabSize)
    j["vocab_size"] = *c.vocabSize;
  j["max_seq_len"] = c.maxSeqLen;
  j["num_layers"] = c.numLayers;
  j["dtype"] = toString(c.dtype);

  ordered_json tokens = ordered_json::array();
  for (const TokenSpec &t : c.tokens) {
    ordered_json size = t.dynamic ? ordered_json("dynamic")
                        : t.size  ? ordered_json(*t.size)
                                  : ordered_json(nullptr);
    tokens.push_back({{"name", t.name}, {"size", size},
                      {"input", toString(t.input)}});
  }
  j["tokens"] = tokens;

  ordered_json patterns = ordered_json::array();
  for (const AttentionPattern &p : c.patterns) {
    ordered_json pj = {{"query_tokens", p.queryTokens},
                       {"key_value_tokens", p.keyValueTokens},
                       {"mask", toString(p.mask)}};
    if (p.window)
      pj["window"] = *p.window;
    patterns.push_back(pj);
  }
  j["attention_patterns"] = patterns;

  const AttentionConfig &a = c.attention;
  ordered_json attention = {
      {"hidden_dim", a.hiddenDim},   {"num_heads", a.numHeads},
      {"num_kv_heads", a.numKvHeads}, {"head_dim", a.headDim},
      {"init_weights", toString(a.initWeights)},
      {"qk_norm", a.qkNorm},         {"bias", a.bias},
      {"use_rope", a.useRope},       {"dropout", a.dropout},
      {"query_scale", a.queryScale},
      {"logit_softcap", optionalNumber(a.logitSoftcap)}};
  for (auto it = a.extras.begin(); it != a.extras.end(); ++it)
    attention[it.key()] = it.value();
  j["attention"] = attention;

  const EmbeddingConfig &e = c.embedding;
  j["embedding"] = {{"scale_by_sqrt_dim", e.scaleBySqrtDim},
                    {"tied_output", e.tiedOutput},
                    {"token_types", e.tokenTypes},
                    {"norm", e.norm}};
  if (const auto &pe = c.patchEmbedding) {
    ordered_json size = pe->imageHeight == pe->imageWidth
                            ? ordered_json(pe->imageHeight)
                            : ordered_json({pe->imageHeight, pe->imageWidth});
    j["patch_embedding"] = {{"image_size", size},
                            {"patch_size", pe->patchSize},
                            {"channels", pe->channels},
                            {"bias", pe->bias}};
  }
  const PositionConfig &p = c.position;
  ordered_json position = {{"kind", toString(p.kind)}};
  if (p.kind == PositionKind::Learned)
    position["size"] = p.size;
  if (p.kind == PositionKind::Rope) {
    position["base"] = p.ropeBase;
    position["style"] = toString(p.ropeStyle);
    position["fraction"] = p.ropeFraction;
    position["scale_factor"] = p.ropeScaleFactor;
  }
  j["position"] = position;
  j["mlp"] = {{"kind", toString(c.mlp.kind)},
              {"activation", toString(c.mlp.activation)},
              {"hidden_dim", c.mlp.hiddenDim},
              {"bias", c.mlp.bias}};
  j["norm"] = {{"kind", toString(c.norm.kind)},
               {"eps", c.norm.eps},
               {"zero_centered", c.norm.zeroCentered},
               {"bias", c.norm.bias}};
  j["block"] = {{"structure", toString(c.block.structure)},
                {"post_attention_norm", c.block.postAttentionNorm},
                {"post_mlp_norm", c.block.postMlpNorm}};
  j["final_norm"] = c.finalNorm;
  j["final_logit_softcap"] = optionalNumber(c.finalLogitSoftcap);
  ordered_json output = {{"kind", toString(c.output.kind)}};
  if (c.output.kind == OutputKind::Classifier)
    output["num_classes"] = c.output.numClasses;
  output["pooling"] = toString(c.output.pooling);
  output["pooler"] = c.output.pooler;
  j["output"] = output;

  // Per-layer variation: the kinds and their pattern as given, then one
  // override per layer whose settings differ from what the pattern gives.
  LayerSettings base;
  base.ropeBase = p.ropeBase;
  base.ropeScaleFactor = p.ropeScaleFactor;
  base.useRope = a.useRope;
  ordered_json layers = ordered_json::object();
  if (!c.layerKinds.empty()) {
    ordered_json kinds = ordered_json::object();
    for (const auto &[name, kind] : c.layerKinds)
      kinds[name] = layerSettings(kind, base);
    layers["kinds"] = kinds;
  }
  if (!c.layerPattern.empty())
    layers["pattern"] = c.layerPattern;
  ordered_json overrides = ordered_json::array();
  for (size_t i = 0; i < c.layers.size(); ++i) {
    LayerSettings expected = base;
    if (!c.layerPattern.empty()) {
      auto it = c.layerKinds.find(c.layerPattern[i % c.layerPattern.size()]);
      if (it != c.layerKinds.end())
        expected = it->second;
    }
    const LayerSettings &actual = c.layers[i];
    ordered_json o = {{"layers", {i}}};
    if (actual.kind != expected.kind && c.layerKinds.count(actual.kind)) {
      o["kind"] = actual.kind;
      expected = c.layerKinds.at(actual.kind);
    }
    o.update(layerSettings(actual, expected));
    if (o.size() > 1)
      overrides.push_back(o);
  }
  if (!overrides.empty())
    layers["overrides"] = overrides;
  if (!layers.empty())
    j["layers"] = layers;
  return j;
}

namespace {

void emitYaml(YAML::Emitter &out, const ordered_json &v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emitYaml(out, it.value());
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    bool flat = true;
    for (const ordered_json &x : v)
      flat = flat && !x.is_structured();
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const ordered_json &x : v)
      emitYaml(out, x);
    out << YAML::EndSeq;
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << v.get<bool>();
  } else if (v.is_number_integer()) {
    out << v.get<int64_t>();
  } else if (v.is_number()) {
    // Shortest text that reads back as the same double; whole numbers
    // as "10000.0" rather than "1e+04".
    double d = v.get<double>();
    std::string s;
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      std::ostringstream os;
      os << static_cast<int64_t>(d) << ".0";
      out << os.str();
      return;
    }
    for (int prec = 1; prec <= 17; ++prec) {
      std::ostringstream t;
      t.precision(prec);
      t << d;
      if (std::strtod(t.str().c_str(), nullptr) == d) {
        s = t.str();
        break;
      }
    }
    if (s.find_first_of(".eEn") == std::string::npos)
      s += ".0"; // stays a float when read back
    out << s;
  } else {
    // Quote only strings that would read back as another type ("1e5").
    const std::string &s = v.get<std::string>();
    if (!resolvePlainScalar(s).is_string())
      out << YAML::DoubleQuoted;
    out << s;
  }
}

} // namespace

std::string toYaml(const ordered_json &value) {
  YAML::Emitter out;
  emitYaml(out, value);
  return std::string(out.c_str()) + "\n";
}

} // namespace attnc
