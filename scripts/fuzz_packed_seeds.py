#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_packed_format.cpp: one valid packed tensor per format in the target's input
encoding — format index, parameter JSON, shape, then parts (suffix, dtype, shape, bytes). The
format index is the format's position in the registry, read from `mixq inspect --formats`.
  usage: fuzz_packed_seeds.py OUTDIR MIXQ_BINARY"""
import json
import os
import subprocess
import random
import struct
import sys

FORMATS = {}  # name -> registry index, filled by main()
SUFFIXES = {"codes": 0, "scales": 1, "zeros": 2, "widths": 3}
DTYPES = {"U8": 0, "F16": 1}
ONE_F16 = struct.pack("<e", 0.5)


def encode(fmt, params, rows, cols, parts):
    text = json.dumps(params, separators=(",", ":")).encode()
    out = bytes([FORMATS[fmt], len(text)]) + text + bytes([rows + 8]) + struct.pack("<H", cols + 8) + bytes([len(parts)])
    for suffix, dtype, shape, data in parts:
        out += bytes([SUFFIXES[suffix], DTYPES[dtype]]) + struct.pack("<HH", *shape)
        out += struct.pack("<I", len(data))[:3] + data
    return out


def main(outdir, mixq):
    listed = json.loads(subprocess.run([mixq, "inspect", "--formats"], check=True, capture_output=True, text=True).stdout)
    FORMATS.update({name: i for i, name in enumerate(listed["formats"])})
    rng = random.Random(0)
    rows, cols = 4, 64
    seeds = {
        # uniform 2-bit, groups of 32, asymmetric: 16 codes per word, 4 words per row
        "uniform_2bit": encode("uniform", {"bits": 2, "group": 32, "symmetric": False}, rows, cols, [
            ("codes", "U8", (rows, 16), bytes(rng.randrange(256) for _ in range(rows * 16))),
            ("scales", "F16", (rows, 2), ONE_F16 * rows * 2),
            ("zeros", "F16", (rows, 2), struct.pack("<e", 1.0) * rows * 2)]),
        # uniform 3-bit, one group per row, symmetric: 10 codes per word, 7 words per row
        "uniform_3bit": encode("uniform", {"bits": 3, "group": 0, "symmetric": True}, rows, cols, [
            ("codes", "U8", (rows, 28), bytes(rng.randrange(256) & 0x3F for _ in range(rows * 28))),
            ("scales", "F16", (rows, 1), ONE_F16 * rows)]),
        # fineq, one step per row: 4 clusters of 3 weights per row (rule "obs": the old name of best-mode, still read)
        "fineq": encode("fineq", {"group": 0, "threshold": 4.0, "rule": "obs", "int3": "wide", "int2": "sym"}, rows, 12, [
            ("codes", "U8", (rows, 4), bytes(rng.randrange(256) for _ in range(rows * 4))),
            ("scales", "F16", (rows, 1), ONE_F16 * rows)]),
        # slim N = 2, G = 32: group 0 at 1 bit (1 word), group 1 at 3 bits (3 words)
        "slim": encode("slim", {"bits": 2, "group": 32}, rows, cols, [
            ("widths", "U8", (1, 1), bytes([0 | 2 << 2])),
            ("codes", "U8", (rows, 16), bytes(rng.randrange(256) for _ in range(rows * 16))),
            ("scales", "F16", (rows, 2), ONE_F16 * rows * 2),
            ("zeros", "F16", (rows, 2), struct.pack("<e", 2.0) * rows * 2)]),
    }
    missing = set(FORMATS) - {name.split("_")[0] for name in seeds}
    if missing:
        sys.exit(f"fuzz_packed_seeds.py: no seed for the registered format(s) {sorted(missing)}: add one")
    os.makedirs(outdir, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
