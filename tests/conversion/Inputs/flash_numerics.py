#!/usr/bin/env python3
"""Numerical check of attn-flash-attention (tiled online-softmax attn.sdpa)
against attn_numerics.py's float64 reference, with fresh random inputs.

  flash_numerics.py emit SEEDFILE     picks a random seed, writes it to
                                      SEEDFILE and the MLIR module to stdout
  flash_numerics.py check SEEDFILE OUT  rebuilds the same inputs from the
                                      seed and compares OUT (mlir-runner's
                                      prints) with the reference

Shapes are chosen so that small tiles (the test runs query-tile=3,
key-tile=4) give several query and key tiles, partial last tiles, tiles the
mask skips (causal diagonal, sliding-window and local bands) and rows that
see no key. Tolerance: |got - want| <= 1e-4 + 1e-4 |want| (f32 against
float64; online softmax reorders the sums).
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attn_numerics as an  # noqa: E402

TOL = 1e-4


def T(shape, dyn=()):
    return an.ttype(shape, "f32", dyn)


def sdpa(m, q, k, v, mask, extra="", dyn=(), scale=0.5, softcap=None,
         operands=()):
    """Emits attn.sdpa on constants q, k, v; `extra` is the text between
    the mask and scale (positions/allowed/prefix/alibi clauses, formatted
    with `operands`)."""
    qs, ks, vs = an.shape_of(q), an.shape_of(k), an.shape_of(v)
    out = [qs[0], qs[1], qs[2], vs[3]]
    t = "%s, %s, %s -> %s" % (T(qs, dyn), T(ks, dyn), T(vs, dyn), T(out, dyn))
    cap = " softcap(%s)" % softcap if softcap else ""
    r = m.op("attn.sdpa %s, %s, %s mask(%s) %s scale(%s)%s : %s" % (
        m.const(q, dynamic=dyn), m.const(k, dynamic=dyn),
        m.const(v, dynamic=dyn), mask, extra % tuple(operands), scale, cap, t))
    m.print(r, T(out, dyn))


def cases():
    rand = an.rand
    out = []

    def case(fn):
        out.append(fn)
        return fn

    @case
    def causal_gqa_softcap(m):
        q, k, v = rand(1, 4, 11, 4), rand(1, 2, 11, 4), rand(1, 2, 11, 3)
        sdpa(m, q, k, v, "causal", dyn=(2,), softcap=1.5)
        return an.sdpa_ref(q, k, v, "causal", scale=0.5, softcap=1.5)

    @case
    def window_band(m):
        q, k, v = rand(2, 2, 13, 4), rand(2, 1, 13, 4), rand(2, 1, 13, 4)
        sdpa(m, q, k, v, "sliding_window 3")
        return an.sdpa_ref(q, k, v, "sliding_window", 3, 0.5)

    @case
    def local_prefix_rect(m):
        q, k, v = rand(1, 2, 10, 4), rand(1, 2, 12, 4), rand(1, 2, 12, 4)
        n = m.op("arith.constant 2 : index")
        sdpa(m, q, k, v, "local 3", "unmasked_prefix(%s)", operands=[n])
        return an.sdpa_ref(q, k, v, "local", 3, 0.5, prefix=2)

    @case
    def window_prefix(m):
        q, k, v = rand(1, 1, 12, 4), rand(1, 1, 12, 4), rand(1, 1, 12, 4)
        n = m.op("arith.constant 3 : index")
        sdpa(m, q, k, v, "sliding_window 2", "unmasked_prefix(%s)", operands=[n])
        return an.sdpa_ref(q, k, v, "sliding_window", 2, 0.5, prefix=3)

    @case
    def full_ragged(m):
        q, k, v = rand(2, 2, 5, 4), rand(2, 2, 9, 4), rand(2, 2, 9, 4)
        sdpa(m, q, k, v, "full", dyn=(2,), scale=0.7)
        return an.sdpa_ref(q, k, v, "full", scale=0.7)

    @case
    def decode_positions_allowed(m):
        # 2 queries at positions 7, 8 over a 10-slot cache, 9 written (-1 at
        # the end); one explicit mask bit off; sliding window 5.
        q, k, v = rand(2, 4, 2, 4), rand(2, 2, 10, 4), rand(2, 2, 10, 4)
        qp = [[7, 8], [7, 8]]
        kp = [list(range(9)) + [-1], list(range(10))]
        allowed = [[[True] * 10, [True] * 10],
                   [[True] * 10, [True] * 6 + [False] + [True] * 3]]
        sdpa(m, q, k, v, "sliding_window 5",
             "positions(%s, %s : tensor<2x2xi32>, tensor<2x10xi32>) allowed(%s : tensor<2x2x10xi1>)",
             operands=[m.const(qp, "i32"), m.const(kp, "i32"), m.const(allowed, "i1")])
        return an.sdpa_ref(q, k, v, "sliding_window", 5, 0.5, qpos=qp, kpos=kp,
                           allowed=allowed)

    @case
    def allowed_whole_tiles_off(m):
        # full mask, explicit allowed only: with 3-row query tiles and 4-key
        # tiles, whole [3, 4] / [2, 4] blocks are off (skipped), and the last
        # query sees no key at all (zero output).
        on = {0: [4, 5, 6, 7, 12, 13, 14, 15], 1: [5, 13], 2: [14],
              3: [8, 9, 10, 11], 4: []}
        allowed = [[[j in on[i] for j in range(16)] for i in range(5)]]
        q, k, v = rand(1, 2, 5, 4), rand(1, 1, 16, 4), rand(1, 1, 16, 4)
        sdpa(m, q, k, v, "full", "allowed(%s : tensor<1x5x16xi1>)",
             operands=[m.const(allowed, "i1")])
        return an.sdpa_ref(q, k, v, "full", 0, 0.5, allowed=allowed)

    @case
    def decode_one_query(m):
        q, k, v = rand(1, 2, 1, 4), rand(1, 1, 9, 4), rand(1, 1, 9, 4)
        sdpa(m, q, k, v, "causal", "positions(%s, %s : tensor<1xi32>, tensor<9xi32>)",
             operands=[m.const([6], "i32"), m.const([0, 1, 2, 3, 4, 5, 6, -1, -1], "i32")])
        return an.sdpa_ref(q, k, v, "causal", 0, 0.5, qpos=[6],
                           kpos=[0, 1, 2, 3, 4, 5, 6, -1, -1])

    @case
    def decode_gqa_packed(m):
        # one query per head, 3 query heads per KV head over 2 KV heads: the
        # group's heads are the rows of one tile; positions, a cache mask
        # with holes, sliding window 5, softcap.
        q, k, v = rand(2, 6, 1, 4), rand(2, 2, 10, 4), rand(2, 2, 10, 3)
        qp = [[8], [6]]
        kp = [list(range(9)) + [-1], list(range(7)) + [-1, -1, -1]]
        allowed = [[[True] * 10], [[True] * 3 + [False] + [True] * 6]]
        sdpa(m, q, k, v, "sliding_window 5",
             "positions(%s, %s : tensor<2x1xi32>, tensor<2x10xi32>) allowed(%s : tensor<2x1x10xi1>)",
             softcap=2.0,
             operands=[m.const(qp, "i32"), m.const(kp, "i32"), m.const(allowed, "i1")])
        return an.sdpa_ref(q, k, v, "sliding_window", 5, 0.5, softcap=2.0,
                           qpos=qp, kpos=kp, allowed=allowed)

    @case
    def decode_gqa_packed_alibi(m):
        # packed rows with index masks: query index 0 sees key 0 (the
        # unmasked prefix, no bias) and keys 1-3 (local band 4, biased by
        # each head's own ALiBi slope); keys 4-8 are outside the band.
        q, k, v = rand(1, 4, 1, 4), rand(1, 2, 9, 4), rand(1, 2, 9, 4)
        qa, ka = [5], list(range(9))
        slopes = [0.5, 0.25, 0.125, 0.0625]
        n = m.op("arith.constant 1 : index")
        sdpa(m, q, k, v, "local 4",
             "unmasked_prefix(%s) alibi(%s, %s : tensor<1xi32>, tensor<9xi32>) slopes [0.5, 0.25, 0.125, 0.0625]",
             operands=[n, m.const(qa, "i32"), m.const(ka, "i32")])
        return an.sdpa_ref(q, k, v, "local", 4, 0.5, prefix=1,
                           alibi=(qa, ka, slopes))

    @case
    def query_sees_nothing(m):
        # positions: queries at 0..4 over keys at 3..10; queries 0-2 see no key.
        q, k, v = rand(1, 1, 5, 4), rand(1, 1, 8, 4), rand(1, 1, 8, 4)
        sdpa(m, q, k, v, "causal", "positions(%s, %s : tensor<5xi32>, tensor<8xi32>)",
             operands=[m.const(list(range(5)), "i32"), m.const(list(range(3, 11)), "i32")])
        return an.sdpa_ref(q, k, v, "causal", 0, 0.5, qpos=list(range(5)),
                           kpos=list(range(3, 11)))

    @case
    def local_rows_without_keys(m):
        # index masks: queries 9..11 of a local band 2 over 8 keys see none.
        q, k, v = rand(1, 1, 12, 4), rand(1, 1, 8, 4), rand(1, 1, 8, 4)
        sdpa(m, q, k, v, "local 2")
        return an.sdpa_ref(q, k, v, "local", 2, 0.5)

    @case
    def alibi_causal_prefix(m):
        q, k, v = rand(2, 4, 9, 4), rand(2, 2, 9, 4), rand(2, 2, 9, 4)
        pos = [list(range(9)), [3 * i + 1 for i in range(9)]]
        slopes = [0.5, 0.25, 0.125, 0.0625]
        n = m.op("arith.constant 2 : index")
        sdpa(m, q, k, v, "causal",
             "unmasked_prefix(%s) alibi(%s, %s : tensor<2x9xi32>, tensor<2x9xi32>) slopes [0.5, 0.25, 0.125, 0.0625]",
             operands=[n, m.const(pos, "i32"), m.const(pos, "i32")])
        return an.sdpa_ref(q, k, v, "causal", 0, 0.5, prefix=2,
                           alibi=(pos, pos, slopes))

    @case
    def alibi_local(m):
        q, k, v = rand(1, 2, 7, 4), rand(1, 2, 7, 4), rand(1, 2, 7, 4)
        pos = [0, 2, 4, 6, 8, 10, 12]
        sdpa(m, q, k, v, "local 4",
             "alibi(%s, %s : tensor<7xi32>, tensor<7xi32>) slopes [0.3, 0.7]",
             operands=[m.const(pos, "i32"), m.const(pos, "i32")])
        return an.sdpa_ref(q, k, v, "local", 4, 0.5, alibi=(pos, pos, [0.3, 0.7]))

    return out


def build(seed):
    an.RNG.seed(seed)
    funcs, refs = [], []
    for fn in cases():
        m = an.Module(fn.__name__)
        refs.append(fn(m))
        body = "\n".join("  " + l for l in m.lines)
        funcs.append("func.func @%s() {\n%s\n  return\n}" % (fn.__name__, body))
    return funcs, refs


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "emit":
        seed = random.SystemRandom().randrange(1 << 30)
        with open(sys.argv[2], "w") as f:
            f.write(str(seed))
        funcs, refs = build(seed)
        print("// Generated by flash_numerics.py emit (seed %d); do not edit." % seed)
        print('func.func private @printMemrefF32(tensor<*xf32> {bufferization.access = "read"})')
        for f in funcs:
            print(f)
        print("func.func @main() {")
        for f in funcs:
            print("  call @%s() : () -> ()" % f.split("@")[1].split("(")[0])
        print("  return\n}")
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        seed = int(open(sys.argv[2]).read())
        _, refs = build(seed)
        text = open(sys.argv[3]).read()
        blocks = text.split("Unranked Memref")[1:]
        if len(blocks) != len(refs):
            print("expected %d printed tensors, found %d" % (len(refs), len(blocks)))
            return 1
        bad = 0
        for n, (block, ref) in enumerate(zip(blocks, refs)):
            data = block.split("data =", 1)[1]
            got = [float(x) for x in an.NUM.findall(data)]
            want = an.flat(ref)
            if len(got) != len(want):
                print("tensor %d: %d values, expected %d" % (n, len(got), len(want)))
                bad += 1
                continue
            for i, (g, w) in enumerate(zip(got, want)):
                if not abs(g - w) <= TOL + TOL * abs(w):
                    print("tensor %d element %d: expected %.6g, found %.6g (seed %d)" % (n, i, w, g, seed))
                    bad += 1
                    break
        print("checked %d tensors: %s" % (len(refs), "ok" if not bad else "%d mismatching (seed %d)" % (bad, seed)))
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
