#!/usr/bin/env bash
# Compares every output of scripts/golden_outputs.sh (quantized files of every method on both real
# models, their perplexity, inspect and accelerator reports) with the manifest committed in
# tests/golden: a change that should not change behaviour must leave all of them byte-identical.
# GEMM accumulation order depends on the CPU's kernels (OpenBLAS, Highway), so the manifest holds
# for the machine signature recorded beside it; elsewhere the check is skipped (exit 77), saying so.
#   usage: scripts/check_golden.sh [MIXQ_BINARY]      (--update: rewrite the manifest)
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
[[ "${1:-}" == --update ]] && { update=1; shift; }
mixq="${1:-build/release/mixq}"
signature() {
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)"
  # OpenBLAS picks its kernels from the family and model, which "AMD EPYC" alone does not name.
  echo "family/model: $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)/$(grep -m1 '^model\s*:' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|avx512f|avx512bw|avx512_bf16|avx512_vnni|amx_tile|neon|asimd' | sort | xargs)"
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ $update == 0 ]] && ! diff -q <(signature) tests/golden/machine >/dev/null; then
  echo "check_golden: skipped — the manifest was recorded on"; cat tests/golden/machine
  echo "and this machine is"; signature
  exit 77
fi
bash scripts/golden_outputs.sh "$tmp/out" "$mixq" >/dev/null
if [[ $update == 1 ]]; then
  cp "$tmp/out/manifest" tests/golden/manifest
  signature >tests/golden/machine
  echo "check_golden: tests/golden/manifest rewritten ($(wc -l <tests/golden/manifest) files)"
  exit 0
fi
if ! diff tests/golden/manifest "$tmp/out/manifest"; then
  echo "check_golden: outputs differ from tests/golden/manifest (lines above: < committed, > now)"
  exit 1
fi
echo "check_golden: $(wc -l <tests/golden/manifest) outputs byte-identical to tests/golden/manifest"
