//===- Checkpoint.cpp - Weights of a model, checked and bound -------------===//

#include "attnc/Runtime/Checkpoint.h"
#include "attnc/Schema/Weights.h"

#include <set>

namespace attnc::runtime {

namespace {

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

WeightProblem problem(WeightProblem::Kind kind, const std::string &name,
                      const std::string &message) {
  return {kind, name, message};
}

/// Transposes a 2-D tensor and keeps rows [begin, begin + count).
std::vector<float> transform(const std::vector<float> &in,
                             std::vector<int64_t> &shape, bool transpose,
                             int64_t begin, int64_t count) {
  std::vector<float> values = in;
  if (transpose && shape.size() == 2) {
    int64_t r = shape[0], c = shape[1];
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j)
        values[size_t(j * r + i)] = in[size_t(i * c + j)];
    shape = {c, r};
  }
  if (count < 0)
    return values;
  int64_t rowSize = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    rowSize *= shape[i];
  std::vector<float> out(values.begin() + begin * rowSize,
                         values.begin() + (begin + count) * rowSize);
  shape[0] = count;
  return out;
}

/// Loads a Hugging Face checkpoint through hfSource.
bool loadHf(const ModelConfig &config, const SafetensorsFile &file,
            CheckpointNaming naming, WeightSet &set,
            std::vector<WeightProblem> &problems) {
  std::set<std::string> used;
  auto lookup = [&](const HfSource &src) -> const TensorView * {
    std::vector<std::string> names = {src.name};
    if (!src.prefix.empty())
      names.push_back(src.name.substr(src.prefix.size()));
    for (std::string n : std::vector<std::string>(names)) {
      // Old BERT/TF conversions call LayerNorm parameters gamma and beta.
      for (auto [from, to] : {std::pair<std::string, std::string>{
                                  "LayerNorm.weight", "LayerNorm.gamma"},
                              {"LayerNorm.bias", "LayerNorm.beta"}})
        if (n.size() > from.size() &&
            n.compare(n.size() - from.size(), from.size(), from) == 0)
          names.push_back(n.substr(0, n.size() - from.size()) + to);
    }
    for (const std::string &n : names)
      if (const TensorView *t = file.find(n))
        return t;
    return nullptr;
  };
  for (const WeightSpec &spec : weightTable(config)) {
    std::optional<HfSource> src = hfSource(naming, config, spec.name);
    if (!src) {
      problems.push_back(problem(
          WeightProblem::Kind::Missing, spec.name,
          "weight '" + spec.name + "' " + shapeString(spec.shape) +
              " has no " + toString(naming) +
              " equivalent (runtime/docs/weights.md lists the mapping)"));
      continue;
    }
    const TensorView *t = lookup(*src);
    if (!t) {
      problems.push_back(problem(WeightProblem::Kind::Missing, spec.name,
                                 "missing tensor '" + src->name + "' for '" +
                                     spec.name + "' " +
                                     shapeString(spec.shape)));
      continue;
    }
    used.insert(t->name);
    std::string from = "'" + spec.name + "' (from '" + t->name + "' " +
                       shapeString(t->shape) +
                       (src->transpose ? ", transposed" : "") +
                       (src->rowCount >= 0
                            ? ", rows " + std::to_string(src->rowBegin) +
                                  ".." +
                                  std::to_string(src->rowBegin +
                                                 src->rowCount)
                            : std::string()) +
                       ")";
    if (!isFloatDType(t->dtype)) {
      problems.push_back(problem(WeightProblem::Kind::WrongDType, spec.name,
                                 from + " has dtype " + toString(t->dtype) +
                                     "; expected F32, BF16 or F16"));
      continue;
    }
    std::vector<int64_t> shape = t->shape;
    if (src->transpose && shape.size() == 2)
      shape = {shape[1], shape[0]};
    if (src->rowCount >= 0 &&
        (shape.empty() || src->rowBegin + src->rowCount > shape[0])) {
      problems.push_back(problem(
          WeightProblem::Kind::WrongShape, spec.name,
          from + ": the tensor has too few rows for the split; expected " +
              std::to_string(src->rowBegin + src->rowCount)));
      continue;
    }
    if (src->rowCount >= 0)
      shape[0] = src->rowCount;
    if (shape != spec.shape) {
      problems.push_back(problem(WeightProblem::Kind::WrongShape, spec.name,
                                 from + " has shape " + shapeString(shape) +
                                     "; expected " +
                                     shapeString(spec.shape)));
      continue;
    }
    std::vector<int64_t> s = t->shape;
    set.add(spec.name, spec.shape,
            transform(t->toFloat32(), s, src->transpose, src->rowBegin,
                      src->rowCount));
  }
  for (const TensorView &t : file.tensors())
    if (!used.count(t.name) && !hfIgnored(naming, config, t.name))
      problems.push_back(problem(
          WeightProblem::Kind::Unexpected, t.name,
          "unexpected tensor '" + t.name + "' " + shapeString(t.shape) +
              ": the " + toString(naming) +
              " mapping does not use it (is the checkpoint for another "
              "config?)"));
  return problems.empty();
}

} // namespace

int64_t WeightTensor::elements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

void WeightSet::add(const std::string &name, std::vector<int64_t> shape,
                    std::vector<float> values) {
  storage_.push_back(std::move(values));
  tensors_[name] = {std::move(shape), storage_.back().data()};
}

void WeightSet::addView(const std::string &name, std::vector<int64_t> shape,
                        const float *data) {
  tensors_[name] = {std::move(shape), data};
}

void WeightSet::keepAlive(std::shared_ptr<const void> owner) {
  owners_.push_back(std::move(owner));
}

const WeightTensor *WeightSet::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightSet::names() const {
  std::vector<std::string> out;
  for (const auto &[name, t] : tensors_)
    out.push_back(name);
  return out;
}

StDType toStDType(DType dtype) {
  switch (dtype) {
  case DType::Float32:
    return StDType::F32;
  case DType::BFloat16:
    return StDType::BF16;
  case DType::Float16:
    return StDType::F16;
  }
  return StDType::F32;
}

std::vector<WeightProblem>
checkCheckpoint(const ModelConfig &config, const SafetensorsFile &file,
                std::optional<StDType> requiredDType) {
  std::vector<WeightProblem> problems;
  std::set<std::string> expected;
  for (const WeightSpec &spec : weightTable(config)) {
    expected.insert(spec.name);
    const TensorView *t = file.find(spec.name);
    if (!t) {
      problems.push_back(problem(WeightProblem::Kind::Missing, spec.name,
                                 "missing weight '" + spec.name + "' " +
                                     shapeString(spec.shape)));
      continue;
    }
    if (t->shape != spec.shape)
      problems.push_back(problem(WeightProblem::Kind::WrongShape, spec.name,
                                 "weight '" + spec.name + "' has shape " +
                                     shapeString(t->shape) + "; expected " +
                                     shapeString(spec.shape)));
    if (requiredDType ? t->dtype != *requiredDType : !isFloatDType(t->dtype))
      problems.push_back(problem(
          WeightProblem::Kind::WrongDType, spec.name,
          "weight '" + spec.name + "' has dtype " + toString(t->dtype) +
              "; expected " +
              (requiredDType ? std::string(toString(*requiredDType))
                             : std::string("F32, BF16 or F16"))));
  }
  for (const TensorView &t : file.tensors())
    if (!expected.count(t.name))
      problems.push_back(problem(
          WeightProblem::Kind::Unexpected, t.name,
          "unexpected tensor '" + t.name + "' " + shapeString(t.shape) +
              ": not a weight of this config (is the checkpoint for "
              "another config?)"));
  return problems;
}

std::optional<WeightSet>
loadWeights(const ModelConfig &config,
            std::shared_ptr<const SafetensorsFile> file,
            CheckpointNaming naming, std::vector<std::string> &errors) {
  if (naming == CheckpointNaming::Auto)
    naming = detectNaming(*file);
  WeightSet set;
  std::vector<WeightProblem> problems;
  if (naming == CheckpointNaming::Canonical) {
    problems = checkCheckpoint(config, *file);
    if (problems.empty()) {
      for (const WeightSpec &spec : weightTable(config)) {
        const TensorView *t = file->find(spec.name);
        if (const float *data = t->float32Data())
          set.addView(spec.name, spec.shape, data);
        else
          set.add(spec.name, spec.shape, t->toFloat32());
      }
      set.keepAlive(file);
    }
  } else {
    loadHf(config, *file, naming, set, problems);
  }
  if (problems.empty())
    return set;
  for (const WeightProblem &p : problems)
    errors.push_back(file->path() + ": " + p.message);
  errors.push_back(file->path() + ": " + std::to_string(problems.size()) +
                   (problems.size() == 1 ? " problem" : " problems") +
                   " with the " + toString(naming) + " checkpoint for '" +
                   (config.name.empty() ? std::string("the config")
                                        : config.name) +
                   "'");
  return std::nullopt;
}

std::optional<WeightSet> loadWeightsFile(const ModelConfig &config,
                                         const std::string &path,
                                         CheckpointNaming naming,
                                         std::vector<std::string> &errors) {
  std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(path, errors);
  if (!file)
    return std::nullopt;
  return loadWeights(config, std::shared_ptr<const SafetensorsFile>(
                                 std::move(file)),
                     naming, errors);
}

} // namespace attnc::runtime
