#!/usr/bin/env bash
# Installs mixq's build dependencies (Debian bookworm packages) when any is missing.
set -euo pipefail
packages=(g++ cmake ninja-build pkg-config libhwy-dev libopenblas-dev liblapacke-dev
  libsentencepiece-dev nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev
  libbenchmark-dev libpcre2-dev libutf8proc-dev python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "mixq: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
