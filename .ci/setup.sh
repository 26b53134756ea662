#!/usr/bin/env bash
# Shared set-up for .ci/demo.sh and .ci/test.sh: installs the Debian packages
# attnc needs (only those missing, so a second run is fast), configures the
# build directory once, and builds. Safe to run again at any time.
set -euo pipefail

ATTNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${ATTNC_BUILD_DIR:-$ATTNC_ROOT/build}"

PACKAGES=(
  cmake ninja-build ccache
  llvm-22-dev libmlir-22-dev mlir-22-tools clang-22 lld-22
  libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev libcli11-dev catch2
  libomp-22-dev
  python3
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  echo "==> configuring $BUILD_DIR"
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
  cmake -S "$ATTNC_ROOT" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld "${launcher[@]}"
fi

echo "==> building"
cmake --build "$BUILD_DIR" -j "$(nproc)"
