"""Checks `attnc` against the committed goldens; the Python standard library only.

Usage: check_goldens.py ATTNC TMPDIR

For every case of cases.json:
  * `attnc init-weights` with the case's seed/init/noise must reproduce the
    committed weights byte for byte (init-weights is deterministic);
  * `attnc run --interpret ... --out` must match the PyTorch golden(s) with
    max|ref - golden| / max|golden| below the manifest's tolerance.
Prints one line per output and exits 1 if anything fails.
"""
import json
import pathlib
import struct
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def read_npy_float32(path):
    data = pathlib.Path(path).read_bytes()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    header = data[start:start + hlen].decode("latin1")
    assert "'<f4'" in header and "'fortran_order': False" in header, f"{path}: {header}"
    body = data[start + hlen:]
    return struct.unpack(f"<{len(body) // 4}f", body)


def rel_error(got, want):
    assert len(got) == len(want), f"{len(got)} values, expected {len(want)}"
    scale = max(abs(w) for w in want)
    return max(abs(g - w) for g, w in zip(got, want)) / scale


def interpret_command(attnc, case, out, pooled):
    """`attnc run --interpret` on a case of cases.json, writing out (and
    pooled, when the case has a pooled golden)."""
    inp = case["inputs"]
    cmd = [attnc, "run", "--interpret", str(HERE / case["config"]),
           "--weights", str(HERE / case["weights"]), "--out", str(out)]
    for group, ids in inp.get("tokens", {}).items():
        cmd += ["--tokens", f"{group}=" + ",".join(map(str, ids))]
    for group, path in inp.get("images", {}).items():
        cmd += ["--image", f"{group}={HERE / path}"]
    for group, path in inp.get("embeddings", {}).items():
        cmd += ["--embeddings", f"{group}={HERE / path}"]
    if "positions" in inp:
        cmd += ["--positions", ",".join(map(str, inp["positions"]))]
    if "token_types" in inp:
        cmd += ["--token-types", ",".join(map(str, inp["token_types"]))]
    if "golden_pooled" in case:
        cmd += ["--out-pooled", str(pooled)]
    return cmd


def main():
    attnc, tmp = sys.argv[1], pathlib.Path(sys.argv[2])
    tmp.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((HERE / "cases.json").read_text())
    tol = manifest["tolerance"]
    failures = 0
    for case in manifest["cases"]:
        name = case["name"]
        weights = tmp / f"{name}.safetensors"
        subprocess.run([attnc, "init-weights", str(HERE / case["config"]), "-q",
                        "-o", str(weights), "--seed", str(case["seed"]),
                        "--init", case["init"], "--norm-noise", str(case["norm_noise"])],
                       check=True)
        same = weights.read_bytes() == (HERE / case["weights"]).read_bytes()
        print(f"{name}: init-weights reproduces {case['weights']}: {'yes' if same else 'NO'}")
        failures += not same

        out, pooled = tmp / f"{name}.npy", tmp / f"{name}-pooled.npy"
        subprocess.run(interpret_command(attnc, case, out, pooled), check=True,
                       stdout=subprocess.DEVNULL)
        for key, file in (("golden", out), ("golden_pooled", pooled)):
            if key not in case:
                continue
            err = rel_error(read_npy_float32(file), read_npy_float32(HERE / case[key]))
            ok = err < tol
            failures += not ok
            print(f"{name}: {key} relative error {'below' if ok else 'ABOVE'} {tol} ({err:.2e})")
    print(f"{len(manifest['cases'])} cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
