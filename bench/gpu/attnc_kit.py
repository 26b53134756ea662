#!/usr/bin/env python3
"""An `attnc` stand-in for a machine without the compiler (a lent GPU machine).

The e2e checks (tests/e2e/compiled_vs_reference.py, compiled_generation.py)
call `attnc compile`, `attnc run`, `attnc generate`, ... as subprocesses. A
GPU machine here has no LLVM/MLIR, so it cannot compile; this script stands
in for `attnc` there, and the checks run unchanged with it:

  record  (here, bench/gpu/prepare.py): `compile CONFIG ARGS -o OUT` runs the
          real attnc with the kit's target flags added (e.g. `--target cuda
          --gpu-arch sm_90`) and keeps a copy of OUT in KIT/artifacts, keyed
          by the config's text and ARGS; every other command runs the real
          attnc.
  replay  (there, bench/gpu/check.py): `compile` copies the recorded
          artifact for that key to OUT (an unknown key is an error that
          names the config and flags); every other command runs
          attnc-runner (attnc without `compile`, no LLVM/MLIR).

Environment: ATTNC_KIT (the kit folder), ATTNC_KIT_MODE (record or replay),
ATTNC_KIT_ATTNC (record: the real attnc). The target flags and the runner are
in KIT/kit.json and KIT/bin.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys


def artifact_key(config, args):
    """The config's text and the compile arguments but the config path and
    -o/--output (each check writes its config to its own folder)."""
    rest, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-o", "--output"):
            skip = True
        elif a != config:
            rest.append(a)
    h = hashlib.sha256(pathlib.Path(config).read_bytes())
    h.update("\0".join(rest).encode())
    return h.hexdigest()[:24]


def compile_args(args):
    """(config, output) of `compile ARGS`: the one positional (or
    --from-mlir's file) and -o (CompileCommand.cpp's options)."""
    config = output = None
    flags_with_value = {"-o", "--output", "--target", "--gpu-arch", "--cpu",
                        "--emit", "--dump-ir-after-all", "-O", "-j", "--jobs",
                        "--cache-dtype", "--from-mlir"}
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "--output"):
            output = args[i + 1]
        if a == "--from-mlir":
            config = args[i + 1]
        if a in flags_with_value:
            i += 2
            continue
        if not a.startswith("-") and config is None:
            config = a
        i += 1
    return config, output


def main(argv):
    kit = pathlib.Path(os.environ["ATTNC_KIT"])
    mode = os.environ.get("ATTNC_KIT_MODE", "replay")
    spec = json.loads((kit / "kit.json").read_text())
    args = argv[1:]
    if mode == "record":
        attnc = os.environ["ATTNC_KIT_ATTNC"]
        if args[:1] != ["compile"]:
            return subprocess.call([attnc] + args)
        config, output = compile_args(args[1:])
        code = subprocess.call([attnc] + args + spec["compile_flags"])
        if code == 0 and config and output:
            store = kit / "artifacts"
            store.mkdir(exist_ok=True)
            key = artifact_key(config, args[1:])
            shutil.copyfile(output, store / f"{key}.attnc")
            with open(store / "index.txt", "a") as index:
                index.write(f"{key} {config} {' '.join(args[1:])}\n")
        return code
    runner = kit / "bin" / "attnc-runner"
    if args[:1] != ["compile"]:
        return subprocess.call([str(runner)] + args)
    config, output = compile_args(args[1:])
    recorded = kit / "artifacts" / f"{artifact_key(config, args[1:])}.attnc"
    if not recorded.exists():
        sys.stderr.write(
            f"attnc_kit: no recorded artifact for `attnc compile "
            f"{' '.join(args[1:])}` ({config}); run bench/gpu/prepare.py "
            f"again with this source tree\n")
        return 2
    shutil.copyfile(recorded, output)
    os.chmod(output, 0o755)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
