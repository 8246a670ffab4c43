#!/usr/bin/env bash
# The main job: install, build Release, then evaluate the default model's perplexity (both
# protocols, plus llama2.c's reference recipe), generate a short text and print the speed line.
# Default model: the largest in ../shared/models when present, else the repository's stories260K.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
mixq=build/release/mixq
if [ -f ../shared/models/tinystories5M/model.bin ]; then
  model=../shared/models/tinystories5M/model.bin
elif [ -f ../shared/models/stories260K/stories260K.bin ]; then
  model=../shared/models/stories260K/stories260K.bin
else
  model=models/stories260K/stories260K.bin
fi
text=../shared/data/tinystories/tinystories_valid_head.txt
[ -f "$text" ] || text=README.md
echo "== model: $model"
echo "== perplexity on $text (GPTQ and llama.cpp protocols, whole-text tokenization)"
"$mixq" eval --model "$model" --text "$text" --protocol gptq,llamacpp
echo "== perplexity, llama2.c reference recipe (per-block BOS, ctx+1 windows)"
"$mixq" eval --model "$model" --text "$text" --protocol llama2c --split-blocks
echo "== generation (greedy)"
"$mixq" run --model "$model" --prompt "Once upon a time" --steps 120
echo "== speed"
"$mixq" bench --model "$model"
