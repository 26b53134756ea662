#!/usr/bin/python3
"""Golden outputs for tests/e2e, computed by PyTorch.

Each model of cases.json is written here a second time, in plain PyTorch and
in the conventions of the implementation it imitates (Hugging Face Llama,
GPT-2 and BERT, timm's ViT, GPT-NeoX/BLOOM for the parallel block and ALiBi,
noether's MixedAttention, gemma), from those conventions rather than from the
C++ reference interpreter. The hyperparameters are written out below (as a
Hugging Face config would be), not read from the YAML; the shapes of the
committed weights are checked against them.

Everything is computed in float64 from the committed weights (F32 or BF16,
converted exactly) and saved as float32 .npy, so the goldens carry no float32
rounding of their own.

Regenerate (Debian: apt-get install python3-torch python3-numpy):
    /usr/bin/python3 tests/e2e/make_goldens.py                 # goldens only
    /usr/bin/python3 tests/e2e/make_goldens.py --attnc build/bin/attnc
        # also rewrites the weights with `attnc init-weights` and the inputs,
        # then reports the reference interpreter's error on every case
The tests (tests/unit/E2EGoldenTest.cpp, tests/e2e/reference-goldens.test)
only read the committed files: they need neither torch nor numpy.
"""

import argparse
import json
import math
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from check_goldens import interpret_command  # noqa: E402

torch.set_default_dtype(torch.float64)


# ---- files ---------------------------------------------------------------

def load_safetensors(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    buf = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = buf[begin:end]
        if e["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: {name}: dtype {e['dtype']}")
        out[name] = torch.from_numpy(a.reshape(e["shape"]).astype(np.float64))
    return out


class Weights:
    """Canonical weight names; every weight must be used exactly once."""

    def __init__(self, tensors):
        self.t = tensors
        self.used = set()

    def __call__(self, name, shape=None):
        w = self.t[name]
        if shape is not None and tuple(w.shape) != tuple(shape):
            raise SystemExit(f"{name}: shape {tuple(w.shape)}, expected {shape}")
        self.used.add(name)
        return w

    def get(self, name):
        return self(name) if name in self.t else None

    def check_all_used(self):
        unused = set(self.t) - self.used
        if unused:
            raise SystemExit(f"weights not used by the PyTorch model: {sorted(unused)}")


def save(path, tensor):
    np.save(path, tensor.detach().numpy().astype(np.float32))


# ---- shared pieces --------------------------------------------------------

def rms_norm(x, w, eps, plus_one=False):
    # HF LlamaRMSNorm; gemma's RMSNorm multiplies by (1 + scale).
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x * ((1.0 + w) if plus_one else w)


def heads(x, n):
    # [L, n*hd] -> [n, L, hd]
    return x.view(x.shape[0], n, -1).transpose(0, 1)


def merge_heads(x):
    # [n, L, hd] -> [L, n*hd]
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def repeat_kv(x, n_rep):
    # HF repeat_kv: kv head g serves query heads g*n_rep ... g*n_rep+n_rep-1.
    return x.repeat_interleave(n_rep, dim=0)


def attend(q, k, v, scale, allowed=None, bias=None):
    scores = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


# ---- Hugging Face Llama ---------------------------------------------------

def llama(w, ids, cfg):
    d, H, K, F_, L = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["ffn"], cfg["layers"]
    hd = d // H
    n = len(ids)
    x = w("embed.tokens", (cfg["vocab"], d))[torch.tensor(ids)]
    pos = torch.arange(n, dtype=torch.float64)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rotate_half(t):
        t1, t2 = t[..., : t.shape[-1] // 2], t[..., t.shape[-1] // 2:]
        return torch.cat((-t2, t1), dim=-1)

    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for i in range(L):
        p = f"layers.{i}."
        h = rms_norm(x, w(p + "attn_norm.weight", (d,)), cfg["eps"])
        q = heads(F.linear(h, w(p + "attn.q.weight", (H * hd, d))), H)
        k = heads(F.linear(h, w(p + "attn.k.weight", (K * hd, d))), K)
        v = heads(F.linear(h, w(p + "attn.v.weight", (K * hd, d))), K)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        o = attend(q, repeat_kv(k, H // K), repeat_kv(v, H // K), hd ** -0.5, causal)
        x = x + F.linear(merge_heads(o), w(p + "attn.o.weight", (d, H * hd)))
        h = rms_norm(x, w(p + "mlp_norm.weight", (d,)), cfg["eps"])
        gate = F.silu(F.linear(h, w(p + "mlp.gate.weight", (F_, d))))
        up = F.linear(h, w(p + "mlp.up.weight", (F_, d)))
        x = x + F.linear(gate * up, w(p + "mlp.down.weight", (d, F_)))
    x = rms_norm(x, w("final_norm.weight", (d,)), cfg["eps"])
    return F.linear(x, w("head.weight", (cfg["vocab"], d)))


# ---- Hugging Face GPT-2 ---------------------------------------------------

def gpt2(w, ids, cfg):
    d, H, F_, L = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"]
    hd = d // H
    n = len(ids)
    wte = w("embed.tokens", (cfg["vocab"], d))
    x = wte[torch.tensor(ids)] + w("embed.positions", (cfg["n_positions"], d))[:n]
    causal = torch.ones(n, n, dtype=torch.bool).tril()

    def ln(t, name):
        return F.layer_norm(t, (d,), w(name + ".weight", (d,)), w(name + ".bias", (d,)), cfg["eps"])

    def lin(t, name, out, inp):
        return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

    for i in range(L):
        p = f"layers.{i}."
        h = ln(x, p + "attn_norm")
        q, k, v = (heads(lin(h, p + "attn." + s, d, d), H) for s in "qkv")
        o = attend(q, k, v, 1.0 / math.sqrt(hd), causal)
        x = x + lin(merge_heads(o), p + "attn.o", d, d)
        h = ln(x, p + "mlp_norm")
        x = x + lin(F.gelu(lin(h, p + "mlp.up", F_, d), approximate="tanh"),
                    p + "mlp.down", d, F_)
    x = ln(x, "final_norm")
    return x @ wte.T  # tied lm_head


# ---- Hugging Face BERT ----------------------------------------------------

def bert(w, ids, types, cfg):
    d, H, F_, L = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"]
    hd = d // H
    n = len(ids)

    def ln(t, name):
        return F.layer_norm(t, (d,), w(name + ".weight", (d,)), w(name + ".bias", (d,)), cfg["eps"])

    def lin(t, name, out, inp):
        return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

    emb = (w("embed.tokens", (cfg["vocab"], d))[torch.tensor(ids)]
           + w("embed.token_types", (2, d))[torch.tensor(types)])
    emb = emb + w("embed.positions", (cfg["max_positions"], d))[:n]
    x = ln(emb, "embed.norm")
    for i in range(L):
        p = f"layers.{i}."
        q, k, v = (heads(lin(x, p + "attn." + s, d, d), H) for s in "qkv")
        ctx = merge_heads(attend(q, k, v, 1.0 / math.sqrt(hd)))
        attn_out = ln(lin(ctx, p + "attn.o", d, d) + x, p + "attn_norm")  # BertSelfOutput
        inter = F.gelu(lin(attn_out, p + "mlp.up", F_, d))                 # BertIntermediate
        x = ln(lin(inter, p + "mlp.down", d, F_) + attn_out, p + "mlp_norm")  # BertOutput
    pooled = torch.tanh(lin(x[0], "pooler", d, d))                        # BertPooler
    return x, pooled


# ---- timm VisionTransformer -----------------------------------------------

def vit(w, image_hwc, cfg):
    d, H, F_, L, p = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"], cfg["patch"]
    hd = d // H
    C = image_hwc.shape[2]
    img = image_hwc.permute(2, 0, 1).unsqueeze(0)  # NCHW
    patches = F.conv2d(img, w("embed.patch.weight", (d, C, p, p)),
                       w("embed.patch.bias", (d,)), stride=p)
    patches = patches.flatten(2).transpose(1, 2)[0]  # [N, d], row-major grid
    x = torch.cat([w("embed.learned.cls", (1, d)), patches], dim=0)
    x = x + w("embed.positions", (x.shape[0], d))

    def ln(t, name):
        return F.layer_norm(t, (d,), w(name + ".weight", (d,)), w(name + ".bias", (d,)), cfg["eps"])

    def lin(t, name, out, inp):
        return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

    for i in range(L):
        pre = f"layers.{i}."
        h = ln(x, pre + "attn_norm")
        q, k, v = (heads(lin(h, pre + "attn." + s, d, d), H) for s in "qkv")
        x = x + lin(merge_heads(attend(q, k, v, hd ** -0.5)), pre + "attn.o", d, d)
        h = ln(x, pre + "mlp_norm")
        x = x + lin(F.gelu(lin(h, pre + "mlp.up", F_, d)), pre + "mlp.down", d, F_)
    x = ln(x, "final_norm")
    return lin(x[0], "classifier", cfg["classes"], d)


# ---- GPT-NeoX parallel block with ALiBi and two token groups -------------

def alibi_slopes(n):
    # Press et al., the reference implementation's get_slopes.
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][: n - closest]


def prefix_lm(w, prefix, text, cfg):
    d, H, F_, L = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"]
    hd = d // H
    ids = prefix + text
    n, P = len(ids), len(prefix)
    x = w("embed.tokens", (cfg["vocab"], d))[torch.tensor(ids)]
    # Which key each query sees: the prefix sees the whole prefix; the text
    # sees prefix and text keys at most window-1 behind it (and not ahead).
    allowed = torch.zeros(n, n, dtype=torch.bool)
    allowed[:P, :P] = True
    for i in range(P, n):
        for j in range(n):
            allowed[i, j] = 0 <= i - j < cfg["window"]
    idx = torch.arange(n, dtype=torch.float64)
    dist = idx[:, None] - idx[None, :]
    dist[:P, :P] = dist[:P, :P].abs()  # bidirectional part: |i - j|
    slopes = torch.tensor(alibi_slopes(H))
    bias = -slopes[:, None, None] * dist[None]

    def ln(t, name):  # LayerNorm without bias
        return F.layer_norm(t, (d,), w(name + ".weight", (d,)), None, cfg["eps"])

    def lin(t, name, out, inp):
        return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

    for i in range(L):
        p = f"layers.{i}."
        h = ln(x, p + "attn_norm")
        q, k, v = (heads(lin(h, p + "attn." + s, d, d), H) for s in "qkv")
        attn = lin(merge_heads(attend(q, k, v, hd ** -0.5, allowed, bias)), p + "attn.o", d, d)
        m = ln(x, p + "mlp_norm")
        mlp = lin(F.relu(lin(m, p + "mlp.up", F_, d)), p + "mlp.down", d, F_)
        x = x + attn + mlp  # GPTNeoXLayer, use_parallel_residual
    x = ln(x, "final_norm")
    return F.linear(x, w("head.weight", (cfg["vocab"], d)))


# ---- noether MixedAttention over caller embeddings ------------------------

def sinusoidal(n, d):
    # "Attention is all you need": even dims sin, odd dims cos, same angle.
    pe = torch.zeros(n, d)
    position = torch.arange(n, dtype=torch.float64)[:, None]
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def anchor(w, anchors, queries, cfg):
    d, H, F_, L = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"]
    hd = d // H
    x = torch.cat([anchors, queries], dim=0)
    A = anchors.shape[0]
    x = x + sinusoidal(x.shape[0], d)

    def ln(t, name):
        return F.layer_norm(t, (d,), w(name + ".weight", (d,)), w(name + ".bias", (d,)), cfg["eps"])

    def lin(t, name, out, inp):
        return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

    for i in range(L):
        p = f"layers.{i}."
        h = ln(x, p + "attn_norm")
        q, k, v = (heads(lin(h, p + "attn." + s, d, d), H) for s in "qkv")
        q = rms_norm(q, w(p + "attn.q_norm.weight", (hd,)), cfg["eps"])
        k = rms_norm(k, w(p + "attn.k_norm.weight", (hd,)), cfg["eps"])
        # One pattern: every token attends to the anchors' keys/values only.
        o = attend(q, k[:, :A], v[:, :A], hd ** -0.5)
        x = x + lin(merge_heads(o), p + "attn.o", d, d)
        h = ln(x, p + "mlp_norm")
        g = F.gelu(lin(h, p + "mlp.gate", F_, d)) * lin(h, p + "mlp.up", F_, d)
        x = x + lin(g, p + "mlp.down", d, F_)
    x = ln(x, "final_norm")
    pooled = torch.tanh(lin(x.mean(dim=0), "pooler", d, d))
    return lin(pooled, "classifier", cfg["classes"], d)


# ---- gemma ----------------------------------------------------------------

def gemma(w, ids, positions, cfg):
    d, H, K, hd, F_ = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["ffn"]
    n = len(ids)
    eps = cfg["eps"]
    table = w("embed.tokens", (cfg["vocab"], d))
    x = table[torch.tensor(ids)] * math.sqrt(d)
    pos = torch.tensor(positions, dtype=torch.float64)
    idx = torch.arange(n)

    def norm(t, name, size=d):
        return rms_norm(t, w(name, (size,)), eps, plus_one=True)

    def rope_interleaved(t, base, scale):
        # Meta-llama style: pairs (2i, 2i+1) as complex numbers, on the
        # leading rope_dims dims of each head.
        r = cfg["rope_dims"]
        freqs = 1.0 / (base ** (torch.arange(0, r, 2, dtype=torch.float64) / r))
        angles = torch.outer(pos / scale, freqs)
        rot = torch.polar(torch.ones_like(angles), angles)
        head, rest = t[..., :r], t[..., r:]
        c = torch.view_as_complex(head.reshape(*head.shape[:-1], r // 2, 2).contiguous())
        rotated = torch.view_as_real(c * rot).flatten(-2)
        return torch.cat([rotated, rest], dim=-1)

    for i, layer in enumerate(cfg["layer_types"]):
        p = f"layers.{i}."
        h = norm(x, p + "attn_norm.weight")
        q = heads(F.linear(h, w(p + "attn.q.weight", (H * hd, d))), H)
        k = heads(F.linear(h, w(p + "attn.k.weight", (K * hd, d))), K)
        v = heads(F.linear(h, w(p + "attn.v.weight", (K * hd, d))), K)
        q = norm(q, p + "attn.q_norm.weight", hd)
        k = norm(k, p + "attn.k_norm.weight", hd)
        if layer["rope"]:
            q = rope_interleaved(q, layer["base"], layer["scale"])
            k = rope_interleaved(k, layer["base"], layer["scale"])
        logits = (q * cfg["query_scale"]) @ repeat_kv(k, H // K).transpose(-1, -2)
        cap = cfg["attn_softcap"]
        logits = cap * torch.tanh(logits / cap)
        mask = idx[None, :] <= idx[:, None]
        if layer["window"]:
            mask &= (idx[:, None] - idx[None, :]).abs() < layer["window"]
        logits = torch.where(mask, logits, torch.tensor(-2.3819763e38))
        o = torch.softmax(logits, dim=-1) @ repeat_kv(v, H // K)
        o = F.linear(merge_heads(o), w(p + "attn.o.weight", (d, H * hd)))
        x = x + norm(o, p + "post_attn_norm.weight")
        h = norm(x, p + "mlp_norm.weight")
        g = F.gelu(F.linear(h, w(p + "mlp.gate.weight", (F_, d))), approximate="tanh")
        m = F.linear(g * F.linear(h, w(p + "mlp.up.weight", (F_, d))), w(p + "mlp.down.weight", (d, F_)))
        x = x + norm(m, p + "post_mlp_norm.weight")
    x = norm(x, "final_norm.weight")
    logits = x @ table.T
    cap = cfg["final_softcap"]
    return cap * torch.tanh(logits / cap)


# ---- cases ----------------------------------------------------------------

def npy(rel):
    return torch.from_numpy(np.load(HERE / rel).astype(np.float64))


def run_case(case):
    w = Weights(load_safetensors(HERE / case["weights"]))
    inp = case["inputs"]
    name = case["name"]
    extra = {}
    if name == "llama":
        out = llama(w, inp["tokens"]["text"], dict(
            hidden=24, heads=4, kv_heads=2, ffn=48, layers=2, vocab=48, eps=1e-5, rope_theta=10000.0))
    elif name == "gpt2":
        out = gpt2(w, inp["tokens"]["text"], dict(
            hidden=24, heads=3, ffn=48, layers=2, vocab=40, n_positions=12, eps=1e-5))
    elif name == "bert":
        out, extra["golden_pooled"] = bert(w, inp["tokens"]["text"], inp["token_types"], dict(
            hidden=24, heads=4, ffn=48, layers=2, vocab=40, max_positions=12, eps=1e-12))
    elif name == "vit":
        out = vit(w, npy(inp["images"]["patches"]), dict(
            hidden=16, heads=2, ffn=32, layers=2, patch=4, eps=1e-6, classes=5))
    elif name == "prefix-lm":
        out = prefix_lm(w, inp["tokens"]["prefix"], inp["tokens"]["text"], dict(
            hidden=16, heads=4, ffn=32, layers=2, vocab=32, eps=1e-5, window=3))
    elif name == "anchor":
        e = inp["embeddings"]
        out = anchor(w, npy(e["anchors"]), npy(e["queries"]), dict(
            hidden=16, heads=2, ffn=32, layers=2, eps=1e-6, classes=3))
    elif name == "gemma":
        local = dict(window=3, base=100.0, scale=2.0, rope=True)
        glob = dict(window=None, base=10000.0, scale=1.0, rope=True)
        out = gemma(w, inp["tokens"]["text"], inp["positions"], dict(
            hidden=16, heads=2, kv_heads=1, head_dim=8, ffn=32, vocab=64, eps=1e-6,
            rope_dims=4, query_scale=0.3, attn_softcap=5.0, final_softcap=15.0,
            layer_types=[local, glob, dict(local, rope=False)]))
    else:
        raise SystemExit(f"no PyTorch model for case {name}")
    w.check_all_used()
    save(HERE / case["golden"], out)
    for key, value in extra.items():
        save(HERE / case[key], value)


def write_inputs():
    rng = np.random.RandomState(2024)
    np.save(HERE / "vit/image.npy", rng.uniform(-1, 1, size=(8, 12, 3)).astype(np.float32))
    np.save(HERE / "anchor/anchors.npy", rng.normal(size=(5, 16)).astype(np.float32))
    np.save(HERE / "anchor/queries.npy", rng.normal(size=(3, 16)).astype(np.float32))


def run_attnc(attnc, case, out_dir):
    cmd = interpret_command(attnc, case, out_dir / "out.npy",
                            out_dir / "pooled.npy")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    errors = {}
    for key, file in (("golden", "out.npy"), ("golden_pooled", "pooled.npy")):
        if key in case:
            got, want = np.load(out_dir / file), np.load(HERE / case[key])
            errors[key] = float(np.abs(got - want).max() / np.abs(want).max())
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attnc", help="attnc binary: rewrite weights and inputs first, check after")
    ap.add_argument("--case", action="append", help="only these cases")
    args = ap.parse_args()
    manifest = json.loads((HERE / "cases.json").read_text())
    cases = [c for c in manifest["cases"] if not args.case or c["name"] in args.case]
    if args.attnc:
        write_inputs()
        for c in cases:
            subprocess.run([args.attnc, "init-weights", str(HERE / c["config"]), "-q",
                            "-o", str(HERE / c["weights"]), "--seed", str(c["seed"]),
                            "--init", c["init"], "--norm-noise", str(c["norm_noise"])],
                           check=True)
    for c in cases:
        run_case(c)
        print(f"{c['name']}: wrote {c['golden']}")
    if args.attnc:
        worst = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            for c in cases:
                errors = run_attnc(args.attnc, c, pathlib.Path(tmp))
                for key, err in errors.items():
                    print(f"{c['name']:10s} {key:14s} max|ref - torch| / max|torch| = {err:.3e}")
                    worst = max(worst, err)
        print(f"worst {worst:.3e} (tolerance {manifest['tolerance']})")
        return 0 if worst < manifest["tolerance"] else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
