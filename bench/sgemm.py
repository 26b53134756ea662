#!/usr/bin/python3
"""sgemm ceiling for bench/run.sh: numpy float32 a @ b (Debian's OpenBLAS),
n = 2048, median of 7 after a warm-up; set OPENBLAS_NUM_THREADS outside.
Prints GFLOP/s."""
import time

import numpy as np

n = 2048
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(7):
    t0 = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t0)
times.sort()
print(f"{2 * n ** 3 / times[3] / 1e9:.1f}")
