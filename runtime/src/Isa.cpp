//===- Isa.cpp - Host CPU checks for artifacts ----------------------------===//

#include "attnc/Runtime/Isa.hpp"

namespace {
// __builtin_cpu_supports needs a string literal, hence the macro.
#define ATTNC_CHECK(name)                                                      \
  if (s == name)                                                               \
    return __builtin_cpu_supports(name) != 0;

bool check(const std::string &s) {
  __builtin_cpu_init();
  ATTNC_CHECK("x86-64")
  ATTNC_CHECK("x86-64-v2")
  ATTNC_CHECK("x86-64-v3")
  ATTNC_CHECK("x86-64-v4")
  ATTNC_CHECK("sse4.2")
  ATTNC_CHECK("popcnt")
  ATTNC_CHECK("avx")
  ATTNC_CHECK("avx2")
  ATTNC_CHECK("fma")
  ATTNC_CHECK("bmi")
  ATTNC_CHECK("bmi2")
  ATTNC_CHECK("f16c")
  ATTNC_CHECK("movbe")
  ATTNC_CHECK("lzcnt")
  ATTNC_CHECK("avx512f")
  ATTNC_CHECK("avx512bw")
  ATTNC_CHECK("avx512dq")
  ATTNC_CHECK("avx512vl")
  ATTNC_CHECK("avx512cd")
  ATTNC_CHECK("avx512vnni")
  ATTNC_CHECK("avx512bf16")
  ATTNC_CHECK("avx512fp16")
  ATTNC_CHECK("avx512vbmi")
  ATTNC_CHECK("avx512ifma")
  ATTNC_CHECK("avxvnni")
  ATTNC_CHECK("amx-tile")
  ATTNC_CHECK("amx-bf16")
  return false;
}
#undef ATTNC_CHECK
} // namespace

bool attnc::rt::hostSupportsLevel(const std::string &level) {
  for (const char *known : kIsaLevels)
    if (level == known)
      return check(level);
  return false;
}

bool attnc::rt::hostSupportsFeature(const std::string &feature) {
  for (const char *known : kCheckableFeatures)
    if (feature == known)
      return check(feature);
  return false;
}
