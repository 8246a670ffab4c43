#!/usr/bin/env bash
# The forward pass of each Hugging Face family (Llama-3.x with llama3/linear RoPE scaling, Qwen2,
# Qwen3, Mistral) against the independent NumPy reference of transformers' semantics
# (tests/reference/hf_family_reference.py) on a tiny random checkpoint with the family's real
# config keys: the largest |Δlogit| over every position, in one batch and token by token through
# the KV cache. Writes docs/results/hf_families.txt. Needs a release build and python3-numpy.
#   usage: scripts/hf_families.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/hf_families.txt
{
  echo "# bash scripts/hf_families.sh ($(git rev-parse --short HEAD), $(date -u +%Y-%m-%d))"
  build/release/tests/mixq_e2e_tests --gtest_filter='Families/HfFamily.LogitsMatchTheIndependentReference/*' | grep '^family'
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
