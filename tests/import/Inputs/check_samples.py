#!/usr/bin/env python3
"""Imports every sample config, verifies it, lowers it to linalg and
bufferizes it.

  check_samples.py SAMPLES_DIR ATTNC_IMPORT ATTNC_OPT

For each samples/*.yaml and samples/*.json (not samples/invalid/):
  attnc-import CONFIG                      (attn dialect; verified on import)
    | attnc-opt                            (parses and verifies again)
  attnc-import CONFIG --emit=linalg        (the attnc-lower-to-linalg pipeline)
    | attnc-opt --one-shot-bufferize=...   (value semantics bufferize)
Prints "ok NAME" or "FAIL NAME: why" per sample, then a summary line.
"""
import glob
import os
import subprocess
import sys


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True)


def check(sample, importer, opt):
    attn = run([importer, sample])
    if attn.returncode != 0:
        return "import failed: " + attn.stderr.strip()
    if "attn.mixed_sdpa" not in attn.stdout or "func.func @forward" not in attn.stdout:
        return "the module has no @forward with attention"
    reparsed = run([opt], attn.stdout)
    if reparsed.returncode != 0:
        return "attnc-opt rejects the attn module: " + reparsed.stderr.strip()
    linalg = run([importer, sample, "--emit=linalg"])
    if linalg.returncode != 0:
        return "lowering to linalg failed: " + linalg.stderr.strip()
    for line in linalg.stdout.splitlines():
        stripped = line.strip()
        if stripped.startswith("%") and " = attn." in stripped:
            return "an attn op is left after lowering: " + stripped[:120]
    buf = run([opt, "--one-shot-bufferize=bufferize-function-boundaries"],
              linalg.stdout)
    if buf.returncode != 0:
        return "one-shot bufferization failed: " + buf.stderr.strip()[:2000]
    if "tensor<" in buf.stdout:
        return "tensors are left after bufferization"
    return None


def main():
    samples_dir, importer, opt = sys.argv[1:4]
    samples = sorted(glob.glob(os.path.join(samples_dir, "*.yaml")) +
                     glob.glob(os.path.join(samples_dir, "*.json")))
    failures = 0
    for sample in samples:
        name = os.path.basename(sample)
        problem = check(sample, importer, opt)
        if problem:
            failures += 1
            print("FAIL %s: %s" % (name, problem))
        else:
            print("ok %s" % name)
    print("%d samples, %d failed" % (len(samples), failures))
    return 1 if failures or not samples else 0


if __name__ == "__main__":
    sys.exit(main())
