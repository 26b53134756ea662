#!/usr/bin/env bash
# The main job on the samples: set up, then validate and inspect every sample.
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
