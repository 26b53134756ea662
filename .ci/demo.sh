#!/usr/bin/env bash
# The main job on the samples: set up, validate and inspect every sample, then
# compile one, write its weights and run it end to end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ATTNC="$BUILD_DIR/bin/attnc"

echo "==> attnc validate samples/*.yaml samples/*.json"
shopt -s nullglob
"$ATTNC" validate "$ATTNC_ROOT"/samples/*.yaml "$ATTNC_ROOT"/samples/*.json
echo "==> attnc inspect samples/llama-style.yaml"
"$ATTNC" inspect "$ATTNC_ROOT/samples/llama-style.yaml" --seq-len 1024 --batch 1 --cache-len 1024
echo "==> attnc inspect samples/multimodal.yaml (two token groups, block mask)"
"$ATTNC" inspect "$ATTNC_ROOT/samples/multimodal.yaml" --mask-width 48

# End to end: config -> native artifact -> random weights -> run, compiled and
# reference side by side (the same top-5 ids). Files go to $BUILD_DIR/demo.
DEMO="$BUILD_DIR/demo"
mkdir -p "$DEMO"
echo "==> attnc compile samples/llama-style.yaml -o $DEMO/llama-style.attnc"
"$ATTNC" compile "$ATTNC_ROOT/samples/llama-style.yaml" -o "$DEMO/llama-style.attnc" --timings
echo "==> attnc init-weights samples/llama-style.yaml (seed 1)"
"$ATTNC" init-weights "$ATTNC_ROOT/samples/llama-style.yaml" -o "$DEMO/llama-style.safetensors" --seed 1
echo "==> attnc run llama-style.attnc (compiled, through the runtime's C API)"
"$ATTNC" run "$DEMO/llama-style.attnc" --weights "$DEMO/llama-style.safetensors" --tokens 1,2,3,4,5,6,7,8 --top-k 5
echo "==> attnc run --interpret samples/llama-style.yaml (the reference interpreter)"
"$ATTNC" run --interpret "$ATTNC_ROOT/samples/llama-style.yaml" --weights "$DEMO/llama-style.safetensors" --tokens 1,2,3,4,5,6,7,8 --top-k 5
echo "==> attnc compile samples/llama-style.yaml --incremental (prefill + decode) and attnc generate"
"$ATTNC" compile "$ATTNC_ROOT/samples/llama-style.yaml" --incremental -o "$DEMO/llama-style-gen.attnc"
"$ATTNC" generate "$DEMO/llama-style-gen.attnc" --weights "$DEMO/llama-style.safetensors" --tokens 1,2,3,4,5,6,7,8 --max-new 32
echo "==> attnc compile samples/llama-style.yaml --target cuda (PTX, + cubin when ptxas is found; no GPU needed to compile)"
"$ATTNC" compile "$ATTNC_ROOT/samples/llama-style.yaml" --target cuda -o "$DEMO/llama-style-cuda.attnc" --timings
