//===- Artifact.hpp - C++ wrapper of the runtime's C API ---------*- C++ -*-===//
//
// Thin, header-only RAII classes over attnc/runtime.h; failures throw
// attnc::rt::Error (status + the runtime's message).
//
//   attnc::rt::Artifact model("model.attnc");
//   model.bindWeight("embed.tokens", data, bytes);
//   attnc::rt::Session s(model, "forward");
//   s.setInput("tokens", ATTNC_DTYPE_I32, ids.data(), {1, n});
//   s.run();
//   attnc_tensor_view logits = s.output("logits");
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_ARTIFACT_HPP
#define ATTNC_RUNTIME_ARTIFACT_HPP

#include "attnc/runtime.h"

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace attnc::rt {

class Error : public std::runtime_error {
public:
  Error(attnc_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  attnc_status status() const { return status_; }

private:
  attnc_status status_;
};

inline void check(attnc_status status) {
  if (status != ATTNC_OK)
    throw Error(status, attnc_last_error());
}

class Artifact {
public:
  explicit Artifact(const std::string &path) {
    check(attnc_artifact_open(path.c_str(), &handle_));
  }
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  Artifact(Artifact &&o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  ~Artifact() { attnc_artifact_close(handle_); }

  std::string manifest() const { return attnc_artifact_manifest(handle_); }
  std::vector<std::string> weightNames() const {
    std::vector<std::string> names;
    for (size_t i = 0, n = attnc_artifact_num_weights(handle_); i < n; ++i)
      names.emplace_back(attnc_artifact_weight_name(handle_, i));
    return names;
  }
  /// Borrows `data`: it must outlive every run.
  void bindWeight(const std::string &name, const void *data, size_t bytes) {
    check(attnc_artifact_bind_weight(handle_, name.c_str(), data, bytes));
  }
  /// Binds every weight from a canonical-name safetensors checkpoint.
  void bindWeightsFile(const std::string &path) {
    check(attnc_artifact_bind_weights_file(handle_, path.c_str()));
  }
  attnc_artifact *get() const { return handle_; }

private:
  attnc_artifact *handle_ = nullptr;
};

class Session {
public:
  /// `entry` empty: the artifact's first entry point.
  explicit Session(Artifact &artifact, const std::string &entry = "") {
    check(attnc_session_create(artifact.get(),
                               entry.empty() ? nullptr : entry.c_str(),
                               &handle_));
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  ~Session() { attnc_session_free(handle_); }

  /// Borrows `data` until the next run.
  void setInput(const std::string &name, attnc_dtype dtype, const void *data,
                const std::vector<int64_t> &shape) {
    check(attnc_session_set_input(handle_, name.c_str(), dtype, data,
                                  shape.data(), int32_t(shape.size())));
  }
  void run() { check(attnc_session_run(handle_)); }
  /// Valid until the next run.
  attnc_tensor_view output(const std::string &name) const {
    attnc_tensor_view view{};
    check(attnc_session_get_output(handle_, name.c_str(), &view));
    return view;
  }

private:
  attnc_session *handle_ = nullptr;
};

} // namespace attnc::rt

#endif // ATTNC_RUNTIME_ARTIFACT_HPP
