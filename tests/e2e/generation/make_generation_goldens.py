#!/usr/bin/python3
"""Greedy-generation goldens for tests/e2e/generation, computed by PyTorch.

A llama-style and a GPT-2-style model (Hugging Face conventions, written out
here in plain PyTorch with a KV cache: past keys/values per layer, keys
cached after RoPE, one forward over the prompt, then one token at a time at
position = cache length) generate `max_new` tokens greedily (argmax, lowest
index on ties) from each prompt of generation.json, in float64 from the
committed weights. The ids are written back into generation.json with the
smallest gap between the best and second-best logit seen (`min_margin`), so a
float32 implementation is known to be far from a tie.

Regenerate (Debian: apt-get install python3-torch python3-numpy):
    /usr/bin/python3 tests/e2e/generation/make_generation_goldens.py
    /usr/bin/python3 tests/e2e/generation/make_generation_goldens.py \
        --attnc build/bin/attnc   # first rewrites gpt2.safetensors
The test (tests/unit/GenerationGoldenTest.cpp) only reads the committed files.
"""

import argparse
import json
import math
import pathlib
import subprocess
import sys

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_goldens import Weights, load_safetensors, rms_norm  # noqa: E402

torch.set_default_dtype(torch.float64)


def split(x, n):
    # [L, n*hd] -> [n, L, hd]
    return x.view(x.shape[0], n, -1).transpose(0, 1)


def merge(x):
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def attend_cached(q, k, v, start, scale):
    """q [H, n, hd] at positions start..start+n-1 over k/v [H, start+n, hd]."""
    n, total = q.shape[1], k.shape[1]
    allowed = torch.arange(total)[None, :] <= (start + torch.arange(n))[:, None]
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class LlamaCached:
    """Hugging Face Llama with a DynamicCache-style past (keys after RoPE)."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.past = [None] * cfg["layers"]

    def __call__(self, ids, start):
        w, c = self.w, self.cfg
        d, H, K, F_ = c["hidden"], c["heads"], c["kv_heads"], c["ffn"]
        hd = d // H
        x = w("embed.tokens", (c["vocab"], d))[torch.tensor(ids)]
        pos = torch.arange(start, start + len(ids), dtype=torch.float64)
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2) / hd))
        emb = torch.cat([torch.outer(pos, inv_freq)] * 2, dim=-1)
        cos, sin = emb.cos(), emb.sin()

        def rope(t):
            t1, t2 = t[..., : hd // 2], t[..., hd // 2:]
            return t * cos + torch.cat((-t2, t1), dim=-1) * sin

        for i in range(c["layers"]):
            p = f"layers.{i}."
            h = rms_norm(x, w(p + "attn_norm.weight", (d,)), c["eps"])
            q = rope(split(F.linear(h, w(p + "attn.q.weight", (H * hd, d))), H))
            k = rope(split(F.linear(h, w(p + "attn.k.weight", (K * hd, d))), K))
            v = split(F.linear(h, w(p + "attn.v.weight", (K * hd, d))), K)
            if self.past[i] is not None:
                k = torch.cat([self.past[i][0], k], dim=1)
                v = torch.cat([self.past[i][1], v], dim=1)
            self.past[i] = (k, v)
            rep = H // K
            o = attend_cached(q, k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0),
                              start, hd ** -0.5)
            x = x + F.linear(merge(o), w(p + "attn.o.weight", (d, H * hd)))
            h = rms_norm(x, w(p + "mlp_norm.weight", (d,)), c["eps"])
            gate = F.silu(F.linear(h, w(p + "mlp.gate.weight", (F_, d))))
            up = F.linear(h, w(p + "mlp.up.weight", (F_, d)))
            x = x + F.linear(gate * up, w(p + "mlp.down.weight", (d, F_)))
        x = rms_norm(x, w("final_norm.weight", (d,)), c["eps"])
        return F.linear(x, w("head.weight", (c["vocab"], d)))


class Gpt2Cached:
    """Hugging Face GPT-2 with layer_past (tied lm_head)."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.past = [None] * cfg["layers"]

    def __call__(self, ids, start):
        w, c = self.w, self.cfg
        d, H, F_ = c["hidden"], c["heads"], c["ffn"]
        hd = d // H
        wte = w("embed.tokens", (c["vocab"], d))
        wpe = w("embed.positions", (c["n_positions"], d))
        x = wte[torch.tensor(ids)] + wpe[start:start + len(ids)]

        def ln(t, name):
            return F.layer_norm(t, (d,), w(name + ".weight", (d,)), w(name + ".bias", (d,)),
                                c["eps"])

        def lin(t, name, out, inp):
            return F.linear(t, w(name + ".weight", (out, inp)), w(name + ".bias", (out,)))

        for i in range(c["layers"]):
            p = f"layers.{i}."
            h = ln(x, p + "attn_norm")
            q, k, v = (split(lin(h, p + "attn." + s, d, d), H) for s in "qkv")
            if self.past[i] is not None:
                k = torch.cat([self.past[i][0], k], dim=1)
                v = torch.cat([self.past[i][1], v], dim=1)
            self.past[i] = (k, v)
            o = attend_cached(q, k, v, start, 1.0 / math.sqrt(hd))
            x = x + lin(merge(o), p + "attn.o", d, d)
            h = ln(x, p + "mlp_norm")
            x = x + lin(F.gelu(lin(h, p + "mlp.up", F_, d), approximate="tanh"),
                        p + "mlp.down", d, F_)
        x = ln(x, "final_norm")
        return x @ wte.T


MODELS = {
    "llama": (LlamaCached, dict(hidden=24, heads=4, kv_heads=2, ffn=48, layers=2, vocab=48,
                                eps=1e-5, rope_theta=10000.0)),
    "gpt2": (Gpt2Cached, dict(hidden=24, heads=3, ffn=48, layers=2, vocab=40,
                              n_positions=96, eps=1e-5)),
}


def greedy(model, prompt, max_new):
    logits = model(prompt, 0)[-1]
    length, out, margin = len(prompt), [], math.inf
    for _ in range(max_new):
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        token = int(torch.argmax(logits))  # first maximum, as torch.argmax
        out.append(token)
        logits = model([token], length)[-1]
        length += 1
    return out, margin


def dump(manifest):
    """generation.json with one line per key and per token list."""
    lines = ["{"]
    for key in ("about", "max_new"):
        lines.append(f" {json.dumps(key)}: {json.dumps(manifest[key])},")
    lines.append(' "cases": [')
    for n, case in enumerate(manifest["cases"]):
        lines.append("  {")
        items = list(case.items())
        for i, (key, value) in enumerate(items):
            end = "," if i + 1 < len(items) else ""
            if isinstance(value, list):
                rows = ",\n    ".join(json.dumps(v) for v in value)
                lines.append(f"   {json.dumps(key)}: [\n    {rows}]{end}")
            else:
                lines.append(f"   {json.dumps(key)}: {json.dumps(value)}{end}")
        lines.append("  }" + ("," if n + 1 < len(manifest["cases"]) else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attnc", help="attnc binary: rewrite the gpt2 weights first")
    args = ap.parse_args()
    manifest_path = HERE / "generation.json"
    manifest = json.loads(manifest_path.read_text())
    for case in manifest["cases"]:
        if args.attnc and "seed" in case:
            subprocess.run([args.attnc, "init-weights", str(HERE / case["config"]), "-q",
                            "-o", str(HERE / case["weights"]), "--seed", str(case["seed"]),
                            "--init", "torch", "--norm-noise", "0.1"], check=True)
        make, cfg = MODELS[case["model"]]
        w = Weights(load_safetensors(HERE / case["weights"]))
        case["expected"], margins = [], []
        for prompt in case["prompts"]:
            tokens, margin = greedy(make(w, cfg), prompt, manifest["max_new"])
            case["expected"].append(tokens)
            margins.append(margin)
        w.check_all_used()
        case["min_margin"] = round(min(margins), 6)
        print(f"{case['name']}: {len(case['prompts'])} prompts x {manifest['max_new']} tokens, "
              f"smallest top-1/top-2 logit gap {min(margins):.3e}")
    manifest_path.write_text(dump(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
