//===- BindWeights.cpp - The C API: bind every weight from safetensors ----===//
//
// attnc_artifact_bind_weights_file: map a checkpoint (attnc/Runtime/
// Safetensors.h validates the file itself), check it against the manifest's
// weight table (every weight present, shapes equal, a float dtype, no
// tensor the model does not have), then bind. Tensors in the artifact's
// dtype are used as they are: for a CPU artifact, copied into one buffer on
// transparent huge pages (WeightCopy.h says why); otherwise, or with
// ATTNC_MAP_WEIGHTS=1, bound in place (zero-copy: the mapping lives as long
// as the artifact). Other float dtypes are converted (F16/BF16 -> F32, or
// F32/F16 -> BF16 ...) into buffers the artifact owns. Nothing is bound
// unless every weight fits.
//
//===----------------------------------------------------------------------===//

#include "ArtifactInternal.h"
#include "WeightCopy.h"

#include "attnc/Runtime/HalfFloat.h"
#include "attnc/Runtime/Safetensors.h"

#include <cstdlib>
#include <cstring>
#include <set>

using attnc::rt::fail;
using attnc::rt::shapeString;
using attnc::runtime::SafetensorsFile;
using attnc::runtime::StDType;
using attnc::runtime::TensorView;

namespace {

/// The safetensors dtype of an artifact dtype (false: none).
bool toStDType(attnc_dtype dtype, StDType &out) {
  switch (dtype) {
  case ATTNC_DTYPE_F32: out = StDType::F32; return true;
  case ATTNC_DTYPE_F16: out = StDType::F16; return true;
  case ATTNC_DTYPE_BF16: out = StDType::BF16; return true;
  case ATTNC_DTYPE_I32: out = StDType::I32; return true;
  case ATTNC_DTYPE_I64: out = StDType::I64; return true;
  case ATTNC_DTYPE_I8: out = StDType::I8; return true;
  case ATTNC_DTYPE_F64: out = StDType::F64; return true;
  }
  return false;
}

/// `t` converted to float dtype `to` (F32, F16 or BF16), 64-byte aligned.
std::shared_ptr<const void> convert(const TensorView &t, StDType to) {
  std::vector<float> values = t.toFloat32();
  size_t width = attnc::runtime::byteSize(to);
  size_t bytes = values.size() * width;
  void *raw = std::aligned_alloc(64, ((bytes + 63) / 64) * 64 + 64);
  if (!raw)
    return nullptr;
  std::shared_ptr<void> buffer(raw, std::free);
  auto *out = static_cast<uint8_t *>(raw);
  for (size_t i = 0; i < values.size(); ++i) {
    if (to == StDType::F32) {
      std::memcpy(out + 4 * i, &values[i], 4);
      continue;
    }
    uint16_t h = to == StDType::BF16 ? attnc::runtime::floatToBf16(values[i])
                                     : attnc::runtime::floatToF16(values[i]);
    std::memcpy(out + 2 * i, &h, 2);
  }
  return buffer;
}

/// "a; b; c" (at most `limit` entries, then "and N more").
std::string joinProblems(const std::vector<std::string> &problems,
                         size_t limit = 12) {
  std::string s;
  for (size_t i = 0; i < problems.size() && i < limit; ++i)
    s += (i ? "; " : "") + problems[i];
  if (problems.size() > limit)
    s += "; and " + std::to_string(problems.size() - limit) + " more";
  return s;
}

} // namespace

extern "C" attnc_status attnc_artifact_bind_weights_file(attnc_artifact *a,
                                                         const char *path) {
  if (!a || !path)
    return fail(ATTNC_ERROR_ARGUMENT,
                "attnc_artifact_bind_weights_file: null argument");
  std::vector<std::string> errors;
  std::shared_ptr<const SafetensorsFile> file;
  try {
    file = SafetensorsFile::open(path, errors);
  } catch (const std::exception &e) {
    errors.push_back(std::string(path) + ": " + e.what());
  }
  if (!file) {
    bool unreadable =
        !errors.empty() &&
        (errors[0].find(": cannot open") != std::string::npos ||
         errors[0].find(": not a regular file") != std::string::npos);
    return fail(unreadable ? ATTNC_ERROR_IO : ATTNC_ERROR_WEIGHTS,
                joinProblems(errors));
  }

  const auto &weights = a->manifest.weights;
  std::vector<std::string> problems;
  std::vector<const void *> data(weights.size(), nullptr);
  std::vector<std::shared_ptr<const void>> owned;
  std::vector<std::pair<size_t, const TensorView *>> inPlace;
  std::set<std::string> known;
  try {
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto &w = weights[i];
      known.insert(w.name);
      StDType want;
      if (!toStDType(w.dtype, want)) {
        problems.push_back("weight '" + w.name + "' has an unknown dtype");
        continue;
      }
      const TensorView *t = file->find(w.name);
      if (!t) {
        problems.push_back("missing weight '" + w.name + "' " +
                           shapeString(w.shape) + " " +
                           attnc::runtime::toString(want));
        continue;
      }
      if (t->shape != w.shape) {
        problems.push_back("weight '" + w.name + "' is " +
                           shapeString(t->shape) + " but the model needs " +
                           shapeString(w.shape));
        continue;
      }
      size_t width = attnc::runtime::byteSize(want);
      if (t->dtype == want &&
          reinterpret_cast<uintptr_t>(t->data) % width == 0) {
        data[i] = t->data; // zero-copy unless copyToHugePages takes it
        inPlace.emplace_back(i, t);
        continue;
      }
      bool floats = attnc::runtime::isFloatDType(t->dtype) &&
                    attnc::runtime::isFloatDType(want);
      if (t->dtype != want && !floats) {
        problems.push_back("weight '" + w.name + "' is " +
                           attnc::runtime::toString(t->dtype) +
                           " but the model needs " +
                           attnc::runtime::toString(want) +
                           " (F32, F16 and BF16 convert)");
        continue;
      }
      std::shared_ptr<const void> copy;
      if (t->dtype == want) { // misaligned: copy as is
        void *raw = std::aligned_alloc(64, ((t->bytes + 63) / 64) * 64 + 64);
        if (raw) {
          std::memcpy(raw, t->data, t->bytes);
          copy = std::shared_ptr<void>(raw, std::free);
        }
      } else {
        copy = convert(*t, want);
      }
      if (!copy)
        return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                    "cannot allocate weight '" + w.name + "'");
      data[i] = copy.get();
      owned.push_back(std::move(copy));
    }
  } catch (const std::bad_alloc &) {
    return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                std::string(path) + ": out of memory converting weights");
  }
  for (const TensorView &t : file->tensors())
    if (!known.count(t.name))
      problems.push_back("unexpected tensor '" + t.name +
                         "' (not a weight of this model)");
  if (!problems.empty())
    return fail(ATTNC_ERROR_WEIGHTS,
                std::string(path) + ": " + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem" : " problems") +
                    " with the weights: " + joinProblems(problems));

  const char *map = std::getenv("ATTNC_MAP_WEIGHTS");
  bool keepMapped = (map && std::strcmp(map, "0") != 0) ||
                    a->manifest.targetKind != "cpu";
  if (!inPlace.empty() && !keepMapped) {
    if (auto copy = attnc::rt::copyToHugePages(
            inPlace, data, attnc::rt::weightCopyLimit())) {
      owned.push_back(std::move(copy));
      inPlace.clear();
    }
  }
  for (size_t i = 0; i < weights.size(); ++i)
    a->weightData[i] = data[i];
  if (!inPlace.empty())
    a->owned.push_back(file); // zero-copy: the mapping stays with the artifact
  for (auto &o : owned)
    a->owned.push_back(std::move(o));
  return ATTNC_OK;
}
