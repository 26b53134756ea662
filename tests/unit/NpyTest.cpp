//===- NpyTest.cpp - .npy read/write ---------------------------------------===//

#include "attnc/Runtime/Npy.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

using namespace attnc::runtime;

namespace {

/// A version-1 .npy file with this header dict and data.
std::vector<uint8_t> npyOf(const std::string &dict, size_t dataBytes) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              uint8_t(header.size() & 0xff),
                              uint8_t(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  out.resize(out.size() + dataBytes, 0);
  return out;
}

std::string parseError(const std::vector<uint8_t> &bytes) {
  NpyArray a;
  std::string error;
  CHECK_FALSE(parseNpy(bytes, "x.npy", a, error));
  return error;
}

} // namespace

TEST_CASE("npy: float32 and int64 round trip", "[npy]") {
  std::vector<float> v = {1.5f, -2.0f, 3.0f, 4.25f, 0.0f, -1e-3f};
  std::vector<uint8_t> bytes = serializeNpy(makeNpyFloat32({2, 3}, v));
  CHECK((bytes.size() - 6 * 4) % 64 == 0); // data aligned like numpy.save
  NpyArray a;
  std::string error;
  REQUIRE(parseNpy(bytes, "mem", a, error));
  CHECK(a.dtype == NpyDType::Float32);
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.toFloat32() == v);
  CHECK(a.describe() == "float32 [2, 3]");

  std::vector<int64_t> ids = {0, 7, -3, 1LL << 40};
  REQUIRE(parseNpy(serializeNpy(makeNpyInt64({4}, ids)), "mem", a, error));
  std::vector<int64_t> back;
  REQUIRE(a.toInt64(back, error));
  CHECK(back == ids);
  std::string text(reinterpret_cast<const char *>(serializeNpy(
                       makeNpyInt64({4}, ids)).data()) + 10, 64);
  CHECK(text.find("'shape': (4,)") != std::string::npos); // 1-tuple

  REQUIRE(parseNpy(serializeNpy(makeNpyFloat32({}, {2.0f})), "mem", a, error));
  CHECK(a.shape.empty());
  CHECK(a.elements() == 1);
}

TEST_CASE("npy: files written by numpy", "[npy]") {
  NpyArray a;
  std::string error;
  REQUIRE(readNpy(std::string(ATTNC_SOURCE_DIR) + "/tests/e2e/vit/image.npy",
                  a, error));
  CHECK(a.describe() == "float32 [8, 12, 3]");
  CHECK(a.toFloat32().size() == 288);
  // Other dtypes numpy writes: int32 ids, float64 and uint8 pixels.
  REQUIRE(parseNpy(npyOf("{'descr': '<i4', 'fortran_order': False, "
                         "'shape': (2,), }",
                         8),
                   "mem", a, error));
  CHECK(a.dtype == NpyDType::Int32);
  REQUIRE(parseNpy(npyOf("{'descr': '|u1', 'fortran_order': False, "
                         "'shape': (2, 2, 3), }",
                         12),
                   "mem", a, error));
  CHECK(a.describe() == "uint8 [2, 2, 3]");
  REQUIRE(parseNpy(npyOf("{'descr': '<f8', 'fortran_order': False, "
                         "'shape': (1,), }",
                         8),
                   "mem", a, error));
  CHECK(a.toFloat32() == std::vector<float>{0.0f});
}

TEST_CASE("npy: clear errors", "[npy]") {
  CHECK(parseError({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}) ==
        "x.npy: not a .npy file (no \\x93NUMPY magic)");
  CHECK(parseError(npyOf("{'descr': '>f4', 'fortran_order': False, "
                         "'shape': (1,), }",
                         4))
            .find("dtype '>f4' is not supported; expected little-endian") !=
        std::string::npos);
  CHECK(parseError(npyOf("{'descr': '<f4', 'fortran_order': True, "
                         "'shape': (2, 2), }",
                         16))
            .find("Fortran-order arrays are not supported") !=
        std::string::npos);
  CHECK(parseError(npyOf("{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (2, 3), }",
                         20)) ==
        "x.npy: shape float32 [2, 3] needs 24 data bytes but the file holds "
        "20");
  NpyArray a;
  std::string error;
  REQUIRE(parseNpy(serializeNpy(makeNpyFloat32({2}, {1.0f, 2.5f})), "m", a,
                   error));
  std::vector<int64_t> ids;
  CHECK_FALSE(a.toInt64(ids, error));
  CHECK(error == "element 1 is 2.500000, not an integer");
  CHECK_FALSE(readNpy("/nonexistent.npy", a, error));
  CHECK(error == "/nonexistent.npy: cannot open");
}
