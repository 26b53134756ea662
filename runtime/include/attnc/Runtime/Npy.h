//===- Npy.h - Read and write NumPy .npy arrays -----------------*- C++ -*-===//
//
// The .npy format (NumPy NEP 1, versions 1.0, 2.0 and 3.0): the magic
// "\x93NUMPY", a version, a header length, then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a newline, then the data. attnc reads little-endian float32,
// float64, int32, int64 and uint8 in C order (images as uint8 or float,
// token ids as integers) and writes float32, int32 and int64 (version 1.0,
// data aligned to 64 bytes, as numpy.save does), atomically.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_NPY_H
#define ATTNC_RUNTIME_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::runtime {

enum class NpyDType { Float32, Float64, Int32, Int64, UInt8 };

/// The descr string ("<f4", "<i8", "|u1", ...).
const char *npyDescr(NpyDType dtype);

struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; ///< C order, little-endian

  int64_t elements() const;
  /// The values converted to float (every dtype).
  std::vector<float> toFloat32() const;
  /// The values as integers; false (with `error` set) for a float array that
  /// holds a non-integral value.
  bool toInt64(std::vector<int64_t> &out, std::string &error) const;
  /// "float32 [2, 3]".
  std::string describe() const;
};

/// Parses .npy bytes; `name` starts error messages. Returns false with
/// `error` set for a bad magic/version/header, Fortran order, an unsupported
/// or big-endian dtype, or data that does not match the shape.
bool parseNpy(const std::vector<uint8_t> &bytes, const std::string &name,
              NpyArray &out, std::string &error);
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

std::vector<uint8_t> serializeNpy(const NpyArray &array);
NpyArray makeNpyFloat32(std::vector<int64_t> shape,
                        const std::vector<float> &values);
NpyArray makeNpyInt64(std::vector<int64_t> shape,
                      const std::vector<int64_t> &values);
/// Writes atomically (temporary file, then rename).
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_NPY_H
