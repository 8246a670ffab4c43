#!/usr/bin/env bash
# Seconds per decoder block of the tuned methods' training and the run's peak RSS, on 2 threads:
# `mixq quantize -v` of tinystories5M with slim+ (2 epochs over 32 windows of 256 tokens; -v splits
# each layer's time), under /usr/bin/time -v. Writes docs/results/slim_plus_block_time.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mixq="${MIXQ:-build/release/mixq}"
out=docs/results/slim_plus_block_time.txt
tmp="$(mktemp -d)"
cmd=("$mixq" quantize -v -t 2 -m ../shared/models/tinystories5M/model.bin --method slim+ --bits 2 --group 128 --epochs 2
     --train-windows 32 --calib ../shared/data/tinystories/tinystories_train_head_2MiB.txt -o "$tmp/q.safetensors")
{
  echo "# $(date -u +%F) $(git rev-parse --short HEAD), $(nproc) threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# /usr/bin/time -v ${cmd[*]}"
  /usr/bin/time -v "${cmd[@]}" 2>&1 | grep -vE '^\s*(Page size|Exit status|Socket|Signals|Swaps|File system|Average|Minor|Major|Voluntary|Involuntary|Percent)'
} > "$out.tmp"
rm -rf "$tmp"
mv "$out.tmp" "$out"
cat "$out"
