#!/usr/bin/env bash
# Quantization time of every method on the shape issue 22 measured (dim 2048, hidden 5632, GQA
# 32/4, vocab 512: the 0.35 B synthetic checkpoint, cut to LAYERS decoder layers), 2 threads,
# calibration 4 × 128 tokens as in that measurement: seconds per run and per million decoder-linear
# weights, and the ratio to RTN, into docs/results/quant_time.txt. With BEFORE (another mixq
# binary, e.g. a build of an older commit) each run is repeated with it in the same session and
# the files are compared byte for byte.
# Usage: bash scripts/quant_time.sh [LAYERS=2] [MIXQ=build/release/mixq] [BEFORE]
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-2}
mixq=$(realpath "${2:-build/release/mixq}")
before=${3:+$(realpath "$3")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mixq" synth --shape llama2-7b --layers "$layers" --dim 2048 --hidden 5632 --heads 32 --kv-heads 4 --vocab 512 --ctx 512 \
  --dtype BF16 -o "$tmp/m" >/dev/null
calib=(--calib ../shared/data/tinystories/tinystories_train_head_2MiB.txt --calib-samples 4 --calib-len 128)
weights=$(( layers * (2048 * 2048 * 2 + 2048 * 256 * 2 + 3 * 2048 * 5632) ))

# Seconds of one quantize run of binary $1 with the remaining arguments, its file at $tmp/q.$2.
timed() {
  local bin=$1 tag=$2 start
  shift 2
  start=$(date +%s.%N)
  "$bin" quantize -q -t 2 -m "$tmp/m" "$@" -o "$tmp/q.$tag.safetensors" >/dev/null
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }'
}

out=docs/results/quant_time.txt
{
  echo "# bash scripts/quant_time.sh $layers${before:+ MIXQ BEFORE}  ($(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), 2 threads)"
  echo "# synthetic checkpoint: $layers layers of dim 2048, hidden 5632, heads 32/4, vocab 512, BF16; $weights decoder-linear weights"
  printf '%-12s %9s %12s %7s' method seconds "s/M weights" "× rtn"
  [ -z "$before" ] || printf ' %15s %6s %s' "seconds before" speedup "same bytes"
  echo
} > "$tmp/table"
rtn_s=""
for spec in "rtn --bits 2 --group 128" "gptq --bits 2 --group 128" "slim --bits 2 --group 128" "fineq-rtn" "fineq-gptq"; do
  name=${spec%% *}
  args=(--method $spec)
  [[ $name == rtn || $name == fineq-rtn ]] || args+=("${calib[@]}")
  s=$(timed "$mixq" now "${args[@]}")
  [ -n "$rtn_s" ] || rtn_s=$s
  line=$(awk -v n="$name" -v s="$s" -v w="$weights" -v r="$rtn_s" 'BEGIN { printf "%-12s %9.1f %12.3f %7.1f", n, s, s * 1e6 / w, s / r }')
  if [ -n "$before" ]; then
    b=$(timed "$before" before "${args[@]}")
    same=$(cmp -s "$tmp/q.now.safetensors" "$tmp/q.before.safetensors" && echo yes || echo NO)
    line+=$(awk -v b="$b" -v s="$s" -v same="$same" 'BEGIN { printf " %15.1f %6.1f %s", b, b / s, same }')
  fi
  echo "$line" >> "$tmp/table"
  rm -f "$tmp"/q.*.safetensors
done
tee "$out" < "$tmp/table"
