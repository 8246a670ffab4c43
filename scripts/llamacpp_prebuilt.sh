#!/usr/bin/env bash
# Installs, once, llama.cpp as node-llama-cpp ships it prebuilt (libllama + libggml for x64 CPUs,
# the same release scripts/peer/llamacpp.sh builds from source) into a cache folder and prints that
# folder. No build, no GPU packages (--omit=optional), no install scripts: what CI can afford to run
# llama.cpp itself on mixq's GGUF files (tests/e2e/llamacpp_smoke_test.cpp).
set -euo pipefail
source "$(dirname "$0")/npm_cache.sh"
version=3.22.1
dir="${MIXQ_LLAMACPP_PREBUILT:-${XDG_CACHE_HOME:-$HOME/.cache}/mixq/llamacpp-prebuilt}"
npm_cache_install "$dir" "--ignore-scripts --omit=optional" "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version"
echo "$dir"
