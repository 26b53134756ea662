//===- Checkpoint.h - Weights of a model, checked and bound -----*- C++ -*-===//
//
// A checkpoint is a safetensors file. Its tensors are checked against the
// model's weight table (attnc/Schema/Weights.h, weightTable(config): the one
// definition of names, shapes and order) and every problem is reported at
// once: missing weights, unexpected tensors, wrong shapes, wrong dtypes.
//
// Two namings are read:
//  * canonical: the weight table's own names (what `attnc init-weights`
//    writes);
//  * Hugging Face: a documented set of names for the llama, GPT-2 and BERT
//    families (runtime/docs/weights.md), mapped onto canonical names. GPT-2's
//    Conv1D weights are stored [in, out] and its attention projections are
//    fused (c_attn = [q | k | v]): they are split and transposed on load.
//
// Loaded weights are float32 (WeightSet): F32 data aligned in the file is
// used in place (zero-copy; the mapped file stays alive with the set), F16
// and BF16 are converted.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CHECKPOINT_H
#define ATTNC_RUNTIME_CHECKPOINT_H

#include "attnc/Runtime/Safetensors.h"
#include "attnc/Schema/Config.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnc::runtime {

/// One float32 weight: shape and data (owned by its WeightSet).
struct WeightTensor {
  std::vector<int64_t> shape;
  const float *data = nullptr;

  int64_t elements() const;
};

/// float32 weights by canonical name.
class WeightSet {
public:
  /// Adds a weight that the set owns.
  void add(const std::string &name, std::vector<int64_t> shape,
           std::vector<float> values);
  /// Adds a weight whose data lives elsewhere (see keepAlive).
  void addView(const std::string &name, std::vector<int64_t> shape,
               const float *data);
  /// Keeps `owner` (e.g. the mapped file behind views) alive with the set.
  void keepAlive(std::shared_ptr<const void> owner);

  const WeightTensor *find(const std::string &name) const;
  size_t size() const { return tensors_.size(); }
  std::vector<std::string> names() const;

private:
  std::map<std::string, WeightTensor> tensors_;
  std::deque<std::vector<float>> storage_; // stable addresses
  std::vector<std::shared_ptr<const void>> owners_;
};

enum class CheckpointNaming { Auto, Canonical, Llama, Gpt2, Bert };

const char *toString(CheckpointNaming naming);
/// "auto", "canonical", "llama", "gpt2", "bert".
bool parseCheckpointNaming(const std::string &text, CheckpointNaming &naming);
/// Guesses the naming from the tensor names (canonical when unsure).
CheckpointNaming detectNaming(const SafetensorsFile &file);

struct WeightProblem {
  enum class Kind { Missing, Unexpected, WrongShape, WrongDType };
  Kind kind = Kind::Missing;
  std::string name; ///< canonical name (checkpoint name for Unexpected)
  std::string message;
};

/// Checks a canonical-name checkpoint against weightTable(config). With
/// `requiredDType` every tensor must have that dtype (a compiled artifact
/// binds its weights in place); without it F32, F16 and BF16 are accepted.
std::vector<WeightProblem>
checkCheckpoint(const ModelConfig &config, const SafetensorsFile &file,
                std::optional<StDType> requiredDType = std::nullopt);

/// The safetensors dtype that holds weights of a config's dtype.
StDType toStDType(DType dtype);

/// Where a canonical weight comes from in a Hugging Face checkpoint: the
/// tensor, then a transpose (GPT-2 Conv1D [in, out]) and a slice of rows
/// (of the transposed matrix, or of a 1-D bias) for fused projections.
struct HfSource {
  std::string name;       ///< full HF name, family prefix included
  std::string prefix;     ///< the family prefix that may be absent
  bool transpose = false;
  int64_t rowBegin = 0;
  int64_t rowCount = -1; ///< -1: all rows
};

/// The HF source of canonical weight `canonical` under `naming` (Llama,
/// Gpt2 or Bert), or nullopt when that family has no such weight.
std::optional<HfSource> hfSource(CheckpointNaming naming,
                                 const ModelConfig &config,
                                 const std::string &canonical);
/// Tensors of an HF checkpoint that the mapping leaves out on purpose
/// (buffers such as GPT-2's attn.bias mask, training heads such as BERT's
/// cls.*, a tied lm_head).
bool hfIgnored(CheckpointNaming naming, const ModelConfig &config,
               const std::string &hfName);

/// Loads the weights of `config` from `file` as float32, by canonical name.
/// `naming` Auto detects the naming. Every problem goes to `errors` (one
/// message each, naming the tensor and why); then the result is empty.
std::optional<WeightSet>
loadWeights(const ModelConfig &config,
            std::shared_ptr<const SafetensorsFile> file,
            CheckpointNaming naming, std::vector<std::string> &errors);

/// Opens `path` and loads it (loadWeights); errors as above.
std::optional<WeightSet> loadWeightsFile(const ModelConfig &config,
                                         const std::string &path,
                                         CheckpointNaming naming,
                                         std::vector<std::string> &errors);

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_CHECKPOINT_H
