//===- Rules.cpp - Semantic rules the JSON Schema cannot express ----------===//
//
// Each rule names the field at fault, what it found and what it expected.
// Rules skip values that already failed the schema (ConfigReader::get gives
// null for them), so a mistake is reported once.
//
//===----------------------------------------------------------------------===//

#include "Resolve.h"

#include "EnumNames.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace attnc {

using nlohmann::ordered_json;

namespace {

std::string num(int64_t v) { return std::to_string(v); }

class RuleChecker {
public:
  RuleChecker(const ConfigReader &r, const ModelConfig &c, DiagnosticList &d)
      : r_(r), c_(c), diags_(d) {}

  void run() {
    checkTokens();
    checkPatterns();
    checkAttention();
    checkPositions();
    checkEmbeddings();
    checkNormAndOutput();
    checkLayers();
  }

private:
  void error(const std::string &pointer, const std::string &message,
             const std::string &found, const std::string &expected) {
    diags_.error(r_.loc(pointer), message, found, expected);
  }

  /// Pointer of the size of the token group declared at `p` ("/tokens/3").
  std::string tokenSizePointer(const std::string &p) const {
    const ordered_json *item = r_.get(p);
    if (item && item->is_object() && !item->contains("name") && !item->empty())
      return p + "/" + escapePointerToken(item->begin().key());
    return p + "/size";
  }

  void checkTokens() {
    int64_t fixedSum = 0;
    bool anyDynamic = false;
    std::map<std::string, std::string> seen;
    for (const TokenSpec &t : c_.tokens) {
      const std::string &p = t.loc.pointer;
      if (!seen.emplace(t.name, p).second)
        error(p, "token group '" + t.name + "' is declared twice (first at " +
                     r_.loc(seen[t.name]).str() + "); expected unique names",
              "'" + t.name + "' twice", "unique group names");
      bool sizeNull = !t.size && !t.dynamic;
      if (sizeNull && t.input != TokenInput::Cache)
        error(p + "/input", "token group '" + t.name + "' has size null but "
                                "input '" + toString(t.input) +
                                "'; expected input 'cache' (size null means "
                                "its keys/values come from the KV cache)",
              std::string("input '") + toString(t.input) + "'", "input 'cache'");
      if (!sizeNull && t.input == TokenInput::Cache)
        error(tokenSizePointer(p),
              "token group '" + t.name + "' has input 'cache' but a size; "
              "expected size null (cache groups are not in the input)",
              t.dynamic ? "'dynamic'" : num(*t.size), "null");
      if (t.dynamic && (t.input == TokenInput::Learned ||
                        t.input == TokenInput::Image))
        error(tokenSizePointer(p),
              "token group '" + t.name + "' with input '" + toString(t.input) +
                  "' has size 'dynamic'; expected a fixed integer size",
              "'dynamic'", "an integer");
      if (t.input == TokenInput::Image && t.size && c_.patchEmbedding &&
          c_.patchEmbedding->numPatches() > 0 &&
          *t.size != c_.patchEmbedding->numPatches())
        error(tokenSizePointer(p),
              "image token group '" + t.name + "' has size " + num(*t.size) +
                  "; expected " + num(c_.patchEmbedding->numPatches()) +
                  " (one token per patch of the image)",
              num(*t.size), num(c_.patchEmbedding->numPatches()));
      if (t.fromCache())
        continue;
      if (t.size)
        fixedSum += *t.size;
      anyDynamic = anyDynamic || t.dynamic;
    }
    if (anyDynamic && !r_.has("/max_seq_len") && !r_.broken("/max_seq_len"))
      error("", "a token group has size 'dynamic' but 'max_seq_len' is not "
                "set; expected max_seq_len (the longest sequence accepted)",
            "no max_seq_len", "max_seq_len");
    if (auto maxLen = r_.integer("/max_seq_len"); maxLen && fixedSum > *maxLen)
      error("/max_seq_len",
            "'max_seq_len' is " + num(*maxLen) +
                " but the fixed-size token groups hold " + num(fixedSum) +
                " tokens; expected at least " + num(fixedSum),
            num(*maxLen), "at least " + num(fixedSum));
    if (c_.hasInput(TokenInput::Image) && !c_.patchEmbedding &&
        !r_.broken("/patch_embedding"))
      error(firstTokensWith(TokenInput::Image) + "/input", "a token group has input 'image' but there is no "
                       "'patch_embedding'; expected a patch_embedding section",
            "no patch_embedding", "patch_embedding");
    bool needsVocab = c_.hasInput(TokenInput::Tokens) ||
                      c_.output.kind == OutputKind::Logits;
    if (needsVocab && !c_.vocabSize && !r_.broken("/vocab_size"))
      error("", std::string("'vocab_size' is required ") +
                    (c_.hasInput(TokenInput::Tokens)
                         ? "because a token group has input 'tokens'"
                         : "because the output is 'logits'") +
                    "; expected an integer >= 1",
            "no vocab_size", "vocab_size");
  }

  void checkPatterns() {
    std::map<std::string, std::string> queriedBy; // group -> pattern pointer
    for (size_t i = 0; i < c_.patterns.size() && c_.patternsGiven; ++i) {
      const AttentionPattern &pat = c_.patterns[i];
      std::string p = "/attention_patterns/" + std::to_string(i);
      for (size_t q = 0; q < pat.queryTokens.size(); ++q) {
        const std::string &name = pat.queryTokens[q];
        std::string qp = p + "/query_tokens/" + num(q);
        const TokenSpec *spec = c_.findTokens(name);
        if (!spec) {
          unknownGroup(qp, name);
          queriedBy.emplace(name, qp);
          continue;
        }
        if (spec->fromCache())
          error(qp, "token group '" + name + "' comes from the KV cache "
                    "(size null) and cannot be a query; expected it only in "
                    "key_value_tokens",
                "'" + name + "' as a query", "cache groups only as keys/values");
        auto [it, inserted] = queriedBy.emplace(name, qp);
        if (!inserted)
          error(qp, "token group '" + name + "' is a query in more than one "
                    "pattern (also at " + r_.loc(it->second).str() +
                    "); expected each group to be a query in exactly one pattern",
                "'" + name + "' queried twice", "exactly one pattern per group");
      }
      for (size_t k = 0; k < pat.keyValueTokens.size(); ++k)
        if (!c_.findTokens(pat.keyValueTokens[k]))
          unknownGroup(p + "/key_value_tokens/" + num(k), pat.keyValueTokens[k]);

      bool hasWindow = r_.has(p + "/window");
      if (pat.mask == MaskKind::SlidingWindow && !hasWindow &&
          !r_.broken(p + "/window"))
        error(p, "pattern " + num(i) + " has mask 'sliding_window' but no "
                 "'window'; expected a window size (query i sees key j when "
                 "0 <= i - j < window)",
              "no window", "window");
      if (pat.mask != MaskKind::SlidingWindow && hasWindow)
        error(p + "/window", "'window' is set but the mask is '" +
                                 std::string(toString(pat.mask)) +
                                 "'; expected mask 'sliding_window' with a window",
              std::string("mask '") + toString(pat.mask) + "'",
              "mask 'sliding_window'");
    }
    if (!c_.patternsGiven || r_.broken("/attention_patterns"))
      return;
    for (const TokenSpec &t : c_.tokens) {
      if (!t.fromCache() && !queriedBy.count(t.name))
        error(t.loc.pointer,
              "token group '" + t.name + "' is a query in no attention "
              "pattern; expected every input group in exactly one pattern's "
              "query_tokens",
              "'" + t.name + "' not queried", "one pattern per group");
    }
  }

  std::string firstTokensWith(TokenInput input) const {
    for (const TokenSpec &t : c_.tokens)
      if (t.input == input)
        return t.loc.pointer;
    return "/tokens";
  }

  /// Names declared in `tokens`, including groups whose size failed the
  /// schema (they are still declared; a pattern naming them is fine).
  bool declared(const std::string &name) const {
    const ordered_json *tokens = r_.doc().root.contains("tokens")
                                     ? &r_.doc().root["tokens"]
                                     : nullptr;
    if (!tokens || !tokens->is_array())
      return false;
    for (const ordered_json &item : *tokens) {
      if (!item.is_object() || item.empty())
        continue;
      if (item.contains("name") ? item["name"] == name
                                : item.begin().key() == name)
        return true;
    }
    return false;
  }

  void unknownGroup(const std::string &pointer, const std::string &name) {
    if (declared(name))
      return;
    std::string known;
    for (const TokenSpec &t : c_.tokens)
      known += (known.empty() ? "'" : ", '") + t.name + "'";
    error(pointer, "unknown token group '" + name + "'; expected one of " +
                       known,
          "'" + name + "'", "one of " + known);
  }

  void checkAttention() {
    const AttentionConfig &a = c_.attention;
    bool dims = r_.has("/attention/hidden_dim") && r_.has("/attention/num_heads");
    if (dims && !r_.has("/attention/head_dim") && !r_.broken("/attention/head_dim") &&
        a.hiddenDim % a.numHeads != 0)
      error("/attention/hidden_dim",
            "'attention.hidden_dim' " + num(a.hiddenDim) +
                " is not divisible by num_heads " + num(a.numHeads) +
                "; expected a multiple of " + num(a.numHeads) +
                " (or an explicit head_dim)",
            num(a.hiddenDim), "a multiple of " + num(a.numHeads));
    if (r_.has("/attention/num_heads") && r_.has("/attention/num_kv_heads")) {
      if (a.numKvHeads > a.numHeads)
        error("/attention/num_kv_heads",
              "'attention.num_kv_heads' " + num(a.numKvHeads) +
                  " exceeds num_heads " + num(a.numHeads) +
                  "; expected at most " + num(a.numHeads),
              num(a.numKvHeads), "at most " + num(a.numHeads));
      else if (a.numHeads % a.numKvHeads != 0)
        error("/attention/num_kv_heads",
              "'attention.num_heads' " + num(a.numHeads) +
                  " is not divisible by num_kv_heads " + num(a.numKvHeads) +
                  "; expected a divisor of " + num(a.numHeads),
              num(a.numKvHeads), "a divisor of " + num(a.numHeads));
    }
    if (auto useRope = r_.boolean("/attention/use_rope");
        useRope && *useRope && c_.position.kind != PositionKind::Rope &&
        !r_.broken("/position/kind"))
      error("/attention/use_rope",
            std::string("'attention.use_rope' is true but position.kind is '") +
                toString(c_.position.kind) +
                "'; expected position.kind 'rope' (where the RoPE settings live)",
            std::string("position.kind '") + toString(c_.position.kind) + "'",
            "position.kind 'rope'");
  }

  void checkRopeDim(const std::string &pointer, double fraction) {
    int64_t headDim = c_.attention.headDim;
    if (headDim <= 0)
      return;
    double rotated = fraction * double(headDim);
    bool whole = std::fabs(rotated - std::round(rotated)) <= 1e-9;
    if (whole && static_cast<int64_t>(std::round(rotated)) % 2 == 0)
      return;
    std::ostringstream amount;
    amount << rotated;
    error(pointer,
          "RoPE would rotate " + amount.str() + " of head_dim " +
              num(headDim) + "'s dimensions (fraction " +
              [&] { std::ostringstream f; f << fraction; return f.str(); }() +
              "); expected an even whole number (dimensions rotate in pairs)",
          amount.str() + " dimensions", "an even number of dimensions");
  }

  void checkPositions() {
    const PositionConfig &p = c_.position;
    if (p.kind == PositionKind::Rope) {
      checkRopeDim(r_.has("/position/fraction") ? "/position/fraction"
                                                : "/attention/head_dim",
                   p.ropeFraction);
    } else {
      for (const char *field : {"base", "style", "fraction", "scale_factor"})
        if (r_.has(std::string("/position/") + field))
          error(std::string("/position/") + field,
                std::string("'position.") + field +
                    "' only applies to RoPE but position.kind is '" +
                    toString(p.kind) + "'; expected kind 'rope' or no '" +
                    field + "'",
                std::string("kind '") + toString(p.kind) + "'", "kind 'rope'");
    }
    if (p.kind != PositionKind::Learned && r_.has("/position/size"))
      error("/position/size",
            std::string("'position.size' only applies to learned positions "
                        "but position.kind is '") +
                toString(p.kind) + "'; expected kind 'learned' or no 'size'",
            std::string("kind '") + toString(p.kind) + "'", "kind 'learned'");
    if (p.kind == PositionKind::Learned && c_.maxSeqLen > 0 &&
        p.size < c_.maxSeqLen)
      error(r_.has("/position/size") ? "/position/size" : "/max_seq_len",
            "the learned position table has " + num(p.size) +
                " rows but max_seq_len is " + num(c_.maxSeqLen) +
                "; expected at least " + num(c_.maxSeqLen) + " rows",
            num(p.size), "at least " + num(c_.maxSeqLen));
  }

  void checkEmbeddings() {
    if (const auto &pe = c_.patchEmbedding; pe && pe->patchSize > 0) {
      if (pe->imageHeight % pe->patchSize || pe->imageWidth % pe->patchSize)
        error("/patch_embedding/patch_size",
              "image size " + num(pe->imageHeight) + "x" + num(pe->imageWidth) +
                  " is not divisible by patch_size " + num(pe->patchSize) +
                  "; expected a patch size that divides both sides",
              num(pe->patchSize), "a divisor of the image size");
    }
    if (c_.patchEmbedding && !c_.hasInput(TokenInput::Image))
      diags_.warning(r_.keyLoc("/patch_embedding"),
                     "'patch_embedding' is set but no token group has input "
                     "'image'; it is unused",
                     "patch_embedding", "an image token group");
    if (c_.embedding.tiedOutput && c_.output.kind != OutputKind::Logits)
      error("/embedding/tied_output",
            std::string("'embedding.tied_output' is true but the output is '") +
                toString(c_.output.kind) +
                "'; expected output kind 'logits' (the tied table projects to "
                "the vocabulary)",
            std::string("output '") + toString(c_.output.kind) + "'",
            "output 'logits'");
  }

  void checkNormAndOutput() {
    if (c_.norm.kind == NormKind::Rms && r_.boolean("/norm/bias").value_or(false))
      error("/norm/bias", "'norm.bias' is true but RMSNorm has no shift; "
                          "expected false or norm kind 'layer'",
            "true", "false with kind 'rms'");
    const OutputConfig &o = c_.output;
    if (o.kind == OutputKind::Classifier && !r_.has("/output/num_classes") &&
        !r_.broken("/output/num_classes"))
      error("/output", "output kind 'classifier' needs 'num_classes'; "
                       "expected an integer >= 1",
            "no num_classes", "num_classes");
    if (o.kind == OutputKind::Logits && o.pooler)
      error("/output/pooler",
            "'output.pooler' is true but the output is 'logits'; expected "
            "output kind 'hidden_states' or 'classifier' (the pooler works on "
            "one pooled token)",
            "output 'logits'", "output 'hidden_states' or 'classifier'");
    if (o.kind != OutputKind::Classifier && r_.has("/output/num_classes"))
      error("/output/num_classes",
            std::string("'output.num_classes' is set but the output is '") +
                toString(o.kind) + "'; expected output kind 'classifier'",
            std::string("output '") + toString(o.kind) + "'",
            "output 'classifier'");
  }

  void checkLayers() {
    for (size_t i = 0; i < c_.layerPattern.size(); ++i)
      if (!c_.layerKinds.count(c_.layerPattern[i]))
        unknownLayerKind("/layers/pattern/" + num(i), c_.layerPattern[i]);
    for (const auto &[name, kind] : c_.layerKinds)
      checkLayerSettings("/layers/kinds/" + escapePointerToken(name));

    const ordered_json *overrides = r_.get("/layers/overrides");
    if (!overrides || !overrides->is_array())
      return;
    for (size_t o = 0; o < overrides->size(); ++o) {
      std::string p = "/layers/overrides/" + num(o);
      if (auto kind = r_.string(p + "/kind"); kind && !c_.layerKinds.count(*kind))
        unknownLayerKind(p + "/kind", *kind);
      checkLayerSettings(p);
      const ordered_json *layers = r_.get(p + "/layers");
      if (!layers || !layers->is_array())
        continue;
      for (size_t k = 0; k < layers->size(); ++k) {
        const ordered_json &index = (*layers)[k];
        if (index.is_number_integer() && c_.numLayers > 0 &&
            index.get<int64_t>() >= c_.numLayers)
          error(p + "/layers/" + num(k),
                "layer index " + num(index.get<int64_t>()) +
                    " is out of range for num_layers " + num(c_.numLayers) +
                    "; expected 0 to " + num(c_.numLayers - 1),
                num(index.get<int64_t>()),
                "0 to " + num(c_.numLayers - 1));
      }
    }
  }

  void checkLayerSettings(const std::string &p) {
    if (r_.boolean(p + "/use_rope").value_or(false) &&
        c_.position.kind != PositionKind::Rope)
      error(p + "/use_rope",
            std::string("'use_rope' is true for these layers but "
                        "position.kind is '") +
                toString(c_.position.kind) + "'; expected position.kind 'rope'",
            std::string("position.kind '") + toString(c_.position.kind) + "'",
            "position.kind 'rope'");
    for (const char *field : {"rope_base", "rope_scale_factor"})
      if (r_.has(p + "/" + field) && c_.position.kind != PositionKind::Rope)
        error(p + "/" + field,
              std::string("'") + field + "' is set but position.kind is '" +
                  toString(c_.position.kind) +
                  "'; expected position.kind 'rope'",
              std::string("position.kind '") + toString(c_.position.kind) + "'",
              "position.kind 'rope'");
  }

  void unknownLayerKind(const std::string &pointer, const std::string &name) {
    std::string known;
    for (const auto &entry : c_.layerKinds)
      known += (known.empty() ? "'" : ", '") + entry.first + "'";
    error(pointer, "unknown layer kind '" + name + "'; expected " +
                       (known.empty() ? std::string("a kind defined under "
                                                    "layers.kinds")
                                      : "one of " + known),
          "'" + name + "'", known.empty() ? "a defined kind" : known);
  }

  const ConfigReader &r_;
  const ModelConfig &c_;
  DiagnosticList &diags_;
};

} // namespace

void checkSemanticRules(const ConfigReader &reader, const ModelConfig &config,
                        DiagnosticList &diags) {
  RuleChecker(reader, config, diags).run();
}

} // namespace attnc
