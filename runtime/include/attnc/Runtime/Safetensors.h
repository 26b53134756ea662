//===- Safetensors.h - Read and write .safetensors files --------*- C++ -*-===//
//
// The safetensors format (Hugging Face): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON, then the data buffer. The JSON maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data buffer) and may hold "__metadata__" (string -> string).
//
// Reading maps the file (mmap) and validates everything before handing out a
// single tensor: header length within the file, JSON that is an object, known
// dtypes, non-negative shapes, data_offsets in range, size = elements x dtype
// size, tensors neither overlapping nor leaving holes, the buffer exactly
// covered. Every problem found is reported, each naming the tensor and why.
// Tensor data is a view into the mapping (zero-copy); `toFloat32` converts
// F16/BF16 and copies F32 only when the data is not 4-byte aligned.
//
// Writing lays tensors out in the given order, pads the header with spaces to
// a multiple of 8 bytes (so F32 data is aligned once mapped) and writes a
// temporary file that is renamed over the target: nothing is half-written.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_SAFETENSORS_H
#define ATTNC_RUNTIME_SAFETENSORS_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnc::runtime {

/// The dtypes of the safetensors format. attnc computes with F32, BF16 and
/// F16; the others are recognised (so a checkpoint holding, say, an I64
/// buffer still opens) but cannot be converted to float.
enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

const char *toString(StDType dtype);
/// Bytes per element.
size_t byteSize(StDType dtype);
/// Parses "F32", "BF16", ...; false for anything else.
bool parseStDType(const std::string &text, StDType &dtype);
/// Whether toFloat32 can read this dtype (F32, F16, BF16).
bool isFloatDType(StDType dtype);

/// One tensor of an open file: a view into the mapped data.
struct TensorView {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t bytes = 0;

  int64_t elements() const;
  /// The values as float32 (F32, F16, BF16; empty for other dtypes).
  std::vector<float> toFloat32() const;
  /// Points at the F32 data in place when the dtype is F32 and the data is
  /// 4-byte aligned (zero-copy); null otherwise.
  const float *float32Data() const;
};

class SafetensorsFile {
public:
  /// Maps and validates `path`. On failure returns null and fills `errors`
  /// with one message per problem, each starting with the file name.
  static std::unique_ptr<SafetensorsFile>
  open(const std::string &path, std::vector<std::string> &errors);

  /// Validates a file held in memory (tests, embedded data); the bytes are
  /// copied. `displayName` starts every error message.
  static std::unique_ptr<SafetensorsFile>
  fromBytes(std::vector<uint8_t> bytes, const std::string &displayName,
            std::vector<std::string> &errors);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  /// Tensors in data-offset order.
  const std::vector<TensorView> &tensors() const { return tensors_; }
  const TensorView *find(const std::string &name) const;
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

private:
  SafetensorsFile() = default;
  bool parse(const uint8_t *bytes, size_t size,
             std::vector<std::string> &errors);

  std::string path_;
  void *map_ = nullptr;
  size_t mapSize_ = 0;
  std::vector<uint8_t> owned_;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

/// A tensor to write: raw little-endian bytes of `dtype`.
struct TensorBytes {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

/// Float values to write as `dtype` (F32, F16 or BF16; rounded to nearest
/// even).
TensorBytes encodeTensor(const std::string &name, std::vector<int64_t> shape,
                         const std::vector<float> &values, StDType dtype);

/// The bytes of a safetensors file holding `tensors` in this order.
/// Returns false with `error` set when a name repeats or a size is wrong.
bool serializeSafetensors(const std::vector<TensorBytes> &tensors,
                          const std::map<std::string, std::string> &metadata,
                          std::vector<uint8_t> &out, std::string &error);

/// The header entry of a tensor whose data is produced while writing.
struct TensorHeader {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;

  int64_t elements() const;
};

/// Writes a file whose tensors' data is produced one at a time, in order,
/// by `produce(i, bytes)` (so a checkpoint larger than memory can be
/// written). Atomic like writeSafetensors; false with `error` set when a
/// name repeats, a tensor produces the wrong number of bytes or the write
/// fails.
bool writeSafetensorsStreamed(
    const std::string &path, const std::vector<TensorHeader> &tensors,
    const std::map<std::string, std::string> &metadata,
    const std::function<void(size_t, std::vector<uint8_t> &)> &produce,
    std::string &error);

/// Writes the file atomically (temporary file in the same directory, then
/// rename). Returns false with `error` set.
bool writeSafetensors(const std::string &path,
                      const std::vector<TensorBytes> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &error);

/// Writes `bytes` to `path` through a temporary file and a rename.
bool writeFileAtomically(const std::string &path, const void *bytes,
                         size_t size, std::string &error);

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_SAFETENSORS_H
