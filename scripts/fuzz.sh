#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan), seeds a corpus for each from
# real files (the repository's stories260K, its quantized files in every format, its HF export,
# ../shared's tokenizers, a small tokenizer.json, the chat-template fixtures, the accelerator config, a stopped quantize run's journal,
# its GGUF exports (one with Llama-3's RoPE scaling, a qwen2 one) and the GGUF of every ggml type that ggml itself wrote) and runs every target for SECONDS, two at a time.
# Findings land in build/fuzz/findings/<target>/ (fixed ones are kept in fuzz/regressions/<target>/
# and replayed first); logs with executions and exec/s in build/fuzz/logs/. Exit status 1 when any
# target found something.
# Usage: bash scripts/fuzz.sh [SECONDS=60] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors llama2c tokenizer hf_config quantized_file packed_format accel_config run_journal chat_template gguf)

if ! command -v clang++ >/dev/null || [ ! -e "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  install=($sudo apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev)
  "${install[@]}" >/dev/null || { $sudo apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }
fi
bash scripts/build.sh fuzz >/dev/null

b=build/fuzz
mixq=$b/mixq
seeds=$b/seeds
rm -rf "$seeds" && mkdir -p "$seeds" "$b/corpus" "$b/logs" "$b/findings"
for t in "${targets[@]}"; do rm -rf "$b/findings/$t" && mkdir -p "$seeds/$t" "$b/corpus/$t" "$b/findings/$t"; done
model=models/stories260K/stories260K.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=0  # the seeding runs only; the fuzzers set their own
"$mixq" quantize -m "$model" --method rtn --bits 2 --group 32 -o "$tmp/rtn.safetensors" >/dev/null
"$mixq" quantize -m "$model" --method fineq-rtn -o "$tmp/fineq.safetensors" >/dev/null
"$mixq" quantize -m "$model" --method slim --bits 2 --group 32 --calib README.md --calib-samples 4 --calib-len 64 -o "$tmp/slim.safetensors" >/dev/null
"$mixq" convert -m "$model" -o "$tmp/hf" --dtype F16 >/dev/null
"$mixq" convert -m "$model" --to gguf --dtype F16 -o "$tmp/model.gguf" >/dev/null
# Llama-3's RoPE scaling, which GGUF holds as the tensor rope_freqs.weight.
cp -r "$tmp/hf" "$tmp/hf_rope"
python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["rope_scaling"] = {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}; json.dump(c, open(p, "w"))' "$tmp/hf_rope/config.json"
"$mixq" convert -m "$tmp/hf_rope" --to gguf -o "$tmp/rope.gguf" >/dev/null
# A qwen2 GGUF (q/k/v biases, rows in rotate-half order).
"$mixq" synth --shape qwen2.5-7b --layers 1 --dim 64 --hidden 128 --heads 4 --kv-heads 2 --vocab 300 --ctx 64 --dtype F32 -o "$tmp/qwen2" >/dev/null
"$mixq" convert -m "$tmp/qwen2" --to gguf -o "$tmp/qwen2.gguf" >/dev/null
# A stopped run's journal: killed after its first layer.
(MIXQ_TEST_KILL_AT=layer0 "$mixq" quantize -q -m "$model" --method rtn --bits 3 -o "$tmp/stopped.safetensors" >/dev/null) 2>/dev/null || true
"$mixq" simulate -m "$tmp/fineq.safetensors" --text README.md --tokens 4 --dump-config "$tmp/accel.json" >/dev/null
cp "$tmp"/*.safetensors "$seeds/quantized_file/" 2>/dev/null || true
cp "$tmp/rtn.safetensors" "$tmp/hf/model.safetensors" "$seeds/safetensors/" 2>/dev/null || true
cp "$model" "$seeds/llama2c/" 2>/dev/null || true
cp "$tmp/hf/config.json" "$seeds/hf_config/" 2>/dev/null || true
cp "$tmp/hf_rope/config.json" "$seeds/hf_config/rope_config.json" 2>/dev/null || true
cp "$tmp/accel.json" "$seeds/accel_config/" 2>/dev/null || true
cp "$tmp/model.gguf" "$tmp/rope.gguf" "$tmp/qwen2.gguf" tests/data/ggml_types.gguf "$seeds/gguf/" 2>/dev/null || true
[ -d "$seeds/gguf" ] && python3 scripts/fuzz_gguf_seeds.py "$seeds/gguf"
cp "$tmp/stopped.safetensors.partial.json" "$seeds/run_journal/" 2>/dev/null || true
[ -d "$seeds/chat_template" ] && cp tests/data/chat_templates/*.jinja "$seeds/chat_template/"
if [ -d "$seeds/tokenizer" ]; then
  { printf '\0'; cat models/stories260K/tok512.bin; } > "$seeds/tokenizer/tok512"
  sp=../shared/models/llama2-tokenizer-32k/tokenizer.model
  [ -f "$sp" ] && { printf '\1'; cat "$sp"; } > "$seeds/tokenizer/sentencepiece"
  { printf '\2'; cat tests/data/tiny_tokenizer.json; printf '\0'; cat tests/data/tiny_tokenizer_config.json; } > "$seeds/tokenizer/tokenizer_json"
fi
[ -d "$seeds/packed_format" ] && python3 scripts/fuzz_packed_seeds.py "$seeds/packed_format" "$mixq"

# Every past finding (fuzz/regressions/<target>/) replays first: each must now run clean.
for t in "${targets[@]}"; do
  if [ -d "fuzz/regressions/$t" ]; then
    "$b/fuzz/fuzz_$t" fuzz/regressions/"$t"/* > "$b/logs/$t.regressions.log" 2>&1 ||
      { echo "fuzz_$t: a past finding fails again, see $b/logs/$t.regressions.log"; exit 1; }
  fi
done

run() {
  local t=$1
  "$b/fuzz/fuzz_$t" "$b/corpus/$t" "$seeds/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$b/findings/$t/" > "$b/logs/$t.log" 2>&1
}
status=0
pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$(nproc)" ]; then wait "${pids[0]}" || true; pids=("${pids[@]:1}"); fi
done
wait || true
printf '%-16s %10s %12s %8s  %s\n' target seconds executions exec/s findings
for t in "${targets[@]}"; do
  log=$b/logs/$t.log
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' || true)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' || true)
  found=$(find "$b/findings/$t" -type f | wc -l)
  [ "$found" -eq 0 ] || status=1
  [ -n "$runs" ] || status=1  # the fuzzer died without its final stats: see the log
  printf '%-16s %10s %12s %8s  %s\n' "$t" "${secs:-?}" "${runs:-?}" "$(( ${runs:-0} / (${secs:-1} > 0 ? ${secs:-1} : 1) ))" \
    "$( [ "$found" -eq 0 ] && echo none || find "$b/findings/$t" -type f | tr '\n' ' ')"
done
# A finding on a CI machine is gone with the machine: print what it needs to be fixed here — the
# sanitizer's report and stack, and the input itself (base64, gzip'd) when it is not too large.
for t in "${targets[@]}"; do
  grep -q 'stat::number_of_executed_units' "$b/logs/$t.log" || { echo "=== $t died without its final stats:"; tail -40 "$b/logs/$t.log"; }
  for f in $(find "$b/findings/$t" -type f); do
    echo "=== $t: $f"
    grep -n -m1 -E 'ERROR: |runtime error|deadly signal|out-of-memory|timeout' "$b/logs/$t.log" | head -1 || true
    sed -n '/ERROR: \|runtime error\|deadly signal/,/^SUMMARY/p' "$b/logs/$t.log" | head -60
    if [ "$(gzip -c "$f" | wc -c)" -le 200000 ]; then
      echo "--- input ($(wc -c < "$f") bytes), base64 of gzip; decode: base64 -d | gunzip > input"
      gzip -c "$f" | base64 -w 120
    fi
  done
done
exit $status
