//===- InspectCommand.cpp - attnc inspect ---------------------------------===//
//
// What a config is and what it costs: a model summary, parameters per
// component, FLOPs per token (schema/lib/Stats.cpp has the conventions),
// weight and KV-cache memory, the per-layer settings, the token groups and
// patterns, and the attention mask as a picture (MaskPicture.h).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "MaskPicture.h"

#include "attnc/Schema/Stats.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

namespace attnc::cli {

namespace {

struct InspectOptions {
  std::string file;
  int64_t seqLen = 0;   ///< 0: max_seq_len
  int64_t batch = 1;
  int64_t cacheLen = 0; ///< 0: max_seq_len
  std::string svg;
  std::string format = "text";
  int64_t maskWidth = 64;
};

/// 1234567 -> "1,234,567".
std::string thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return (v < 0 ? "-" : "") + out;
}

std::string fixed1(double v, const char *unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, unit);
  return buf;
}

/// 219039744, "FLOP" -> "219.0 MFLOP" (decimal units, counts and FLOPs).
std::string decimalUnits(double v, const std::string &unit) {
  const char *units[] = {"", "k", "M", "G", "T", "P"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  if (u == 0)
    return thousands(std::llround(v)) + (unit.empty() ? "" : " " + unit);
  return fixed1(v, (units[u] + unit).c_str());
}

/// 18874368 -> "18.0 MiB".
std::string binaryUnits(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? std::to_string(bytes) + " B" : fixed1(v, units[u]);
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string sizeText(const TokenSpec &t) {
  return t.dynamic ? "dynamic" : t.size ? std::to_string(*t.size) : "null";
}

std::string listText(const std::vector<std::string> &names) {
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : ", ") + n;
  return "[" + s + "]";
}

std::string maskText(const AttentionPattern &p) {
  std::string s = toString(p.mask);
  if (p.window)
    s += " " + std::to_string(*p.window);
  return s;
}

/// "layer 3 attention" -> {"attention", 3}; other names -> {name, -1}.
std::pair<std::string, int64_t> splitLayerGroup(const std::string &name) {
  if (name.rfind("layer ", 0) != 0)
    return {name, -1};
  size_t space = name.find(' ', 6);
  if (space == std::string::npos)
    return {name, -1};
  return {name.substr(space + 1), std::stoll(name.substr(6, space - 6))};
}

struct Report {
  const ModelConfig &c;
  const InspectOptions &o;
  ParamCounts params;
  FlopCounts flops;
  MemoryEstimate memory;
  std::vector<SequenceGroup> sequence;
  std::vector<MaskPicture> masks;
};

void printSummary(std::ostream &os, const Report &r) {
  const ModelConfig &c = r.c;
  const AttentionConfig &a = c.attention;
  os << "model       " << (c.name.empty() ? c.loc.file : c.name) << " ("
     << toString(c.kind) << ")\n";
  if (!c.description.empty())
    os << "            " << c.description << "\n";
  os << "dtype       " << toString(c.dtype) << "\n"
     << "layers      " << c.numLayers << "\n"
     << "width       " << a.hiddenDim << "\n"
     << "heads       " << a.numHeads << " query, " << a.numKvHeads
     << " key/value, head_dim " << a.headDim
     << (a.numKvHeads == a.numHeads ? " (MHA)"
         : a.numKvHeads == 1        ? " (MQA)"
                                    : " (GQA)")
     << (a.bias ? ", biases" : ", no biases") << (a.qkNorm ? ", qk_norm" : "")
     << (a.logitSoftcap ? ", logit softcap " + number(*a.logitSoftcap) : "")
     << "\n"
     << "mlp         " << toString(c.mlp.kind) << " "
     << toString(c.mlp.activation) << ", hidden " << c.mlp.hiddenDim
     << (c.mlp.bias ? ", biases" : ", no biases") << "\n"
     << "norm        " << toString(c.norm.kind) << " eps " << number(c.norm.eps)
     << (c.norm.zeroCentered ? ", zero-centred" : "") << ", "
     << toString(c.block.structure)
     << (c.block.postAttentionNorm ? ", post-attention norm" : "")
     << (c.block.postMlpNorm ? ", post-MLP norm" : "")
     << (c.finalNorm ? ", final norm" : ", no final norm") << "\n"
     << "positions   " << toString(c.position.kind);
  if (c.position.kind == PositionKind::Rope)
    os << " " << toString(c.position.ropeStyle) << ", base "
       << number(c.position.ropeBase);
  if (c.position.kind == PositionKind::Learned)
    os << ", " << c.position.size << " rows";
  os << "\n"
     << "output      " << toString(c.output.kind);
  if (c.output.kind == OutputKind::Logits)
    os << " over " << c.vocabSize.value_or(0) << " tokens"
       << (c.embedding.tiedOutput ? " (tied to the embedding)" : "");
  if (c.output.kind == OutputKind::Classifier)
    os << ", " << c.output.numClasses << " classes, "
       << toString(c.output.pooling) << " pooling";
  if (c.output.pooler)
    os << ", pooler";
  if (c.finalLogitSoftcap)
    os << ", softcap " << number(*c.finalLogitSoftcap);
  os << "\n\n";
}

void printParameters(std::ostream &os, const Report &r) {
  const ParamCounts &p = r.params;
  os << "parameters  " << thousands(p.total) << " (" << decimalUnits(double(p.total), "")
     << ")\n";
  // Per-layer groups are folded: "attention, 12 layers x 1,572,864".
  struct Folded {
    int64_t layers = 0, sum = 0, first = 0;
    bool same = true;
  };
  std::vector<std::pair<std::string, Folded>> rows;
  for (const ParamGroup &g : p.groups) {
    auto [part, layer] = splitLayerGroup(g.name);
    std::string key = layer < 0 ? g.name : "per layer: " + part;
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const auto &e) { return e.first == key; });
    if (it == rows.end()) {
      rows.push_back({key, Folded{0, 0, g.count, true}});
      it = rows.end() - 1;
    }
    it->second.layers += layer >= 0;
    it->second.sum += g.count;
    it->second.same = it->second.same && g.count == it->second.first;
  }
  for (const auto &[name, f] : rows) {
    char line[160];
    std::string each = f.layers > 1 && f.same ? std::to_string(f.layers) + " x " +
                                                    thousands(f.first)
                                              : "";
    std::snprintf(line, sizeof line, "  %-30s %22s %15s\n", name.c_str(),
                  each.c_str(), thousands(f.sum).c_str());
    os << line;
  }
  os << "  by kind: embedding " << thousands(p.embedding) << ", attention "
     << thousands(p.attention) << ", mlp " << thousands(p.mlp) << ", norms "
     << thousands(p.norms) << ", head " << thousands(p.head) << "\n\n";
}

void printCosts(std::ostream &os, const Report &r) {
  const FlopCounts &f = r.flops;
  const bool encoder = r.c.kind == ModelKind::Encoder;
  os << "FLOPs per token at seq-len " << r.o.seqLen << "\n"
     << "  prefill   " << decimalUnits(f.prefillPerToken, "FLOP") << " ("
     << thousands(std::llround(f.prefillPerToken)) << ")\n"
     << "  decode    "
     << (encoder ? std::string("n/a (an encoder does not decode)")
                 : decimalUnits(f.decodePerToken, "FLOP") + " (" +
                       thousands(std::llround(f.decodePerToken)) + ")")
     << "\n";
  const MemoryEstimate &m = r.memory;
  os << "memory (" << toString(r.c.dtype) << ", " << byteSize(r.c.dtype)
     << " bytes per value)\n"
     << "  weights   " << binaryUnits(m.weightBytes) << " ("
     << thousands(m.weightBytes) << " bytes)\n"
     << "  KV cache  ";
  if (encoder)
    os << "n/a (an encoder keeps no KV cache)\n\n";
  else
    os << binaryUnits(m.kvCacheBytes) << " (" << thousands(m.kvCacheBytes)
       << " bytes) for batch " << r.o.batch << ", cache-len " << r.o.cacheLen
       << "\n\n";
}

void printStructure(std::ostream &os, const Report &r) {
  const ModelConfig &c = r.c;
  os << "layers\n  index  kind          attention      rope base\n";
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const LayerSettings &l = c.layers[i];
    char line[160];
    std::string attention =
        l.window ? "window " + std::to_string(*l.window) : "global";
    std::snprintf(line, sizeof line, "  %-6zu %-13s %-14s %s\n", i,
                  l.kind.empty() ? "-" : l.kind.c_str(), attention.c_str(),
                  l.useRope ? number(l.ropeBase).c_str() : "-");
    os << line;
  }
  os << "\ntoken groups (positions at seq-len " << r.o.seqLen << ")\n"
     << "  name                  size      input        positions\n";
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    const TokenSpec &t = c.tokens[i];
    const SequenceGroup &g = r.sequence[i];
    std::string where =
        g.cache ? "keys from the KV cache"
        : g.length == 0
            ? "none"
            : std::to_string(g.queryBegin) + "-" +
                  std::to_string(g.queryBegin + g.length - 1);
    char line[200];
    std::snprintf(line, sizeof line, "  %-21s %-9s %-12s %s\n", t.name.c_str(),
                  sizeText(t).c_str(), toString(t.input), where.c_str());
    os << line;
  }
  os << "\nattention patterns" << (c.patternsGiven ? "" : " (default)") << "\n";
  for (const AttentionPattern &p : c.patterns)
    os << "  " << listText(p.queryTokens) << " -> " << listText(p.keyValueTokens)
       << ", " << maskText(p) << "\n";
  os << "\n";
}

nlohmann::ordered_json reportJson(const Report &r) {
  using J = nlohmann::ordered_json;
  const ModelConfig &c = r.c;
  const AttentionConfig &a = c.attention;
  J groups = J::array();
  for (const ParamGroup &g : r.params.groups)
    groups.push_back({{"name", g.name}, {"count", g.count}});
  J layers = J::array();
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const LayerSettings &l = c.layers[i];
    layers.push_back({{"index", i},
                      {"kind", l.kind.empty() ? J(nullptr) : J(l.kind)},
                      {"window", l.window ? J(*l.window) : J(nullptr)},
                      {"use_rope", l.useRope},
                      {"rope_base", l.useRope ? J(l.ropeBase) : J(nullptr)}});
  }
  J tokens = J::array();
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    const SequenceGroup &g = r.sequence[i];
    const TokenSpec &t = c.tokens[i];
    tokens.push_back(
        {{"name", t.name},
         {"size", t.dynamic ? J("dynamic") : t.size ? J(*t.size) : J(nullptr)},
         {"input", toString(t.input)},
         {"length", g.length},
         {"begin", g.cache ? J(nullptr) : J(g.queryBegin)}});
  }
  J patterns = J::array();
  for (const AttentionPattern &p : c.patterns)
    patterns.push_back({{"query_tokens", p.queryTokens},
                        {"key_value_tokens", p.keyValueTokens},
                        {"mask", toString(p.mask)},
                        {"window", p.window ? J(*p.window) : J(nullptr)}});
  J masks = J::array();
  for (const MaskPicture &m : r.masks)
    masks.push_back(maskJson(m));
  const ParamCounts &p = r.params;
  const bool encoder = c.kind == ModelKind::Encoder;
  return {
      {"file", c.loc.file},
      {"name", c.name},
      {"kind", toString(c.kind)},
      {"dtype", toString(c.dtype)},
      {"num_layers", c.numLayers},
      {"hidden_dim", a.hiddenDim},
      {"num_heads", a.numHeads},
      {"num_kv_heads", a.numKvHeads},
      {"head_dim", a.headDim},
      {"mlp", {{"kind", toString(c.mlp.kind)},
               {"activation", toString(c.mlp.activation)},
               {"hidden_dim", c.mlp.hiddenDim}}},
      {"norm", {{"kind", toString(c.norm.kind)}, {"eps", c.norm.eps}}},
      {"position", toString(c.position.kind)},
      {"vocab_size", c.vocabSize ? J(*c.vocabSize) : J(nullptr)},
      {"parameters", {{"total", p.total},
                      {"embedding", p.embedding},
                      {"attention", p.attention},
                      {"mlp", p.mlp},
                      {"norms", p.norms},
                      {"head", p.head},
                      {"groups", groups}}},
      {"flops", {{"seq_len", r.o.seqLen},
                 {"prefill_per_token", r.flops.prefillPerToken},
                 {"decode_per_token", encoder ? J(nullptr)
                                              : J(r.flops.decodePerToken)}}},
      {"memory", {{"batch", r.o.batch},
                  {"cache_len", r.o.cacheLen},
                  {"bytes_per_value", byteSize(c.dtype)},
                  {"weight_bytes", r.memory.weightBytes},
                  {"kv_cache_bytes", encoder ? J(nullptr)
                                             : J(r.memory.kvCacheBytes)}}},
      {"layers", layers},
      {"tokens", tokens},
      {"attention_patterns", patterns},
      {"masks", masks}};
}

/// Checks --seq-len against the token groups; fills the defaults.
bool resolveLengths(const ModelConfig &c, InspectOptions &o,
                    const bool seqLenGiven) {
  int64_t fixed = 0, dynamicGroups = 0;
  for (const TokenSpec &t : c.tokens)
    if (t.fromCache())
      continue;
    else if (t.dynamic)
      ++dynamicGroups;
    else
      fixed += t.size.value_or(0);
  if (!seqLenGiven)
    o.seqLen = dynamicGroups ? c.maxSeqLen : fixed;
  if (o.cacheLen == 0)
    o.cacheLen = c.maxSeqLen;
  const char *cmd = "attnc inspect: ";
  if (dynamicGroups == 0 && o.seqLen != fixed) {
    std::cerr << cmd << "--seq-len " << o.seqLen << " does not fit " << o.file
              << ": it has no dynamic token group, so its sequence is always "
              << fixed << " tokens\n";
    return false;
  }
  if (o.seqLen > c.maxSeqLen || o.seqLen < fixed + dynamicGroups) {
    std::cerr << cmd << "--seq-len " << o.seqLen << " is out of range for "
              << o.file << "; expected " << fixed + dynamicGroups << " to "
              << c.maxSeqLen << " (max_seq_len)\n";
    return false;
  }
  return true;
}

int runInspect(InspectOptions o, bool seqLenGiven) {
  int code = kExitOk;
  std::optional<ModelConfig> config = loadAndReport(o.file, code);
  if (!config)
    return code;
  if (!resolveLengths(*config, o, seqLenGiven))
    return kExitUsage;

  Report r{*config, o, countParameters(*config), countFlops(*config, o.seqLen),
           estimateMemory(*config, o.batch, o.cacheLen),
           layoutSequence(*config, o.seqLen),
           buildMaskPictures(*config, o.seqLen, o.maskWidth)};
  std::string error;
  if (!o.svg.empty() &&
      !writeOutput(o.svg,
                   renderMaskSvg(r.masks, config->name.empty() ? o.file
                                                               : config->name),
                   error)) {
    std::cerr << "attnc inspect: " << error << "\n";
    return kExitUsage;
  }
  if (o.format == "json") {
    std::cout << reportJson(r).dump(2) << "\n";
    return kExitOk;
  }
  printSummary(std::cout, r);
  printParameters(std::cout, r);
  printCosts(std::cout, r);
  printStructure(std::cout, r);
  std::cout << renderMaskText(r.masks);
  return kExitOk;
}

/// A whole number >= 1 (CLI::PositiveNumber prints a 300-digit range).
const CLI::Validator kAtLeastOne(
    [](std::string &value) -> std::string {
      try {
        size_t used = 0;
        if (std::stoll(value, &used) >= 1 && used == value.size())
          return "";
      } catch (const std::exception &) {
      }
      return "expected a whole number >= 1, found '" + value + "'";
    },
    "INT>=1");

} // namespace

void addInspectCommand(CLI::App &app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App *cmd = app.add_subcommand(
      "inspect",
      "Show what a config is and what it costs: model summary, parameters per\n"
      "component, FLOPs per token (prefill and decode), weight and KV-cache\n"
      "memory, per-layer settings, token groups, attention patterns and the\n"
      "attention mask as a picture ('#' attended, '.' masked, '+' partly).\n"
      "Exit 0 ok, 1 invalid config, 2 usage error or unreadable file.");
  cmd->add_option("config", opts->file, "YAML or JSON config file")->required();
  CLI::Option *seqLen =
      cmd->add_option("--seq-len", opts->seqLen,
                      "Sequence length for FLOPs and the mask (default "
                      "max_seq_len); dynamic token groups share what the "
                      "fixed ones leave")
          ->check(kAtLeastOne);
  cmd->add_option("--batch", opts->batch, "Batch size for the KV cache")
      ->check(kAtLeastOne)
      ->capture_default_str();
  cmd->add_option("--cache-len", opts->cacheLen,
                  "KV-cache length per sequence (default max_seq_len)")
      ->check(kAtLeastOne);
  cmd->add_option("--svg", opts->svg,
                  "Also write the mask picture as an SVG image to this file");
  cmd->add_option("--format", opts->format,
                  "text or json (every number, machine-readable)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--mask-width", opts->maskWidth,
                  "Widest mask picture, in cells")
      ->check(kAtLeastOne)
      ->capture_default_str();
  cmd->callback([opts, seqLen] {
    int code = runInspect(*opts, seqLen->count() > 0);
    if (code != kExitOk)
      throw CLI::RuntimeError(code);
  });
}

} // namespace attnc::cli
