#!/usr/bin/python3
"""bench/run.py: one reproducible run of attnc against this machine's
ceilings and PyTorch (run on purpose, not in CI; see bench/README.md).

  /usr/bin/python3 bench/run.py [--build build] [--rounds 3] [--tokens 256]

Each round measures, at 1 and 2 threads: STREAM bandwidth (bench/stream.c),
the sgemm rate (numpy/OpenBLAS, bench/sgemm.py), attnc's forward over TOKENS
tokens (bench/attnc_bench.c on samples/llama-style.yaml compiled by
`attnc compile`, weights from `attnc init-weights --seed 0`) and the same
forward in PyTorch eager (bench/torch_llama.py: same weights file, same
token ids, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS = threads). The
table shows medians over the rounds, the spread (max-min)/median, and the
other processes' CPU share during each run (/proc/stat minus our children).
Decode runs are bracketed by STREAM reads, and the table also gives each
decode's share of the roofline of its own minutes. Then bench/attention.py's
long-sequence attention table (--no-attention skips it).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D, FF, L, V, KVD = 768, 2048, 12, 32000, 256
MATMUL_PARAMS = L * (2 * D * D + 2 * KVD * D + 3 * FF * D) + V * D
# Bytes a decode step must read at least: every weight but the embedding
# table (one row of it), fp32.
WEIGHT_BYTES = 4 * (MATMUL_PARAMS + (2 * L + 1) * D + D)


def flops(t):
    # 2 * matmul params per token, plus causal attention (Q.K^T and P.V over
    # the lower triangle).
    return 2 * MATMUL_PARAMS * t + 2 * t * t * D * L


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], os.sysconf("SC_CLK_TCK")


def run(cmd, env=None):
    """Runs cmd; returns (stdout, share of the machine's CPU that other
    processes used during it, in cores)."""
    e = dict(os.environ)
    e.update(env or {})
    b0, hz = busy_jiffies()
    c0 = os.times()
    t0 = time.time()
    out = subprocess.run(cmd, env=e, check=True, capture_output=True, text=True).stdout
    wall = time.time() - t0
    c1 = os.times()
    b1, _ = busy_jiffies()
    ours = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    other = max(0.0, (b1 - b0) / hz - ours) / wall
    return out.strip(), other


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--work", default="/tmp/attnc-bench")
    ap.add_argument("--no-attention", action="store_true",
                    help="skip the long-sequence attention table (bench/attention.py)")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)  # the bench binary's rpath must not depend on the cwd
    os.makedirs(a.work, exist_ok=True)
    w = lambda f: os.path.join(a.work, f)
    bin_ = lambda t: os.path.join(a.build, "bin", t)
    inc = os.path.join(ROOT, "runtime", "include")
    lib = os.path.join(a.build, "lib")
    subprocess.run(["clang-22", "-O3", "-march=native", "-fopenmp", os.path.join(ROOT, "bench/stream.c"),
                    "-o", w("stream"), "-Wl,-rpath,/usr/lib/llvm-22/lib", "-L/usr/lib/llvm-22/lib"], check=True)
    subprocess.run(["clang-22", "-O2", "-I", inc, os.path.join(ROOT, "bench/attnc_bench.c"), "-L", lib,
                    "-lattnc_runtime", "-Wl,-rpath," + lib, "-o", w("attnc_bench")], check=True)
    cfg = os.path.join(ROOT, "samples/llama-style.yaml")
    t0 = time.time()
    subprocess.run([bin_("attnc"), "compile", cfg, "-o", w("llama.attnc")], check=True)
    compile_s = time.time() - t0
    t0 = time.time()
    subprocess.run([bin_("attnc"), "compile", "--incremental", cfg, "-o", w("llama-inc.attnc")], check=True)
    compile_inc_s = time.time() - t0
    if not os.path.exists(w("llama.safetensors")):
        subprocess.run([bin_("attnc"), "init-weights", cfg, "--seed", "0", "-o", w("llama.safetensors")],
                       check=True, capture_output=True)
    T = a.tokens
    res = {}  # (what, threads) -> list of (value, other)
    add = lambda k, v, o: res.setdefault(k, []).append((v, o))
    for r in range(a.rounds):
        for th in (1, 2):
            env = {"OMP_NUM_THREADS": str(th), "OPENBLAS_NUM_THREADS": str(th),
                   "OMP_WAIT_POLICY": "PASSIVE", "OMP_PROC_BIND": "false"}
            out, o = run([w("stream")], {"OMP_NUM_THREADS": str(th)})
            add(("triad", th), float(out.split()[0]), o)
            add(("read", th), float(out.split()[1]), o)
            add(("read1", th), float(out.split()[2]), o)
            out, o = run(["/usr/bin/python3", os.path.join(ROOT, "bench/sgemm.py")], env)
            add(("sgemm", th), float(out), o)
            # attnc: its OpenMP threads spin between kernels (the default).
            out, o = run([w("attnc_bench"), w("llama.attnc"), w("llama.safetensors"), str(T), str(a.reps),
                          w(f"attnc{th}.f32")], {"OMP_NUM_THREADS": str(th)})
            add(("attnc", th), float(out.split()[1]), o)
            out, o = run(["/usr/bin/python3", os.path.join(ROOT, "bench/torch_llama.py"), w("llama.safetensors"),
                          str(T), str(a.reps), str(th), w(f"torch{th}.f32")], env)
            add(("torch", th), float(out.split()[1]), o)
            # Decode: prefill PROMPT, then DECODE greedy steps, 1024-slot cache.
            # Each decode run is bracketed by STREAM reads (before, after),
            # so that its roofline is the bandwidth of its own minutes: on a
            # shared guest the read rate drifts by 30% within a round.
            stream_read = lambda: float(run([w("stream")], {"OMP_NUM_THREADS": str(th)})[0].split()[1])
            before = stream_read()
            out, o = run([w("attnc_bench"), "decode", w("llama-inc.attnc"), w("llama.safetensors"),
                          str(a.prompt), str(a.decode), "1024"], {"OMP_NUM_THREADS": str(th)})
            add(("attnc_dec", th), float(out.split()[2]), o)
            between = stream_read()
            out, o = run(["/usr/bin/python3", os.path.join(ROOT, "bench/torch_llama.py"), "decode",
                          w("llama.safetensors"), str(a.prompt), str(a.decode), str(th), "1024"], env)
            add(("torch_dec", th), float(out.split()[2]), o)
            after = stream_read()
            roof = lambda gbps: gbps * 1e9 / WEIGHT_BYTES
            add(("attnc_dec_roof", th), res[("attnc_dec", th)][-1][0] / roof((before + between) / 2) * 100, 0.0)
            add(("torch_dec_roof", th), res[("torch_dec", th)][-1][0] / roof((between + after) / 2) * 100, 0.0)
            print(f"round {r + 1} threads {th}: " + ", ".join(
                f"{k[0]} {v[-1][0]:.1f}" for k, v in res.items() if k[1] == th), file=sys.stderr)

    import numpy as np
    ref = np.fromfile(w("torch1.f32"), "<f4")
    errs = [float(np.abs(np.fromfile(w(f"attnc{t}.f32"), "<f4") - ref).max() / np.abs(ref).max()) for t in (1, 2)]
    same = bool((np.fromfile(w("attnc1.f32"), "<f4") == np.fromfile(w("attnc2.f32"), "<f4")).all())

    med = lambda k: statistics.median(v for v, _ in res[k])
    spread = lambda k: (max(v for v, _ in res[k]) - min(v for v, _ in res[k])) / med(k) * 100
    other = lambda k: max(o for _, o in res[k])
    gf = flops(T) / 1e9
    print(f"\nattnc bench: llama-style (12 x 768, GQA 12/4, SwiGLU 2048, vocab 32000), "
          f"forward over {T} tokens = {gf:.2f} GFLOP; {a.rounds} rounds")
    print(f"compile time (attnc compile, 12 layers): forward {compile_s:.2f} s, "
          f"--incremental (prefill + decode) {compile_inc_s:.2f} s")
    print(f"logits vs PyTorch, max |diff| / max |logit|: 1T {errs[0]:.2e}, 2T {errs[1]:.2e}; "
          f"1T and 2T bit-identical: {same}\n")
    print("| measure | 1 thread | 2 threads | 2T/1T | spread 1T / 2T | other CPU (cores) 1T / 2T |")
    print("|---|---|---|---|---|---|")
    rows = [("STREAM triad, GB/s", "triad", lambda v: v),
            ("STREAM read, 4 streams per thread (the roofline's), GB/s", "read", lambda v: v),
            ("STREAM read, 1 stream per thread, GB/s", "read1", lambda v: v),
            ("sgemm n=2048 (OpenBLAS), GFLOP/s", "sgemm", lambda v: v),
            (f"attnc forward {T} tok, ms", "attnc", lambda v: v),
            (f"PyTorch eager forward {T} tok, ms", "torch", lambda v: v),
            (f"attnc decode tok/s (prompt {a.prompt}, {a.decode} steps, 1024-slot cache)", "attnc_dec", None),
            ("PyTorch eager decode tok/s (torch.mv)", "torch_dec", None)]
    for name, k, _ in rows:
        m1, m2 = med((k, 1)), med((k, 2))
        ratio = (m2 / m1) if k in ("triad", "read", "read1", "sgemm", "attnc_dec", "torch_dec") else (m1 / m2)
        print(f"| {name} | {m1:.1f} | {m2:.1f} | {ratio:.2f}x | {spread((k, 1)):.0f}% / {spread((k, 2)):.0f}% "
              f"| {other((k, 1)):.2f} / {other((k, 2)):.2f} |")
    for th in (1, 2):
        ag = gf / (med(("attnc", th)) / 1e3)
        tg = gf / (med(("torch", th)) / 1e3)
        print(f"| {th}T: attnc GFLOP/s (% of sgemm) | {ag:.1f} ({ag / med(('sgemm', th)) * 100:.0f}%) | "
              f"PyTorch {tg:.1f} ({tg / med(('sgemm', th)) * 100:.0f}%) | attnc / PyTorch speed "
              f"{med(('torch', th)) / med(('attnc', th)):.2f}x | | |")
    for th in (1, 2):
        roof = med(("read", th)) * 1e9 / WEIGHT_BYTES
        print(f"| {th}T: decode roofline (weights {WEIGHT_BYTES / 1e6:.0f} MB/token at STREAM read) | "
              f"{roof:.1f} tok/s | attnc {med(('attnc_dec', th)) / roof * 100:.0f}% | PyTorch "
              f"{med(('torch_dec', th)) / roof * 100:.0f}% | attnc / PyTorch "
              f"{med(('attnc_dec', th)) / med(('torch_dec', th)):.2f}x | |")
    for th in (1, 2):
        rounds = ", ".join(f"{v:.0f}%" for v, _ in res[("attnc_dec_roof", th)])
        print(f"| {th}T: decode % of the roofline of its own minutes (STREAM read just before and after "
              f"each run; median, rounds) | attnc {med(('attnc_dec_roof', th)):.0f}% ({rounds}) | PyTorch "
              f"{med(('torch_dec_roof', th)):.0f}% | | |")
    if not a.no_attention:
        import attention
        attention.main(["--build", a.build, "--rounds", str(a.rounds), "--work", a.work])


if __name__ == "__main__":
    main()
