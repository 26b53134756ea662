#!/bin/bash
# The GPU proof in one device `run` (carry the kit from bench/gpu/prepare.py):
#   bash bench/gpu/device.sh [KIT]     (KIT: gpu-kit)
# Writes report.txt and the logs to $OUT (bench/gpu/check.py).
set -o pipefail
kit=${1:-gpu-kit}
# The runtime dlopens libcuda.so.1; name it where the loader cannot find it.
if ! ldconfig -p | grep -q 'libcuda.so.1 '; then
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/local/cuda/compat; do
    [ -e "$dir/libcuda.so.1" ] && export ATTNC_LIBCUDA="$dir/libcuda.so.1" && break
  done
fi
echo "libcuda: ${ATTNC_LIBCUDA:-found by the loader}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
PYTHONUNBUFFERED=1 python3 bench/gpu/check.py --kit "$kit" --out "${OUT:-gpu-report}"
