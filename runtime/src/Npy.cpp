//===- Npy.cpp - Read and write NumPy .npy arrays -------------------------===//

#include "attnc/Runtime/Npy.h"
#include "attnc/Runtime/Safetensors.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace attnc::runtime {

namespace {

struct NpyInfo {
  NpyDType dtype;
  const char *descr;
  const char *name;
  size_t bytes;
};

constexpr NpyInfo kNpyTypes[] = {
    {NpyDType::Float32, "<f4", "float32", 4},
    {NpyDType::Float64, "<f8", "float64", 8},
    {NpyDType::Int32, "<i4", "int32", 4},
    {NpyDType::Int64, "<i8", "int64", 8},
    {NpyDType::UInt8, "|u1", "uint8", 1},
};

const NpyInfo &info(NpyDType dtype) {
  for (const NpyInfo &i : kNpyTypes)
    if (i.dtype == dtype)
      return i;
  return kNpyTypes[0];
}

/// Finds `'key':` in the header dict and returns the text after the colon.
bool findKey(const std::string &header, const std::string &key,
             std::string &rest) {
  for (char quote : {'\'', '"'}) {
    std::string needle = quote + key + quote;
    size_t at = header.find(needle);
    if (at == std::string::npos)
      continue;
    size_t colon = header.find(':', at + needle.size());
    if (colon == std::string::npos)
      return false;
    rest = header.substr(colon + 1);
    size_t start = rest.find_first_not_of(" \t");
    rest = start == std::string::npos ? "" : rest.substr(start);
    return true;
  }
  return false;
}

} // namespace

const char *npyDescr(NpyDType dtype) { return info(dtype).descr; }

int64_t NpyArray::elements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

std::string NpyArray::describe() const {
  std::string s = std::string(info(dtype).name) + " [";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<float> NpyArray::toFloat32() const {
  size_t n = size_t(elements());
  std::vector<float> out(n);
  const uint8_t *p = data.data();
  for (size_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDType::Float32:
      std::memcpy(&out[i], p + 4 * i, 4);
      break;
    case NpyDType::Float64: {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = float(v);
      break;
    }
    case NpyDType::Int32: {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = float(v);
      break;
    }
    case NpyDType::Int64: {
      int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      out[i] = float(v);
      break;
    }
    case NpyDType::UInt8:
      out[i] = float(p[i]);
      break;
    }
  }
  return out;
}

bool NpyArray::toInt64(std::vector<int64_t> &out, std::string &error) const {
  size_t n = size_t(elements());
  out.assign(n, 0);
  const uint8_t *p = data.data();
  for (size_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDType::Int32: {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = v;
      break;
    }
    case NpyDType::Int64:
      std::memcpy(&out[i], p + 8 * i, 8);
      break;
    case NpyDType::UInt8:
      out[i] = p[i];
      break;
    case NpyDType::Float32:
    case NpyDType::Float64: {
      double v;
      if (dtype == NpyDType::Float32) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        v = f;
      } else {
        std::memcpy(&v, p + 8 * i, 8);
      }
      if (!(std::fabs(v) < 9e15) || v != std::floor(v)) {
        error = "element " + std::to_string(i) + " is " + std::to_string(v) +
                ", not an integer";
        return false;
      }
      out[i] = int64_t(v);
      break;
    }
    }
  }
  return true;
}

bool parseNpy(const std::vector<uint8_t> &bytes, const std::string &name,
              NpyArray &out, std::string &error) {
  auto fail = [&](const std::string &msg) {
    error = name + ": " + msg;
    return false;
  };
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
    return fail("not a .npy file (no \\x93NUMPY magic)");
  uint8_t major = bytes[6];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = bytes[8] | (size_t(bytes[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated .npy header");
    headerLen = bytes[8] | (size_t(bytes[9]) << 8) |
                (size_t(bytes[10]) << 16) | (size_t(bytes[11]) << 24);
    headerStart = 12;
  } else {
    return fail(".npy version " + std::to_string(major) +
                " is not supported (expected 1, 2 or 3)");
  }
  if (headerStart + headerLen > bytes.size())
    return fail("the .npy header runs past the end of the file");
  std::string header(bytes.begin() + long(headerStart),
                     bytes.begin() + long(headerStart + headerLen));

  std::string rest;
  if (!findKey(header, "descr", rest) || rest.empty() ||
      (rest[0] != '\'' && rest[0] != '"'))
    return fail("the .npy header has no 'descr'");
  std::string descr = rest.substr(1, rest.find(rest[0], 1) - 1);
  if (descr == "<f4" || descr == "=f4")
    out.dtype = NpyDType::Float32;
  else if (descr == "<f8" || descr == "=f8")
    out.dtype = NpyDType::Float64;
  else if (descr == "<i4" || descr == "=i4")
    out.dtype = NpyDType::Int32;
  else if (descr == "<i8" || descr == "=i8")
    out.dtype = NpyDType::Int64;
  else if (descr == "|u1" || descr == "<u1" || descr == "|b1")
    out.dtype = NpyDType::UInt8;
  else
    return fail("dtype '" + descr +
                "' is not supported; expected little-endian float32 (<f4), "
                "float64 (<f8), int32 (<i4), int64 (<i8) or uint8 (|u1)");

  if (!findKey(header, "fortran_order", rest))
    return fail("the .npy header has no 'fortran_order'");
  if (rest.compare(0, 4, "True") == 0)
    return fail("Fortran-order arrays are not supported; save a C-order "
                "array (numpy.ascontiguousarray)");

  if (!findKey(header, "shape", rest) || rest.empty() || rest[0] != '(')
    return fail("the .npy header has no 'shape' tuple");
  size_t close = rest.find(')');
  if (close == std::string::npos)
    return fail("the .npy 'shape' tuple is not closed");
  out.shape.clear();
  std::string tuple = rest.substr(1, close - 1);
  size_t pos = 0;
  while (pos < tuple.size()) {
    size_t comma = tuple.find(',', pos);
    std::string item = tuple.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t a = item.find_first_not_of(" L"), b = item.find_last_not_of(" L");
    if (a != std::string::npos) {
      item = item.substr(a, b - a + 1);
      if (item.empty() ||
          item.find_first_not_of("0123456789") != std::string::npos ||
          item.size() > 15)
        return fail("bad dimension '" + item + "' in the .npy shape");
      out.shape.push_back(std::stoll(item));
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  size_t dataStart = headerStart + headerLen;
  uint64_t need = uint64_t(out.elements()) * info(out.dtype).bytes;
  if (bytes.size() - dataStart != need)
    return fail("shape " + out.describe() + " needs " + std::to_string(need) +
                " data bytes but the file holds " +
                std::to_string(bytes.size() - dataStart));
  out.data.assign(bytes.begin() + long(dataStart), bytes.end());
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open";
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return parseNpy(bytes, path, out, error);
}

std::vector<uint8_t> serializeNpy(const NpyArray &array) {
  std::string header = std::string("{'descr': '") + npyDescr(array.dtype) +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i)
    header += std::to_string(array.shape[i]) + ",";
  if (array.shape.size() > 1)
    header.pop_back();
  header += "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(uint8_t(header.size() & 0xff));
  out.push_back(uint8_t(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

NpyArray makeNpyFloat32(std::vector<int64_t> shape,
                        const std::vector<float> &values) {
  NpyArray a;
  a.dtype = NpyDType::Float32;
  a.shape = std::move(shape);
  a.data.resize(values.size() * 4);
  if (!values.empty())
    std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

NpyArray makeNpyInt64(std::vector<int64_t> shape,
                      const std::vector<int64_t> &values) {
  NpyArray a;
  a.dtype = NpyDType::Int64;
  a.shape = std::move(shape);
  a.data.resize(values.size() * 8);
  if (!values.empty())
    std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error) {
  std::vector<uint8_t> bytes = serializeNpy(array);
  return writeFileAtomically(path, bytes.data(), bytes.size(), error);
}

} // namespace attnc::runtime
