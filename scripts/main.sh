#!/usr/bin/env bash
# The main job: install, build Release, quantize the default model (FineQ, ~2.7 bits/weight) into a
# mixq file, show what the file holds, generate from it, then quantize RTN / GPTQ at 2, 3, 4 bits,
# SliM-LLM at 2 and 3 bits and FineQ (paper rule and mixq's default) on the same calibration and
# evaluation data and print the comparison table (also as JSON/CSV and an SVG chart in out/).
# Default model: the largest in ../shared/models when present, else the repository's stories260K.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release
mixq=build/release/mixq
slim_group=32  # SliM-LLM groups span all rows: stories260K's 64-wide rows need G ≤ 64
if [ -f ../shared/models/tinystories5M/model.bin ]; then
  model=../shared/models/tinystories5M/model.bin
  slim_group=128
elif [ -f ../shared/models/stories260K/stories260K.bin ]; then
  model=../shared/models/stories260K/stories260K.bin
else
  model=models/stories260K/stories260K.bin
fi
text=../shared/data/tinystories/tinystories_valid_head.txt
calib=../shared/data/tinystories/tinystories_train_head_2MiB.txt
[ -f "$text" ] || text=README.md
[ -f "$calib" ] || calib=README.md
mkdir -p out
echo "== model: $model"
echo "== quantize: FineQ with GPTQ, calibration $calib"
"$mixq" quantize --model "$model" --method fineq-gptq --calib "$calib" --out out/fineq.safetensors
"$mixq" inspect out/fineq.safetensors > out/fineq.inspect.txt  # the whole listing
head -8 out/fineq.inspect.txt
echo "== generation from the quantized file (greedy)"
"$mixq" run --model out/fineq.safetensors --prompt "Once upon a time" --steps 80
echo "== comparison on $text (first 200 windows per protocol)"
"$mixq" compare --model "$model" --calib "$calib" --text "$text" --max-windows 200 \
  --configs rtn:2:128,rtn:3:128,rtn:4:128,gptq:2:128,gptq:3:128,gptq:4:128,slim:2:$slim_group,slim:3:$slim_group,fineq-gptq:row+paper,fineq-gptq:row \
  --json out/compare.json --csv out/compare.csv --plot out/compare.svg
