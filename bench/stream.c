/* STREAM-style bandwidth for bench/run.py (reference/perf-baselines.md 2a):
 * fp64 arrays of 80 M elements (640 MB each, far beyond what this guest's
 * L3 holds for one process), best of 9. OpenMP threads from OMP_NUM_THREADS.
 *
 *   triad:  a = b + 3c, counts 3 arrays;
 *   read:   a sum over b in which each thread reads its part as 4 slices in
 *           step (4 concurrent streams, as a matrix-vector product reads 4
 *           weight rows): the decode roofline's figure;
 *   read1:  the same sum with one stream per thread (what this program
 *           measured before 2026-11-23 21:30: on this guest it reads 15-30%
 *           less than `read`, so a roofline over it flattered decode).
 *
 * Prints "triad_GBps read_GBps read1_GBps". */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 80000000L
#define SLICES 4

/* One thread's part of b as SLICES slices summed in step; returns the sum
 * and adds the bytes it read to *bytes. */
static double sum_slices(const double *b, long *bytes) {
  long threads = omp_get_num_threads(), id = omp_get_thread_num();
  long len = N / threads / SLICES / 64 * 64;
  const double *p = b + id * len * SLICES;
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
  for (long i = 0; i < len; ++i) {
    s0 += p[i];
    s1 += p[len + i];
    s2 += p[2 * len + i];
    s3 += p[3 * len + i];
  }
#pragma omp atomic
  *bytes += len * SLICES * (long)sizeof(double);
  return s0 + s1 + s2 + s3;
}

int main(void) {
  double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double)),
         *c = malloc(N * sizeof(double));
  if (!a || !b || !c)
    return 2;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < N; ++i) a[i] = 1.0, b[i] = 2.0, c[i] = 0.5;
  double triad = 0, read = 0, read1 = 0, sink = 0;
  for (int r = 0; r < 9; ++r) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < N; ++i) a[i] = b[i] + 3.0 * c[i];
    double t1 = omp_get_wtime(), s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s)
    for (long i = 0; i < N; ++i) s += b[i];
    double t2 = omp_get_wtime(), s4 = 0;
    long bytes = 0;
#pragma omp parallel reduction(+ : s4)
    s4 += sum_slices(b, &bytes);
    double t3 = omp_get_wtime();
    sink += s + s4;
    double gt = 3.0 * N * sizeof(double) / (t1 - t0) / 1e9,
           g1 = 1.0 * N * sizeof(double) / (t2 - t1) / 1e9,
           g4 = (double)bytes / (t3 - t2) / 1e9;
    if (gt > triad) triad = gt;
    if (g1 > read1) read1 = g1;
    if (g4 > read) read = g4;
  }
  printf("%.2f %.2f %.2f\n", triad, read, read1);
  return sink == 0.0 ? 1 : 0;
}
