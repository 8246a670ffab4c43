#!/usr/bin/env bash
# Peak memory (max RSS, /usr/bin/time) and wall time of quantize and run at real model shapes, on
# synthetic checkpoints written by `mixq synth` (random BF16 weights shaped like trained ones; no
# real 7B weights can be downloaded here). Each line of the JSON report names the command.
#   usage: scripts/scale_bench.sh OUT_JSON [MIXQ_BINARY]
#   env:   WORK      scratch folder (default /tmp/mixq-scale; the 32-layer 7B shape needs ~16 GB)
#          LAYERS    the 7B shape's layer counts to compare (default "4 32")
#          QUANTIZE  0: measure run/eval of rtn files already in WORK, not their quantization
#          GPTQ      1: also the calibrated methods (CALIBRATED, default "gptq slim fineq-gptq") with
#                    16 × 512 calibration tokens on a one-layer 7B shape, and gptq with --calib-bf16
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scale_bench.sh OUT_JSON [MIXQ_BINARY]}"
mixq="$(realpath "${2:-build/release/mixq}")"
work="${WORK:-/tmp/mixq-scale}"
shared="$(realpath "${MIXQ_SHARED:-../shared}")"
calib="$shared/data/tinystories/tinystories_train_head_2MiB.txt"
mkdir -p "$work"
rows=()

# measure NAME COMMAND...: appends {"name", "command", "max_rss_gib", "seconds", "file_gb"}.
measure() {
  local name="$1"; shift
  /usr/bin/time -f "%M %e" -o "$work/time.txt" "$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
  read -r kb secs <"$work/time.txt"
  local file_gb=null
  [[ -f "$work/$name.safetensors" ]] && file_gb=$(python3 -c "import os;print(round(os.path.getsize('$work/$name.safetensors')/1e9,4))")
  rows+=("$(printf '{"name": "%s", "command": "%s", "max_rss_gib": %.3f, "seconds": %.1f, "file_gb": %s}' \
    "$name" "${*//\"/\\\"}" "$(echo "$kb/1048576" | bc -l)" "$secs" "$file_gb")")
  echo "${rows[-1]}"
}

for layers in ${LAYERS:-4 32}; do
  model="$work/llama2-7b-L$layers"
  [[ -f "$model/config.json" ]] || "$mixq" synth --shape llama2-7b --layers "$layers" -o "$model" >/dev/null
  [[ "${QUANTIZE:-1}" == 0 && -f "$work/rtn2-L$layers.safetensors" ]] ||
    measure "rtn2-L$layers" "$mixq" quantize -m "$model" --method rtn --bits 2 --group 128 -q -t 2 -o "$work/rtn2-L$layers.safetensors"
done
for layers in ${LAYERS:-4 32}; do
  measure "run-rtn2-L$layers" "$mixq" run -m "$work/rtn2-L$layers.safetensors" -n 16 -t 2 --seed 1
  # A prompt of several tokens and an evaluation run the batch (dequantize + GEMM) path as well.
  measure "run-prompt-rtn2-L$layers" "$mixq" run -m "$work/rtn2-L$layers.safetensors" -n 16 -t 2 --seed 1 \
    -p "Once upon a time there was a little dog who liked to run in the park"
  measure "eval-rtn2-L$layers" "$mixq" eval -m "$work/rtn2-L$layers.safetensors" -t 2 --ctx 64 --max-windows 2 \
    --text "$shared/data/tinystories/tinystories_valid_head.txt"
done
if [[ "${GPTQ:-0}" == 1 ]]; then  # one layer: the peak does not depend on the layer count (see rtn above)
  model="$work/llama2-7b-L1"
  [[ -f "$model/config.json" ]] || "$mixq" synth --shape llama2-7b --layers 1 -o "$model" >/dev/null
  calibrated=(--calib "$calib" --calib-samples 16 --calib-len 512 -v -t 2)
  for method in ${CALIBRATED:-gptq slim fineq-gptq}; do
    bits=(--bits 2 --group 128)
    [[ $method == fineq-gptq ]] && bits=()
    measure "$method-L1-16x512" "$mixq" quantize -m "$model" --method "$method" "${bits[@]}" "${calibrated[@]}" \
      -o "$work/$method-L1-16x512.safetensors"
  done
  measure "gptq-L1-16x512-bf16" "$mixq" quantize -m "$model" --method gptq --bits 2 --group 128 "${calibrated[@]}" \
    --calib-bf16 -o "$work/gptq-L1-16x512-bf16.safetensors"
fi

{
  echo "{"
  echo "  \"what\": \"peak RSS and wall time at the Llama-2-7B shape (synthetic BF16 checkpoints, mixq synth), 2 threads\","
  echo "  \"machine\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD)\","
  echo "  \"runs\": ["
  for i in "${!rows[@]}"; do echo "    ${rows[$i]}$([[ $i -lt $((${#rows[@]} - 1)) ]] && echo ,)"; done
  echo "  ]"
  echo "}"
} >"$out"
echo "$out"
