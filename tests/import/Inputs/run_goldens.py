#!/usr/bin/env python3
"""Runs the imported and lowered models of tests/e2e and compares them with
the committed PyTorch goldens. Standard library only.

  run_goldens.py E2E_DIR TMPDIR ATTNC_IMPORT MLIR_OPT MLIR_RUNNER LIB_DIR

For every case of E2E_DIR/cases.json:
  attnc-import CONFIG --emit=linalg            (@forward on linalg/tensors)
  + @main: the case's inputs and the committed weights (safetensors, read
    here) as constants, batch 1, calling @forward and printing its outputs
  | mlir-opt (bufferize, lower to LLVM) | mlir-runner
and compares every output with its golden: max|out - golden| / max|golden|
below 2e-5 for float32 models, 5e-2 for bfloat16 ones (the compiled model
computes in bfloat16; the goldens in float64).
"""
import json
import pathlib
import re
import struct
import subprocess
import sys

F32_TOL, BF16_TOL = 2e-5, 5e-2


def read_npy(path):
    data = pathlib.Path(path).read_bytes()
    major = data[6]
    (hlen,) = struct.unpack("<H" if major == 1 else "<I",
                            data[8:10] if major == 1 else data[8:12])
    start = 10 if major == 1 else 12
    header = eval(data[start:start + hlen].decode("latin1"))  # a dict literal
    assert header["descr"] == "<f4" and not header["fortran_order"], path
    body = data[start + hlen:]
    return list(header["shape"]), body


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], data[base + b:base + e])
    return out


MLIR_TYPES = {"F32": "f32", "BF16": "bf16", "F16": "f16"}


def ttype(shape, et):
    return "tensor<%s>" % "x".join([str(s) for s in shape] + [et])


def hex_literal(raw):
    return 'dense<"0x%s">' % raw.hex().upper()


def parse_signature(module):
    """(name, type, role) of @forward's arguments and (name, type) of its
    results, from the printed attnc.name / attnc.role attributes."""
    head = module[module.index("func.func @forward("):]
    head = head[:head.index(") {\n")]
    args, results = [], []
    for m in re.finditer(r'%arg\d+: (tensor<[^>]*>) \{attnc.name = "([^"]+)", '
                         r'attnc.role = "(\w+)"\}', head):
        args.append((m.group(2), m.group(1), m.group(3)))
    res_part = head[head.index("-> ("):] if "-> (" in head else ""
    for m in re.finditer(r'(tensor<[^>]*>) \{attnc.name = "([^"]+)"\}', res_part):
        results.append((m.group(2), m.group(1)))
    return args, results


def static_type(dyn_type, shape):
    et = dyn_type[len("tensor<"):-1].split("x")[-1]
    return ttype(shape, et), et


def build_main(case, e2e, module, weights):
    args, results = parse_signature(module)
    inputs = case["inputs"]
    lines, values = [], []
    n = 0

    def const(literal, dyn_type, shape):
        nonlocal n
        st, _ = static_type(dyn_type, shape)
        n += 2
        lines.append("  %%c%d = arith.constant %s : %s" % (n - 1, literal, st))
        lines.append("  %%c%d = tensor.cast %%c%d : %s to %s" % (n, n - 1, st, dyn_type))
        return "%%c%d" % n

    # The input sequence length S, for positions and token types: the
    # static S of their type, else the sum of the (token / embeddings)
    # groups' lengths.
    seq = 0
    for name, dyn_type, role in args:
        kind, _, group = name.partition(".")
        if role == "input" and kind == "tokens":
            seq += len(inputs["tokens"][group])
        elif role == "input" and kind == "embeddings":
            seq += read_npy(e2e / inputs["embeddings"][group])[0][0]
    for name, dyn_type, role in args:
        if name in ("positions", "token_types"):
            dims = dyn_type[len("tensor<"):-1].split("x")
            if dims[1] != "?":
                seq = int(dims[1])

    for name, dyn_type, role in args:
        kind, _, group = name.partition(".")
        if role == "weight":
            dtype, shape, raw = weights[name]
            values.append(const(hex_literal(raw), dyn_type, shape))
        elif kind == "tokens":
            ids = inputs["tokens"][group]
            values.append(const("dense<[[%s]]>" % ", ".join(map(str, ids)),
                                dyn_type, [1, len(ids)]))
        elif kind == "image":
            shape, raw = read_npy(e2e / inputs["images"][group])
            values.append(const(hex_literal(raw), dyn_type, [1] + shape))
        elif kind == "embeddings":
            shape, raw = read_npy(e2e / inputs["embeddings"][group])
            values.append(const(hex_literal(raw), dyn_type, [1] + shape))
        elif name == "positions":
            pos = inputs.get("positions", list(range(seq)))
            values.append(const("dense<[[%s]]>" % ", ".join(map(str, pos)),
                                dyn_type, [1, seq]))
        elif name == "token_types":
            tt = inputs.get("token_types", [0] * seq)
            values.append(const("dense<[[%s]]>" % ", ".join(map(str, tt)),
                                dyn_type, [1, seq]))
        else:
            raise SystemExit("run_goldens: no input for argument '%s'" % name)

    arg_types = ", ".join(t for _, t, _ in args)
    res_types = ", ".join(t for _, t in results)
    lines.append("  %%r:%d = call @forward(%s) : (%s) -> (%s)" % (
        len(results), ", ".join(values), arg_types, res_types))
    printed = []
    for i, (name, rtype) in enumerate(results):
        if name.startswith("layers."):
            continue
        et = rtype[len("tensor<"):-1].split("x")[-1]
        v = "%%r#%d" % i
        if et != "f32":
            f32type = rtype[:rtype.rindex("x")] + "xf32>"
            lines.append("  %%e%d = arith.extf %s : %s to %s" % (i, v, rtype, f32type))
            v, rtype = "%%e%d" % i, f32type
        lines.append("  %%u%d = tensor.cast %s : %s to tensor<*xf32>" % (i, v, rtype))
        lines.append("  call @printMemrefF32(%%u%d) : (tensor<*xf32>) -> ()" % i)
        printed.append(name)
    main = ["func.func private @printMemrefF32(tensor<*xf32> {bufferization.access = \"read\"})",
            "func.func @main() {"] + lines + ["  return", "}"]
    return "\n".join(main), printed


def parse_prints(text):
    blocks = text.split("Unranked Memref")[1:]
    out = []
    for block in blocks:
        data = block.split("data =", 1)[1]
        out.append([float(v) for v in re.findall(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)", data)])
    return out


def main():
    e2e, tmp, importer, opt, runner, libdir = sys.argv[1:7]
    e2e, tmp = pathlib.Path(e2e), pathlib.Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((e2e / "cases.json").read_text())
    failures = 0
    for case in manifest["cases"]:
        name = case["name"]
        config = e2e / case["config"]
        lowered = subprocess.run([importer, str(config), "--emit=linalg"],
                                 capture_output=True, text=True)
        if lowered.returncode != 0:
            first = lowered.stderr.strip().splitlines()[0]
            if "not supported by the compiler yet" in first:
                print("%s: skipped, %s" % (name, first.split("error: ", 1)[1]))
                continue
            print("%s: FAIL, import: %s" % (name, lowered.stderr.strip()))
            failures += 1
            continue
        weights = read_safetensors(e2e / case["weights"])
        module = lowered.stdout
        main_text, printed = build_main(case, e2e, module, weights)
        full = module[:module.rstrip().rindex("}")] + main_text + "\n}\n"
        (tmp / (name + ".mlir")).write_text(full)
        llvm = subprocess.run(
            [opt, "--convert-elementwise-to-linalg",
             "--one-shot-bufferize=bufferize-function-boundaries",
             "--buffer-deallocation-pipeline", "--convert-linalg-to-loops",
             "--expand-strided-metadata", "--lower-affine", "--convert-scf-to-cf",
             "--convert-math-to-llvm", "--convert-math-to-libm",
             "--finalize-memref-to-llvm", "--convert-arith-to-llvm",
             "--convert-func-to-llvm", "--convert-cf-to-llvm",
             "--reconcile-unrealized-casts"],
            input=full, capture_output=True, text=True)
        if llvm.returncode != 0:
            print("%s: FAIL, lowering: %s" % (name, llvm.stderr.strip()[:2000]))
            failures += 1
            continue
        run = subprocess.run(
            [runner, "-e", "main", "-entry-point-result=void",
             "-shared-libs=%s/libmlir_runner_utils.so,%s/libmlir_c_runner_utils.so"
             % (libdir, libdir)],
            input=llvm.stdout, capture_output=True, text=True)
        if run.returncode != 0:
            print("%s: FAIL, run: %s" % (name, run.stderr.strip()[:2000]))
            failures += 1
            continue
        outputs = parse_prints(run.stdout)
        tol = BF16_TOL if "dtype: bfloat16" in config.read_text() else F32_TOL
        goldens = {"logits": "golden", "hidden_states": "golden",
                   "classes": "golden", "pooled": "golden_pooled"}
        for out_name, got in zip(printed, outputs):
            key = goldens[out_name]
            if key not in case:
                continue
            _, raw = read_npy(e2e / case[key])
            want = struct.unpack("<%df" % (len(raw) // 4), raw)
            if len(got) != len(want):
                print("%s: FAIL, %s has %d values, expected %d" % (
                    name, out_name, len(got), len(want)))
                failures += 1
                continue
            scale = max(abs(w) for w in want)
            err = max(abs(g - w) for g, w in zip(got, want)) / scale
            ok = err < tol
            failures += not ok
            print("%s: %s relative error %.1e, %s %g" % (
                name, out_name, err, "below" if ok else "FAIL, above", tol))
    print("%d cases, %d failures" % (len(manifest["cases"]), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
