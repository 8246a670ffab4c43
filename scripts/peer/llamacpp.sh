#!/usr/bin/env bash
# The peer: real llama.cpp, built once from the source that the npm package node-llama-cpp ships
# (llama/gitRelease.bundle, a git bundle of llama.cpp at that package's release), into a cache
# folder (never the repository). Prints the folder holding the tools:
#   llama-perplexity llama-quantize llama-bench llama-imatrix llama-convert-llama2c-to-ggml
#   llama-simple llama-tokenize llama-gguf
# Later calls reuse the build (stamped by package version). About ten minutes on 2 cores the first time.
# Usage: bin=$(bash scripts/peer/llamacpp.sh)      MIXQ_LLAMACPP_CACHE overrides the folder.
set -euo pipefail
version=3.22.1  # node-llama-cpp; its bundle is the llama.cpp these comparisons name
dir="${MIXQ_LLAMACPP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixq/llamacpp}"
tools=(llama-perplexity llama-quantize llama-bench llama-imatrix llama-convert-llama2c-to-ggml llama-simple
  llama-tokenize llama-gguf)
stamp="$dir/.built"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$version ${tools[*]}" ]; then
  need=()
  command -v npm >/dev/null || need+=(nodejs npm)
  command -v cmake >/dev/null || need+=(cmake)
  command -v git >/dev/null || need+=(git)
  if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  fi
  # --ignore-scripts: the package's install step would download or build its own binaries.
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-save --ignore-scripts --prefix "$dir/npm" \
    "node-llama-cpp@$version" >&2)
  bundle="$dir/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle"
  [ -f "$bundle" ] || { echo "llamacpp.sh: $bundle is missing from node-llama-cpp@$version" >&2; exit 1; }
  rm -rf "$dir/src" "$dir/build"
  git clone -q "$bundle" "$dir/src" 2>/dev/null
  # Native code for this CPU (as a user builds it), no network, static tools.
  cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
  cmake --build "$dir/build" -j"$(nproc)" --target "${tools[@]}" >&2
  echo "$version ${tools[*]}" >"$stamp"
fi
echo "$dir/build/bin"
