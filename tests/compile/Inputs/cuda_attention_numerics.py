#!/usr/bin/env python3
"""attnc-cuda-fused-attention checked numerically through the CUDA mapping.

Usage: cuda_attention_numerics.py TMPDIR ATTNC MLIR_RUNNER RUNNER_UTILS C_RUNNER_UTILS

Every attn.sdpa case of tests/conversion/Inputs/flash_numerics.py (causal +
GQA + softcap, sliding window, local + prefix, window + prefix, full,
decode positions + allowed + unwritten slots, one query, queries that see no
key by positions and by a local band, ALiBi with a prefix and with a local
mask) plus longer ones that span several key tiles of the kernel (32 keys)
and skip whole tiles outside the band, and f32 queries over bf16 keys and
values, with fresh random inputs (the seed is printed). Steps:
  1. `attnc compile --from-mlir --target cuda --emit=linalg`: every sdpa is
     one scf.forall, no linalg op is left (nothing decomposed);
  2. `attnc compile --target cuda --emit=cpu-emulation --dump-ir-after-all`:
     after attnc-cuda-map-loops each case function holds exactly one mapped
     top-level loop nest (one kernel) and one memref.alloc, its result (no
     score buffer);
     the emulation pipeline's final LLVM-dialect module runs in mlir-runner;
  3. every printed tensor against attn_numerics.py's float64 sdpa_ref:
     |got - want| <= 1e-4 + 1e-4 |want| (f32, online softmax reorders sums).
"""
import math
import pathlib
import random
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "conversion" / "Inputs"))
import attn_numerics as an  # noqa: E402
import flash_numerics as fn  # noqa: E402

TOL = 1e-4


def long_cases():
    rand = an.rand
    out = []

    def case(f):
        out.append(f)
        return f

    @case
    def long_causal_gqa_softcap(m):
        # 70 rows: 3 key tiles for the last rows, the diagonal tile partial.
        q, k, v = rand(1, 4, 70, 4), rand(1, 2, 70, 4), rand(1, 2, 70, 3)
        fn.sdpa(m, q, k, v, "causal", dyn=(2,), scale=2.5, softcap=3.0)
        return an.sdpa_ref(q, k, v, "causal", scale=2.5, softcap=3.0)

    @case
    def long_window_skips_tiles(m):
        # window 20 over 90 keys: rows >= 51 start past the first tile.
        q, k, v = rand(1, 2, 90, 4), rand(1, 1, 90, 4), rand(1, 1, 90, 4)
        fn.sdpa(m, q, k, v, "sliding_window 20", scale=2.0)
        return an.sdpa_ref(q, k, v, "sliding_window", 20, 2.0)

    @case
    def long_local_prefix(m):
        q, k, v = rand(1, 2, 60, 4), rand(1, 2, 100, 4), rand(1, 2, 100, 4)
        n = m.op("arith.constant 3 : index")
        fn.sdpa(m, q, k, v, "local 25", "unmasked_prefix(%s)", operands=[n],
                scale=1.5)
        return an.sdpa_ref(q, k, v, "local", 25, 1.5, prefix=3)

    @case
    def long_alibi_softcap(m):
        q, k, v = rand(2, 2, 50, 4), rand(2, 2, 50, 4), rand(2, 2, 50, 4)
        pos = [list(range(50)), [2 * i for i in range(50)]]
        fn.sdpa(m, q, k, v, "causal",
                "alibi(%s, %s : tensor<2x50xi32>, tensor<2x50xi32>) slopes [0.05, 0.01]",
                operands=[m.const(pos, "i32"), m.const(pos, "i32")], scale=2.0,
                softcap=4.0)
        return an.sdpa_ref(q, k, v, "causal", 0, 2.0, softcap=4.0,
                           alibi=(pos, pos, [0.05, 0.01]))

    @case
    def long_decode_cache(m):
        # one query at position 70 over an 80-slot cache, 71 written.
        q, k, v = rand(1, 4, 1, 4), rand(1, 2, 80, 4), rand(1, 2, 80, 4)
        kp = list(range(71)) + [-1] * 9
        allowed = [[[j % 7 != 3 for j in range(80)]]]
        fn.sdpa(m, q, k, v, "sliding_window 50",
                "positions(%s, %s : tensor<1xi32>, tensor<80xi32>) allowed(%s : tensor<1x1x80xi1>)",
                operands=[m.const([70], "i32"), m.const(kp, "i32"),
                          m.const(allowed, "i1")], scale=2.0)
        return an.sdpa_ref(q, k, v, "sliding_window", 50, 2.0, qpos=[70],
                           kpos=kp, allowed=allowed)

    @case
    def long_full_batch(m):
        q, k, v = rand(2, 2, 9, 4), rand(2, 2, 75, 4), rand(2, 2, 75, 4)
        fn.sdpa(m, q, k, v, "full", dyn=(2,), scale=3.0)
        return an.sdpa_ref(q, k, v, "full", scale=3.0)

    @case
    def narrow_cache_bf16(m):
        # f32 queries over bf16 keys/values (a bf16 KV cache in an f32
        # model): extended in the kernel, f32 result.
        q, k, v = rand(1, 4, 40, 4), rand(1, 2, 40, 4), rand(1, 2, 40, 4)
        r = m.op("attn.sdpa %s, %s, %s mask(causal) scale(2.0) : %s, %s, %s -> %s" % (
            m.const(q), m.const(k, "bf16"), m.const(v, "bf16"),
            an.ttype([1, 4, 40, 4]), an.ttype([1, 2, 40, 4], "bf16"),
            an.ttype([1, 2, 40, 4], "bf16"), an.ttype([1, 4, 40, 4])))
        m.print(r, an.ttype([1, 4, 40, 4]))
        return an.sdpa_ref(q, to_bf16(k), to_bf16(v), "causal", scale=2.0)

    return out


def to_bf16(t):
    """Rounds to bfloat16 (8 significant bits, nearest even), as the MLIR
    parser does for the bf16 constants."""
    if isinstance(t, list):
        return [to_bf16(x) for x in t]
    if t == 0:
        return 0.0
    mant, exp = math.frexp(t)
    return math.ldexp(round(mant * 256) / 256, exp)


def build(seed):
    an.RNG.seed(seed)
    funcs, refs, names = [], [], []
    for f in fn.cases() + long_cases():
        m = an.Module(f.__name__)
        refs.append(f(m))
        body = "\n".join("  " + l for l in m.lines)
        funcs.append("func.func @%s() {\n%s\n  return\n}" % (f.__name__, body))
        names.append(f.__name__)
    return funcs, refs, names


def main():
    tmp, attnc, runner, utils, c_utils = (pathlib.Path(a) for a in sys.argv[1:6])
    seed = random.SystemRandom().randrange(1 << 30)
    print("seed %d" % seed)
    funcs, refs, names = build(seed)
    module = tmp / "sdpa.mlir"
    module.write_text(an.main_module(funcs, names))

    # 1. attention lowered by the fused pass only.
    linalg = an.run_tool([attnc, "compile", "--from-mlir", module, "--target", "cuda",
                  "--emit=linalg", "-o", "-"])
    foralls = linalg.count("scf.forall (")
    print("sdpa cases %d, scf.forall %d, linalg ops %d" % (
        len(names), foralls, len(re.findall(r"\blinalg\.", linalg))))

    # 2. the CUDA mapping, run sequentially.
    dump = tmp / "dump"
    an.run_tool([attnc, "compile", "--from-mlir", module, "--target", "cuda",
         "--emit=cpu-emulation", "-o", tmp / "sdpa.so", "--dump-ir-after-all",
         dump])
    stage = next((dump / "2-cuda-emulation").iterdir())
    files = sorted(stage.glob("*.mlir"), key=lambda p: int(p.name.split("_")[0]))
    mapped = next(p for p in files if p.name.endswith("attnc-cuda-map-loops.mlir"))
    kernels, allocs = {}, {}
    for body in mapped.read_text().split("func.func @")[1:]:
        name = body.split("(")[0]
        if name in names:
            # one top-level mapped loop nest = one kernel.
            kernels[name] = len(re.findall(r"^    \} \{mapping = ", body, re.M))
            allocs[name] = len(re.findall(r"memref\.alloc\(", body))
    one_kernel = all(kernels.get(n) == 1 for n in names)
    # the only heap buffer is the result.
    no_alloc = all(allocs.get(n) == 1 for n in names)
    print("one kernel per sdpa: %s, one heap buffer (the result): %s" % (
        one_kernel, no_alloc))
    if not one_kernel or not no_alloc:
        print("kernels %s allocs %s" % (kernels, allocs))
    text = an.run_tool([runner, files[-1], "-e", "main", "-entry-point-result=void",
                "-shared-libs=%s,%s" % (utils, c_utils)])

    # 3. numerics.
    bad, worst = 0, 0.0
    for name, got, ref in zip(names, an.printed_values(text, len(refs)), refs):
        want = an.flat(ref)
        why = an.mismatch(got, want, TOL)
        if why:
            print("%s %s (seed %d)" % (name, why, seed))
            bad += 1
        if len(got) == len(want):
            scale = max(abs(w) for w in want) or 1.0
            worst = max(worst,
                        max(abs(g - w) for g, w in zip(got, want)) / scale)
    print("checked %d tensors: %s (max error / max |ref| %.1e)" % (
        len(refs), "ok" if not bad else "%d mismatching" % bad, worst))
    return 1 if bad or not one_kernel or not no_alloc else 0


if __name__ == "__main__":
    sys.exit(main())
