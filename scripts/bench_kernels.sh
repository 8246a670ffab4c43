#!/usr/bin/env bash
# Kernel speed on this machine (issue 7's table): GEMV per format on model-sized and 7B-sized
# shapes beside the read bandwidth measured in the same run, GEMM beside fp32 sgemm, and whole-model
# decode/prompt tokens/s for each format. Writes docs/results/kernels_<model>.txt.
# Usage: bash scripts/bench_kernels.sh [model] [--model-only]   (default: tinystories5M from ../shared;
# --model-only skips the kernel benchmarks and prints the whole-model table only)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release >/dev/null
mixq=build/release/mixq
model=${1:-../shared/models/tinystories5M/model.bin}
model_only=${2:-}
calib=../shared/data/tinystories/tinystories_train_head_2MiB.txt
name=$(basename "$(dirname "$model")")
out=docs/results/kernels_$name.txt
[ "${2:-}" = --model-only ] && out=docs/results/kernels_${name}_model.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "# mixq kernels on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads, $(date -u +%F)"
  if [ "$model_only" != --model-only ]; then
    echo "## GEMV (one token) and GEMM (prompt) per format: build/release/bench/mixq_bench"
    build/release/bench/mixq_bench --benchmark_filter='PackedGemv|PackedGemm|GemmF32|GemvF32' 2>/dev/null
    echo
  fi
  echo "## Whole model: $model (mixq bench, 2 threads)"
  printf '%-22s %8s %12s %12s %12s %10s %8s\n' config bpw "MB/token" "decode tok/s" "prompt tok/s" "decode GB/s" "% of bw"
  for spec in f32 rtn:2:128 rtn:3:128 rtn:4:128 slim:2:128 fineq-rtn:row; do
    if [ "$spec" = f32 ]; then file=$model; bpw=32; else
      IFS=: read -r method bits group <<<"$spec"
      args=(--method "$method")
      [ "$method" = fineq-rtn ] || args+=(--bits "$bits" --group "$group")
      [ "$method" = slim ] && args+=(--calib "$calib")
      file=$tmp/q.safetensors
      bpw=$("$mixq" quantize --model "$model" "${args[@]}" --out "$file" | grep -o '[0-9.]* bits/weight' | cut -d' ' -f1)
    fi
    r=$("$mixq" bench --model "$file" --threads 2)
    mb=$(grep -o 'per token [0-9.]*' <<<"$r" | cut -d' ' -f3)
    dec=$(grep '^decode' <<<"$r" | awk '{print $2}')
    pro=$(grep '^prompt' <<<"$r" | awk '{print $2}')
    gbs=$(grep -o 'read [0-9.]* GB/s' <<<"$r" | cut -d' ' -f2)
    pct=$(grep -o 'reaches [0-9.]*%' <<<"$r" | cut -d' ' -f2)
    printf '%-22s %8s %12s %12s %12s %10s %8s\n' "$spec" "$bpw" "$mb" "$dec" "$pro" "$gbs" "$pct"
  done
} | tee "$out"
