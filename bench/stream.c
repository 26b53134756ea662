/* STREAM-style bandwidth for bench/run.sh (reference/perf-baselines.md 2a):
 * fp64 arrays of 80 M elements, best of 9; triad counts 3 arrays, read (a sum
 * over one array, closest to streaming weights) counts 1. OpenMP threads
 * from OMP_NUM_THREADS. Prints "triad_GBps read_GBps". */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 80000000L

int main(void) {
  double *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double)),
         *c = malloc(N * sizeof(double));
#pragma omp parallel for schedule(static)
  for (long i = 0; i < N; ++i) a[i] = 1.0, b[i] = 2.0, c[i] = 0.5;
  double triad = 0, read = 0, sink = 0;
  for (int r = 0; r < 9; ++r) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < N; ++i) a[i] = b[i] + 3.0 * c[i];
    double t1 = omp_get_wtime(), s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s)
    for (long i = 0; i < N; ++i) s += b[i];
    double t2 = omp_get_wtime();
    sink += s;
    double gt = 3.0 * N * sizeof(double) / (t1 - t0) / 1e9,
           gr = 1.0 * N * sizeof(double) / (t2 - t1) / 1e9;
    if (gt > triad) triad = gt;
    if (gr > read) read = gr;
  }
  printf("%.2f %.2f\n", triad, read);
  return sink == 0.0 ? 1 : 0;
}
