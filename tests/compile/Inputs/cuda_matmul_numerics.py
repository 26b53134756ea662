#!/usr/bin/env python3
"""attnc-cuda-matmul-kernels checked numerically without a GPU.

Usage: cuda_matmul_numerics.py TMPDIR ATTNC MLIR_RUNNER RUNNER_UTILS C_RUNNER_UTILS

Matmuls against a weight, C[..., m, n] (+)= A[..., m, k] * W[n, k], in
bf16, f16 and f32 (tf32), with fresh random inputs (the seed is printed):
rows over one or two (dynamic) leading dims, partial 64 x 64 blocks in both
directions, k tails (k not a multiple of the mma's 16 / 8), one row
(decode), a zero fill and an accumulating C. `attnc compile --target cuda
--emit=cpu-emulation` runs the pass's kernels as loops (its `emulate`
mode): with --tensor-cores=tf32 every matmul is an mma.sync kernel (each
warp's lanes a loop, every mma.sync computed from the PTX ISA's fragment
tables), with --tensor-cores=off every one is the FMA kernel; both must
equal a float64 reference. The inputs are multiples of 1/8 in [-2, 2] (exact in bf16, f16
and tf32) and the sums stay exact in f32, so the tolerance (1e-5 abs + rel)
only covers the printing: any misplaced fragment value shows.
"""
import pathlib
import random
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "conversion" / "Inputs"))
import attn_numerics as an  # noqa: E402

# printMemrefF32 prints 6 significant digits; one misplaced value moves a
# sum by a multiple of 1/64, far above this.
TOL = 1e-5
# (name, element type, leading dims of A, n, k, dynamic leading dims, init)
CASES = [
    ("bf16_batch_rows", "bf16", (2, 37), 40, 64, (0, 1), "zero"),
    ("f16_k_tail_accumulate", "f16", (70,), 24, 40, (0,), "random"),
    ("tf32_two_column_blocks", "f32", (5,), 72, 20, (0,), "zero"),
    ("bf16_one_row", "bf16", (1,), 136, 16, (0,), "zero"),
    ("f16_static_rank3_k_tail", "f16", (3, 2), 65, 33, (), "zero"),
]


def eighths(rng, *shape):
    if not shape:
        return rng.randint(-16, 16) / 8.0
    return [eighths(rng, *shape[1:]) for _ in range(shape[0])]


def reference(a, w, c):
    if isinstance(a[0][0], list):
        return [reference(ai, w, ci) for ai, ci in zip(a, c)]
    return [[ci[j] + sum(x * y for x, y in zip(row, w[j]))
             for j in range(len(w))] for row, ci in zip(a, c)]


def build(rng):
    funcs, refs = [], []
    for name, et, lead, n, k, dyn, init in CASES:
        m = an.Module(name)
        rank = len(lead) + 1
        a, w = eighths(rng, *lead, k), eighths(rng, n, k)
        c = eighths(rng, *lead, n) if init == "random" else an.zeros(*lead, n)
        av = m.const(a, et, dynamic=dyn)
        wv = m.const(w, et)
        out_shape = list(lead) + [n]
        out_t = an.ttype(out_shape, "f32", dyn)
        if init == "random":
            cv = m.const(c, "f32", dynamic=dyn)
        else:
            sizes = []
            for d in dyn:
                sizes.append(m.op("arith.constant %d : index" % d))
                sizes[-1] = m.op("tensor.dim %s, %s : %s" % (
                    av, sizes[-1], an.ttype(list(lead) + [k], et, dyn)))
            empty = m.op("tensor.empty(%s) : %s" % (", ".join(sizes), out_t))
            zero = m.op("arith.constant 0.0 : f32")
            cv = m.op("linalg.fill ins(%s : f32) outs(%s : %s) -> %s" % (
                zero, empty, out_t, out_t))
        dims = ", ".join("d%d" % i for i in range(rank + 1))
        lead_dims = ", ".join("d%d" % i for i in range(rank - 1))
        maps = ("affine_map<(%s) -> (%s, d%d)>" % (dims, lead_dims, rank),
                "affine_map<(%s) -> (d%d, d%d)>" % (dims, rank - 1, rank),
                "affine_map<(%s) -> (%s, d%d)>" % (dims, lead_dims, rank - 1))
        r = m.op("linalg.contract indexing_maps = [%s] ins(%s, %s : %s, %s) "
                 "outs(%s : %s) -> %s" % (
                     ", ".join(maps), av, wv,
                     an.ttype(list(lead) + [k], et, dyn), an.ttype([n, k], et),
                     cv, out_t, out_t))
        m.print(r, out_t)
        funcs.append("func.func @%s() {\n  %s\n  return\n}" % (
            name, "\n  ".join(m.lines)))
        refs.append(reference(a, w, c))
    return funcs, refs


def main():
    tmp, attnc, runner, utils, c_utils = (pathlib.Path(a) for a in sys.argv[1:6])
    seed = random.SystemRandom().randrange(1 << 30)
    print("seed %d" % seed)
    funcs, refs = build(random.Random(seed))
    names = [c[0] for c in CASES]
    for mode in ("tf32", "off"):
        (tmp / mode).mkdir(exist_ok=True)
    module = tmp / "matmuls.mlir"
    module.write_text(an.main_module(funcs, names))

    failed = 0
    for mode in ("tf32", "off"):
        failed += check(mode, tmp / mode, module, attnc, runner, utils,
                        c_utils, names, refs, seed)
    return 1 if failed else 0


def check(mode, tmp, module, attnc, runner, utils, c_utils, names, refs,
          seed):
    dump = tmp / "dump"
    an.run_tool([attnc, "compile", "--from-mlir", module, "--target", "cuda",
         "--tensor-cores=" + mode, "--emit=cpu-emulation", "-o",
         tmp / "mm.so", "--dump-ir-after-all", dump])
    stage = next((dump / "2-cuda-emulation").iterdir())
    files = sorted(stage.glob("*.mlir"), key=lambda p: int(p.name.split("_")[0]))
    emulated = next(p for p in files
                    if p.name.endswith("attnc-cuda-matmul-kernels.mlir"))
    left = emulated.read_text().count("linalg.contract")
    print("%s: contractions left to the loops: %d" % (mode, left))
    text = an.run_tool([runner, files[-1], "-e", "main", "-entry-point-result=void",
                "-shared-libs=%s,%s" % (utils, c_utils)])

    bad = 0
    for name, got, ref in zip(names, an.printed_values(text, len(refs)), refs):
        why = an.mismatch(got, an.flat(ref), TOL)
        if why:
            print("%s %s %s (seed %d)" % (mode, name, why, seed))
            bad += 1
    print("%s: checked %d matmuls: %s" % (
        mode, len(refs), "ok" if not bad else "%d mismatching" % bad))
    return 1 if bad or left else 0


if __name__ == "__main__":
    sys.exit(main())
