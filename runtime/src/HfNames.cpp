//===- HfNames.cpp - Hugging Face checkpoint names -> canonical names -----===//
//
// The mapping is documented in runtime/docs/weights.md; keep the two in step.
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/Checkpoint.h"

#include <cstdlib>

namespace attnc::runtime {

namespace {

/// Splits "layers.3.attn.q.weight" into layer 3 and "attn.q.weight".
bool splitLayer(const std::string &name, std::string &layer,
                std::string &rest) {
  const std::string p = "layers.";
  if (name.compare(0, p.size(), p) != 0)
    return false;
  size_t dot = name.find('.', p.size());
  if (dot == std::string::npos)
    return false;
  layer = name.substr(p.size(), dot - p.size());
  rest = name.substr(dot + 1);
  return true;
}

/// "attn.q.weight" -> module "attn.q", suffix "weight".
void splitSuffix(const std::string &name, std::string &module,
                 std::string &suffix) {
  size_t dot = name.rfind('.');
  module = name.substr(0, dot);
  suffix = dot == std::string::npos ? "" : name.substr(dot + 1);
}

bool startsWith(const std::string &s, const std::string &p) {
  return s.compare(0, p.size(), p) == 0;
}

bool endsWith(const std::string &s, const std::string &p) {
  return s.size() >= p.size() &&
         s.compare(s.size() - p.size(), p.size(), p) == 0;
}

bool tiedLogits(const ModelConfig &c) {
  return c.embedding.tiedOutput && c.output.kind == OutputKind::Logits;
}

std::optional<HfSource> llama(const ModelConfig &c, const std::string &name) {
  const std::string pre = "model.";
  auto src = [&](const std::string &n) {
    return HfSource{pre + n, pre, false, 0, -1};
  };
  if (name == "embed.tokens")
    return src("embed_tokens.weight");
  if (name == "final_norm.weight" || name == "final_norm.bias")
    return src("norm." + name.substr(name.rfind('.') + 1));
  if (name == "head.weight")
    return HfSource{"lm_head.weight", "", false, 0, -1};
  std::string layer, rest, module, suffix;
  if (!splitLayer(name, layer, rest))
    return std::nullopt;
  splitSuffix(rest, module, suffix);
  std::string l = "layers." + layer + ".";
  // gemma-2/3 (sandwich norms) reuse post_attention_layernorm for the norm
  // after attention; in llama it is the norm before the MLP.
  bool sandwich = c.block.postAttentionNorm || c.block.postMlpNorm;
  static const std::pair<const char *, const char *> modules[] = {
      {"attn.q", "self_attn.q_proj"},      {"attn.k", "self_attn.k_proj"},
      {"attn.v", "self_attn.v_proj"},      {"attn.o", "self_attn.o_proj"},
      {"attn.q_norm", "self_attn.q_norm"}, {"attn.k_norm", "self_attn.k_norm"},
      {"mlp.gate", "mlp.gate_proj"},       {"mlp.up", "mlp.up_proj"},
      {"mlp.down", "mlp.down_proj"},       {"attn_norm", "input_layernorm"},
  };
  for (const auto &[ours, theirs] : modules)
    if (module == ours)
      return src(l + theirs + "." + suffix);
  if (module == "mlp_norm")
    return src(l + (sandwich ? "pre_feedforward_layernorm"
                             : "post_attention_layernorm") +
               "." + suffix);
  if (module == "post_attn_norm")
    return src(l + "post_attention_layernorm." + suffix);
  if (module == "post_mlp_norm")
    return src(l + "post_feedforward_layernorm." + suffix);
  return std::nullopt;
}

std::optional<HfSource> gpt2(const ModelConfig &c, const std::string &name) {
  const std::string pre = "transformer.";
  auto src = [&](const std::string &n, bool transpose = false) {
    return HfSource{pre + n, pre, transpose, 0, -1};
  };
  if (name == "embed.tokens")
    return src("wte.weight");
  if (name == "embed.positions")
    return src("wpe.weight");
  if (startsWith(name, "final_norm."))
    return src("ln_f." + name.substr(11));
  if (name == "head.weight")
    return HfSource{"lm_head.weight", "", false, 0, -1};
  std::string layer, rest, module, suffix;
  if (!splitLayer(name, layer, rest))
    return std::nullopt;
  splitSuffix(rest, module, suffix);
  std::string h = "h." + layer + ".";
  bool weight = suffix == "weight";
  if (module == "attn_norm")
    return src(h + "ln_1." + suffix);
  if (module == "mlp_norm")
    return src(h + "ln_2." + suffix);
  if (module == "attn.o")
    return src(h + "attn.c_proj." + suffix, weight);
  if (module == "mlp.up")
    return src(h + "mlp.c_fc." + suffix, weight);
  if (module == "mlp.down")
    return src(h + "mlp.c_proj." + suffix, weight);
  // c_attn holds [q | k | v] along its output axis.
  int64_t q = c.attention.numHeads * c.attention.headDim;
  int64_t kv = c.attention.numKvHeads * c.attention.headDim;
  HfSource s = src(h + "attn.c_attn." + suffix, weight);
  if (module == "attn.q") {
    s.rowCount = q;
    return s;
  }
  if (module == "attn.k") {
    s.rowBegin = q;
    s.rowCount = kv;
    return s;
  }
  if (module == "attn.v") {
    s.rowBegin = q + kv;
    s.rowCount = kv;
    return s;
  }
  return std::nullopt;
}

std::optional<HfSource> bert(const ModelConfig &c, const std::string &name) {
  const std::string pre = "bert.";
  auto src = [&](const std::string &n) {
    return HfSource{pre + n, pre, false, 0, -1};
  };
  if (name == "embed.tokens")
    return src("embeddings.word_embeddings.weight");
  if (name == "embed.positions")
    return src("embeddings.position_embeddings.weight");
  if (name == "embed.token_types")
    return src("embeddings.token_type_embeddings.weight");
  if (startsWith(name, "embed.norm."))
    return src("embeddings.LayerNorm." + name.substr(11));
  if (startsWith(name, "pooler."))
    return src("pooler.dense." + name.substr(7));
  if (startsWith(name, "classifier."))
    return HfSource{name, "", false, 0, -1};
  std::string layer, rest, module, suffix;
  if (!splitLayer(name, layer, rest))
    return std::nullopt;
  splitSuffix(rest, module, suffix);
  std::string l = "encoder.layer." + layer + ".";
  static const std::pair<const char *, const char *> modules[] = {
      {"attn.q", "attention.self.query"},
      {"attn.k", "attention.self.key"},
      {"attn.v", "attention.self.value"},
      {"attn.o", "attention.output.dense"},
      {"attn_norm", "attention.output.LayerNorm"},
      {"mlp.up", "intermediate.dense"},
      {"mlp.down", "output.dense"},
      {"mlp_norm", "output.LayerNorm"},
  };
  for (const auto &[ours, theirs] : modules)
    if (module == ours)
      return src(l + theirs + "." + suffix);
  return std::nullopt;
}

} // namespace

const char *toString(CheckpointNaming naming) {
  switch (naming) {
  case CheckpointNaming::Auto:
    return "auto";
  case CheckpointNaming::Canonical:
    return "canonical";
  case CheckpointNaming::Llama:
    return "llama";
  case CheckpointNaming::Gpt2:
    return "gpt2";
  case CheckpointNaming::Bert:
    return "bert";
  }
  return "?";
}

bool parseCheckpointNaming(const std::string &text, CheckpointNaming &naming) {
  for (CheckpointNaming n :
       {CheckpointNaming::Auto, CheckpointNaming::Canonical,
        CheckpointNaming::Llama, CheckpointNaming::Gpt2,
        CheckpointNaming::Bert})
    if (text == toString(n)) {
      naming = n;
      return true;
    }
  return false;
}

CheckpointNaming detectNaming(const SafetensorsFile &file) {
  for (const TensorView &t : file.tensors()) {
    const std::string &n = t.name;
    if (n.find(".self_attn.") != std::string::npos ||
        startsWith(n, "model.embed_tokens") || startsWith(n, "model.layers."))
      return CheckpointNaming::Llama;
    if (startsWith(n, "transformer.h.") || startsWith(n, "transformer.wte") ||
        (startsWith(n, "h.") && n.find(".attn.c_") != std::string::npos) ||
        n == "wte.weight")
      return CheckpointNaming::Gpt2;
    if (startsWith(n, "bert.") || startsWith(n, "encoder.layer.") ||
        startsWith(n, "embeddings.word_embeddings"))
      return CheckpointNaming::Bert;
  }
  return CheckpointNaming::Canonical;
}

std::optional<HfSource> hfSource(CheckpointNaming naming,
                                 const ModelConfig &config,
                                 const std::string &canonical) {
  switch (naming) {
  case CheckpointNaming::Llama:
    return llama(config, canonical);
  case CheckpointNaming::Gpt2:
    return gpt2(config, canonical);
  case CheckpointNaming::Bert:
    return bert(config, canonical);
  case CheckpointNaming::Auto:
  case CheckpointNaming::Canonical:
    break;
  }
  return std::nullopt;
}

bool hfIgnored(CheckpointNaming naming, const ModelConfig &config,
               const std::string &hfName) {
  switch (naming) {
  case CheckpointNaming::Llama:
    return endsWith(hfName, ".rotary_emb.inv_freq") ||
           (hfName == "lm_head.weight" && tiedLogits(config));
  case CheckpointNaming::Gpt2:
    return endsWith(hfName, ".attn.bias") ||
           endsWith(hfName, ".attn.masked_bias") ||
           (hfName == "lm_head.weight" && tiedLogits(config));
  case CheckpointNaming::Bert:
    return endsWith(hfName, "embeddings.position_ids") ||
           startsWith(hfName, "cls.") ||
           (!config.output.pooler &&
            (startsWith(hfName, "bert.pooler.") ||
             startsWith(hfName, "pooler.")));
  case CheckpointNaming::Auto:
  case CheckpointNaming::Canonical:
    break;
  }
  return false;
}

} // namespace attnc::runtime
