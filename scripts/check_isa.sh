#!/usr/bin/env bash
# Fails when the release library holds a VEX-pseudo-prefixed instruction ({vex} in objdump), i.e.
# the VEX form of an instruction that also has an EVEX one (AVX-VNNI's vpdpwssd, AVX-IFMA …).
# Highway 1.0's AVX3_DL target compiles with AVX-VNNI enabled but dispatches on AVX-512 VNNI
# alone, so such an instruction faults on Zen 4 / Ice Lake even though every test passes on a
# machine that happens to have AVX-VNNI. Run after scripts/build.sh release.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=build/release/libmixq.a
if [ "$(uname -m)" != x86_64 ]; then echo "check_isa: not x86-64, nothing to check"; exit 0; fi
if objdump -d --no-show-raw-insn "$lib" | grep -F "{vex}"; then
  echo "check_isa: $lib holds VEX-encoded instructions that Highway's AVX3_DL dispatch does not check for" >&2
  exit 1
fi
echo "check_isa: no unchecked VEX-encoded instruction in $lib"
