#!/usr/bin/python3
"""Builds the kit that bench/gpu/check.py runs on a lent GPU machine.

  /usr/bin/python3 bench/gpu/prepare.py [--build build] [--kit gpu-kit]
                                        [--gpu-arch sm_90] [--emulate]

A GPU machine here has no LLVM/MLIR (and only 15 minutes), so everything
that needs the compiler happens here, into KIT (a folder of the repository,
git-ignored, that a device `run` carries):

  KIT/bin      attnc-runner (attnc without `compile`: no LLVM/MLIR),
               attnc_bench (bench/attnc_bench.c)
  KIT/lib      libattnc_runtime.so, libyaml-cpp.so.0.7
  KIT/artifacts  every artifact the checks compile, recorded by
               bench/gpu/attnc_kit.py: the e2e checks
               (tests/e2e/compiled_vs_reference.py: every sample and the
               narrow-dtype variants; compiled_generation.py: decode vs
               forward and the PyTorch greedy goldens) are run here once
               with attnc_kit.py as their `attnc` in record mode, which
               compiles with `--target cuda --gpu-arch ARCH` (cubin too when
               ptxas is here), and the bench's llama-style forward and
               `--incremental` artifacts.
  KIT/kit.json the flags, the commit, the date.

Here the recording runs cannot execute CUDA artifacts, so their FAIL lines
are expected and hidden. `--cpu` records CPU artifacts: check.py
--torch-device cpu then runs everything here, the bench included. `--emulate` records `--target cuda
--emit=cpu-emulation` artifacts instead (CPU code from the CUDA pipeline's
mapped loops): then the runs here pass, and `check.py --kit KIT` passes here
too, which checks the kit's mechanics (recording, replay, attnc-runner)
without a GPU.
"""
import argparse
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys

SOURCE = pathlib.Path(__file__).resolve().parents[2]
SHIM = SOURCE / "bench" / "gpu" / "attnc_kit.py"
BENCH_MODEL = SOURCE / "samples" / "llama-style.yaml"


def library_path(binary, name):
    """Where the dynamic loader finds `name` for `binary` (ldd)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == name and len(parts) >= 3:
            return pathlib.Path(parts[2])
    raise RuntimeError(f"{binary} does not load {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the build folder")
    ap.add_argument("--kit", default="gpu-kit",
                    help="the kit folder, inside the repository (carried)")
    ap.add_argument("--gpu-arch", default="sm_90",
                    help="sm_90 (H100/H200, the default) or sm_80")
    ap.add_argument("--emulate", action="store_true",
                    help="record cpu-emulation artifacts (a check of the kit "
                         "without a GPU)")
    ap.add_argument("--cpu", action="store_true",
                    help="record CPU artifacts (a check of the kit and of "
                         "check.py's bench here: check.py --torch-device cpu)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    kit = pathlib.Path(args.kit).resolve()
    attnc = build / "bin" / "attnc"
    runner = build / "bin" / "attnc-runner"
    for f in (attnc, runner):
        if not f.exists():
            sys.exit(f"prepare: {f} is missing; build first "
                     f"(cmake --build {args.build})")
    if kit.exists():
        shutil.rmtree(kit)
    (kit / "bin").mkdir(parents=True)
    (kit / "lib").mkdir()

    shutil.copy2(runner, kit / "bin")
    shutil.copy2(build / "lib" / "libattnc_runtime.so", kit / "lib")
    shutil.copy2(library_path(runner, "libyaml-cpp.so.0.7"), kit / "lib")
    subprocess.run(["clang-22", "-O2", "-I", str(SOURCE / "runtime" / "include"),
                    str(SOURCE / "bench" / "attnc_bench.c"),
                    "-L", str(kit / "lib"), "-lattnc_runtime",
                    "-Wl,-rpath,$ORIGIN/../lib", "-o",
                    str(kit / "bin" / "attnc_bench")], check=True)

    flags = (["--target", "cuda", "--emit=cpu-emulation"] if args.emulate
             else [] if args.cpu
             else ["--target", "cuda", "--gpu-arch", args.gpu_arch])
    commit = subprocess.run(["git", "-C", str(SOURCE), "describe", "--always",
                             "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    # (Whether ptxas added cubins: each artifact's manifest, target.cubin.)
    spec = {"compile_flags": flags, "emulate": args.emulate,
            "gpu_arch": None if args.emulate or args.cpu else args.gpu_arch,
            "commit": commit,
            "created": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC")}
    (kit / "kit.json").write_text(json.dumps(spec, indent=1) + "\n")

    env = dict(os.environ, ATTNC_KIT=str(kit), ATTNC_KIT_MODE="record",
               ATTNC_KIT_ATTNC=str(attnc))
    tmp = kit.parent / (kit.name + "-record")
    shutil.rmtree(tmp, ignore_errors=True)
    e2e = SOURCE / "tests" / "e2e"
    runs = [
        ("every sample vs the reference",
         [sys.executable, e2e / "compiled_vs_reference.py", SHIM,
          SOURCE / "samples", tmp / "samples", "--jobs", str(args.jobs)]),
        ("decode vs forward, goldens",
         [sys.executable, e2e / "compiled_generation.py", SHIM, SOURCE,
          tmp / "generation"]),
        ("bench: llama-style forward",
         [SHIM, "compile", BENCH_MODEL, "-o", tmp / "bench.attnc"]),
        ("bench: llama-style --incremental",
         [SHIM, "compile", BENCH_MODEL, "--incremental", "-o",
          tmp / "bench-inc.attnc"]),
    ]
    if not args.cpu:  # the f32 matmuls on the tensor cores, as tf32
        runs.append(("bench: llama-style forward --tensor-cores=tf32",
                     [SHIM, "compile", BENCH_MODEL, "--tensor-cores=tf32",
                      "-o", tmp / "bench-tf32.attnc"]))
    tmp.mkdir(parents=True)
    for what, cmd in runs:
        p = subprocess.run([str(c) for c in cmd], env=env,
                           capture_output=True, text=True)
        recorded = len(list((kit / "artifacts").glob("*.attnc")))
        # Runs of CUDA artifacts fail here; anything else must pass.
        must_pass = args.emulate or args.cpu or cmd[0] == SHIM
        status = ("ok" if p.returncode == 0 else f"exit {p.returncode}") \
            if must_pass else "recorded (its CUDA runs fail here: no GPU)"
        print(f"{what}: {status}; {recorded} artifacts so far", flush=True)
        if must_pass and p.returncode != 0:
            print(p.stdout[-4000:] + p.stderr[-4000:])
            sys.exit(1)
    shutil.rmtree(tmp)
    size = sum(f.stat().st_size for f in kit.rglob("*") if f.is_file())
    print(f"kit {kit}: {size / 2**20:.1f} MiB, compile flags "
          f"{' '.join(flags)}, commit {commit}")
    print("on the GPU machine (device `run`, carry [\"" +
          os.path.relpath(kit, SOURCE) + "\"]): bash bench/gpu/device.sh " +
          os.path.relpath(kit, SOURCE))


if __name__ == "__main__":
    main()
