#!/usr/bin/env bash
# Set up, then run every test (Catch2 unit tests and lit/FileCheck suites) via ctest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
echo "==> ctest"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)"
