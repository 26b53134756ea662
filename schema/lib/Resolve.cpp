//===- Resolve.cpp - Document to a ModelConfig with defaults resolved -----===//
//
// Every default here is the one written in the field's description in
// attnc.schema.json; keep the two in step.
//
//===----------------------------------------------------------------------===//

#include "Resolve.h"

#include "EnumNames.h"

#include <cmath>

namespace attnc {

using nlohmann::ordered_json;

const ordered_json *ConfigReader::get(const std::string &pointer) const {
  if (broken(pointer))
    return nullptr;
  return findAt(doc_.root, pointer);
}

bool ConfigReader::broken(const std::string &pointer) const {
  // A bad ancestor breaks everything below it.
  for (std::string p = pointer;; p = p.substr(0, p.rfind('/'))) {
    if (bad_.count(p))
      return true;
    if (p.empty())
      return false;
  }
}

std::optional<int64_t> ConfigReader::integer(const std::string &p) const {
  const ordered_json *v = get(p);
  if (v && v->is_number_integer())
    return v->get<int64_t>();
  return std::nullopt;
}

std::optional<double> ConfigReader::number(const std::string &p) const {
  const ordered_json *v = get(p);
  if (v && v->is_number())
    return v->get<double>();
  return std::nullopt;
}

std::optional<bool> ConfigReader::boolean(const std::string &p) const {
  const ordered_json *v = get(p);
  if (v && v->is_boolean())
    return v->get<bool>();
  return std::nullopt;
}

std::optional<std::string> ConfigReader::string(const std::string &p) const {
  const ordered_json *v = get(p);
  if (v && v->is_string())
    return v->get<std::string>();
  return std::nullopt;
}

namespace {

template <typename E>
E enumOr(const ConfigReader &r, const std::string &p, E fallback) {
  if (auto s = r.string(p))
    if (auto e = parseEnum<E>(*s))
      return *e;
  return fallback;
}

void resolveTokens(const ConfigReader &r, ModelConfig &c) {
  const ordered_json *tokens = r.get("/tokens");
  if (!tokens || !tokens->is_array())
    return;
  for (size_t i = 0; i < tokens->size(); ++i) {
    std::string p = "/tokens/" + std::to_string(i);
    const ordered_json *item = r.get(p);
    if (!item || !item->is_object() || item->empty())
      continue;
    TokenSpec spec;
    spec.loc = r.loc(p);
    std::string sizePointer;
    if (item->contains("name")) {
      spec.name = r.string(p + "/name").value_or("");
      sizePointer = p + "/size";
    } else {
      spec.name = item->begin().key();
      sizePointer = p + "/" + escapePointerToken(spec.name);
    }
    const ordered_json *size = r.get(sizePointer);
    if (!size)
      continue;
    if (size->is_null()) {
      spec.input = TokenInput::Cache;
    } else if (size->is_string()) {
      spec.dynamic = true;
    } else if (size->is_number_integer()) {
      spec.size = size->get<int64_t>();
    }
    spec.input = enumOr(r, p + "/input", spec.input);
    c.tokens.push_back(spec);
  }
}

void resolvePatterns(const ConfigReader &r, ModelConfig &c) {
  MaskKind defaultMask =
      c.kind == ModelKind::Decoder ? MaskKind::Causal : MaskKind::Full;
  const ordered_json *patterns = r.get("/attention_patterns");
  if (!patterns || !patterns->is_array()) {
    // noether's default: one pattern, every input group attends to all.
    AttentionPattern all;
    for (const TokenSpec &t : c.tokens) {
      if (!t.fromCache())
        all.queryTokens.push_back(t.name);
      all.keyValueTokens.push_back(t.name);
    }
    all.mask = defaultMask;
    all.loc = r.loc("/tokens");
    c.patterns.push_back(all);
    return;
  }
  c.patternsGiven = true;
  for (size_t i = 0; i < patterns->size(); ++i) {
    std::string p = "/attention_patterns/" + std::to_string(i);
    AttentionPattern pattern;
    pattern.loc = r.loc(p);
    for (const char *field : {"query_tokens", "key_value_tokens"}) {
      const ordered_json *names = r.get(p + "/" + field);
      auto &out = std::string(field) == "query_tokens" ? pattern.queryTokens
                                                       : pattern.keyValueTokens;
      if (names && names->is_array())
        for (const ordered_json &n : *names)
          if (n.is_string())
            out.push_back(n.get<std::string>());
    }
    pattern.mask = enumOr(r, p + "/mask", defaultMask);
    pattern.window = r.integer(p + "/window");
    c.patterns.push_back(pattern);
  }
}

void resolveAttention(const ConfigReader &r, ModelConfig &c) {
  AttentionConfig &a = c.attention;
  a.loc = r.loc("/attention");
  a.hiddenDim = r.integer("/attention/hidden_dim").value_or(0);
  a.numHeads = r.integer("/attention/num_heads").value_or(0);
  a.numKvHeads = r.integer("/attention/num_kv_heads").value_or(a.numHeads);
  a.headDim = r.integer("/attention/head_dim")
                  .value_or(a.numHeads ? a.hiddenDim / a.numHeads : 0);
  a.initWeights =
      enumOr(r, "/attention/init_weights", InitWeights::TruncNormal002);
  a.qkNorm = r.boolean("/attention/qk_norm").value_or(false);
  a.bias = r.boolean("/attention/bias").value_or(true);
  a.useRope = r.boolean("/attention/use_rope")
                  .value_or(c.position.kind == PositionKind::Rope);
  a.dropout = r.number("/attention/dropout").value_or(0.0);
  a.queryScale = r.number("/attention/query_scale")
                     .value_or(a.headDim > 0 ? 1.0 / std::sqrt(double(a.headDim))
                                             : 1.0);
  a.logitSoftcap = r.number("/attention/logit_softcap");
  if (const ordered_json *attention = r.get("/attention");
      attention && attention->is_object()) {
    static const char *known[] = {
        "hidden_dim", "num_heads", "num_kv_heads", "head_dim",
        "init_weights", "qk_norm", "bias", "use_rope", "dropout",
        "query_scale", "logit_softcap"};
    for (auto it = attention->begin(); it != attention->end(); ++it) {
      bool isKnown = false;
      for (const char *k : known)
        isKnown = isKnown || it.key() == k;
      if (!isKnown)
        a.extras[it.key()] = it.value();
    }
  }
}

void resolveEmbeddings(const ConfigReader &r, ModelConfig &c) {
  EmbeddingConfig &e = c.embedding;
  e.loc = r.loc("/embedding");
  e.scaleBySqrtDim = r.boolean("/embedding/scale_by_sqrt_dim").value_or(false);
  e.tiedOutput = r.boolean("/embedding/tied_output").value_or(false);
  e.tokenTypes = r.integer("/embedding/token_types").value_or(0);
  e.norm = r.boolean("/embedding/norm").value_or(false);

  if (r.has("/patch_embedding")) {
    PatchEmbeddingConfig pe;
    pe.loc = r.loc("/patch_embedding");
    if (auto side = r.integer("/patch_embedding/image_size")) {
      pe.imageHeight = pe.imageWidth = *side;
    } else {
      pe.imageHeight = r.integer("/patch_embedding/image_size/0").value_or(0);
      pe.imageWidth = r.integer("/patch_embedding/image_size/1").value_or(0);
    }
    pe.patchSize = r.integer("/patch_embedding/patch_size").value_or(0);
    pe.channels = r.integer("/patch_embedding/channels").value_or(3);
    pe.bias = r.boolean("/patch_embedding/bias").value_or(true);
    c.patchEmbedding = pe;
  }

  PositionConfig &p = c.position;
  p.loc = r.loc("/position");
  p.kind = enumOr(r, "/position/kind", PositionKind::None);
  p.size = r.integer("/position/size").value_or(c.maxSeqLen);
  p.ropeBase = r.number("/position/base").value_or(10000.0);
  p.ropeStyle = enumOr(r, "/position/style", RopeStyle::SplitHalf);
  p.ropeFraction = r.number("/position/fraction").value_or(1.0);
  p.ropeScaleFactor = r.number("/position/scale_factor").value_or(1.0);
}

void resolveLayerFields(const ConfigReader &r, const std::string &p,
                        LayerSettings &s) {
  if (const ordered_json *w = r.get(p + "/window"))
    s.window = w->is_number_integer() ? std::optional<int64_t>(w->get<int64_t>())
                                      : std::nullopt;
  s.ropeBase = r.number(p + "/rope_base").value_or(s.ropeBase);
  s.ropeScaleFactor = r.number(p + "/rope_scale_factor").value_or(s.ropeScaleFactor);
  s.useRope = r.boolean(p + "/use_rope").value_or(s.useRope);
}

void resolveLayers(const ConfigReader &r, ModelConfig &c) {
  LayerSettings base;
  base.window = std::nullopt;
  base.ropeBase = c.position.ropeBase;
  base.ropeScaleFactor = c.position.ropeScaleFactor;
  base.useRope = c.attention.useRope;
  base.loc = r.loc("");

  if (const ordered_json *kinds = r.get("/layers/kinds");
      kinds && kinds->is_object()) {
    for (auto it = kinds->begin(); it != kinds->end(); ++it) {
      std::string p = "/layers/kinds/" + escapePointerToken(it.key());
      LayerSettings s = base;
      s.kind = it.key();
      s.loc = r.loc(p);
      resolveLayerFields(r, p, s);
      c.layerKinds[it.key()] = s;
    }
  }
  if (const ordered_json *pattern = r.get("/layers/pattern");
      pattern && pattern->is_array())
    for (const ordered_json &k : *pattern)
      if (k.is_string())
        c.layerPattern.push_back(k.get<std::string>());

  for (int64_t i = 0; i < c.numLayers && i < (1 << 16); ++i) {
    LayerSettings s = base;
    if (!c.layerPattern.empty()) {
      auto it = c.layerKinds.find(c.layerPattern[i % c.layerPattern.size()]);
      if (it != c.layerKinds.end())
        s = it->second;
    }
    c.layers.push_back(s);
  }
  const ordered_json *overrides = r.get("/layers/overrides");
  if (!overrides || !overrides->is_array())
    return;
  for (size_t o = 0; o < overrides->size(); ++o) {
    std::string p = "/layers/overrides/" + std::to_string(o);
    const ordered_json *layers = r.get(p + "/layers");
    if (!layers || !layers->is_array())
      continue;
    for (const ordered_json &index : *layers) {
      if (!index.is_number_integer())
        continue;
      int64_t i = index.get<int64_t>();
      if (i < 0 || i >= static_cast<int64_t>(c.layers.size()))
        continue; // reported by the rules
      LayerSettings &s = c.layers[i];
      if (auto kind = r.string(p + "/kind")) {
        auto it = c.layerKinds.find(*kind);
        if (it != c.layerKinds.end())
          s = it->second;
      }
      resolveLayerFields(r, p, s);
      s.loc = r.loc(p);
    }
  }
}

} // namespace

ModelConfig resolveConfig(const ConfigReader &r) {
  ModelConfig c;
  c.loc = r.loc("");
  c.formatVersion = r.integer("/attnc").value_or(1);
  c.name = r.string("/name").value_or("");
  c.description = r.string("/description").value_or("");
  c.kind = enumOr(r, "/kind", ModelKind::Decoder);
  c.vocabSize = r.integer("/vocab_size");
  c.numLayers = r.integer("/num_layers").value_or(0);
  c.dtype = enumOr(r, "/dtype", DType::Float32);
  resolveTokens(r, c);

  // Default max_seq_len: the sum of the fixed sizes of the input groups.
  int64_t fixedSum = 0;
  bool allFixed = true;
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache())
      continue;
    if (t.size)
      fixedSum += *t.size;
    else
      allFixed = false;
  }
  c.maxSeqLen = r.integer("/max_seq_len").value_or(allFixed ? fixedSum : 0);

  // Positions first: attention.use_rope defaults from position.kind.
  resolveEmbeddings(r, c);
  resolveAttention(r, c);
  resolvePatterns(r, c);

  MlpConfig &m = c.mlp;
  m.loc = r.loc("/mlp");
  m.kind = enumOr(r, "/mlp/kind", MlpKind::Plain);
  m.activation = enumOr(r, "/mlp/activation", Activation::Gelu);
  m.hiddenDim = r.integer("/mlp/hidden_dim").value_or(4 * c.attention.hiddenDim);
  m.bias = r.boolean("/mlp/bias").value_or(c.attention.bias);

  NormConfig &n = c.norm;
  n.loc = r.loc("/norm");
  n.kind = enumOr(r, "/norm/kind", NormKind::Layer);
  n.eps = r.number("/norm/eps").value_or(1e-5);
  n.zeroCentered = r.boolean("/norm/zero_centered").value_or(false);
  n.bias = r.boolean("/norm/bias").value_or(n.kind == NormKind::Layer);

  BlockConfig &b = c.block;
  b.loc = r.loc("/block");
  b.structure = enumOr(r, "/block/structure", BlockStructure::PreNorm);
  b.postAttentionNorm = r.boolean("/block/post_attention_norm").value_or(false);
  b.postMlpNorm = r.boolean("/block/post_mlp_norm").value_or(false);

  c.finalNorm = r.boolean("/final_norm")
                    .value_or(b.structure != BlockStructure::PostNorm);
  c.finalLogitSoftcap = r.number("/final_logit_softcap");

  OutputConfig &o = c.output;
  o.loc = r.loc("/output");
  o.kind = enumOr(r, "/output/kind",
                  c.vocabSize ? OutputKind::Logits : OutputKind::HiddenStates);
  o.numClasses = r.integer("/output/num_classes").value_or(0);
  o.pooling = enumOr(r, "/output/pooling", Pooling::Cls);
  o.pooler = r.boolean("/output/pooler").value_or(false);

  resolveLayers(r, c);
  return c;
}

} // namespace attnc
