"""Compiled prefill/decode (`attnc compile --incremental`, `attnc generate`)
against the full forward and the PyTorch generation goldens; stdlib only.

Usage: compiled_generation.py ATTNC SOURCE_DIR TMPDIR [--seed N]

1. Decode vs forward, for every decoder sample (llama-style, llama2-7b,
   gpt2-small, gemma2-style, cross-attention, multimodal)
   shrunk as compiled_vs_reference.py shrinks them (2 layers, vocab <= 512,
   float32, local windows cut to 3): fresh weights, a random prompt of 5
   tokens, `attnc generate --max-new 9 --logits-out` (greedy), then the
   reference interpreter's full forward (`attnc run --interpret`) over the
   prompt and the generated tokens. Every step's logits (the prefill's last
   row, then each decode step) must equal the forward's row at that
   position: max|decode - forward| / max|forward| < 1e-4. With 14 tokens
   and a window of 3, gemma's local layers are checked past their window;
   with --prefill-chunk 2 their rings hold 3 + 2 - 1 = 4 slots, so the
   5-token prefill runs as steps of 2, 2, 1 and every ring wraps around.
2. Greedy goldens: every prompt of tests/e2e/generation/generation.json
   (llama, gpt2: PyTorch with a KV cache, float64) generates the same 64 ids
   through the compiled artifact.
Prints one line per check and exits 1 if any fails.
"""
import json
import pathlib
import random
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from compiled_vs_reference import (prepare, read_npy_float32,  # noqa: E402
                                   rel_error, run, write_npy_float32)

TOLERANCE = 1e-4
PROMPT = 5
NEW = 9
# Every decoder sample (llama2-7b shrunk to one 4096-wide layer).
SAMPLES = ("llama-style.yaml", "llama2-7b.yaml", "gpt2-small.json",
           "gemma2-style.yaml", "cross-attention.yaml", "multimodal.yaml")
MEMORY = 4  # slots of a cache group (cross-attention: random keys/values)


def decode_vs_forward(attnc, sample, tmp, seed):
    name = sample.stem
    work = tmp / name
    work.mkdir(parents=True, exist_ok=True)
    log = []
    start = time.time()
    try:
        config, cfg, artifact, weights = prepare(
            attnc, sample, work, seed, log, ("--incremental",))
        rng = random.Random(f"{seed}-{name}")
        vocab = config["vocab_size"]
        prompt = [rng.randrange(vocab) for _ in range(PROMPT)]
        steps = work / "steps.npy"
        # A cache group: random keys/values, given to both sides.
        memory = [g["name"] for g in config["tokens"]
                  if g.get("input") == "cache"]
        text = [g["name"] for g in config["tokens"]
                if g.get("input") == "tokens"]
        gen_flags, run_flags, prefix = [], [], ""
        kinds = (config.get("layers") or {}).get("kinds", {}).values()
        if any(kind.get("window") for kind in kinds):
            gen_flags = ["--prefill-chunk", 2]
        if memory:
            att = config["attention"]
            width = att["num_kv_heads"] * att["head_dim"]
            kv = work / "memory.npy"
            shape = [config["num_layers"], 2, MEMORY, width]
            write_npy_float32(kv, shape, [rng.uniform(-1, 1) for _ in
                                          range(shape[0] * 2 * MEMORY
                                                * width)])
            gen_flags = ["--cache", kv, "--kv-heads", att["num_kv_heads"]]
            run_flags = ["--cache", f"{memory[0]}={kv}"]
            prefix = f"{text[0]}="
        image = [g for g in config["tokens"] if g.get("input") == "image"]
        skip = 0  # rows of the forward before the text (the image's tokens)
        if image:
            pe = config["patch_embedding"]
            size = pe["image_size"]
            h, w = (size, size) if isinstance(size, int) else size
            c, p = pe["channels"], pe["patch_size"]
            skip = (h // p) * (w // p)
            img = work / "image.npy"
            write_npy_float32(img, [h, w, c],
                              [rng.uniform(-1, 1) for _ in range(h * w * c)])
            gen_flags = ["--image", img, "--cache-length",
                         skip + PROMPT + NEW]
            run_flags = ["--image", f"{image[0]['name']}={img}"]
            prefix = f"{text[0]}="
        out = run([attnc, "generate", artifact, "--weights", weights,
                   "--tokens", ",".join(map(str, prompt)),
                   "--max-new", NEW, "--logits-out", steps] + gen_flags,
                  log)
        new = [int(t) for t in out.split()]
        if len(new) != NEW:
            raise RuntimeError(f"generated {len(new)} tokens, expected {NEW}")
        sequence = prompt + new[:-1]
        full = work / "forward.npy"
        run([attnc, "run", "--interpret", cfg, "--weights", weights,
             "--tokens", prefix + ",".join(map(str, sequence)), "--out",
             full] + run_flags, log)
        got = read_npy_float32(steps)
        want = read_npy_float32(full)
        rows = [want[i * vocab:(i + 1) * vocab]
                for i in range(skip + PROMPT - 1, skip + len(sequence))]
        errors = [rel_error(got[s * vocab:(s + 1) * vocab], row)
                  for s, row in enumerate(rows)]
        worst = max(errors)
        ok = worst < TOLERANCE
        line = (f"{'PASS' if ok else 'FAIL'} decode-vs-forward {name}: "
                f"{len(errors)} steps, worst rel err {worst:.2e} "
                f"({time.time() - start:.1f} s)")
        return ok, line, "" if ok else "\n".join(log)
    except Exception as e:  # noqa: BLE001 - report and go on
        return False, f"FAIL decode-vs-forward {name}: {e}", "\n".join(log)


def goldens(attnc, source, tmp):
    gen = source / "tests" / "e2e" / "generation"
    data = json.loads((gen / "generation.json").read_text())
    results = []
    for case in data["cases"]:
        log = []
        name = case["name"]
        try:
            artifact = tmp / f"golden-{name}.attnc"
            run([attnc, "compile", gen / case["config"], "--incremental",
                 "-o", artifact], log)
            same = 0
            for prompt, expected in zip(case["prompts"], case["expected"]):
                out = run([attnc, "generate", artifact, "--weights",
                           gen / case["weights"], "--tokens",
                           ",".join(map(str, prompt)),
                           "--max-new", len(expected)], log)
                ids = [int(t) for t in out.split()]
                if ids == expected:
                    same += 1
                else:
                    log.append(f"prompt {prompt}: got {ids}, "
                               f"expected {expected}")
            ok = same == len(case["prompts"])
            line = (f"{'PASS' if ok else 'FAIL'} golden {name}: {same} of "
                    f"{len(case['prompts'])} prompts give the "
                    f"{len(case['expected'][0])} PyTorch ids")
            results.append((ok, line, "" if ok else "\n".join(log)))
        except Exception as e:  # noqa: BLE001
            results.append((False, f"FAIL golden {name}: {e}", "\n".join(log)))
    return results


def main(argv):
    args = list(argv[1:])
    seed = str(int(time.time()) % 100000)
    if "--seed" in args:
        i = args.index("--seed")
        seed = args[i + 1]
        del args[i:i + 2]
    attnc, source, tmp = (pathlib.Path(a) for a in args[:3])
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"seed {seed} (replay: --seed {seed}); tolerance {TOLERANCE}")
    results = [decode_vs_forward(attnc, source / "samples" / s, tmp, seed)
               for s in SAMPLES]
    results += goldens(attnc, source, tmp)
    failed = 0
    for ok, line, log in results:
        print(line, flush=True)
        if not ok:
            failed += 1
            print(log)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
