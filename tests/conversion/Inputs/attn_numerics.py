#!/usr/bin/env python3
"""Numerical check of the attn -> linalg lowering, without numpy.

  attn_numerics.py emit          writes an MLIR module: one function per case
                                 that builds constant inputs, applies attn ops
                                 and prints the result (printMemrefF32)
  attn_numerics.py check FILE    compares what mlir-runner printed for that
                                 module with this file's reference math

Inputs and reference live here together, so they cannot drift apart. The
reference follows the op definitions in dialect/include/attnc/Dialect/Attn/IR
(and shared/reference/systems.md section 6): masked logits are -2.3819763e38,
query head h reads kv head h // (H / K), RoPE rotates a prefix of
fraction * head_dim dims, split-half pairs (i, i + R/2), interleaved pairs
(2i, 2i + 1), sinusoidal encodings are interleaved sin/cos.
"""
import math
import random
import re
import subprocess
import sys

RNG = random.Random(1234)
MASKED = -2.3819763e38


# ---------------------------------------------------------------- tensors ----
def shape_of(t):
    s = []
    while isinstance(t, list):
        s.append(len(t))
        t = t[0] if t else None
    return s


def flat(t):
    if isinstance(t, list):
        return [v for x in t for v in flat(x)]
    return [t]


def rand(*shape, scale=1.0):
    if not shape:
        return round(RNG.uniform(-scale, scale), 3)
    return [rand(*shape[1:], scale=scale) for _ in range(shape[0])]


def zeros(*shape):
    if not shape:
        return 0.0
    return [zeros(*shape[1:]) for _ in range(shape[0])]


def ttype(shape, et="f32", dynamic=()):
    dims = ["?" if i in dynamic else str(d) for i, d in enumerate(shape)]
    return "tensor<%sx%s>" % ("x".join(dims), et) if dims else "tensor<%s>" % et


def literal(t, et="f32"):
    def fmt(v):
        if et.startswith("i"):
            return str(int(v))
        if et == "i1":
            return "true" if v else "false"
        return repr(float(v))

    def rec(x):
        if isinstance(x, list):
            return "[" + ", ".join(rec(e) for e in x) + "]"
        return fmt(x)

    return "dense<%s>" % rec(t)


def bool_literal(t):
    def rec(x):
        if isinstance(x, list):
            return "[" + ", ".join(rec(e) for e in x) + "]"
        return "true" if x else "false"
    return "dense<%s>" % rec(t)


# -------------------------------------------------------------- reference ----
def act(kind, v):
    if kind == "gelu":
        return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
    if kind == "gelu_tanh":
        return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    if kind == "relu":
        return max(v, 0.0)
    if kind == "silu":
        return v / (1 + math.exp(-v))
    if kind == "tanh":
        return math.tanh(v)
    raise ValueError(kind)


def map_last(t, f):
    """Applies f to every innermost row."""
    if isinstance(t[0], list):
        return [map_last(x, f) for x in t]
    return f(t)


def emap(t, f):
    if isinstance(t, list):
        return [emap(x, f) for x in t]
    return f(t)


def norm_ref(x, kind, g=None, b=None, eps=1e-6, zc=False):
    def row(r):
        n = len(r)
        gg = [(1 + v) if zc else v for v in g]
        if kind == "rms":
            inv = 1 / math.sqrt(sum(v * v for v in r) / n + eps)
            return [r[i] * inv * gg[i] for i in range(n)]
        mean = sum(r) / n
        var = sum((v - mean) ** 2 for v in r) / n
        inv = 1 / math.sqrt(var + eps)
        return [(r[i] - mean) * inv * gg[i] + (b[i] if b else 0.0) for i in range(n)]
    return map_last(x, row)


def linear_ref(x, w, b=None):
    """x W^T + b with W [out, in] (PyTorch)."""
    def row(r):
        out = []
        for j in range(len(w)):
            s = sum(r[i] * w[j][i] for i in range(len(r)))
            out.append(s + (b[j] if b else 0.0))
        return out
    return map_last(x, row)


def rope_ref(x, pos, style, base=10000.0, fraction=1.0, sf=1.0):
    B, H, S, D = shape_of(x)
    R = int(round(fraction * D))
    out = [[[list(x[b][h][s]) for s in range(S)] for h in range(H)] for b in range(B)]
    for b in range(B):
        for s in range(S):
            p = pos[b][s] if isinstance(pos[0], list) else pos[s]
            for i in range(R // 2):
                theta = (p / sf) * base ** (-2.0 * i / R)
                c, sn = math.cos(theta), math.sin(theta)
                a, o = (i, i + R // 2) if style == "split_half" else (2 * i, 2 * i + 1)
                for h in range(H):
                    xa, xo = x[b][h][s][a], x[b][h][s][o]
                    out[b][h][s][a] = xa * c - xo * sn
                    out[b][h][s][o] = xo * c + xa * sn
    return out


def softmax(row):
    """Softmax; a row with every logit masked (a query that sees no key)
    gives zero weights."""
    if all(v == MASKED for v in row):
        return [0.0] * len(row)
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = sum(e)
    return [v / s for v in e]


def allowed_ref(mask, window, qp, kp, explicit_positions):
    ok = True
    if explicit_positions:
        ok = ok and kp >= 0
    if mask == "local":
        ok = ok and abs(qp - kp) < window
    elif mask != "full":
        ok = ok and kp <= qp
    if mask == "sliding_window":
        ok = ok and qp - kp < window
    return ok


def alibi_bias(slope, mask, qa, ka):
    d = qa - ka
    if mask in ("full", "local"):
        d = abs(d)
    return -slope * d


def pick(pos, b, i):
    return pos[b][i] if isinstance(pos[0], list) else pos[i]


def sdpa_ref(q, k, v, mask="full", window=0, scale=1.0, softcap=None,
             qpos=None, kpos=None, allowed=None, prefix=0, alibi=None):
    """alibi: (query positions, key positions, slopes)."""
    B, H, Sq, D = shape_of(q)
    _, K, Skv, _ = shape_of(k)
    Dv = shape_of(v)[3]
    G = H // K
    out = zeros(B, H, Sq, Dv)
    for b in range(B):
        for h in range(H):
            kh = h // G
            for i in range(Sq):
                logits = []
                for j in range(Skv):
                    s = scale * sum(q[b][h][i][d] * k[b][kh][j][d] for d in range(D))
                    if softcap:
                        s = softcap * math.tanh(s / softcap)
                    if alibi and j >= prefix:
                        s += alibi_bias(alibi[2][h], mask, pick(alibi[0], b, i),
                                        pick(alibi[1], b, j))
                    qp = i if qpos is None else (qpos[b][i] if isinstance(qpos[0], list) else qpos[i])
                    kp = j if kpos is None else (kpos[b][j] if isinstance(kpos[0], list) else kpos[j])
                    ok = allowed_ref(mask, window, qp, kp, qpos is not None) or j < prefix
                    if allowed is not None:
                        ok = ok and allowed[b][i][j]
                    logits.append(s if ok else MASKED)
                w = softmax(logits)
                for e in range(Dv):
                    out[b][h][i][e] = sum(w[j] * v[b][kh][j][e] for j in range(Skv))
    return out


def mixed_ref(q, k, v, groups, patterns, cached, scale, softcap=None,
              alibi=None):
    """groups: [(name, size or 'cache' or '?')]; patterns: [(queries, kvs,
    mask, window)]; cached: {name: (keys, values)}. Attends each pattern over
    its token sets directly (no slicing): input tokens' positions are their
    indices in the input sequence; cache tokens have none and are always
    visible (the schema's AttentionPattern.mask)."""
    B, H, S, D = shape_of(q)
    Dv = shape_of(v)[3]
    K = shape_of(k)[1]
    G = H // K
    # token lists: name -> [(position or None, source, index)]
    tokens, inp = {}, 0
    static = sum(s for _, s in groups if s not in ("cache", "?"))
    for name, size in groups:
        if size == "cache":
            n = shape_of(cached[name][0])[2]
            tokens[name] = [(None, name, t) for t in range(n)]
        else:
            n = S - static if size == "?" else size
            tokens[name] = [(inp + t, "input", inp + t) for t in range(n)]
            inp += n
    out = zeros(B, H, S, Dv)

    def kv_of(src, idx, b, kh):
        if src == "input":
            return k[b][kh][idx], v[b][kh][idx]
        return cached[src][0][b][kh][idx], cached[src][1][b][kh][idx]

    for queries, kvs, mask, window in patterns:
        kv_tokens = [t for g in kvs for t in tokens[g]]
        for g in queries:
            for (qp, _, qi) in tokens[g]:
                for b in range(B):
                    for h in range(H):
                        kh = h // G
                        logits = []
                        for (kp, src, ki) in kv_tokens:
                            kk, _ = kv_of(src, ki, b, kh)
                            s = scale * sum(q[b][h][qi][d] * kk[d] for d in range(D))
                            if softcap:
                                s = softcap * math.tanh(s / softcap)
                            if alibi and kp is not None:
                                s += alibi_bias(alibi[1][h], mask, pick(alibi[0], b, qi),
                                                pick(alibi[0], b, ki))
                            ok = kp is None or allowed_ref(mask, window, qp, kp, False)
                            logits.append(s if ok else MASKED)
                        w = softmax(logits)
                        for e in range(Dv):
                            out[b][h][qi][e] = sum(
                                w[j] * kv_of(kv_tokens[j][1], kv_tokens[j][2], b, kh)[1][e]
                                for j in range(len(kv_tokens)))
    return out


def split_heads_ref(x, H):
    B, S, E = shape_of(x)
    D = E // H
    return [[[x[b][s][h * D:(h + 1) * D] for s in range(S)] for h in range(H)] for b in range(B)]


def merge_heads_ref(x):
    B, H, S, D = shape_of(x)
    return [[[x[b][h][s][d] for h in range(H) for d in range(D)] for s in range(S)] for b in range(B)]


# ------------------------------------------------------------------ cases ----
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Module:
    """Collects the lines of one case function."""

    def __init__(self, name):
        self.name, self.lines, self.n = name, [], 0

    def const(self, value, et="f32", dynamic=()):
        shp = shape_of(value)
        self.n += 1
        v = "%%c%d" % self.n
        lit = bool_literal(value) if et == "i1" else literal(value, et)
        self.lines.append("%s = arith.constant %s : %s" % (v, lit, ttype(shp, et)))
        if dynamic:
            self.n += 1
            d = "%%c%d" % self.n
            self.lines.append("%s = tensor.cast %s : %s to %s" % (
                d, v, ttype(shp, et), ttype(shp, et, dynamic)))
            return d
        return v

    def op(self, text):
        self.n += 1
        v = "%%r%d" % self.n
        self.lines.append("%s = %s" % (v, text))
        return v

    def print(self, value, type_):
        self.n += 1
        u = "%%u%d" % self.n
        self.lines.append("%s = tensor.cast %s : %s to tensor<*xf32>" % (u, value, type_))
        self.lines.append("call @printMemrefF32(%s) : (tensor<*xf32>) -> ()" % u)


@case
def norms(m):
    x = rand(2, 3, 8)
    g, b = rand(8), rand(8)
    xv, gv, bv = m.const(x, dynamic=(1,)), m.const(g), m.const(b)
    t = "tensor<2x?x8xf32>"
    r1 = m.op("attn.norm rms %s, %s eps(1.0e-05) zero_centered : %s, tensor<8xf32>" % (xv, gv, t))
    r2 = m.op("attn.norm layer %s, %s, %s : %s, tensor<8xf32>, tensor<8xf32>" % (r1, gv, bv, t))
    r3 = m.op("attn.norm identity %s : %s" % (r2, t))
    m.print(r3, t)
    return norm_ref(norm_ref(x, "rms", g, eps=1e-5, zc=True), "layer", g, b)


@case
def linear_activations(m):
    x, w, b = rand(2, 3, 6), rand(5, 6), rand(5)
    xv, wv, bv = m.const(x, dynamic=(1,)), m.const(w), m.const(b)
    y = m.op("attn.linear %s, %s, %s : tensor<2x?x6xf32>, tensor<5x6xf32>, tensor<5xf32> -> tensor<2x?x5xf32>" % (xv, wv, bv))
    ref = linear_ref(x, w, b)
    for kind in ["gelu", "gelu_tanh", "relu", "silu", "tanh"]:
        y = m.op("attn.activation %s %s : tensor<2x?x5xf32>" % (kind, y))
        ref = emap(ref, lambda v, kind=kind: act(kind, v))
    y = m.op("attn.softcap %s cap(0.5) : tensor<2x?x5xf32>" % y)
    ref = emap(ref, lambda v: 0.5 * math.tanh(v / 0.5))
    m.print(y, "tensor<2x?x5xf32>")
    return ref


@case
def embeddings(m):
    ids = [[3, 0, 7], [1, 1, 9]]
    table = rand(10, 6)
    ptable = rand(12, 6)
    pos = [[0, 1, 2], [5, 6, 7]]
    iv, tv, pv = m.const(ids, "i32"), m.const(table), m.const(pos, "i64")
    ptv = m.const(ptable)
    e = m.op("attn.embed %s, %s scale(2.0) : tensor<2x3xi32>, tensor<10x6xf32> -> tensor<2x3x6xf32>" % (iv, tv))
    e = m.op("attn.sinusoidal_add %s, %s base(100.0) : tensor<2x3x6xf32>, tensor<2x3xi64>" % (e, pv))
    e = m.op("attn.learned_position_add %s, %s, %s : tensor<2x3x6xf32>, tensor<12x6xf32>, tensor<2x3xi64>" % (e, ptv, pv))
    m.print(e, "tensor<2x3x6xf32>")
    ref = [[[2.0 * table[ids[b][s]][d] for d in range(6)] for s in range(3)] for b in range(2)]
    for b in range(2):
        for s in range(3):
            for d in range(6):
                ang = pos[b][s] * 100.0 ** (-2.0 * (d // 2) / 6)
                ref[b][s][d] += math.sin(ang) if d % 2 == 0 else math.cos(ang)
                ref[b][s][d] += ptable[pos[b][s]][d]
    return ref


@case
def patch_embed(m):
    img = rand(1, 4, 6, 2)
    w, b = rand(3, 2, 2, 2), rand(3)  # [D, C, P, P]
    r = m.op("attn.patch_embed %s, %s, %s : tensor<1x4x6x2xf32>, tensor<3x2x2x2xf32>, tensor<3xf32> -> tensor<1x6x3xf32>"
             % (m.const(img), m.const(w), m.const(b)))
    m.print(r, "tensor<1x6x3xf32>")
    ref = zeros(1, 6, 3)
    for ph in range(2):
        for pw in range(3):
            for d in range(3):
                s = b[d]
                for i in range(2):
                    for j in range(2):
                        for c in range(2):
                            s += img[0][ph * 2 + i][pw * 2 + j][c] * w[d][c][i][j]
                ref[0][ph * 3 + pw][d] = s
    return ref


@case
def rope(m):
    x = rand(2, 2, 3, 8)
    pos = [[0, 1, 2], [4, 9, 30]]
    pos1 = [2, 5, 7]
    xv = m.const(x, dynamic=(2,))
    pv, p1 = m.const(pos, "i32", dynamic=(1,)), m.const(pos1, "i64", dynamic=(0,))
    t = "tensor<2x2x?x8xf32>"
    a = m.op("attn.rope split_half %s, %s base(100.0) : %s, tensor<2x?xi32>" % (xv, pv, t))
    b = m.op("attn.rope interleaved %s, %s fraction(0.5) scale_factor(2.0) : %s, tensor<?xi64>" % (a, p1, t))
    m.print(b, t)
    return rope_ref(rope_ref(x, pos, "split_half", base=100.0), pos1, "interleaved",
                    fraction=0.5, sf=2.0)


@case
def sdpa_gqa_causal_softcap(m):
    q, k, v = rand(1, 4, 5, 4), rand(1, 2, 5, 4), rand(1, 2, 5, 3)
    t = "tensor<1x4x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32> -> tensor<1x4x?x3xf32>"
    r = m.op("attn.sdpa %s, %s, %s mask(causal) scale(0.5) softcap(1.5) : %s" % (
        m.const(q, dynamic=(2,)), m.const(k, dynamic=(2,)), m.const(v, dynamic=(2,)), t))
    m.print(r, "tensor<1x4x?x3xf32>")
    return sdpa_ref(q, k, v, "causal", scale=0.5, softcap=1.5)


@case
def sdpa_window_positions_allowed(m):
    # decode-like: 2 queries at positions 5, 6 against 7 cache slots, the last
    # slot unwritten (position -1); window 3; an explicit mask drops one key.
    q, k, v = rand(2, 2, 2, 4), rand(2, 1, 7, 4), rand(2, 1, 7, 4)
    qp = [[5, 6], [5, 6]]
    kp = [[0, 1, 2, 3, 4, 5, -1], [0, 1, 2, 3, 4, 5, 6]]
    allowed = [[[True] * 7, [True] * 7], [[True] * 7, [True, True, True, True, False, True, True]]]
    r = m.op("attn.sdpa %s, %s, %s mask(sliding_window 3) positions(%s, %s : tensor<2x2xi32>, tensor<2x7xi32>) "
             "allowed(%s : tensor<2x2x7xi1>) scale(0.7) : tensor<2x2x2x4xf32>, tensor<2x1x7x4xf32>, "
             "tensor<2x1x7x4xf32> -> tensor<2x2x2x4xf32>" % (
                 m.const(q), m.const(k), m.const(v), m.const(qp, "i32"), m.const(kp, "i32"),
                 m.const(allowed, "i1")))
    m.print(r, "tensor<2x2x2x4xf32>")
    return sdpa_ref(q, k, v, "sliding_window", 3, 0.7, qpos=qp, kpos=kp, allowed=allowed)


@case
def sdpa_local_prefix(m):
    # a band |i - j| < 2 with the first 2 keys always visible
    q, k, v = rand(1, 2, 4, 4), rand(1, 2, 6, 4), rand(1, 2, 6, 4)
    n = m.op("arith.constant 2 : index")
    r = m.op("attn.sdpa %s, %s, %s mask(local 2) unmasked_prefix(%s) scale(0.5) : "
             "tensor<1x2x4x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32> -> tensor<1x2x4x4xf32>" % (
                 m.const(q), m.const(k), m.const(v), n))
    m.print(r, "tensor<1x2x4x4xf32>")
    return sdpa_ref(q, k, v, "local", 2, 0.5, prefix=2)


@case
def sdpa_query_sees_nothing(m):
    # causal with explicit positions: the query at position 1 sees neither
    # key (positions 2, 3) and gets a zero output; the one at 3 sees both.
    q, k, v = rand(1, 1, 2, 4), rand(1, 1, 2, 4), rand(1, 1, 2, 4)
    r = m.op("attn.sdpa %s, %s, %s mask(causal) positions(%s, %s : tensor<2xi32>, tensor<2xi32>) "
             "scale(0.5) : tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32> "
             "-> tensor<1x1x2x4xf32>" % (
                 m.const(q), m.const(k), m.const(v), m.const([1, 3], "i32"),
                 m.const([2, 3], "i32")))
    m.print(r, "tensor<1x1x2x4xf32>")
    return sdpa_ref(q, k, v, "causal", 0, 0.5, qpos=[1, 3], kpos=[2, 3])


@case
def sdpa_alibi(m):
    # causal with ALiBi from positions that are not the indices; GQA 4/2.
    q, k, v = rand(2, 4, 3, 4), rand(2, 2, 3, 4), rand(2, 2, 3, 4)
    pos = [[0, 1, 2], [3, 5, 8]]
    slopes = [0.5, 0.25, 0.125, 0.0625]
    r = m.op("attn.sdpa %s, %s, %s mask(causal) alibi(%s, %s : tensor<2x?xi32>, tensor<2x?xi32>) "
             "slopes [0.5, 0.25, 0.125, 0.0625] scale(0.5) : tensor<2x4x?x4xf32>, tensor<2x2x?x4xf32>, "
             "tensor<2x2x?x4xf32> -> tensor<2x4x?x4xf32>" % (
                 m.const(q, dynamic=(2,)), m.const(k, dynamic=(2,)), m.const(v, dynamic=(2,)),
                 m.const(pos, "i32", dynamic=(1,)), m.const(pos, "i32", dynamic=(1,))))
    m.print(r, "tensor<2x4x?x4xf32>")
    return sdpa_ref(q, k, v, "causal", 0, 0.5, alibi=(pos, pos, slopes))


@case
def mixed_alibi_cache(m):
    # ALiBi over a full pattern (|distance|) with a cache group that gets no
    # bias; the positions are the model's, [S].
    q, k, v = rand(1, 2, 4, 4), rand(1, 2, 4, 4), rand(1, 2, 4, 4)
    pk, pv = rand(1, 2, 2, 4), rand(1, 2, 2, 4)
    pos = [4, 6, 7, 9]
    r = m.op(
        'attn.mixed_sdpa %s, %s, %s cached(%s, %s) groups ["mem": cache, "x": 4] '
        'patterns [["x"] -> ["x", "mem"] full] alibi(%s : tensor<4xi32>) slopes [0.25, 0.0625] '
        'scale(0.5) : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, '
        'tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32> -> tensor<1x2x4x4xf32>' % (
            m.const(q), m.const(k), m.const(v), m.const(pk), m.const(pv),
            m.const(pos, "i32")))
    m.print(r, "tensor<1x2x4x4xf32>")
    return mixed_ref(q, k, v, [("mem", "cache"), ("x", 4)],
                     [(["x"], ["x", "mem"], "full", 0)], {"mem": (pk, pv)}, 0.5,
                     alibi=(pos, [0.25, 0.0625]))


@case
def mixed_groups_cache(m):
    # groups: past (cache, 3 tokens), anchors (2), queries (dynamic: 3)
    # anchors attend to past + anchors (full); queries attend causally to
    # past + anchors + queries (past always visible); softcap on all.
    q, k, v = rand(1, 2, 5, 4), rand(1, 1, 5, 4), rand(1, 1, 5, 4)
    pk, pv = rand(1, 1, 3, 4), rand(1, 1, 3, 4)
    d = (2,)
    r = m.op(
        'attn.mixed_sdpa %s, %s, %s cached(%s, %s) groups ["past": cache, "anchors": 2, "queries": ?] '
        'patterns [["anchors"] -> ["past", "anchors"] full, ["queries"] -> ["anchors", "queries", "past"] causal] '
        'scale(0.5) softcap(2.0) : tensor<1x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, '
        'tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<1x2x?x4xf32>' % (
            m.const(q, dynamic=d), m.const(k, dynamic=d), m.const(v, dynamic=d),
            m.const(pk, dynamic=d), m.const(pv, dynamic=d)))
    m.print(r, "tensor<1x2x?x4xf32>")
    return mixed_ref(q, k, v, [("past", "cache"), ("anchors", 2), ("queries", "?")],
                     [(["anchors"], ["past", "anchors"], "full", 0),
                      (["queries"], ["anchors", "queries", "past"], "causal", 0)],
                     {"past": (pk, pv)}, 0.5, 2.0)


@case
def mixed_out_of_order(m):
    q, k, v = rand(1, 2, 6, 4), rand(1, 2, 6, 4), rand(1, 2, 6, 4)
    r = m.op(
        'attn.mixed_sdpa %s, %s, %s groups ["a": 2, "b": 1, "c": 3] '
        'patterns [["c", "a"] -> ["c", "a"] sliding_window 2, ["b"] -> ["a", "b"] causal] scale(0.5) '
        ': tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32> -> tensor<1x2x6x4xf32>' % (
            m.const(q), m.const(k), m.const(v)))
    m.print(r, "tensor<1x2x6x4xf32>")
    return mixed_ref(q, k, v, [("a", 2), ("b", 1), ("c", 3)],
                     [(["c", "a"], ["c", "a"], "sliding_window", 2),
                      (["b"], ["a", "b"], "causal", 0)], {}, 0.5)


@case
def heads_and_cache(m):
    x = rand(1, 3, 8)
    cache = rand(1, 2, 5, 4)
    xv = m.const(x, dynamic=(1,))
    qh = m.op("attn.split_heads %s : tensor<1x?x8xf32> -> tensor<1x2x?x4xf32>" % xv)
    rep = m.op("attn.repeat_kv %s : tensor<1x2x?x4xf32> -> tensor<1x4x?x4xf32>" % qh)
    merged = m.op("attn.merge_heads %s : tensor<1x4x?x4xf32> -> tensor<1x?x16xf32>" % rep)
    m.print(merged, "tensor<1x?x16xf32>")
    heads = split_heads_ref(x, 2)
    ref1 = merge_heads_ref([[heads[0][h // 2] for h in range(4)]])
    # write the 3 new rows at slot 1, read back the first 4 slots
    off = m.op("arith.constant 1 : index")
    n4 = m.op("arith.constant 4 : index")
    c2 = m.op("attn.kv_append %s into %s[%s] : tensor<1x2x?x4xf32> into tensor<1x2x5x4xf32>" % (
        qh, m.const(cache), off))
    rd = m.op("attn.kv_read %s[%s] : tensor<1x2x5x4xf32> -> tensor<1x2x?x4xf32>" % (c2, n4))
    m.print(rd, "tensor<1x2x?x4xf32>")
    new = [[list(map(list, cache[0][h])) for h in range(2)]]
    for h in range(2):
        for s in range(3):
            new[0][h][1 + s] = heads[0][h][s]
    ref2 = [[new[0][h][:4] for h in range(2)]]
    return [ref1, ref2]


@case
def mlps_outputs(m):
    x = rand(2, 3, 4)
    up, down = rand(6, 4), rand(4, 6)  # [out, in]
    bu, bd = rand(6), rand(4)
    xv = m.const(x, dynamic=(1,))
    upv, downv, buv, bdv = m.const(up), m.const(down), m.const(bu), m.const(bd)
    t = "tensor<2x?x4xf32>"
    y = m.op("attn.mlp gelu %s, %s, %s bias(%s, %s) : %s, tensor<6x4xf32>, tensor<4x6xf32>, tensor<6xf32>, tensor<4xf32> -> %s"
             % (xv, upv, downv, buv, bdv, t, t))
    ref = linear_ref(emap(linear_ref(x, up, bu), lambda v: act("gelu", v)), down, bd)
    z = m.op("attn.gated_mlp silu %s, %s, %s, %s : %s, tensor<6x4xf32>, tensor<6x4xf32>, tensor<4x6xf32> -> %s"
             % (y, upv, upv, downv, t, t))
    gate = linear_ref(ref, up)
    h = map_last(gate, lambda r: [act("silu", v) * v for v in r])
    ref = linear_ref(h, down)
    z = m.op("attn.residual_add %s, %s : %s" % (z, y, t))
    ref_res = [[[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(p1, p2)]
               for p1, p2 in zip(ref, linear_ref(emap(linear_ref(x, up, bu), lambda v: act("gelu", v)), down, bd))]
    m.print(z, t)
    table = rand(5, 4)
    logits = m.op("attn.unembed %s, %s : %s, tensor<5x4xf32> -> tensor<2x?x5xf32>" % (z, m.const(table), t))
    m.print(logits, "tensor<2x?x5xf32>")
    ref_logits = map_last(ref_res, lambda r: [sum(r[i] * table[v][i] for i in range(4)) for v in range(5)])
    cls = m.op("attn.pool cls %s : %s -> tensor<2x4xf32>" % (z, t))
    mean = m.op("attn.pool mean %s : %s -> tensor<2x4xf32>" % (z, t))
    m.print(cls, "tensor<2x4xf32>")
    m.print(mean, "tensor<2x4xf32>")
    ref_cls = [ref_res[b][0] for b in range(2)]
    ref_mean = [[sum(ref_res[b][s][d] for s in range(3)) / 3 for d in range(4)] for b in range(2)]
    return [ref_res, ref_logits, ref_cls, ref_mean]


# ------------------------------------------------------------------ main ----
def build():
    funcs, refs = [], []
    for fn in CASES:
        m = Module(fn.__name__)
        ref = fn(m)
        # A case returns one reference, or a list of references for several
        # prints (marked by a list of 3-D-or-more lists).
        n_prints = sum(1 for l in m.lines if "printMemrefF32" in l)
        refs.extend(ref if n_prints > 1 else [ref])
        body = "\n".join("  " + l for l in m.lines)
        funcs.append("func.func @%s() {\n%s\n  return\n}" % (fn.__name__, body))
    return funcs, refs


def emit():
    funcs, _ = build()
    print("// Generated by attn_numerics.py emit; do not edit.")
    print("func.func private @printMemrefF32(tensor<*xf32> {bufferization.access = \"read\"})")
    for f in funcs:
        print(f)
    print("func.func @main() {")
    for fn in CASES:
        print("  call @%s() : () -> ()" % fn.__name__)
    print("  return\n}")


NUM = re.compile(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)")


def main_module(funcs, names):
    """Module text: printMemrefF32's declaration, the case functions and a
    @main that calls each case (by name) in order."""
    lines = ['func.func private @printMemrefF32(tensor<*xf32> '
             '{bufferization.access = "read"})', *funcs, "func.func @main() {"]
    lines += ["  call @%s() : () -> ()" % n for n in names]
    return "\n".join(lines + ["  return", "}"]) + "\n"


def printed_values(text, count):
    """The values of every tensor printMemrefF32 printed in `text`, in
    order; exits unless there are `count` of them."""
    blocks = text.split("Unranked Memref")[1:]
    if len(blocks) != count:
        sys.exit("expected %d printed tensors, found %d" % (count, len(blocks)))
    return [[float(x) for x in NUM.findall(b.split("data =", 1)[1])]
            for b in blocks]


def mismatch(got, want, tol):
    """Why `got` is not `want` within tol abs + tol rel (the first element
    off, or the counts), or None."""
    if len(got) != len(want):
        return "%d values, expected %d" % (len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        if not abs(g - w) <= tol + tol * abs(w):
            return "element %d: expected %.6g, found %.6g" % (i, w, g)
    return None


def run_tool(cmd):
    """Runs cmd; its stdout, or exit with its stderr's tail."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("exit %d: %s\n%s" % (p.returncode, " ".join(map(str, cmd)),
                                      p.stderr[-3000:]))
    return p.stdout


def check(path):
    _, refs = build()
    text = open(path).read()
    blocks = text.split("Unranked Memref")[1:]
    if len(blocks) != len(refs):
        print("expected %d printed tensors, found %d" % (len(refs), len(blocks)))
        return 1
    bad = 0
    for n, (block, ref) in enumerate(zip(blocks, refs)):
        sizes = [int(s) for s in re.search(r"sizes = \[([^\]]*)\]", block).group(1).split(",") if s.strip()]
        data = block.split("data =", 1)[1]
        got = [float(v) for v in NUM.findall(data)]
        want = flat(ref)
        if sizes != shape_of(ref) or len(got) != len(want):
            print("tensor %d: expected shape %s, found %s" % (n, shape_of(ref), sizes))
            bad += 1
            continue
        for i, (g, w) in enumerate(zip(got, want)):
            if not (abs(g - w) <= 2e-4 + 2e-4 * abs(w)):
                print("tensor %d element %d: expected %.6g, found %.6g" % (n, i, w, g))
                bad += 1
                break
    print("checked %d tensors: %s" % (len(refs), "ok" if not bad else "%d mismatching" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "emit":
        emit()
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
