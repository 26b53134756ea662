#!/usr/bin/python3
"""PyTorch eager reference for bench/run.sh: samples/llama-style.yaml in plain
float32 PyTorch (Debian's python3-torch), the weights from the same
safetensors file that attnc binds, the same token ids as attnc_bench.

  torch_llama.py WEIGHTS TOKENS REPS THREADS [LOGITS.f32]
  torch_llama.py decode WEIGHTS PROMPT STEPS THREADS CACHE_LENGTH

Prints wall-clock "min median max" of one forward (logits for every token,
like attnc's forward), in milliseconds; with `decode`: a batched prefill of
PROMPT tokens into a preallocated KV cache, then STEPS greedy decode steps
(torch.mv for the batch-1 matrix-vector products, attention over the filled
slots), printing "prefill_ms decode_ms_per_token_median tokens_per_s". Run it with OMP_WAIT_POLICY=PASSIVE
and OPENBLAS_NUM_THREADS=THREADS (reference/perf-baselines.md section 4).
ATTNC_TORCH_DEVICE=cuda runs it on the GPU (bench/gpu/check.py; the timers
wait for the device); ATTNC_TORCH_TF32=1 lets its float32 matmuls use TF32
tensor cores there (compared with attnc's --tensor-cores=tf32)."""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

D, H, KV, FF, L, V, EPS, THETA = 768, 12, 4, 2048, 12, 32000, 1e-5, 10000.0
HD = D // H
DEVICE = os.environ.get("ATTNC_TORCH_DEVICE", "cpu")
if os.environ.get("ATTNC_TORCH_TF32") == "1":
    torch.backends.cuda.matmul.allow_tf32 = True


def sync():
    """Waits for the GPU's queued work (timers)."""
    if DEVICE != "cpu":
        torch.cuda.synchronize()


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        b, end = e["data_offsets"]
        a = np.frombuffer(mm[base + b:base + end], dtype="<f4").reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy()).to(DEVICE)
    return out


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def forward(w, ids, cos, sin, mask, cache=None):
    n = ids.shape[0]
    x = w["embed.tokens"][ids]

    def rope(t):  # split-half
        t1, t2 = t[..., :HD // 2], t[..., HD // 2:]
        return t * cos + torch.cat((-t2, t1), dim=-1) * sin

    for i in range(L):
        p = f"layers.{i}."
        h = rms(x, w[p + "attn_norm.weight"])
        q = F.linear(h, w[p + "attn.q.weight"]).view(n, H, HD).transpose(0, 1)
        k = F.linear(h, w[p + "attn.k.weight"]).view(n, KV, HD).transpose(0, 1)
        v = F.linear(h, w[p + "attn.v.weight"]).view(n, KV, HD).transpose(0, 1)
        q, k = rope(q), rope(k)
        if cache is not None:
            cache[i][0][:, :n] = k
            cache[i][1][:, :n] = v
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        s = (q @ k.transpose(-1, -2)) * HD ** -0.5
        o = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + F.linear(o.transpose(0, 1).reshape(n, D), w[p + "attn.o.weight"])
        h = rms(x, w[p + "mlp_norm.weight"])
        g = F.silu(F.linear(h, w[p + "mlp.gate.weight"]))
        x = x + F.linear(g * F.linear(h, w[p + "mlp.up.weight"]), w[p + "mlp.down.weight"])
    return F.linear(rms(x, w["final_norm.weight"]), w["head.weight"])


def decode(path, n, steps, threads, cache_len):
    torch.set_num_threads(threads)
    w = load(path)
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))

    def rot(pos):
        f = torch.outer(torch.as_tensor(pos, dtype=torch.float32).reshape(-1), inv)
        emb = torch.cat((f, f), dim=-1)
        return emb.cos().to(DEVICE), emb.sin().to(DEVICE)

    cache = [(torch.zeros(KV, cache_len, HD, device=DEVICE),
              torch.zeros(KV, cache_len, HD, device=DEVICE)) for _ in range(L)]
    ids = torch.tensor([(i * 7919 + 13) % V for i in range(n)], device=DEVICE)
    mask = ~torch.ones(n, n, dtype=torch.bool, device=DEVICE).tril()

    def step(tok, p):
        cos, sin = rot([p])
        cos, sin = cos[0], sin[0]
        x = w["embed.tokens"][tok]
        for i in range(L):
            pre = f"layers.{i}."
            h = rms(x, w[pre + "attn_norm.weight"])
            q = torch.mv(w[pre + "attn.q.weight"], h).view(H, HD)
            k = torch.mv(w[pre + "attn.k.weight"], h).view(KV, HD)
            v = torch.mv(w[pre + "attn.v.weight"], h).view(KV, HD)
            rq = torch.cat((-q[:, HD // 2:], q[:, :HD // 2]), -1)
            rk = torch.cat((-k[:, HD // 2:], k[:, :HD // 2]), -1)
            q, k = q * cos + rq * sin, k * cos + rk * sin
            kc, vc = cache[i]
            kc[:, p] = k
            vc[:, p] = v
            qg = q.view(KV, H // KV, HD)
            s = torch.bmm(qg, kc[:, :p + 1].transpose(1, 2)) * HD ** -0.5
            o = torch.bmm(torch.softmax(s, -1), vc[:, :p + 1]).reshape(D)
            x = x + torch.mv(w[pre + "attn.o.weight"], o)
            h = rms(x, w[pre + "mlp_norm.weight"])
            g = F.silu(torch.mv(w[pre + "mlp.gate.weight"], h))
            x = x + torch.mv(w[pre + "mlp.down.weight"], g * torch.mv(w[pre + "mlp.up.weight"], h))
        return torch.mv(w["head.weight"], rms(x, w["final_norm.weight"]))

    with torch.inference_mode():
        cos, sin = rot(list(range(n)))
        forward(w, ids, cos, sin, mask, cache)  # warm-up
        sync()
        t0 = time.perf_counter()
        logits = forward(w, ids, cos, sin, mask, cache)
        sync()
        prefill = (time.perf_counter() - t0) * 1e3
        tok = int(logits[-1].argmax())
        times = []
        for i in range(steps):
            t0 = time.perf_counter()
            tok = int(step(tok, n + i).argmax())
            times.append((time.perf_counter() - t0) * 1e3)
    total = sum(times)
    times.sort()
    print(f"{prefill:.3f} {times[len(times) // 2]:.3f} {steps / total * 1e3:.2f}")


def main():
    if sys.argv[1] == "decode":
        a = sys.argv
        return decode(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    path, n, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    w = load(path)
    ids = torch.tensor([(i * 7919 + 13) % V for i in range(n)], device=DEVICE)
    pos = torch.arange(n, dtype=torch.float32)
    inv = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
    f = torch.outer(pos, inv)
    emb = torch.cat((f, f), dim=-1)
    cos, sin = emb.cos().to(DEVICE), emb.sin().to(DEVICE)
    mask = ~torch.ones(n, n, dtype=torch.bool, device=DEVICE).tril()
    times = []
    with torch.inference_mode():
        logits = forward(w, ids, cos, sin, mask)  # warm-up
        for _ in range(reps):
            sync()
            t0 = time.perf_counter()
            logits = forward(w, ids, cos, sin, mask)
            sync()
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(f"{times[0]:.3f} {times[len(times) // 2]:.3f} {times[-1]:.3f}")
    if len(sys.argv) > 5:
        logits[-1].cpu().numpy().astype("<f4").tofile(sys.argv[5])


if __name__ == "__main__":
    main()
