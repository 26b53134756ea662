//===- SafetensorsTest.cpp - safetensors round trip and header checks -----===//

#include "attnc/Runtime/HalfFloat.h"
#include "attnc/Runtime/Safetensors.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

using namespace attnc::runtime;

namespace {

/// A file from a header text and `dataBytes` bytes of data (value = index).
std::vector<uint8_t> fileOf(const std::string &header, size_t dataBytes) {
  std::vector<uint8_t> out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  for (size_t i = 0; i < dataBytes; ++i)
    out.push_back(uint8_t(i));
  return out;
}

/// The errors of opening `bytes`, joined by newlines ("" when it opens).
std::string errorsOf(const std::vector<uint8_t> &bytes) {
  std::vector<std::string> errors;
  auto file = SafetensorsFile::fromBytes(bytes, "t.safetensors", errors);
  CHECK((file == nullptr) == !errors.empty());
  std::string all;
  for (const std::string &e : errors)
    all += e + "\n";
  return all;
}

std::string tensor(const std::string &name, const std::string &dtype,
                   const std::string &shape, const std::string &offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

} // namespace

TEST_CASE("safetensors: F32/BF16/F16 round trip with metadata",
          "[safetensors]") {
  std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.1f, 1e-8f, 65504.0f};
  std::vector<TensorBytes> tensors = {
      encodeTensor("a.f32", {2, 3}, a, StDType::F32),
      encodeTensor("b.bf16", {6}, a, StDType::BF16),
      encodeTensor("c.f16", {3, 2}, a, StDType::F16),
      encodeTensor("empty", {0, 4}, {}, StDType::F32),
  };
  std::vector<uint8_t> bytes;
  std::string error;
  REQUIRE(serializeSafetensors(tensors, {{"format", "pt"}}, bytes, error));
  uint64_t headerLen = 0;
  std::memcpy(&headerLen, bytes.data(), 8);
  CHECK((8 + headerLen) % 8 == 0); // data aligned for in-place F32 use

  std::vector<std::string> errors;
  auto file = SafetensorsFile::fromBytes(bytes, "mem", errors);
  REQUIRE(file);
  CHECK(errors.empty());
  CHECK(file->metadata().at("format") == "pt");
  REQUIRE(file->tensors().size() == 4);
  CHECK(file->tensors()[0].name == "a.f32"); // data-offset order

  const TensorView *f32 = file->find("a.f32");
  REQUIRE(f32);
  CHECK(f32->shape == std::vector<int64_t>{2, 3});
  CHECK(f32->toFloat32() == a);
  REQUIRE(f32->float32Data()); // zero-copy: a pointer into the bytes
  CHECK(static_cast<const void *>(f32->float32Data()) == f32->data);

  std::vector<float> bf = file->find("b.bf16")->toFloat32();
  std::vector<float> hf = file->find("c.f16")->toFloat32();
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(bf[i] == bf16ToFloat(floatToBf16(a[i])));
    CHECK(hf[i] == f16ToFloat(floatToF16(a[i])));
  }
  CHECK(bf[0] == 1.0f);
  CHECK(hf[5] == 65504.0f);
  CHECK(file->find("b.bf16")->float32Data() == nullptr);
  CHECK(file->find("empty")->elements() == 0);
  CHECK(file->find("nothing") == nullptr);
}

TEST_CASE("safetensors: written atomically and mapped from disk",
          "[safetensors]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() /
                 ("attnc-st-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string path = (dir / "w.safetensors").string();
  std::vector<float> v = {0.5f, 1.5f, -3.0f, 4.0f};
  std::string error;
  REQUIRE(writeSafetensors(path, {encodeTensor("w", {4}, v, StDType::F32)},
                           {}, error));
  std::vector<std::string> errors;
  auto file = SafetensorsFile::open(path, errors);
  REQUIRE(file);
  const float *data = file->find("w")->float32Data();
  REQUIRE(data);
  CHECK(std::vector<float>(data, data + 4) == v);
  // Nothing half-written: a failed write leaves no file and no temporary.
  CHECK_FALSE(writeSafetensors((dir / "no/such/x.safetensors").string(),
                               {}, {}, error));
  CHECK(error.find("cannot write") != std::string::npos);
  size_t entries = 0;
  for (auto &e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
  // Names must be unique.
  std::vector<uint8_t> bytes;
  CHECK_FALSE(serializeSafetensors(
      {encodeTensor("x", {1}, {1.f}, StDType::F32),
       encodeTensor("x", {1}, {1.f}, StDType::F32)},
      {}, bytes, error));
  CHECK(error.find("'x' is used twice") != std::string::npos);
  // The streamed writer gives the same bytes as the in-memory one, and
  // refuses a tensor that produces the wrong number of bytes.
  std::string streamed = (dir / "s.safetensors").string();
  REQUIRE(writeSafetensorsStreamed(
      streamed, {{"w", StDType::F32, {4}}}, {},
      [&](size_t, std::vector<uint8_t> &out) {
        out = encodeTensor("w", {4}, v, StDType::F32).data;
      },
      error));
  REQUIRE(serializeSafetensors({encodeTensor("w", {4}, v, StDType::F32)}, {},
                               bytes, error));
  auto same = SafetensorsFile::open(streamed, errors);
  REQUIRE(same);
  CHECK(same->find("w")->toFloat32() == v);
  CHECK(std::filesystem::file_size(streamed) == bytes.size());
  CHECK_FALSE(writeSafetensorsStreamed(
      (dir / "bad.safetensors").string(), {{"w", StDType::F32, {4}}}, {},
      [](size_t, std::vector<uint8_t> &out) { out.resize(3); }, error));
  CHECK(error == "tensor 'w' produced 3 bytes; expected 16");
  fs::remove(streamed);
  CHECK_FALSE(SafetensorsFile::open((dir / "missing").string(), errors));
  CHECK(errors.back().find("cannot open") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("safetensors: every header problem has its own message",
          "[safetensors]") {
  auto one = [](const std::string &entries, size_t data) {
    return errorsOf(fileOf("{" + entries + "}", data));
  };
  auto has = [](const std::string &all, const std::string &needle) {
    INFO(all);
    CHECK(all.find(needle) != std::string::npos);
  };
  std::string ok = tensor("w", "F32", "[2]", "[0,8]");
  CHECK(one(ok, 8).empty());

  SECTION("too short for the length field") {
    has(errorsOf({1, 2, 3}), "t.safetensors: the file is 3 bytes; a "
                             "safetensors file starts with an 8-byte header");
  }
  SECTION("header length past the end") {
    std::vector<uint8_t> b = fileOf("{}", 0);
    b[0] = 200;
    has(errorsOf(b), "header length is 200 bytes but only 2 bytes follow");
  }
  SECTION("not JSON at all") { has(errorsOf(fileOf("PK..", 0)), "does not "
                                                                "start with "
                                                                "'{'"); }
  SECTION("malformed JSON") {
    has(errorsOf(fileOf("{\"w\":", 0)), "the JSON header is malformed");
  }
  SECTION("a name listed twice") {
    has(one(ok + "," + tensor("w", "F32", "[2]", "[8,16]"), 16),
        "tensor 'w' is listed twice in the header");
  }
  SECTION("metadata") {
    has(one("\"__metadata__\":[1]", 0), "'__metadata__' must be an object");
    has(one("\"__metadata__\":{\"a\":1}", 0),
        "'__metadata__' value 'a' is not a string");
  }
  SECTION("entry shapes") {
    has(one("\"w\":3", 0), "tensor 'w': entry is not an object");
    has(one("\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],"
            "\"extra\":1}",
            4),
        "tensor 'w': unknown field 'extra'");
    has(one("\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}", 4),
        "tensor 'w': missing string field 'dtype'");
    has(one(tensor("w", "F8", "[1]", "[0,1]"), 1),
        "tensor 'w': unknown dtype 'F8'; expected one of F32, BF16, F16");
    has(one("\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}", 4),
        "tensor 'w': missing array field 'shape'");
    has(one(tensor("w", "F32", "[-1]", "[0,4]"), 4),
        "shape [-1] holds a value that is not a non-negative integer");
  }
  SECTION("data offsets") {
    has(one(tensor("w", "F32", "[1]", "[4]"), 4),
        "tensor 'w': 'data_offsets' must be two non-negative integers");
    has(one(tensor("w", "F32", "[0]", "[4,0]"), 4),
        "tensor 'w': data_offsets [4, 0] end before they begin");
    has(one(tensor("w", "F32", "[2]", "[0,8]"), 4),
        "tensor 'w': data_offsets [0, 8] go past the end of the data (4 "
        "bytes)");
    has(one(tensor("w", "F32", "[3]", "[0,8]"), 8),
        "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0, "
        "8] hold 8");
  }
  SECTION("overlap, hole, trailing bytes") {
    has(one(ok + "," + tensor("v", "F32", "[2]", "[4,12]"), 12),
        "tensor 'v' data [4, 12) overlaps tensor 'w' [0, 8)");
    has(one(tensor("v", "F32", "[1]", "[4,8]"), 8),
        "bytes [0, 4) before tensor 'v' belong to no tensor");
    has(one(ok, 12), "the data buffer is 12 bytes but the tensors cover 8 "
                     "(trailing bytes belong to no tensor)");
  }
  SECTION("every problem at once") {
    std::string all = one(tensor("a", "F8", "[1]", "[0,1]") + "," +
                              tensor("b", "F32", "[5]", "[0,4]"),
                          4);
    has(all, "tensor 'a': unknown dtype");
    has(all, "tensor 'b': shape [5] of F32 needs 20 bytes");
  }
}

TEST_CASE("half floats: every bfloat16 and float16 value survives a round "
          "trip; rounding is to nearest even",
          "[safetensors]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float b = bf16ToFloat(uint16_t(h)), f = f16ToFloat(uint16_t(h));
    if (!std::isnan(b))
      CHECK(floatToBf16(b) == h);
    if (!std::isnan(f))
      CHECK(floatToF16(f) == h);
  }
  CHECK(floatToBf16(1.0f) == 0x3f80);
  CHECK(floatToBf16(1.0f + 0x1p-8f) == 0x3f80);      // tie: to even
  CHECK(floatToBf16(1.0f + 3 * 0x1p-8f) == 0x3f82);  // tie: to even (up)
  CHECK(floatToF16(1.0f) == 0x3c00);
  CHECK(floatToF16(65504.0f) == 0x7bff);
  CHECK(floatToF16(65520.0f) == 0x7c00); // rounds to infinity
  CHECK(floatToF16(0x1p-24f) == 0x0001); // smallest subnormal
  CHECK(floatToF16(0x1p-25f) == 0x0000); // tie: to even (zero)
  CHECK(floatToF16(3 * 0x1p-25f) == 0x0002);
  CHECK(std::isnan(f16ToFloat(floatToF16(NAN))));
  CHECK(std::isnan(bf16ToFloat(floatToBf16(NAN))));
  CHECK(f16ToFloat(0xc000) == -2.0f);
}
