#!/usr/bin/env bash
# The tuned methods (slim+, rtn+, gptq+; docs/DESIGN.md "SliM-LLM+") beside the methods they tune,
# at 2 and 3 bits on a real model, in one `compare` run on one machine (same calibration windows,
# same evaluation text): docs/results/slim_plus_<model>.txt (+ .json).
# Usage: scripts/slim_plus_results.sh [MODEL [MAX_WINDOWS [GROUP [TUNE]]]]
#   defaults: stories260K, 50 evaluation windows, groups of 32, TUNE "+windows=64" (20 epochs over
#   the first 64 of the 128 calibration windows). tinystories5M is run with
#   `scripts/slim_plus_results.sh ../shared/models/tinystories5M/model.bin 200 128 +windows=32+epochs=10`.
# SET=fineq: fineq-rtn/fineq-gptq and their trained-step variants (per row) instead, written to
# docs/results/fineq_plus_<model>.txt (+ .json).
# MIXQ: the binary (default build/release/mixq; a copy lets the tree be rebuilt meanwhile).
# Time on 2 cores: ~35 min for stories260K, ~45 min for tinystories5M with those settings.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-../shared/models/stories260K/stories260K.bin}"
windows="${2:-50}"
g="${3:-32}"
tune="${4:-+windows=64}"
name="$(basename "$(dirname "$model")")"
if [[ "${SET:-}" == fineq ]]; then
  out="docs/results/fineq_plus_${name}"
  configs="fineq-rtn:row,fineq-rtn+:row$tune,fineq-gptq:row,fineq-gptq+:row$tune"
else
  out="docs/results/slim_plus_${name}"
  configs="rtn:2:$g,rtn+:2:$g$tune,gptq:2:$g,gptq+:2:$g$tune,slim:2:$g,slim+:2:$g$tune,slim+:2:$g$tune+bake-gptq"
  configs+=",gptq:3:$g,gptq+:3:$g$tune,slim:3:$g,slim+:3:$g$tune,slim+:3:$g$tune+bake-gptq"
fi
cmd=("${MIXQ:-build/release/mixq}" compare -q -m "$model" --calib ../shared/data/tinystories/tinystories_train_head_2MiB.txt
     --text ../shared/data/tinystories/tinystories_valid_head.txt --max-windows "$windows" --configs "$configs"
     --json "$out.json.tmp")
{
  echo "# $(date -u +%F) $(git rev-parse --short HEAD), $(nproc) threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "# ${cmd[*]}"
  "${cmd[@]}"
} > "$out.txt.tmp"
mv "$out.json.tmp" "$out.json"
mv "$out.txt.tmp" "$out.txt"
cat "$out.txt"
