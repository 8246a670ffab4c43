#!/usr/bin/env bash
# Fails when an #include runs upward: each layer may include only itself and the layers below it
#   core ← io ← formats ← kernels ← model ← quant ← eval, accel ← cli
# (eval and accel are peers: neither includes the other). Checks include/mixq/<layer> and
# src/<layer>; tests, benchmarks and fuzzers sit above everything.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A rank=([core]=0 [io]=1 [formats]=2 [kernels]=3 [model]=4 [quant]=5 [eval]=6 [accel]=6 [cli]=7)
bad=0
while IFS= read -r line; do
  file="${line%%:*}"
  target="$(sed -E 's#.*"(mixq/)?([a-z_]+)/.*#\2#' <<<"${line#*:}")"
  layer="$(sed -E 's#^(include/mixq|src)/([a-z_]+)/.*#\2#' <<<"$file")"
  [[ -z "${rank[$layer]+x}" ]] && { echo "check_layers: $file is in no known layer ($layer)"; bad=1; continue; }
  [[ -z "${rank[$target]+x}" || "$target" == "$layer" ]] && continue  # system or same-layer include
  if (( rank[$target] >= rank[$layer] )); then
    echo "check_layers: $file includes $target (${line#*:}): $layer may include only layers below it"
    bad=1
  fi
done < <(grep -rHE '^#include "' include/mixq src | grep -vE '^src/[a-z_]+/[^:]*:#include "[a-z_]+\.(hpp|cuh)"')
if (( bad )); then exit 1; fi
echo "check_layers: every include runs downward ($(grep -rhE '^#include "' include/mixq src | wc -l) includes)"
