#!/usr/bin/env bash
# Every output a change of structure must leave byte-identical: the quantized file of every method
# (and the options whose code paths differ) on both real models, `compare`'s table without its
# timings, each file's perplexity and `inspect --json` report and, for FineQ, the accelerator
# report. Writes them and a sha256 manifest to OUT; run it before and after a refactor and
#   diff OUT_before/manifest OUT_after/manifest
#   usage: scripts/golden_outputs.sh OUT [MIXQ_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:?usage: golden_outputs.sh OUT [MIXQ_BINARY]}")"
mixq="$(realpath "${2:-build/release/mixq}")"
shared="$(realpath "${MIXQ_SHARED:-../shared}")"
repo="$(pwd)"
mkdir -p "$out"
# Every run starts in OUT and reaches the models and text through links made there, so that the
# paths the files and reports quote ("shared/data/...") are the same on every machine and clone.
cd "$out"
ln -sfn "$shared" shared
ln -sfn "$repo/models" models
calib=shared/data/tinystories/tinystories_train_head_2MiB.txt
text=shared/data/tinystories/tinystories_valid_head.txt
short=(--calib "$calib" --calib-samples 8 --calib-len 128)  # structure, not quality

# stories260K (dim 64): every method and the options whose code paths differ.
specs_small=rtn:2:32,rtn:3:row+sym,rtn:4:64+mse,gptq:3:32,gptq:2:32+act-order+true-seq,slim:2:32,slim:3:32+official
specs_small+=,slim:2:32+no-sqc+mask-weights+search-gptq+score-mse,slim:2:32+no-sba+lambda=2+kl-q-fp
specs_small+=,fineq-rtn:48,fineq-gptq:row,fineq-gptq:row+paper,fineq-rtn:row+min-error+int3-fine,fineq-gptq:48+t=3+int2-twos
# tinystories5M: every method at its usual setting.
specs_large=rtn:2:128,gptq:3:128,slim:2:128,fineq-rtn:row,fineq-gptq:row

compare_model() {  # name model specs
  local dir="$1"
  mkdir -p "$dir"
  "$mixq" compare -m "$2" --configs "$3" "${short[@]}" --text "$text" --max-windows 20 --keep "$dir" -q --csv "$dir/compare.csv" >/dev/null
  cut -d, -f1-9 "$dir/compare.csv" >"$dir/compare.notime.csv" && rm "$dir/compare.csv"  # quantize_seconds is wall time
  # Relative names, so that the reports (which quote the model path) do not depend on OUT.
  for f in $(cd "$dir" && ls *.safetensors); do
    (cd "$dir" && "$mixq" eval -m "$f" --text "../$text" --max-windows 20 --json >"${f%.safetensors}.eval.json")
    (cd "$dir" && "$mixq" inspect "$f" --json >"${f%.safetensors}.inspect.json")
    if [[ "$f" == fineq* ]]; then
      (cd "$dir" && "$mixq" simulate -m "$f" --text "../$text" --tokens 32 --layers 0 --json "${f%.safetensors}.accel.json" >"${f%.safetensors}.accel.txt")
    fi
  done
}
compare_model stories260K models/stories260K/stories260K.bin "$specs_small"
if [[ -f shared/models/tinystories5M/model.bin ]]; then
  compare_model tinystories5M shared/models/tinystories5M/model.bin "$specs_large"
fi

# The CLI's own option path (flags, not specs), one run per method.
m=models/stories260K/stories260K.bin
"$mixq" quantize -m $m --method rtn --bits 3 --group 32 --sym -q -o "cli.rtn.safetensors" >/dev/null
"$mixq" quantize -m $m --method gptq --bits 2 --group 48 --act-order "${short[@]}" -q -o "cli.gptq.safetensors" >/dev/null
"$mixq" quantize -m $m --method slim --bits 2 --group 32 --compat official "${short[@]}" -q -o "cli.slim.safetensors" >/dev/null
"$mixq" quantize -m $m --method slim --bits 3 --group 32 --slim-kl q-fp --slim-mask weights --slim-lambda 1.5 "${short[@]}" -q -o "cli.slim2.safetensors" >/dev/null
"$mixq" quantize -m $m --method fineq-gptq --fineq-rule ratio --fineq-int2 twos --fineq-threshold 3 "${short[@]}" -q -o "cli.fineq.safetensors" >/dev/null
"$mixq" quantize -m $m --method fineq-rtn --group 48 --fineq-int3 fine -q -o "cli.fineq2.safetensors" >/dev/null
"$mixq" eval -m $m --text "$text" --max-windows 20 --protocol gptq,llamacpp,llama2c --json >fp32.eval.json

find . -type f ! -name manifest | sort | xargs sha256sum >manifest
echo "$out/manifest: $(wc -l <"$out/manifest") files"
