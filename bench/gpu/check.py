#!/usr/bin/env python3
"""The GPU proof of the CUDA target, run on a lent GPU machine.

  python3 bench/gpu/check.py [--kit gpu-kit] [--out DIR] [--jobs N]
                             [--skip-bench] [--skip-checks]

KIT comes from bench/gpu/prepare.py (here, with the compiler). With
bench/gpu/attnc_kit.py as their `attnc` (compile: the recorded artifact;
everything else: KIT/bin/attnc-runner), it runs unchanged:

1. tests/e2e/compiled_vs_reference.py: every sample's CUDA artifact (shrunk
   to 2 layers, vocab <= 512) against the reference interpreter on the same
   fresh weights and inputs: rel err < 1e-4 (float32), < 2e-2 (the bf16/f16
   variants);
2. tests/e2e/compiled_generation.py: `--incremental` CUDA artifacts, every
   decode step's logits against the reference's full forward (< 1e-4), and
   the PyTorch greedy goldens (64 ids per prompt);
3. the bench (not with an --emulate kit): samples/llama-style.yaml (12
   layers, 768 wide, 32000 vocab) with `attnc init-weights --seed 0`:
   attnc_bench forward over 256 tokens and decode (prompt 256, 128 steps,
   1024-slot cache) against PyTorch on the same GPU (bench/torch_llama.py,
   ATTNC_TORCH_DEVICE=cuda, same weights and ids), and the decode roofline:
   the weight bytes a step reads (all but the embedding table) over the
   device's read bandwidth measured in the same run (torch: sum over 2 GiB);
   and the forward compiled with --tensor-cores=tf32 against PyTorch with
   TF32 matmuls allowed (its logits against attnc's float32 ones: the
   largest difference over the largest |logit|).

Prints a report and writes it (and every log) to DIR (default $OUT, else
gpu-report/). Exits 1 if a check fails.
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

SOURCE = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE / "bench"))
from run import WEIGHT_BYTES  # noqa: E402  (the CPU bench's roofline bytes)

SHIM = SOURCE / "bench" / "gpu" / "attnc_kit.py"
BENCH_MODEL = SOURCE / "samples" / "llama-style.yaml"


class Report:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def say(self, text=""):
        print(text, flush=True)
        self.lines.append(text)
        (self.out / "report.txt").write_text("\n".join(self.lines) + "\n")


def run(cmd, env, log, timeout=None):
    start = time.time()
    p = subprocess.run([str(c) for c in cmd], env=env, capture_output=True,
                       text=True, timeout=timeout)
    with open(log, "a") as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n{p.stdout}{p.stderr}"
                f"(exit {p.returncode}, {time.time() - start:.1f} s)\n")
    return p


def device_bandwidth(device):
    """Read GB/s of the device (sum over 2 GiB of float32) and copy GB/s
    (bytes read + written), best of 10, through PyTorch."""
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    a = torch.empty(2 ** 29, dtype=torch.float32, device=device).uniform_()
    b = torch.empty_like(a)
    best = {"read": 0.0, "copy": 0.0}
    for _ in range(10):
        for what in best:
            sync()
            t0 = time.perf_counter()
            if what == "read":
                a.sum().item()
            else:
                b.copy_(a)
                sync()
            dt = time.perf_counter() - t0
            moved = a.numel() * 4 * (2 if what == "copy" else 1)
            best[what] = max(best[what], moved / dt / 1e9)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    return name, best["read"], best["copy"]


def bench(report, kit, env, work, logs, device):
    log = logs / "bench.log"
    runner = kit / "bin" / "attnc-runner"
    weights = work / "llama.safetensors"
    fwd, inc = work / "llama.attnc", work / "llama-inc.attnc"
    for cmd in ([runner, "init-weights", BENCH_MODEL, "-o", weights, "--seed",
                 "0", "-q"],
                [SHIM, "compile", BENCH_MODEL, "-o", fwd],
                [SHIM, "compile", BENCH_MODEL, "--incremental", "-o", inc]):
        if run(cmd, env, log).returncode != 0:
            report.say(f"bench: `{' '.join(map(str, cmd[:2]))}` failed "
                       f"(see {log.name})")
            return False
    gpu, read_bw, copy_bw = device_bandwidth(device)
    bench_bin = kit / "bin" / "attnc_bench"
    torch_py = SOURCE / "bench" / "torch_llama.py"
    tenv = dict(env, ATTNC_TORCH_DEVICE=device)
    rows = {}
    for what, cmd, e in (
            ("attnc forward", [bench_bin, fwd, weights, 256, 10], env),
            ("attnc decode", [bench_bin, "decode", inc, weights, 256, 128,
                              1024], env),
            ("torch forward", [sys.executable, torch_py, weights, 256, 10, 1],
             tenv),
            ("torch decode", [sys.executable, torch_py, "decode", weights,
                              256, 128, 1, 1024], tenv)):
        p = run(cmd, e, log, timeout=240)
        fields = p.stdout.split()
        if p.returncode != 0 or len(fields) < 3:
            report.say(f"bench: {what} failed (see {log.name}): "
                       f"{p.stderr.strip()[-300:]}")
            return False
        rows[what] = [float(x) for x in fields[:3]]
    tf32 = tf32_forward(report, kit, env, tenv, work, log, weights, fwd)
    per_token = WEIGHT_BYTES
    roof = read_bw * 1e9 / per_token
    a_fwd, t_fwd = rows["attnc forward"][1], rows["torch forward"][1]
    a_tok, t_tok = rows["attnc decode"][2], rows["torch decode"][2]
    report.say(f"\nbench: {gpu}; read {read_bw:.0f} GB/s, copy {copy_bw:.0f} "
               f"GB/s (r+w), PyTorch float32 eager")
    report.say("| measure | attnc | PyTorch | attnc / PyTorch |")
    report.say("|---|---|---|---|")
    report.say(f"| forward, 256 tokens, median ms | {a_fwd:.2f} | {t_fwd:.2f} "
               f"| {t_fwd / a_fwd:.2f}x speed |")
    report.say(f"| decode tok/s (prompt 256, 128 steps) | {a_tok:.1f} | "
               f"{t_tok:.1f} | {a_tok / t_tok:.2f}x |")
    report.say(f"| decode, share of the roofline ({per_token / 1e6:.0f} MB per "
               f"token at {read_bw:.0f} GB/s = {roof:.0f} tok/s) | "
               f"{a_tok / roof:.1%} | {t_tok / roof:.1%} | |")
    if tf32:
        (a_ms, t_ms, diff) = tf32
        report.say(f"| forward, 256 tokens, TF32 tensor cores, median ms | "
                   f"{a_ms:.2f} | {t_ms:.2f} | {t_ms / a_ms:.2f}x speed |")
        report.say(f"\nTF32 logits against attnc's float32 forward: max "
                   f"difference / max |logit| = {diff:.1e}")
    return True


def tf32_forward(report, kit, env, tenv, work, log, weights, fwd):
    """attnc --tensor-cores=tf32 and PyTorch with TF32 matmuls: forward
    medians (ms) and how far the TF32 logits are from the float32 ones; None
    when the kit has no tf32 artifact or a run fails."""
    tf32 = work / "llama-tf32.attnc"
    if run([SHIM, "compile", BENCH_MODEL, "--tensor-cores=tf32", "-o", tf32],
           env, log).returncode != 0:
        report.say("bench: no --tensor-cores=tf32 artifact in the kit")
        return None
    bench_bin = kit / "bin" / "attnc_bench"
    times = []
    for cmd, e in (([bench_bin, tf32, weights, 256, 10], env),
                   ([sys.executable, SOURCE / "bench" / "torch_llama.py",
                     weights, 256, 10, 1], dict(tenv, ATTNC_TORCH_TF32="1"))):
        p = run(cmd, e, log, timeout=240)
        if p.returncode != 0 or len(p.stdout.split()) < 3:
            report.say(f"bench: tf32 forward failed (see {log.name})")
            return None
        times.append(float(p.stdout.split()[1]))
    runner = kit / "bin" / "attnc-runner"
    logits = {}
    for name, art in (("f32", fwd), ("tf32", tf32)):
        out = work / f"logits-{name}.npy"
        p = run([runner, "run", art, "--weights", weights, "--tokens",
                 ",".join(str(i) for i in range(1, 65)), "--out",
                 out], env, log, timeout=240)
        if p.returncode != 0:
            report.say(f"bench: tf32 logits ({name}) failed (see {log.name})")
            return None
        logits[name] = np.load(out)
    ref = logits["f32"]
    diff = float(abs(logits["tf32"] - ref).max() / abs(ref).max())
    return times[0], times[1], diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kit", default="gpu-kit")
    ap.add_argument("--out", default=os.environ.get("OUT") or "gpu-report")
    ap.add_argument("--jobs", type=int, default=min(8, os.cpu_count() or 2))
    ap.add_argument("--skip-bench", action="store_true")
    ap.add_argument("--skip-checks", action="store_true")
    ap.add_argument("--torch-device", default="cuda",
                    help="PyTorch's device in the bench (cpu: a check of the "
                         "bench here with a prepare.py --cpu kit)")
    args = ap.parse_args()
    kit = pathlib.Path(args.kit).resolve()
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads((kit / "kit.json").read_text())
    report = Report(out)
    env = dict(os.environ, ATTNC_KIT=str(kit), ATTNC_KIT_MODE="replay")
    env["LD_LIBRARY_PATH"] = ":".join(
        p for p in (str(kit / "lib"), os.environ.get("LD_LIBRARY_PATH")) if p)
    work = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "attnc-gpu-check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    smi = shutil.which("nvidia-smi")
    device = (subprocess.run([smi, "-L"], capture_output=True, text=True)
              .stdout.strip() if smi else "no nvidia-smi")
    report.say(f"attnc GPU check: kit of {spec['created']}, commit "
               f"{spec['commit']}, flags {' '.join(spec['compile_flags'])}; "
               f"{device}")
    failed = False
    checks = [
        ("samples", [sys.executable, SOURCE / "tests" / "e2e" /
                     "compiled_vs_reference.py", SHIM, SOURCE / "samples",
                     work / "samples", "--jobs", args.jobs]),
        ("generation", [sys.executable, SOURCE / "tests" / "e2e" /
                        "compiled_generation.py", SHIM, SOURCE,
                        work / "generation"]),
    ]
    for name, cmd in ([] if args.skip_checks else checks):
        start = time.time()
        p = run(cmd, env, out / f"{name}.log")
        for line in p.stdout.splitlines():
            if line.startswith(("PASS", "FAIL", "seed", "narrow")) or \
                    " runs match" in line:
                report.say(line)
        report.say(f"{name}: exit {p.returncode} "
                   f"({time.time() - start:.0f} s; log {name}.log)")
        failed |= p.returncode != 0
    if not args.skip_bench:
        if spec["emulate"]:
            report.say("bench skipped: an --emulate kit (CPU code)")
        else:
            failed |= not bench(report, kit, env, work, out,
                                args.torch_device)
    report.say("FAILED" if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
