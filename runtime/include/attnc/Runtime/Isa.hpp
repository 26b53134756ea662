//===- Isa.hpp - CPU levels and features an artifact may require -*- C++ -*-===//
//
// The compiler records in each manifest the x86-64 level ("x86-64",
// "x86-64-v2", "x86-64-v3", "x86-64-v4") and the extra CPU features its code
// uses; it writes only names from these lists, which the runtime knows how to
// check on the host (so the lists are the contract between the two).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_ISA_HPP
#define ATTNC_RUNTIME_ISA_HPP

#include <string>

namespace attnc::rt {

/// x86-64 micro-architecture levels, lowest first.
inline constexpr const char *kIsaLevels[] = {"x86-64", "x86-64-v2",
                                             "x86-64-v3", "x86-64-v4"};

/// Features (LLVM's names) beyond a level that the runtime can check.
inline constexpr const char *kCheckableFeatures[] = {
    "sse4.2",     "popcnt",     "avx",        "avx2",       "fma",
    "bmi",        "bmi2",       "f16c",       "movbe",      "lzcnt",
    "avx512f",    "avx512bw",   "avx512dq",   "avx512vl",   "avx512cd",
    "avx512vnni", "avx512bf16", "avx512fp16", "avx512vbmi", "avx512ifma",
    "avxvnni",    "amx-tile",   "amx-bf16"};

/// Whether the host CPU implements the level / feature. Unknown names are
/// not supported.
bool hostSupportsLevel(const std::string &level);
bool hostSupportsFeature(const std::string &feature);

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_ISA_HPP
