//===- WrongTypesTest.cpp - Wrong types everywhere never crash ------------===//
//
// Replaces every value of rich configs, one at a time, with a value of every
// other JSON type and checks that validation answers with errors (never a
// crash, an exception or a silent pass of a wrong type).
//
//===----------------------------------------------------------------------===//

#include "ConfigTestUtil.h"

#include <catch2/catch.hpp>

using namespace attnc;
using namespace attnc::test;
using nlohmann::json;

namespace {

json richConfig() {
  return json::parse(R"({
    "attnc": 1, "name": "rich", "kind": "decoder", "vocab_size": 50,
    "max_seq_len": 64, "num_layers": 3, "dtype": "float32",
    "tokens": [{"mem": null}, {"name": "img", "size": 4, "input": "image"},
               {"text": "dynamic"}],
    "attention_patterns": [
      {"query_tokens": ["img"], "key_value_tokens": ["img"], "mask": "full"},
      {"query_tokens": ["text"], "key_value_tokens": ["mem", "img", "text"],
       "mask": "sliding_window", "window": 8}],
    "attention": {"hidden_dim": 32, "num_heads": 4, "num_kv_heads": 2,
                  "qk_norm": true, "bias": false, "logit_softcap": 50.0,
                  "query_scale": 0.25, "custom": {"x": [1, 2]}},
    "embedding": {"scale_by_sqrt_dim": true, "tied_output": true},
    "patch_embedding": {"image_size": [32, 32], "patch_size": 16},
    "position": {"kind": "rope", "base": 10000, "fraction": 0.5},
    "mlp": {"kind": "gated", "activation": "gelu_tanh", "hidden_dim": 64},
    "norm": {"kind": "rms", "eps": 1e-6, "zero_centered": true},
    "block": {"structure": "pre_norm", "post_attention_norm": true},
    "final_logit_softcap": 30.0,
    "layers": {"kinds": {"local": {"window": 4}, "global": {"rope_base": 1e6}},
               "pattern": ["local", "global"],
               "overrides": [{"layers": [2], "kind": "local", "use_rope": false}]}
  })");
}

/// Every JSON pointer of a scalar or container below the root.
void collectPointers(const json &v, const std::string &p,
                     std::vector<std::string> &out) {
  if (!p.empty())
    out.push_back(p);
  if (v.is_object())
    for (auto it = v.begin(); it != v.end(); ++it)
      collectPointers(it.value(), p + "/" + it.key(), out);
  else if (v.is_array())
    for (size_t i = 0; i < v.size(); ++i)
      collectPointers(v[i], p + "/" + std::to_string(i), out);
}

} // namespace

TEST_CASE("the rich config is valid", "[robustness]") {
  LoadResult r = validateJson(richConfig());
  INFO(allMessages(r));
  REQUIRE(r.config);
}

TEST_CASE("wrong types everywhere: errors, never a crash", "[robustness]") {
  const json base = richConfig();
  std::vector<std::string> pointers;
  collectPointers(base, "", pointers);
  const json replacements[] = {json(nullptr), json(true), json(-7),
                               json(2.5),     json("zz"), json::array({1}),
                               json::object({{"q", 1}})};
  size_t variants = 0, rejected = 0;
  for (const std::string &pointer : pointers) {
    for (const json &replacement : replacements) {
      json config = base;
      json &slot = config.at(json::json_pointer(pointer));
      if (slot.type() == replacement.type())
        continue;
      slot = replacement;
      LoadResult r;
      REQUIRE_NOTHROW(r = validateJson(config));
      ++variants;
      if (!r.config)
        ++rejected;
      for (const Diagnostic &d : r.diags.all()) {
        INFO(pointer << " <- " << replacement.dump() << ": " << d.message);
        CHECK(d.loc.line > 0);
        CHECK_FALSE(d.message.empty());
      }
    }
  }
  // Some replacements are legal (a null softcap, an extra field's value,
  // a name string); the vast majority must be rejected.
  INFO(rejected << " of " << variants << " rejected");
  CHECK(variants > 400);
  CHECK(rejected > variants * 8 / 10);
}
