/*===- attnc/runtime.h - The attnc runtime C API --------------------*- C -*-===
 *
 * Loads a compiled attnc artifact (a shared object with an embedded JSON
 * manifest), checks that this runtime can run it, binds weights and runs its
 * entry points. No LLVM/MLIR behind it.
 *
 *   attnc_artifact *a;
 *   if (attnc_artifact_open("model.attnc", &a) != ATTNC_OK)
 *     fprintf(stderr, "%s\n", attnc_last_error());
 *   attnc_artifact_bind_weights_file(a, "weights.safetensors");   // or per
 *   attnc_artifact_bind_weight(a, "embed.tokens", data, bytes);   // weight
 *   attnc_session *s;
 *   attnc_session_create(a, "forward", &s);
 *   attnc_session_set_input(s, "tokens", ATTNC_DTYPE_I32, ids, shape, 2);
 *   attnc_session_run(s);
 *   attnc_session_get_output(s, "logits", &view);
 *   attnc_session_free(s);
 *   attnc_artifact_close(a);
 *
 * Every function returns an attnc_status; on failure attnc_last_error()
 * (thread-local) says why in one line. Borrowed memory (weights, inputs)
 * must outlive the runs that read it.
 *
 * CPU artifacts run their kernels on OpenMP threads (LLVM's libomp):
 * OMP_NUM_THREADS sets how many; results do not depend on it. A decode
 * step is ~100 short parallel loops, so a process that does nothing else
 * gains from OMP_WAIT_POLICY=active (waiting threads keep spinning: +3%
 * decode at 2 threads on a 2-core machine); the runtime leaves that choice
 * to the process, since it affects every OpenMP user in it. A CPU
 * artifact's intermediate buffers from 64 KiB on are kept for reuse between
 * runs (at most ATTNC_HOST_CACHE_MB megabytes, default 1024) and returned
 * when the last CPU artifact closes. A CPU artifact copies the weights it
 * binds from a checkpoint onto transparent huge pages (decode streams every
 * weight once per token: 7-29% faster than from the page cache's 4 KiB
 * pages here); ATTNC_MAP_WEIGHTS=1 uses the mapped file in place instead
 * (zero-copy: less memory, slower decode).
 *
 *===----------------------------------------------------------------------===*/
#ifndef ATTNC_RUNTIME_H
#define ATTNC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ATTNC_API __attribute__((visibility("default")))
#else
#define ATTNC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The artifact format this runtime reads; the compiler writes it into every
 * manifest ("format_version") and the runtime refuses any other. */
#define ATTNC_ARTIFACT_FORMAT_VERSION 1
/* The calling convention of the entry points; exported by every artifact as
 * `attnc_abi_version` (uint32_t). */
#define ATTNC_ABI_VERSION 1

/* Symbols every artifact exports. */
#define ATTNC_MANIFEST_SYMBOL "attnc_manifest"           /* const char[]   */
#define ATTNC_MANIFEST_SIZE_SYMBOL "attnc_manifest_size" /* const uint64_t */
#define ATTNC_ABI_VERSION_SYMBOL "attnc_abi_version"     /* const uint32_t */
/* Entry point `E` is exported as `attnc_entry_E(void **args)`: args[i]
 * points at argument i in manifest order — a memref descriptor for tensors
 * ({T *allocated, T *aligned, int64_t offset, int64_t sizes[rank],
 * int64_t strides[rank]}), the value itself for scalars. Outputs are the
 * last arguments; the caller allocates them. */
#define ATTNC_ENTRY_PREFIX "attnc_entry_"

typedef enum attnc_status {
  ATTNC_OK = 0,
  ATTNC_ERROR_IO = 1,             /* file missing or unreadable, dlopen failed */
  ATTNC_ERROR_FORMAT = 2,         /* not an artifact, or a malformed manifest */
  ATTNC_ERROR_VERSION = 3,        /* artifact format / ABI version not supported */
  ATTNC_ERROR_UNSUPPORTED_ISA = 4,/* built for a CPU this machine is not */
  ATTNC_ERROR_WEIGHTS = 5,        /* unknown/missing weight, wrong size or dtype */
  ATTNC_ERROR_ARGUMENT = 6,       /* bad argument: unknown name, null pointer */
  ATTNC_ERROR_SHAPE = 7,          /* input shape does not match the entry point */
  ATTNC_ERROR_STATE = 8,          /* call out of order (run before inputs set) */
  ATTNC_ERROR_OUT_OF_MEMORY = 9,
} attnc_status;

typedef enum attnc_dtype {
  ATTNC_DTYPE_F32 = 0,
  ATTNC_DTYPE_F16 = 1,
  ATTNC_DTYPE_BF16 = 2,
  ATTNC_DTYPE_I32 = 3,
  ATTNC_DTYPE_I64 = 4,
  ATTNC_DTYPE_I8 = 5,
  ATTNC_DTYPE_F64 = 6,
} attnc_dtype;

typedef struct attnc_artifact attnc_artifact;
typedef struct attnc_session attnc_session;

/* A dense row-major tensor owned by the session (valid until the next run or
 * attnc_session_free). */
typedef struct attnc_tensor_view {
  const void *data;
  attnc_dtype dtype;
  int32_t rank;
  const int64_t *shape;
} attnc_tensor_view;

/* Message of the last failure on this thread ("" if none). */
ATTNC_API const char *attnc_last_error(void);
/* "ok", "io error", ... */
ATTNC_API const char *attnc_status_name(attnc_status status);
/* Bytes per element. */
ATTNC_API size_t attnc_dtype_size(attnc_dtype dtype);

/* Opens and checks an artifact: readable, exports a manifest, format and
 * ABI version this runtime supports, CPU features present on this machine. */
ATTNC_API attnc_status attnc_artifact_open(const char *path, attnc_artifact **out);
ATTNC_API void attnc_artifact_close(attnc_artifact *artifact);
/* The manifest JSON (NUL-terminated, owned by the artifact). */
ATTNC_API const char *attnc_artifact_manifest(const attnc_artifact *artifact);

/* Weights: the manifest's weight table, in canonical order. */
ATTNC_API size_t attnc_artifact_num_weights(const attnc_artifact *artifact);
ATTNC_API const char *attnc_artifact_weight_name(const attnc_artifact *artifact,
                                       size_t index);
/* Binds (borrows) `data`, a dense row-major buffer of the weight's manifest
 * shape and dtype; `bytes` must match exactly. */
ATTNC_API attnc_status attnc_artifact_bind_weight(attnc_artifact *artifact,
                                        const char *name, const void *data,
                                        size_t bytes);

/* Binds every weight from a safetensors checkpoint that uses the weight
 * table's canonical names (what `attnc init-weights` writes). Checks it all
 * first: every weight present with its manifest shape, a float dtype (F32,
 * F16, BF16; converted when it is not the artifact's), no other tensor; the
 * message names each tensor that is wrong, and nothing is bound then.
 * Tensors in the artifact's dtype are copied once into one buffer on
 * transparent huge pages for a CPU artifact (unless ATTNC_MAP_WEIGHTS=1, or
 * the copy would take more than half of physical memory) and used in place
 * from the mapped file otherwise (zero-copy); the artifact keeps the copy or
 * mapping and any converted copies until it is closed. */
ATTNC_API attnc_status attnc_artifact_bind_weights_file(attnc_artifact *artifact,
                                                        const char *path);

/* A session runs one entry point (NULL: the first) and owns its outputs. */
ATTNC_API attnc_status attnc_session_create(attnc_artifact *artifact, const char *entry,
                                  attnc_session **out);
ATTNC_API void attnc_session_free(attnc_session *session);
/* Sets (borrows) an input; dims the manifest fixes must match, dynamic dims
 * take the given size. */
ATTNC_API attnc_status attnc_session_set_input(attnc_session *session, const char *name,
                                     attnc_dtype dtype, const void *data,
                                     const int64_t *shape, int32_t rank);
/* Runs the entry point: every weight bound and every input set. */
ATTNC_API attnc_status attnc_session_run(attnc_session *session);
ATTNC_API attnc_status attnc_session_get_output(const attnc_session *session,
                                      const char *name,
                                      attnc_tensor_view *out);

/* Incremental decoding (gemma init_cache / prefill / decode) with an
 * artifact compiled with `attnc compile --incremental` (entry points
 * `prefill` and `decode`). The decoder owns per-layer K/V caches
 * [batch, num_kv_heads, slots, head_dim] (keys after RoPE) that the entry
 * points update in place (a step writes only its own tokens' keys and
 * values), the slot positions (-1: empty) and one end index shared by the
 * batch (tokens written so far). Global layers have cache_length slots; a
 * local layer of window W (a config `layers[i].window`, no cache group)
 * keeps a ring of min(cache_length, W + prefill_chunk - 1) slots: token s
 * goes to slot s mod that, and a prefill of more than prefill_chunk tokens
 * runs as several steps of at most prefill_chunk tokens (each step's
 * queries then still see the W - 1 tokens before them). The results are
 * the reference session's (ring buffers of W slots) and the full forward's.
 *
 * A step writes its n tokens per row at the end index and returns each
 * row's last logits, [batch, 1, vocab] (owned by the decoder, valid until
 * the next step). Positions (row-major [rows, n]; NULL: each row's next
 * position + 0, 1, ...) must be >= -1; -1 marks a padding token that is
 * never attended to; a row's valid positions must increase strictly and
 * stay inside a learned position table; token ids inside the vocabulary;
 * with rings a row must stay contiguous (pad only before its first token).
 * Errors leave the decoder unchanged: rows other than the batch
 * (ATTNC_ERROR_SHAPE), decode before prefill and a step past the cache
 * length (ATTNC_ERROR_STATE: nothing is written), bad positions
 * (ATTNC_ERROR_ARGUMENT), unbound weights (ATTNC_ERROR_WEIGHTS). */
typedef struct attnc_decoder attnc_decoder;
ATTNC_API attnc_status attnc_decoder_create(attnc_artifact *artifact,
                                            int64_t batch,
                                            int64_t cache_length,
                                            attnc_decoder **out);
/* The prefill chunk a decoder gets when its options say 0. */
#define ATTNC_DEFAULT_PREFILL_CHUNK 256
typedef struct attnc_decoder_options {
  int64_t batch;
  int64_t cache_length;
  /* Most tokens one prefill step writes on a model with rings (0: the
   * default); sets the rings' slots, min(cache_length, W + chunk - 1). */
  int64_t prefill_chunk;
  /* The caches' dtype the caller expects, "f32", "bf16" or "f16" (gemma
   * init_cache's dtype; NULL: the artifact's). The artifact fixes it
   * (`attnc compile --incremental --cache-dtype`, default the model's); any
   * other is ATTNC_ERROR_ARGUMENT, saying what the artifact has. */
  const char *cache_dtype;
} attnc_decoder_options;
ATTNC_API attnc_status attnc_decoder_create_with_options(
    attnc_artifact *artifact, const attnc_decoder_options *options,
    attnc_decoder **out);
ATTNC_API void attnc_decoder_free(attnc_decoder *decoder);
/* tokens: [rows, n] int32. */
ATTNC_API attnc_status attnc_decoder_prefill(attnc_decoder *decoder,
                                             const int32_t *tokens,
                                             int64_t rows, int64_t n,
                                             const int32_t *positions,
                                             attnc_tensor_view *logits);
/* Models with a leading image group (samples/multimodal.yaml): the one
 * prefill of a session (on an empty decoder) takes the image, [rows, H, W,
 * C] pixels in the model's dtype, and n text tokens per row; the image's N
 * patch tokens take slots [0, N) before the text (positions [rows, N + n]
 * or NULL). Later steps are text only (decode). attnc_decoder_prefill on
 * such a model, or this call on a model without an image, is
 * ATTNC_ERROR_ARGUMENT; on a decoder that ran steps, ATTNC_ERROR_STATE. */
ATTNC_API attnc_status attnc_decoder_prefill_image(attnc_decoder *decoder,
                                                   const void *image,
                                                   const int32_t *tokens,
                                                   int64_t rows, int64_t n,
                                                   const int32_t *positions,
                                                   attnc_tensor_view *logits);
/* One token per row: tokens [rows] int32; positions [rows] or NULL. */
ATTNC_API attnc_status attnc_decoder_decode(attnc_decoder *decoder,
                                            const int32_t *tokens,
                                            int64_t rows,
                                            const int32_t *positions,
                                            attnc_tensor_view *logits);
/* prefill / decode with an explicit attention_mask (gemma semantics):
 * mask is [rows, n, mask_columns] uint8, 0 or 1, mask_columns == the cache
 * length; column s is the session's token number s (0 = the first token
 * after any cache group; a leading image's patch tokens are 0..N-1). It
 * REPLACES the pattern's mask (causal / sliding_window): query j of the
 * step attends to token s iff mask[j][s] == 1, token s is written (this
 * step's tokens included) with a position >= 0, and, on a local layer of
 * window W, |p_j - p_s| < W. Cache-group keys stay visible to every query.
 * On a model with rings a masked prefill takes at most prefill_chunk
 * tokens (ATTNC_ERROR_SHAPE otherwise), as do other column counts; a null
 * mask or an entry other than 0/1 is ATTNC_ERROR_ARGUMENT. Without a mask
 * (the calls above) the pattern's mask applies, by position. */
ATTNC_API attnc_status attnc_decoder_prefill_masked(
    attnc_decoder *decoder, const int32_t *tokens, int64_t rows, int64_t n,
    const int32_t *positions, const uint8_t *mask, int64_t mask_columns,
    attnc_tensor_view *logits);
/* attnc_decoder_prefill_image with an attention mask, [rows, N + n,
 * mask_columns]: the image's N patch tokens are the session's tokens
 * 0..N-1 (rows 0..N-1 of the mask are their queries). */
ATTNC_API attnc_status attnc_decoder_prefill_image_masked(
    attnc_decoder *decoder, const void *image, const int32_t *tokens,
    int64_t rows, int64_t n, const int32_t *positions, const uint8_t *mask,
    int64_t mask_columns, attnc_tensor_view *logits);
ATTNC_API attnc_status attnc_decoder_decode_masked(
    attnc_decoder *decoder, const int32_t *tokens, int64_t rows,
    const int32_t *positions, const uint8_t *mask, int64_t mask_columns,
    attnc_tensor_view *logits);
/* The config's cache group (size null, e.g. samples/cross-attention.yaml):
 * its per-layer keys and values, m slots per row, for every later step.
 * kv holds 2 x num_layers pointers, layer by layer, keys then values, each
 * [batch, num_kv_heads, m, head_dim] in the cache's dtype (keys as the
 * model uses them: no RoPE is applied). Call it on an empty decoder (after
 * create or reset), before the prefill: the group takes slots [0, m) of
 * the cache (the entry points' cache_prefix: visible to every query
 * whatever the mask, window and positions, no ALiBi bias); the text's
 * positions still start at 0. Errors (ATTNC_ERROR_STATE when steps were run,
 * ATTNC_ERROR_SHAPE when m does not fit the cache) change nothing. */
ATTNC_API attnc_status attnc_decoder_set_cache_group(attnc_decoder *decoder,
                                                     int64_t m,
                                                     const void *const *kv);
/* Tokens written so far (cache group included). */
ATTNC_API int64_t attnc_decoder_end_index(const attnc_decoder *decoder);
/* Bytes of every layer's K/V caches together. */
ATTNC_API int64_t attnc_decoder_cache_bytes(const attnc_decoder *decoder);
/* Slots of layer `layer`'s caches: the cache length, or a ring's. */
ATTNC_API int64_t attnc_decoder_capacity(const attnc_decoder *decoder,
                                         int64_t layer);
/* Empties the cache: end index 0, every slot empty, positions from 0. */
ATTNC_API void attnc_decoder_reset(attnc_decoder *decoder);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNC_RUNTIME_H */
