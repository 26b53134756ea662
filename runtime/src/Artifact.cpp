//===- Artifact.cpp - The C API: open an artifact, bind weights, run ------===//
//
// dlopen the shared object, read and check its manifest, then call the
// entry point `attnc_entry_<name>(void **args)` with one memref descriptor
// per tensor argument (outputs allocated here, from the manifest's
// dim_sources).
//
//===----------------------------------------------------------------------===//

#include "ArtifactInternal.h"
#include "CudaArtifact.h"
#include "HostAllocator.h"

#include "attnc/runtime.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

using attnc::rt::ArgSpec;

namespace {
thread_local std::string g_lastError;
} // namespace

attnc_status attnc::rt::fail(attnc_status status, std::string message) {
  g_lastError = std::move(message);
  return status;
}

std::string attnc::rt::shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] < 0 ? "?" : std::to_string(shape[i]));
  return s + "]";
}

void *attnc::rt::memrefDescriptor(std::vector<int64_t> &desc,
                                  const void *data,
                                  const std::vector<int64_t> &shape) {
  desc.resize(3 + 2 * shape.size());
  desc[0] = desc[1] = int64_t(reinterpret_cast<intptr_t>(data));
  desc[2] = 0;
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    desc[3 + d] = shape[d];
    desc[3 + shape.size() + d] = stride;
    stride *= shape[d];
  }
  return desc.data();
}

using attnc::rt::EntryFn;
using attnc::rt::fail;
using attnc::rt::memrefDescriptor;
using attnc::rt::shapeString;

namespace {

/// 64-byte aligned, owned storage for one output.
struct Buffer {
  void *data = nullptr;
  size_t bytes = 0;
  ~Buffer() { std::free(data); }
  bool resize(size_t n) {
    if (n <= bytes && data)
      return true;
    std::free(data);
    bytes = 0;
    data = std::aligned_alloc(64, ((n + 63) / 64) * 64 + 64);
    if (!data)
      return false;
    bytes = n;
    return true;
  }
};

size_t elementsOf(const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= size_t(d);
  return n;
}

} // namespace

attnc_artifact::~attnc_artifact() {
  cuda.reset(); // the device state goes before the host code
  if (handle)
    dlclose(handle);
  if (routedAllocations)
    attnc::rt::releaseHostAllocations();
}

struct attnc_session {
  attnc_artifact *artifact = nullptr;
  const attnc::rt::EntrySpec *entry = nullptr;
  EntryFn fn = nullptr;
  std::vector<const void *> inputData;           // per arg (inputs only)
  std::vector<std::vector<int64_t>> shapes;      // per arg, concrete
  std::vector<bool> inputSet;                    // per arg
  std::vector<std::unique_ptr<Buffer>> outputs;  // per arg (outputs only)
  bool ran = false;
};

extern "C" {

const char *attnc_last_error(void) { return g_lastError.c_str(); }

const char *attnc_status_name(attnc_status status) {
  switch (status) {
  case ATTNC_OK: return "ok";
  case ATTNC_ERROR_IO: return "io error";
  case ATTNC_ERROR_FORMAT: return "format error";
  case ATTNC_ERROR_VERSION: return "version mismatch";
  case ATTNC_ERROR_UNSUPPORTED_ISA: return "unsupported ISA";
  case ATTNC_ERROR_WEIGHTS: return "weights error";
  case ATTNC_ERROR_ARGUMENT: return "invalid argument";
  case ATTNC_ERROR_SHAPE: return "shape mismatch";
  case ATTNC_ERROR_STATE: return "invalid state";
  case ATTNC_ERROR_OUT_OF_MEMORY: return "out of memory";
  }
  return "unknown status";
}

size_t attnc_dtype_size(attnc_dtype dtype) {
  switch (dtype) {
  case ATTNC_DTYPE_F32: case ATTNC_DTYPE_I32: return 4;
  case ATTNC_DTYPE_F16: case ATTNC_DTYPE_BF16: return 2;
  case ATTNC_DTYPE_I64: case ATTNC_DTYPE_F64: return 8;
  case ATTNC_DTYPE_I8: return 1;
  }
  return 0;
}

attnc_status attnc_artifact_open(const char *path, attnc_artifact **out) {
  if (!path || !out)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_artifact_open: null argument");
  *out = nullptr;
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(ATTNC_ERROR_IO, std::string("cannot open artifact '") + path +
                                    "': " + std::strerror(errno));
  auto a = std::make_unique<attnc_artifact>();
  // dlopen searches the library path for a name without a slash.
  a->path = std::strchr(path, '/') ? path : std::string("./") + path;
  a->handle = dlopen(a->path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->handle) {
    const char *why = dlerror();
    return fail(ATTNC_ERROR_IO, std::string("cannot load artifact '") + path +
                                    "': " + (why ? why : "dlopen failed"));
  }
  auto *text = static_cast<const char *>(dlsym(a->handle, ATTNC_MANIFEST_SYMBOL));
  auto *size = static_cast<const uint64_t *>(
      dlsym(a->handle, ATTNC_MANIFEST_SIZE_SYMBOL));
  auto *abi = static_cast<const uint32_t *>(
      dlsym(a->handle, ATTNC_ABI_VERSION_SYMBOL));
  if (!text || !size || !abi)
    return fail(ATTNC_ERROR_FORMAT,
                std::string("'") + path +
                    "' is not an attnc artifact: it exports no " +
                    (!text ? ATTNC_MANIFEST_SYMBOL
                           : !size ? ATTNC_MANIFEST_SIZE_SYMBOL
                                   : ATTNC_ABI_VERSION_SYMBOL));
  std::string error;
  attnc_status s = attnc::rt::parseManifest(std::string(text, *size),
                                            a->manifest, error);
  if (s == ATTNC_OK)
    s = a->manifest.targetKind == "cuda"
            ? attnc::rt::cudaOpen(a->handle, a->manifest, *abi, a->cuda, error)
            : attnc::rt::checkRunnable(a->manifest, *abi, error);
  if (s != ATTNC_OK)
    return fail(s, std::string("cannot run '") + path + "': " + error);
  if (!a->cuda) {
    attnc::rt::routeHostAllocations(a->handle);
    a->routedAllocations = true;
  }
  for (size_t i = 0; i < a->manifest.weights.size(); ++i)
    a->weightIndex[a->manifest.weights[i].name] = i;
  a->weightData.assign(a->manifest.weights.size(), nullptr);
  for (const auto &e : a->manifest.entries) {
    auto fn = reinterpret_cast<EntryFn>(dlsym(a->handle, e.symbol.c_str()));
    if (!fn)
      return fail(ATTNC_ERROR_FORMAT, std::string("'") + path +
                                          "' does not export entry point '" +
                                          e.symbol + "' its manifest lists");
    a->entryFns.push_back(fn);
  }
  *out = a.release();
  return ATTNC_OK;
}

void attnc_artifact_close(attnc_artifact *artifact) { delete artifact; }

const char *attnc_artifact_manifest(const attnc_artifact *artifact) {
  return artifact ? artifact->manifest.json.c_str() : "";
}

size_t attnc_artifact_num_weights(const attnc_artifact *artifact) {
  return artifact ? artifact->manifest.weights.size() : 0;
}

const char *attnc_artifact_weight_name(const attnc_artifact *artifact,
                                       size_t index) {
  if (!artifact || index >= artifact->manifest.weights.size())
    return nullptr;
  return artifact->manifest.weights[index].name.c_str();
}

attnc_status attnc_artifact_bind_weight(attnc_artifact *artifact,
                                        const char *name, const void *data,
                                        size_t bytes) {
  if (!artifact || !name || !data)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_artifact_bind_weight: null argument");
  auto it = artifact->weightIndex.find(name);
  if (it == artifact->weightIndex.end())
    return fail(ATTNC_ERROR_WEIGHTS, std::string("the model has no weight '") +
                                         name + "'");
  const auto &w = artifact->manifest.weights[it->second];
  if (bytes != w.bytes())
    return fail(ATTNC_ERROR_WEIGHTS,
                "weight '" + w.name + "' " + shapeString(w.shape) + " needs " +
                    std::to_string(w.bytes()) + " bytes; got " +
                    std::to_string(bytes));
  artifact->weightData[it->second] = data;
  return ATTNC_OK;
}

attnc_status attnc_session_create(attnc_artifact *artifact, const char *entry,
                                  attnc_session **out) {
  if (!artifact || !out)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_session_create: null argument");
  const auto &entries = artifact->manifest.entries;
  size_t i = 0;
  if (entry)
    while (i < entries.size() && entries[i].name != entry)
      ++i;
  if (i >= entries.size())
    return fail(ATTNC_ERROR_ARGUMENT,
                std::string("the artifact has no entry point '") +
                    (entry ? entry : "") + "'");
  auto s = std::make_unique<attnc_session>();
  s->artifact = artifact;
  s->entry = &entries[i];
  s->fn = artifact->entryFns[i];
  size_t n = s->entry->args.size();
  s->inputData.assign(n, nullptr);
  s->shapes.assign(n, {});
  s->inputSet.assign(n, false);
  s->outputs.resize(n);
  *out = s.release();
  return ATTNC_OK;
}

void attnc_session_free(attnc_session *session) { delete session; }

attnc_status attnc_session_set_input(attnc_session *s, const char *name,
                                     attnc_dtype dtype, const void *data,
                                     const int64_t *shape, int32_t rank) {
  if (!s || !name || !data || (rank > 0 && !shape))
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_session_set_input: null argument");
  const auto &args = s->entry->args;
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &a = args[i];
    if (a.name != name || a.role != ArgSpec::Role::Input)
      continue;
    if (dtype != a.dtype)
      return fail(ATTNC_ERROR_ARGUMENT, "input '" + a.name + "' has dtype " +
                                            std::to_string(a.dtype) +
                                            "; got " + std::to_string(dtype));
    std::vector<int64_t> given(shape, shape + rank);
    bool ok = given.size() == a.shape.size();
    for (size_t d = 0; ok && d < given.size(); ++d)
      ok = given[d] >= 0 && (a.shape[d] < 0 || a.shape[d] == given[d]);
    if (!ok)
      return fail(ATTNC_ERROR_SHAPE, "input '" + a.name + "' must have shape " +
                                         shapeString(a.shape) + "; got " +
                                         shapeString(given));
    s->inputData[i] = data;
    s->shapes[i] = std::move(given);
    s->inputSet[i] = true;
    return ATTNC_OK;
  }
  return fail(ATTNC_ERROR_ARGUMENT, "entry point '" + s->entry->name +
                                        "' has no input '" + name + "'");
}

attnc_status attnc_session_run(attnc_session *s) {
  if (!s)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_session_run: null session");
  const auto &args = s->entry->args;
  attnc_artifact *a = s->artifact;
  std::vector<const void *> data(args.size(), nullptr);
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &arg = args[i];
    if (arg.role == ArgSpec::Role::Input) {
      if (!s->inputSet[i])
        return fail(ATTNC_ERROR_STATE, "input '" + arg.name + "' is not set");
      data[i] = s->inputData[i];
    } else if (arg.role == ArgSpec::Role::Weight) {
      auto it = a->weightIndex.find(arg.name);
      if (it == a->weightIndex.end() || !a->weightData[it->second])
        return fail(ATTNC_ERROR_WEIGHTS, "weight '" + arg.name + "' is not bound");
      data[i] = a->weightData[it->second];
      s->shapes[i] = arg.shape;
    }
  }
  // Outputs: static dims from the manifest, dynamic ones from dim_sources.
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgSpec &arg = args[i];
    if (arg.role != ArgSpec::Role::Output)
      continue;
    std::vector<int64_t> shape = arg.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] >= 0)
        continue;
      const auto &src = d < arg.dimSources.size() ? arg.dimSources[d]
                                                  : std::nullopt;
      if (!src || src->arg < 0 || size_t(src->arg) >= args.size() ||
          src->dim < 0 || size_t(src->dim) >= s->shapes[src->arg].size() ||
          s->shapes[src->arg][src->dim] + src->offset < 0)
        return fail(ATTNC_ERROR_FORMAT, "the manifest gives no size for dim " +
                                            std::to_string(d) + " of output '" +
                                            arg.name + "'");
      shape[d] = s->shapes[src->arg][src->dim] + src->offset;
    }
    if (!s->outputs[i])
      s->outputs[i] = std::make_unique<Buffer>();
    if (!s->outputs[i]->resize(elementsOf(shape) * attnc_dtype_size(arg.dtype)))
      return fail(ATTNC_ERROR_OUT_OF_MEMORY,
                  "cannot allocate output '" + arg.name + "'");
    data[i] = s->outputs[i]->data;
    s->shapes[i] = std::move(shape);
  }
  // A CUDA artifact takes device pointers (weights copied once, inputs and
  // outputs every run).
  std::unique_ptr<attnc::rt::CudaCall> cudaCall;
  if (a->cuda) {
    std::string error;
    cudaCall = attnc::rt::CudaCall::prepare(a->cuda, *s->entry, s->shapes,
                                            data, error);
    if (!cudaCall)
      return fail(ATTNC_ERROR_STATE, error);
  }
  // One descriptor per tensor: {allocated, aligned, offset, sizes, strides}.
  std::vector<std::vector<int64_t>> descriptors(args.size());
  std::vector<void *> packed(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].scalar) {
      packed[i] = const_cast<void *>(data[i]);
      continue;
    }
    packed[i] = memrefDescriptor(descriptors[i], data[i], s->shapes[i]);
  }
  s->fn(packed.data());
  if (cudaCall) {
    std::string error;
    if (attnc_status st = cudaCall->finish(error); st != ATTNC_OK)
      return fail(st, error);
  }
  s->ran = true;
  return ATTNC_OK;
}

attnc_status attnc_session_get_output(const attnc_session *s, const char *name,
                                      attnc_tensor_view *out) {
  if (!s || !name || !out)
    return fail(ATTNC_ERROR_ARGUMENT, "attnc_session_get_output: null argument");
  if (!s->ran)
    return fail(ATTNC_ERROR_STATE, "no output before attnc_session_run");
  const auto &args = s->entry->args;
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].role == ArgSpec::Role::Output && args[i].name == name) {
      out->data = s->outputs[i]->data;
      out->dtype = args[i].dtype;
      out->rank = int32_t(s->shapes[i].size());
      out->shape = s->shapes[i].data();
      return ATTNC_OK;
    }
  return fail(ATTNC_ERROR_ARGUMENT, "entry point '" + s->entry->name +
                                        "' has no output '" + name + "'");
}

} // extern "C"
