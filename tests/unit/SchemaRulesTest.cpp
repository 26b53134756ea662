//===- SchemaRulesTest.cpp - One passing and one failing case per rule ----===//

#include "ConfigTestUtil.h"

#include <catch2/catch.hpp>

using namespace attnc;
using namespace attnc::test;

namespace {

/// Checks that the patched base config is valid.
void requireValid(const std::string &patch) {
  LoadResult r = validatePatched(patch);
  INFO(patch << "\n" << allMessages(r));
  REQUIRE(r.config);
}

/// Checks that the patched base config fails with a message containing
/// `needle` at JSON pointer `pointer`.
void requireError(const std::string &patch, const std::string &needle,
                  const std::string &pointer) {
  LoadResult r = validatePatched(patch);
  INFO(patch << "\n" << allMessages(r));
  REQUIRE_FALSE(r.config);
  const Diagnostic *d = findError(r, needle);
  REQUIRE(d);
  CHECK(d->loc.pointer == pointer);
  CHECK(d->loc.line > 0);
}

} // namespace

TEST_CASE("base config is valid", "[rules]") { requireValid("{}"); }

TEST_CASE("schema: types, enums, ranges, required and unknown fields",
          "[rules][schema]") {
  requireError(R"({"num_layers": 0})", "expected an integer >= 1",
               "/num_layers");
  requireError(R"({"num_layers": "2"})", "found '2'", "/num_layers");
  requireError(R"({"dtype": "float33"})", "did you mean 'float32'?",
               "/dtype");
  requireError(R"({"attention": {"num_heads": null}})",
               "missing required field 'num_heads'", "/attention");
  requireError(R"({"mlp": {"kidn": "gated"}})",
               "unknown field 'kidn' in 'mlp'; did you mean 'kind'?",
               "/mlp/kidn");
  requireError(R"({"attnc": 2})", "expected 1", "/attnc");
  requireValid(R"({"dtype": "bfloat16", "mlp": {"kind": "gated"}})");
}

TEST_CASE("every problem is reported, not only the first", "[rules]") {
  LoadResult r = validatePatched(
      R"({"num_layers": 0, "dtype": "f", "norm": {"kind": "x"},
          "attention": {"hidden_dim": 30, "num_heads": 4}})");
  INFO(allMessages(r));
  CHECK(r.diags.errorCount() == 4);
}

TEST_CASE("attention extra fields are kept; misspellings warn", "[rules]") {
  LoadResult r = validatePatched(
      R"({"attention": {"num_slices": 512, "num_head": 3}})");
  INFO(allMessages(r));
  REQUIRE(r.config);
  CHECK(r.config->attention.extras["num_slices"] == 512);
  CHECK(r.config->attention.extras.contains("num_head"));
  REQUIRE(r.diags.all().size() == 1);
  CHECK(r.diags.all()[0].severity == Severity::Warning);
  CHECK(r.diags.all()[0].message.find("did you mean 'num_heads'") !=
        std::string::npos);
}

TEST_CASE("token groups: shorthand and long form", "[rules][tokens]") {
  LoadResult shorthand = validatePatched(R"({"tokens": [{"text": 16}]})");
  LoadResult longForm =
      validatePatched(R"({"tokens": [{"name": "text", "size": 16}]})");
  REQUIRE(shorthand.config);
  REQUIRE(longForm.config);
  CHECK(shorthand.config->tokens[0].name == "text");
  CHECK(*shorthand.config->tokens[0].size == 16);
  CHECK(*longForm.config->tokens[0].size == 16);
  requireError(R"({"tokens": [{"text": 1, "image": 2}]})",
               "expected exactly one 'name: size' pair", "/tokens/0");
  requireError(R"({"tokens": [{"text": "dyn"}]})",
               "expected an integer >= 1, 'dynamic' or null", "/tokens/0/text");
}

TEST_CASE("token groups: size null means the KV cache", "[rules][tokens]") {
  LoadResult r =
      validatePatched(R"({"tokens": [{"memory": null}, {"text": "dynamic"}]})");
  REQUIRE(r.config);
  CHECK(r.config->tokens[0].input == TokenInput::Cache);
  // The default pattern never makes a cache group a query.
  CHECK(r.config->patterns[0].queryTokens ==
        std::vector<std::string>{"text"});
  requireError(
      R"({"tokens": [{"name": "m", "size": 4, "input": "cache"}, {"t": 4}]})",
      "has input 'cache' but a size", "/tokens/0/size");
  requireError(R"({"tokens": [{"name": "m", "size": null, "input": "tokens"},
                              {"t": 4}]})",
               "has size null but input 'tokens'", "/tokens/0/input");
}

TEST_CASE("token groups: names are unique", "[rules][tokens]") {
  requireError(R"({"tokens": [{"a": 4}, {"a": 8}]})", "declared twice",
               "/tokens/1");
  requireValid(R"({"tokens": [{"a": 4}, {"b": 8}]})");
}

TEST_CASE("max_seq_len: required with dynamic groups, covers fixed ones",
          "[rules][tokens]") {
  requireError(R"({"max_seq_len": null})", "'max_seq_len' is not set", "");
  requireValid(R"({"max_seq_len": null, "tokens": [{"text": 16}]})");
  requireError(R"({"tokens": [{"a": 40}, {"b": 40}]})",
               "hold 80 tokens; expected at least 80", "/max_seq_len");
}

TEST_CASE("vocab_size is required for token inputs and logits", "[rules]") {
  requireError(R"({"vocab_size": null})", "'vocab_size' is required", "");
  requireValid(R"({"vocab_size": null, "output": {"kind": "hidden_states"},
                   "tokens": [{"name": "x", "size": 8, "input": "embeddings"}]})");
}

TEST_CASE("hidden_dim divisible by num_heads unless head_dim is given",
          "[rules][attention]") {
  requireError(R"({"attention": {"hidden_dim": 30}})",
               "30 is not divisible by num_heads 4", "/attention/hidden_dim");
  requireValid(R"({"attention": {"hidden_dim": 30, "head_dim": 8}})");
}

TEST_CASE("num_heads divisible by num_kv_heads", "[rules][attention]") {
  requireError(R"({"attention": {"num_kv_heads": 3}})",
               "4 is not divisible by num_kv_heads 3",
               "/attention/num_kv_heads");
  requireError(R"({"attention": {"num_kv_heads": 8}})", "exceeds num_heads 4",
               "/attention/num_kv_heads");
  LoadResult r = validatePatched(R"({"attention": {"num_kv_heads": 2}})");
  REQUIRE(r.config);
  CHECK(r.config->attention.numKvHeads == 2);
}

TEST_CASE("RoPE rotates an even number of dimensions", "[rules][rope]") {
  requireValid(R"({"position": {"kind": "rope", "fraction": 0.5}})");
  requireError(R"({"position": {"kind": "rope", "fraction": 0.125}})",
               "expected an even whole number", "/position/fraction");
  requireError(
      R"({"attention": {"head_dim": 7}, "position": {"kind": "rope"}})",
      "expected an even whole number", "/attention/head_dim");
}

TEST_CASE("RoPE settings need position kind rope", "[rules][rope]") {
  requireError(R"({"position": {"kind": "learned", "base": 500}})",
               "'position.base' only applies to RoPE", "/position/base");
  requireError(R"({"attention": {"use_rope": true}})",
               "'attention.use_rope' is true but position.kind is 'none'",
               "/attention/use_rope");
  LoadResult r = validatePatched(R"({"position": {"kind": "rope"}})");
  REQUIRE(r.config);
  CHECK(r.config->attention.useRope);
}

TEST_CASE("learned positions cover max_seq_len", "[rules]") {
  requireError(R"({"position": {"kind": "learned", "size": 32}})",
               "has 32 rows but max_seq_len is 64", "/position/size");
  requireValid(R"({"position": {"kind": "learned", "size": 64}})");
}

TEST_CASE("image size divisible by patch size; image group size matches",
          "[rules][image]") {
  std::string tokens =
      R"("tokens": [{"name": "img", "size": 4, "input": "image"}, {"t": 8}])";
  requireValid("{" + tokens +
               R"(, "patch_embedding": {"image_size": 32, "patch_size": 16}})");
  requireError("{" + tokens +
                   R"(, "patch_embedding": {"image_size": 30, "patch_size": 16}})",
               "not divisible by patch_size 16", "/patch_embedding/patch_size");
  requireError("{" + tokens +
                   R"(, "patch_embedding": {"image_size": 64, "patch_size": 16}})",
               "has size 4; expected 16", "/tokens/0/size");
  requireError("{" + tokens + "}", "there is no 'patch_embedding'",
               "/tokens/0/input");
}

TEST_CASE("patterns: names exist and cover every group exactly once",
          "[rules][patterns]") {
  std::string tokens = R"("tokens": [{"a": 8}, {"b": 8}], )";
  requireValid("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["a"], "key_value_tokens": ["a"]},
      {"query_tokens": ["b"], "key_value_tokens": ["a", "b"]}]})");
  requireError("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["a", "b"], "key_value_tokens": ["c"]}]})",
               "unknown token group 'c'",
               "/attention_patterns/0/key_value_tokens/0");
  requireError("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["a", "b"], "key_value_tokens": ["a"]},
      {"query_tokens": ["b"], "key_value_tokens": ["b"]}]})",
               "is a query in more than one pattern",
               "/attention_patterns/1/query_tokens/0");
  requireError("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["a"], "key_value_tokens": ["a", "b"]}]})",
               "token group 'b' is a query in no attention pattern",
               "/tokens/1");
}

TEST_CASE("patterns: cache groups are never queries", "[rules][patterns]") {
  std::string tokens = R"("tokens": [{"mem": null}, {"t": 8}], )";
  requireValid("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["t"], "key_value_tokens": ["mem", "t"]}]})");
  requireError("{" + tokens + R"("attention_patterns": [
      {"query_tokens": ["t", "mem"], "key_value_tokens": ["mem", "t"]}]})",
               "comes from the KV cache", "/attention_patterns/0/query_tokens/1");
}

TEST_CASE("patterns: window only with sliding_window masks",
          "[rules][patterns]") {
  LoadResult r = validatePatched(R"({"attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["text"],
       "mask": "sliding_window", "window": 16}]})");
  REQUIRE(r.config);
  CHECK(r.config->patterns[0].mask == MaskKind::SlidingWindow);
  CHECK(*r.config->patterns[0].window == 16);
  requireError(R"({"attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["text"], "window": 4}]})",
               "'window' is set but the mask is 'causal'",
               "/attention_patterns/0/window");
  requireError(R"({"attention_patterns": [
      {"query_tokens": ["text"], "key_value_tokens": ["text"],
       "mask": "sliding_window"}]})",
               "has mask 'sliding_window' but no 'window'",
               "/attention_patterns/0");
}

TEST_CASE("default pattern: causal for decoders, full for encoders",
          "[rules][patterns]") {
  LoadResult decoder = validatePatched("{}");
  LoadResult encoder = validatePatched(R"({"kind": "encoder"})");
  REQUIRE(decoder.config);
  REQUIRE(encoder.config);
  CHECK_FALSE(decoder.config->patternsGiven);
  CHECK(decoder.config->patterns.size() == 1);
  CHECK(decoder.config->patterns[0].mask == MaskKind::Causal);
  CHECK(encoder.config->patterns[0].mask == MaskKind::Full);
}

TEST_CASE("per-layer kinds, pattern and overrides", "[rules][layers]") {
  LoadResult r = validatePatched(R"({"num_layers": 5,
      "position": {"kind": "rope", "base": 10000},
      "layers": {"kinds": {"local": {"window": 8},
                           "global": {"rope_base": 1000000}},
                 "pattern": ["local", "local", "global"],
                 "overrides": [{"layers": [4], "window": 2}]}})");
  INFO(allMessages(r));
  REQUIRE(r.config);
  const auto &layers = r.config->layers;
  REQUIRE(layers.size() == 5);
  CHECK(*layers[0].window == 8);
  CHECK(layers[1].kind == "local");
  CHECK_FALSE(layers[2].window);
  CHECK(layers[2].ropeBase == 1000000.0);
  CHECK(layers[3].ropeBase == 10000.0);
  CHECK(*layers[4].window == 2);
  requireError(R"({"layers": {"overrides": [{"layers": [2], "window": 4}]}})",
               "layer index 2 is out of range for num_layers 2",
               "/layers/overrides/0/layers/0");
  requireError(R"({"layers": {"kinds": {"local": {"window": 4}},
                              "pattern": ["local", "globl"]}})",
               "unknown layer kind 'globl'", "/layers/pattern/1");
}

TEST_CASE("norm, output and tied embeddings agree", "[rules]") {
  requireError(R"({"norm": {"kind": "rms", "bias": true}})",
               "RMSNorm has no shift", "/norm/bias");
  requireError(R"({"output": {"kind": "classifier"}})",
               "needs 'num_classes'", "/output");
  requireValid(R"({"output": {"kind": "classifier", "num_classes": 10}})");
  requireError(R"({"embedding": {"tied_output": true},
                   "output": {"kind": "hidden_states"}})",
               "expected output kind 'logits'", "/embedding/tied_output");
}

TEST_CASE("defaults are resolved the way the references do", "[rules]") {
  LoadResult r = validatePatched(R"({"norm": {"kind": "rms"}})");
  REQUIRE(r.config);
  const ModelConfig &c = *r.config;
  CHECK(c.attention.headDim == 8);
  CHECK(c.attention.numKvHeads == 4);
  CHECK(c.attention.queryScale == Approx(1.0 / std::sqrt(8.0)));
  CHECK(c.mlp.hiddenDim == 128);
  CHECK_FALSE(c.norm.bias);
  CHECK(c.finalNorm);
  CHECK(c.output.kind == OutputKind::Logits);
  LoadResult post = validatePatched(R"({"block": {"structure": "post_norm"}})");
  REQUIRE(post.config);
  CHECK_FALSE(post.config->finalNorm);
}

TEST_CASE("duplicate keys are rejected with both positions", "[rules][yaml]") {
  LoadResult r = loadConfigString(
      "attnc: 1\nnum_layers: 2\nnum_layers: 3\n", "dup.yaml");
  const Diagnostic *d = findError(r, "duplicate key 'num_layers'");
  REQUIRE(d);
  CHECK(d->loc.line == 3);
  CHECK(d->loc.column == 1);
  CHECK(d->message.find("first defined at line 2") != std::string::npos);
}

TEST_CASE("YAML positions are exact line and column", "[rules][yaml]") {
  LoadResult r = loadConfigString("attnc: 1\nnum_layers: 2\n"
                                  "vocab_size: 10\ntokens:\n  - text: 4\n"
                                  "attention:\n  hidden_dim: 8\n"
                                  "  num_heads: zero\n",
                                  "pos.yaml");
  const Diagnostic *d = findError(r, "'attention.num_heads'");
  REQUIRE(d);
  CHECK(d->loc.str() == "pos.yaml:8:14");
  CHECK(d->found == "'zero'");
  CHECK(d->expected == "an integer >= 1");
}

TEST_CASE("hostile input: malformed, binary, deep, aliases, empty",
          "[rules][yaml]") {
  CHECK(findError(loadConfigString("a: [1, 2\n", "m.yaml"), "malformed"));
  CHECK(findError(loadConfigString(std::string("a: \0\x01", 5), "b.yaml"),
                  "not UTF-8 text"));
  CHECK(findError(loadConfigString("a: " + std::string(5000, '['), "d.yaml"),
                  "nested"));
  CHECK(findError(loadConfigString("", "e.yaml"), "holds no config"));
  std::string bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n";
  for (char c = 'b'; c <= 'h'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [" +
            [&] {
              std::string s;
              for (int i = 0; i < 10; ++i)
                s += std::string(i ? "," : "") + "*" + char(c - 1);
              return s;
            }() +
            "]\n";
  LoadResult r = loadConfigString(bomb, "bomb.yaml");
  CHECK(findError(r, "expands to more than"));
  CHECK(r.diags.errorCount() == 1);
}

TEST_CASE("the pooler needs a pooled output", "[rules]") {
  requireError(R"({"output": {"pooler": true}})",
               "'output.pooler' is true but the output is 'logits'",
               "/output/pooler");
  requireValid(R"({"output": {"kind": "hidden_states", "pooler": true}})");
}

TEST_CASE("JSON configs may name their schema", "[rules]") {
  requireValid(R"({"$schema": "../schema/attnc.schema.json"})");
  requireError(R"({"$schema": 3})", "found 3; expected a string", "/$schema");
}
