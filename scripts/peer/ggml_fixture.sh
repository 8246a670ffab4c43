#!/usr/bin/env bash
# Regenerates tests/data/ggml_types.gguf (scripts/peer/ggml_fixture.cpp) with the ggml of the
# llama.cpp build that scripts/peer/llamacpp.sh makes.
# Usage: bash scripts/peer/ggml_fixture.sh [OUT=tests/data/ggml_types.gguf]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-tests/data/ggml_types.gguf}"
bin="$(bash scripts/peer/llamacpp.sh)"
root="$(dirname "$(dirname "$bin")")"  # the cache: src/ and build/
exe="$root/build/ggml_fixture"
g++ -O2 -std=c++17 -fopenmp -I "$root/src/ggml/include" scripts/peer/ggml_fixture.cpp -o "$exe" \
  "$root/build/ggml/src/libggml-base.a" -lpthread -lm
"$exe" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes) with llama.cpp $(cd "$root/src" && git log -1 --format=%h)"
