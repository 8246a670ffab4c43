#!/usr/bin/env bash
# The forward pass of each Hugging Face family (Llama-3.x with llama3/linear RoPE scaling, Qwen2,
# Qwen3, Mistral) against the independent NumPy reference of transformers' semantics
# (tests/reference/hf_family_reference.py) on a tiny random checkpoint with the family's real
# config keys: the largest |Δlogit| over every position, in one batch and token by token through
# the KV cache; then each family's GGUF export in llama.cpp (its prebuilt library, as
# tests/llamacpp_run.hpp runs it): the largest |Δlogit| against mixq's, and with the q/k rows in
# the other RoPE order as a control. Writes docs/results/hf_families.txt. Needs a release build,
# python3-numpy and npm.
#   usage: scripts/hf_families.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/results/hf_families.txt
{
  echo "# bash scripts/hf_families.sh ($(git rev-parse --short HEAD), $(date -u +%Y-%m-%d))"
  build/release/tests/mixq_e2e_tests \
    --gtest_filter='Families/HfFamily.LogitsMatchTheIndependentReference/*:Families/HfFamily.GgufExportReadsBackAndComputesInLlamaCppAsInMixq/*' | grep '^family'
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
