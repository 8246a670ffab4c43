#!/usr/bin/env bash
# mixq's GGUF export judged by the real llama.cpp (scripts/peer/llamacpp.sh): each model is
# exported with `mixq convert --to gguf` (F32 and F16), then
#   - llama-perplexity on the GGUF beside `mixq eval --protocol llamacpp` on the original model:
#     same weights (F16: mixq reads its own F16 export), text, context and chunk count (llama.cpp's protocol: BOS first, second half of each
#     window scored); the issue's bar is agreement within 0.1 %;
#   - greedy text: llama-simple (greedy sampler) beside `mixq run --temperature 0`, 64 new tokens
#     from the same prompt, compared byte for byte.
# The same for quantized files whose grid is exactly a ggml type (rtn 8-bit g32 symmetric = Q8_0,
# 4-bit g32 symmetric = Q4_0, on tinystories5M: stories260K's MLP width is no multiple of 32):
# mixq evaluates its .safetensors, llama.cpp the exported GGUF, on the very same weights.
# Writes the table to OUT (default docs/results/gguf_vs_llamacpp.txt).
# Usage: bash scripts/peer/gguf_vs_llamacpp.sh [OUT] [CHUNKS=100]     MIXQ=binary (default build/release/mixq)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-docs/results/gguf_vs_llamacpp.txt}"
chunks="${2:-100}"
mixq="$(realpath "${MIXQ:-build/release/mixq}")"
shared="$(realpath "${MIXQ_SHARED:-../shared}")"
bin="$(bash scripts/peer/llamacpp.sh)"
text="$shared/data/tinystories/tinystories_valid_head.txt"
prompt="Once upon a time, there was a little girl named Lily. She"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
threads=$(nproc)
{
  echo "# mixq convert --to gguf, checked by llama.cpp (node-llama-cpp $(grep -o '^version=[^ ]*' scripts/peer/llamacpp.sh | cut -d= -f2) bundle, $(cd "$(dirname "$bin")/../src" && git log -1 --format=%h 2>/dev/null || echo '?'))"
  echo "# $(date -u +%Y-%m-%d) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs) · $threads threads · text $(basename "$text") · $chunks chunks"
  echo "# command: bash scripts/peer/gguf_vs_llamacpp.sh $out $chunks"
  printf '%-14s %-5s %5s %14s %14s %10s  %s\n' model dtype ctx llama-ppl mixq-ppl diff greedy-64
} > "$tmp/table"
# compare NAME CTX MIXQ_MODEL GGUF LABEL: one row of the table (mixq on MIXQ_MODEL, llama.cpp on GGUF).
compare() {
  local name=$1 ctx=$2 ours=$3 gguf=$4 label=$5
  mixq_ppl=$("$mixq" eval -m "$ours" --text "$text" --ctx "$ctx" --protocol llamacpp --max-windows "$chunks" --json |
    python3 -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["results"][0]["ppl"])')
  "$mixq" run -m "$ours" -p "$prompt" -n 64 --temperature 0 -t "$threads" > "$tmp/mixq.txt" 2>/dev/null
  "$bin/llama-perplexity" -m "$gguf" -f "$text" -c "$ctx" -b "$ctx" --chunks "$chunks" -t "$threads" \
    > "$tmp/ppl.log" 2>&1 || { tail -20 "$tmp/ppl.log"; exit 1; }
  llama_ppl=$(grep -o 'Final estimate: PPL = [0-9.]*' "$tmp/ppl.log" | awk '{print $NF}')
  # llama-simple prints the prompt's tokens too, BOS as "<s>" before the dummy-prefix space.
  "$bin/llama-simple" -m "$gguf" -n 64 "$prompt" 2>/dev/null | sed '1s/^<s> //' > "$tmp/llama.txt"
  same=$(cmp -s <(tr -d '\n' < "$tmp/llama.txt") <(tr -d '\n' < "$tmp/mixq.txt") && echo identical || echo DIFFERENT)
  diff=$(python3 -c "print('%+.3f%%' % (100 * ($mixq_ppl / $llama_ppl - 1)))")
  printf '%-14s %-5s %5s %14s %14s %10s  %s\n' "$name" "$label" "$ctx" "$llama_ppl" "$mixq_ppl" "$diff" "$same" >> "$tmp/table"
  if [ "$same" != identical ]; then
    { echo "  llama.cpp: $(tr '\n' ' ' < "$tmp/llama.txt")"; echo "  mixq:      $(tr '\n' ' ' < "$tmp/mixq.txt")"; } >> "$tmp/table"
  fi
}
for spec in "stories260K:models/stories260K/stories260K.bin:512" "tinystories5M:$shared/models/tinystories5M/model.bin:256"; do
  IFS=: read -r name model ctx <<<"$spec"
  for dtype in F32 F16; do
    # mixq reads the same weights: the original for F32, its F16 Hugging Face export for F16.
    ours="$model"
    if [ "$dtype" = F16 ]; then ours="$tmp/$name.hf16"; "$mixq" convert -m "$model" --dtype F16 -o "$ours" > /dev/null; fi
    "$mixq" convert -m "$model" --to gguf --dtype "$dtype" -o "$tmp/$name.$dtype.gguf" > /dev/null
    compare "$name" "$ctx" "$ours" "$tmp/$name.$dtype.gguf" "$dtype"
  done
done
model5m="$shared/models/tinystories5M/model.bin"
for q in "8:Q8_0" "4:Q4_0"; do
  IFS=: read -r bits type <<<"$q"
  "$mixq" quantize -q -m "$model5m" --method rtn --bits "$bits" --group 32 --sym -o "$tmp/q$bits.safetensors" > /dev/null
  "$mixq" convert -m "$tmp/q$bits.safetensors" --to gguf -o "$tmp/q$bits.gguf" > /dev/null
  compare tinystories5M 256 "$tmp/q$bits.safetensors" "$tmp/q$bits.gguf" "$type"
done
cat >> "$tmp/table" <<'NOTE'
# ppl: llama-perplexity prints 4 decimals, so agreement shows to about ±0.002 %. Quantized rows:
# both tools read the same weights bit for bit; llama.cpp multiplies them with activations
# rounded to Q8_0 blocks (ggml's vec_dot with Q8_0), mixq with fp32 (prompt) or its own int8
# (decode) activations, so greedy text may part at a near-tie.
NOTE
mkdir -p "$(dirname "$out")"
cp "$tmp/table" "$out"
cat "$out"
