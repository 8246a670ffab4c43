#!/usr/bin/env bash
# Compiles every Highway kernel file for 64-bit ARM (NEON, and SVE where a file allows it) with the
# Debian cross compiler: the ARM targets build even on an x86 CI machine. Compile-only: running
# them needs an ARM machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  install=($sudo apt-get install -y -q --no-install-recommends g++-aarch64-linux-gnu)
  "${install[@]}" >/dev/null || { $sudo apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in $(grep -l "hwy/foreach_target.h" src/kernels/*.cpp); do
  aarch64-linux-gnu-g++ -std=c++20 -O2 -Wall -Wextra -Werror -Wno-restrict -Iinclude -Isrc \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -c "$f" -o "$tmp/k.o"
  echo "$f: $(aarch64-linux-gnu-nm -C "$tmp/k.o" | grep -o ' mixq::kernels::N_[A-Z0-9_]*' | sed 's/.*N_//' | sort -u | tr '\n' ' ')"
done
