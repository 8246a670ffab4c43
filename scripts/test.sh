#!/usr/bin/env bash
# Installs, builds (Release) and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
ctest --preset release -j"$(nproc)" "$@"
