//===- Safetensors.cpp - Read and write .safetensors files ----------------===//

#include "attnc/Runtime/Safetensors.h"
#include "attnc/Runtime/HalfFloat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace attnc::runtime {

namespace {

/// The Rust reference implementation refuses headers above 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000 * 1000;

struct DTypeInfo {
  StDType dtype;
  const char *name;
  size_t bytes;
};

constexpr DTypeInfo kDTypes[] = {
    {StDType::F64, "F64", 8}, {StDType::F32, "F32", 4},
    {StDType::F16, "F16", 2}, {StDType::BF16, "BF16", 2},
    {StDType::I64, "I64", 8}, {StDType::I32, "I32", 4},
    {StDType::I16, "I16", 2}, {StDType::I8, "I8", 1},
    {StDType::U8, "U8", 1},   {StDType::Bool, "BOOL", 1},
};

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t readLE64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

} // namespace

const char *toString(StDType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.name;
  return "?";
}

size_t byteSize(StDType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.bytes;
  return 0;
}

bool parseStDType(const std::string &text, StDType &dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (text == d.name) {
      dtype = d.dtype;
      return true;
    }
  return false;
}

bool isFloatDType(StDType dtype) {
  return dtype == StDType::F32 || dtype == StDType::F16 ||
         dtype == StDType::BF16;
}

int64_t TensorView::elements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

const float *TensorView::float32Data() const {
  if (dtype != StDType::F32 || reinterpret_cast<uintptr_t>(data) % 4 != 0)
    return nullptr;
  return reinterpret_cast<const float *>(data);
}

std::vector<float> TensorView::toFloat32() const {
  size_t n = size_t(elements());
  std::vector<float> out;
  if (!isFloatDType(dtype))
    return out;
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (dtype == StDType::F32) {
      std::memcpy(&out[i], data + 4 * i, 4);
      continue;
    }
    uint16_t h = uint16_t(data[2 * i] | (data[2 * i + 1] << 8));
    out[i] = dtype == StDType::BF16 ? bf16ToFloat(h) : f16ToFloat(h);
  }
  return out;
}

std::unique_ptr<SafetensorsFile>
SafetensorsFile::open(const std::string &path,
                      std::vector<std::string> &errors) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    errors.push_back(path + ": cannot open: " + std::strerror(errno));
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errors.push_back(path + ": not a regular file");
    return nullptr;
  }
  size_t size = size_t(st.st_size);
  if (size > 0) {
    void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      errors.push_back(path + ": cannot map: " + std::strerror(errno));
      return nullptr;
    }
    file->map_ = map;
    file->mapSize_ = size;
  }
  ::close(fd);
  if (!file->parse(static_cast<const uint8_t *>(file->map_), size, errors))
    return nullptr;
  return file;
}

std::unique_ptr<SafetensorsFile>
SafetensorsFile::fromBytes(std::vector<uint8_t> bytes,
                           const std::string &displayName,
                           std::vector<std::string> &errors) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = displayName;
  file->owned_ = std::move(bytes);
  if (!file->parse(file->owned_.data(), file->owned_.size(), errors))
    return nullptr;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_)
    munmap(map_, mapSize_);
}

const TensorView *SafetensorsFile::find(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

bool SafetensorsFile::parse(const uint8_t *bytes, size_t size,
                            std::vector<std::string> &errors) {
  const std::string &p = path_;
  size_t errorsBefore = errors.size();
  auto fail = [&](const std::string &msg) { errors.push_back(p + ": " + msg); };
  if (size < 8) {
    fail("the file is " + std::to_string(size) +
         " bytes; a safetensors file starts with an 8-byte header length");
    return false;
  }
  uint64_t headerLen = readLE64(bytes);
  if (headerLen > size - 8 || headerLen > kMaxHeaderBytes) {
    fail("header length is " + std::to_string(headerLen) + " bytes but " +
         (headerLen > kMaxHeaderBytes
              ? std::string("the limit is 100 MB")
              : "only " + std::to_string(size - 8) +
                    " bytes follow the length field") +
         " (not a safetensors file, or a truncated one)");
    return false;
  }
  std::string header(reinterpret_cast<const char *>(bytes + 8),
                     size_t(headerLen));
  if (header.empty() || header[0] != '{') {
    fail("the JSON header does not start with '{' (not a safetensors file)");
    return false;
  }
  // Parse, noticing repeated tensor names (nlohmann would keep the last).
  std::set<std::string> keys, repeated;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(
        header, [&](int depth, nlohmann::json::parse_event_t event,
                    nlohmann::json &parsed) {
          if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
              parsed.is_string() &&
              !keys.insert(parsed.get<std::string>()).second)
            repeated.insert(parsed.get<std::string>());
          return true;
        });
  } catch (const nlohmann::json::parse_error &e) {
    fail(std::string("the JSON header is malformed: ") + e.what());
    return false;
  }
  if (!json.is_object()) {
    fail("the JSON header is not an object");
    return false;
  }
  for (const std::string &name : repeated)
    fail("tensor '" + name + "' is listed twice in the header");

  uint64_t bufferSize = size - 8 - headerLen;
  const uint8_t *buffer = bytes + 8 + headerLen;
  struct Span {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Span> spans;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::json &entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) {
        fail("'__metadata__' must be an object of strings");
        continue;
      }
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          fail("'__metadata__' value '" + m.key() + "' is not a string");
        else
          metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string t = "tensor '" + name + "': ";
    if (!entry.is_object()) {
      fail(t + "entry is not an object with dtype, shape and data_offsets");
      continue;
    }
    bool ok = true;
    for (auto f = entry.begin(); f != entry.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" &&
          f.key() != "data_offsets") {
        fail(t + "unknown field '" + f.key() +
             "'; expected dtype, shape, data_offsets");
        ok = false;
      }
    TensorView view;
    view.name = name;
    auto dt = entry.find("dtype");
    if (dt == entry.end() || !dt->is_string()) {
      fail(t + "missing string field 'dtype'");
      ok = false;
    } else if (!parseStDType(dt->get<std::string>(), view.dtype)) {
      fail(t + "unknown dtype '" + dt->get<std::string>() +
           "'; expected one of F32, BF16, F16 (or F64, I64, I32, I16, I8, "
           "U8, BOOL)");
      ok = false;
    }
    auto sh = entry.find("shape");
    uint64_t elements = 1;
    bool elementsOverflow = false;
    if (sh == entry.end() || !sh->is_array()) {
      fail(t + "missing array field 'shape'");
      ok = false;
    } else {
      for (const nlohmann::json &d : *sh) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0) {
          fail(t + "shape " + sh->dump() +
               " holds a value that is not a non-negative integer");
          ok = false;
          break;
        }
        uint64_t v = d.get<uint64_t>();
        view.shape.push_back(int64_t(v));
        if (v && elements > UINT64_MAX / 16 / v)
          elementsOverflow = true;
        else
          elements *= v;
      }
    }
    auto off = entry.find("data_offsets");
    uint64_t begin = 0, end = 0;
    if (off == entry.end() || !off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) {
      fail(t + "'data_offsets' must be two non-negative integers [begin, "
               "end]");
      ok = false;
    } else {
      begin = (*off)[0].get<uint64_t>();
      end = (*off)[1].get<uint64_t>();
      if (begin > end) {
        fail(t + "data_offsets [" + std::to_string(begin) + ", " +
             std::to_string(end) + "] end before they begin");
        ok = false;
      } else if (end > bufferSize) {
        fail(t + "data_offsets [" + std::to_string(begin) + ", " +
             std::to_string(end) + "] go past the end of the data (" +
             std::to_string(bufferSize) + " bytes)");
        ok = false;
      }
    }
    if (!ok)
      continue;
    if (elementsOverflow) {
      fail(t + "shape " + shapeString(view.shape) + " is too large");
      continue;
    }
    uint64_t expected = elements * byteSize(view.dtype);
    if (end - begin != expected) {
      fail(t + "shape " + shapeString(view.shape) + " of " +
           toString(view.dtype) + " needs " + std::to_string(expected) +
           " bytes but data_offsets [" + std::to_string(begin) + ", " +
           std::to_string(end) + "] hold " + std::to_string(end - begin));
      continue;
    }
    view.data = buffer + begin;
    view.bytes = size_t(end - begin);
    spans.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(view));
  }

  // The valid tensors must tile the buffer: no overlap, no hole.
  std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Span *last = nullptr;
  for (const Span &s : spans) {
    const std::string &name = tensors_[s.tensor].name;
    if (s.begin < covered && last)
      fail("tensor '" + name + "' data [" + std::to_string(s.begin) + ", " +
           std::to_string(s.end) + ") overlaps tensor '" +
           tensors_[last->tensor].name + "' [" + std::to_string(last->begin) +
           ", " + std::to_string(last->end) + ")");
    else if (s.begin > covered)
      fail("bytes [" + std::to_string(covered) + ", " +
           std::to_string(s.begin) + ") before tensor '" + name +
           "' belong to no tensor (the data must be covered exactly)");
    if (s.end >= covered) {
      covered = s.end;
      last = &s;
    }
  }
  if (errors.size() == errorsBefore && covered != bufferSize)
    fail("the data buffer is " + std::to_string(bufferSize) +
         " bytes but the tensors cover " + std::to_string(covered) +
         " (trailing bytes belong to no tensor)");
  if (errors.size() != errorsBefore)
    return false;

  std::vector<TensorView> ordered;
  for (const Span &s : spans)
    ordered.push_back(std::move(tensors_[s.tensor]));
  tensors_ = std::move(ordered);
  for (size_t i = 0; i < tensors_.size(); ++i)
    index_[tensors_[i].name] = i;
  return true;
}

TensorBytes encodeTensor(const std::string &name, std::vector<int64_t> shape,
                         const std::vector<float> &values, StDType dtype) {
  TensorBytes t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  size_t width = byteSize(dtype);
  t.data.resize(values.size() * width);
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == StDType::F32) {
      std::memcpy(&t.data[4 * i], &values[i], 4); // little-endian host
      continue;
    }
    uint16_t h = dtype == StDType::BF16 ? floatToBf16(values[i])
                                        : floatToF16(values[i]);
    t.data[2 * i] = uint8_t(h & 0xff);
    t.data[2 * i + 1] = uint8_t(h >> 8);
  }
  return t;
}

namespace {

/// The length field and JSON header (padded to 8 bytes) of a file holding
/// tensors with these names, dtypes and shapes, in this order.
bool headerBytes(const std::vector<TensorHeader> &tensors,
                 const std::map<std::string, std::string> &metadata,
                 std::vector<uint8_t> &out, std::string &error) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorHeader &t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name)) {
      error = "tensor name '" + t.name + "' is used twice or reserved";
      return false;
    }
    uint64_t bytes = uint64_t(t.elements()) * byteSize(t.dtype);
    header[t.name] = {{"dtype", toString(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0)
    text += ' ';
  out.clear();
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(uint8_t(len >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  return true;
}

std::vector<TensorHeader> headersOf(const std::vector<TensorBytes> &tensors,
                                    std::string &error) {
  std::vector<TensorHeader> headers;
  for (const TensorBytes &t : tensors) {
    TensorHeader h{t.name, t.dtype, t.shape};
    uint64_t need = uint64_t(h.elements()) * byteSize(t.dtype);
    if (need != t.data.size() && error.empty())
      error = "tensor '" + t.name + "' has " + std::to_string(t.data.size()) +
              " bytes but shape " + shapeString(t.shape) + " of " +
              toString(t.dtype) + " needs " + std::to_string(need);
    headers.push_back(std::move(h));
  }
  return headers;
}

} // namespace

int64_t TensorHeader::elements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

bool serializeSafetensors(const std::vector<TensorBytes> &tensors,
                          const std::map<std::string, std::string> &metadata,
                          std::vector<uint8_t> &out, std::string &error) {
  error.clear();
  std::vector<TensorHeader> headers = headersOf(tensors, error);
  if (!error.empty() || !headerBytes(headers, metadata, out, error))
    return false;
  for (const TensorBytes &t : tensors)
    out.insert(out.end(), t.data.begin(), t.data.end());
  return true;
}

bool writeSafetensorsStreamed(
    const std::string &path, const std::vector<TensorHeader> &tensors,
    const std::map<std::string, std::string> &metadata,
    const std::function<void(size_t, std::vector<uint8_t> &)> &produce,
    std::string &error) {
  std::vector<uint8_t> bytes;
  if (!headerBytes(tensors, metadata, bytes, error))
    return false;
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  for (size_t i = 0; ok && i < tensors.size(); ++i) {
    bytes.clear();
    produce(i, bytes);
    size_t need = size_t(tensors[i].elements()) * byteSize(tensors[i].dtype);
    if (bytes.size() != need) {
      std::fclose(f);
      std::remove(tmp.c_str());
      error = "tensor '" + tensors[i].name + "' produced " +
              std::to_string(bytes.size()) + " bytes; expected " +
              std::to_string(need);
      return false;
    }
    ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "' (disk full?)";
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool writeFileAtomically(const std::string &path, const void *bytes,
                         size_t size, std::string &error) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(bytes, 1, size, f) == size;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "' (disk full?)";
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

bool writeSafetensors(const std::string &path,
                      const std::vector<TensorBytes> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &error) {
  std::vector<uint8_t> bytes;
  if (!serializeSafetensors(tensors, metadata, bytes, error))
    return false;
  return writeFileAtomically(path, bytes.data(), bytes.size(), error);
}

} // namespace attnc::runtime
