#!/usr/bin/env python3
"""Writes a GGUF seed for fuzz_gguf that holds only a "gpt2" tokenizer (a byte-level BPE vocabulary:
the 256 byte symbols, a few merges, control tokens), so the fuzzer starts inside the tokenizer.json
rebuild as well as the "llama" one the model exports reach. Usage: fuzz_gguf_seeds.py OUT_DIR"""
import os
import struct
import sys

U32, I32, BOOL, STRING, ARRAY = 4, 5, 7, 8, 9


def string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def key_value(key, kind, value):
    out = string(key) + struct.pack("<I", kind)
    if kind == STRING:
        return out + string(value)
    if kind == U32:
        return out + struct.pack("<I", value)
    if kind == BOOL:
        return out + struct.pack("<B", value)
    element, items = value
    out += struct.pack("<IQ", element, len(items))
    return out + b"".join(string(x) if element == STRING else struct.pack("<i", x) for x in items)


def byte_symbols():
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


def main():
    tokens = byte_symbols() + ["Ġt", "he", "Ġthe", "Ġa", "in", "<|begin_of_text|>", "<|end_of_text|>"]
    types = [1] * (len(tokens) - 2) + [3, 3]
    kv = [
        key_value("general.architecture", STRING, "llama"),
        key_value("tokenizer.ggml.model", STRING, "gpt2"),
        key_value("tokenizer.ggml.pre", STRING, "llama-bpe"),
        key_value("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
        key_value("tokenizer.ggml.token_type", ARRAY, (I32, types)),
        key_value("tokenizer.ggml.merges", ARRAY, (STRING, ["Ġ t", "h e", "Ġt he", "Ġ a", "i n"])),
        key_value("tokenizer.ggml.bos_token_id", U32, len(tokens) - 2),
        key_value("tokenizer.ggml.eos_token_id", U32, len(tokens) - 1),
        key_value("tokenizer.ggml.add_bos_token", BOOL, 1),
    ]
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv)
    with open(os.path.join(sys.argv[1], "gpt2_vocab.gguf"), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
