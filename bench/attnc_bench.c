/* attnc_bench: times one entry point of a compiled artifact through the C API.
 *   attnc_bench MODEL.attnc WEIGHTS.safetensors TOKENS REPS [LOGITS.f32]
 * Runs `forward` on TOKENS token ids (batch 1) once to warm up, then REPS
 * times; prints wall-clock "min median max" and the median process CPU
 * time (all threads), in milliseconds. LOGITS.f32 gets the last token's
 * logits (raw float32) to check against PyTorch.
 *   attnc_bench decode MODEL.attnc WEIGHTS PROMPT STEPS CACHE_LENGTH
 * (an artifact from `attnc compile --incremental`): prefills PROMPT tokens
 * into a CACHE_LENGTH-slot KV cache, then decodes STEPS tokens greedily one
 * at a time; prints "prefill_ms decode_ms_per_token_median tokens_per_s".
 *   attnc_bench sdpa MODEL.attnc Q.f32 K.f32 V.f32 H K S D REPS [OUT.f32]
 * (bench/attention.py's one-sdpa modules, inputs q [1, H, S, D], k and v
 * [1, K, S, D] as raw float32): runs `forward` once to warm up, then REPS
 * times; prints wall-clock "min median max" in milliseconds. Built by
 * bench/run.py. */
#include "attnc/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_ms(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != ATTNC_OK) {                                                  \
      fprintf(stderr, "attnc_bench: %s: %s\n", #call, attnc_last_error());     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static int argmax(const attnc_tensor_view *v) {
  int64_t vocab = v->shape[v->rank - 1];
  const float *x = (const float *)v->data;
  int best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (x[i] > x[best])
      best = (int)i;
  return best;
}

static int decode_main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: attnc_bench decode MODEL WEIGHTS PROMPT STEPS CACHE_LENGTH\n");
    return 2;
  }
  int n = atoi(argv[4]), steps = atoi(argv[5]);
  attnc_artifact *a;
  attnc_decoder *d;
  attnc_tensor_view v;
  CHECK(attnc_artifact_open(argv[2], &a));
  CHECK(attnc_artifact_bind_weights_file(a, argv[3]));
  CHECK(attnc_decoder_create(a, 1, atol(argv[6]), &d));
  int32_t *ids = malloc(sizeof(int32_t) * n);
  for (int i = 0; i < n; ++i)
    ids[i] = (int32_t)((i * 7919L + 13) % 32000);
  CHECK(attnc_decoder_prefill(d, ids, 1, n, NULL, &v)); /* warm-up */
  attnc_decoder_reset(d);
  double t0 = now_ms();
  CHECK(attnc_decoder_prefill(d, ids, 1, n, NULL, &v));
  double prefill = now_ms() - t0;
  double *t = malloc(sizeof(double) * steps);
  int32_t tok = argmax(&v);
  for (int i = 0; i < steps; ++i) {
    double s0 = now_ms();
    CHECK(attnc_decoder_decode(d, &tok, 1, NULL, &v));
    t[i] = now_ms() - s0;
    tok = argmax(&v);
  }
  double total = 0;
  for (int i = 0; i < steps; ++i)
    total += t[i];
  qsort(t, steps, sizeof(double), cmp);
  printf("%.3f %.3f %.2f\n", prefill, t[steps / 2], steps / total * 1e3);
  attnc_decoder_free(d);
  attnc_artifact_close(a);
  return 0;
}

static float *read_f32(const char *path, size_t n) {
  float *x = malloc(sizeof(float) * n);
  FILE *f = fopen(path, "rb");
  if (!f || fread(x, sizeof(float), n, f) != n) {
    fprintf(stderr, "attnc_bench: cannot read %zu floats from %s\n", n, path);
    exit(1);
  }
  fclose(f);
  return x;
}

static int sdpa_main(int argc, char **argv) {
  if (argc != 11 && argc != 12) {
    fprintf(stderr, "usage: attnc_bench sdpa MODEL Q K V H K S D REPS [OUT]\n");
    return 2;
  }
  int64_t h = atol(argv[6]), kv = atol(argv[7]), s = atol(argv[8]),
          d = atol(argv[9]);
  int reps = atoi(argv[10]);
  float *q = read_f32(argv[3], (size_t)(h * s * d));
  float *k = read_f32(argv[4], (size_t)(kv * s * d));
  float *v = read_f32(argv[5], (size_t)(kv * s * d));
  attnc_artifact *a;
  attnc_session *ss;
  CHECK(attnc_artifact_open(argv[2], &a));
  CHECK(attnc_session_create(a, "forward", &ss));
  int64_t qs[4] = {1, h, s, d}, ks[4] = {1, kv, s, d};
  CHECK(attnc_session_set_input(ss, "q", ATTNC_DTYPE_F32, q, qs, 4));
  CHECK(attnc_session_set_input(ss, "k", ATTNC_DTYPE_F32, k, ks, 4));
  CHECK(attnc_session_set_input(ss, "v", ATTNC_DTYPE_F32, v, ks, 4));
  double *t = malloc(sizeof(double) * (reps + 1));
  CHECK(attnc_session_run(ss));
  for (int r = 0; r < reps; ++r) {
    double t0 = now_ms();
    CHECK(attnc_session_run(ss));
    t[r] = now_ms() - t0;
  }
  qsort(t, reps, sizeof(double), cmp);
  printf("%.3f %.3f %.3f\n", t[0], t[reps / 2], t[reps - 1]);
  if (argc == 12) {
    attnc_tensor_view o;
    CHECK(attnc_session_get_output(ss, "out", &o));
    FILE *f = fopen(argv[11], "wb");
    size_t n = (size_t)(h * s * d);
    if (!f || fwrite(o.data, sizeof(float), n, f) != n) {
      fprintf(stderr, "attnc_bench: cannot write %s\n", argv[11]);
      return 1;
    }
    fclose(f);
  }
  attnc_session_free(ss);
  attnc_artifact_close(a);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "decode"))
    return decode_main(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "sdpa"))
    return sdpa_main(argc, argv);
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: attnc_bench MODEL.attnc WEIGHTS TOKENS REPS [LOGITS.f32]\n");
    return 2;
  }
  int n = atoi(argv[3]), reps = atoi(argv[4]);
  attnc_artifact *a;
  attnc_session *s;
  CHECK(attnc_artifact_open(argv[1], &a));
  CHECK(attnc_artifact_bind_weights_file(a, argv[2]));
  CHECK(attnc_session_create(a, "forward", &s));
  int32_t *ids = malloc(sizeof(int32_t) * n), *pos = malloc(sizeof(int32_t) * n);
  for (int i = 0; i < n; ++i) {
    ids[i] = (int32_t)((i * 7919L + 13) % 32000);
    pos[i] = i;
  }
  int64_t shape[2] = {1, n};
  CHECK(attnc_session_set_input(s, "tokens.text", ATTNC_DTYPE_I32, ids, shape, 2));
  CHECK(attnc_session_set_input(s, "positions", ATTNC_DTYPE_I32, pos, shape, 2));
  double *t = malloc(sizeof(double) * (reps + 1));
  double *c = malloc(sizeof(double) * (reps + 1));
  CHECK(attnc_session_run(s)); /* warm-up: page in the weights */
  for (int r = 0; r < reps; ++r) {
    double t0 = now_ms(), c0 = cpu_ms();
    CHECK(attnc_session_run(s));
    t[r] = now_ms() - t0;
    c[r] = cpu_ms() - c0;
  }
  qsort(t, reps, sizeof(double), cmp);
  qsort(c, reps, sizeof(double), cmp);
  /* wall min, median, max; process CPU time (all threads) median */
  printf("%.3f %.3f %.3f %.3f\n", t[0], t[reps / 2], t[reps - 1], c[reps / 2]);
  if (argc == 6) {
    attnc_tensor_view v;
    CHECK(attnc_session_get_output(s, "logits", &v));
    int64_t vocab = v.shape[v.rank - 1];
    FILE *f = fopen(argv[5], "wb");
    if (!f || fwrite((const float *)v.data + (n - 1) * vocab, sizeof(float),
                     (size_t)vocab, f) != (size_t)vocab) {
      fprintf(stderr, "attnc_bench: cannot write %s\n", argv[5]);
      return 1;
    }
    fclose(f);
  }
  attnc_session_free(s);
  attnc_artifact_close(a);
  return 0;
}
