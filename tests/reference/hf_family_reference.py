#!/usr/bin/env python3
"""Independent reference for the Hugging Face families mixq reads (Llama-3.x, Qwen2/2.5, Qwen3,
Mistral): writes a tiny random checkpoint with the family's real config.json keys, then computes its
per-position logits in float64 NumPy exactly as transformers' modeling_{llama,qwen2,qwen3,mistral}.py
define the forward pass -- in the checkpoint's own HF layout (rotate-half RoPE, no row permutation),
with rope_scaling's frequency rule, q/k/v biases, per-head q/k RMSNorm, repeat_kv GQA and the
sliding-window causal mask. Nothing here shares code or layout conventions with mixq.

    hf_family_reference.py FAMILY OUT_DIR TOKENIZER_JSON TOKENIZER_CONFIG

writes OUT_DIR/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json} and
OUT_DIR/reference.json = {"tokens": [...], "logits": [[...] per position]}.
"""
import json
import math
import shutil
import struct
import sys

import numpy as np

# Tiny shapes, real keys. vocab 272 > the tokenizer's 263 ids: the padded embedding Qwen ships.
BASE = {
    "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 272, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
    "hidden_act": "silu", "initializer_range": 0.02, "use_cache": True, "torch_dtype": "float32",
    "bos_token_id": 261, "eos_token_id": 262, "transformers_version": "4.46.0",
}
FAMILIES = {
    # Llama-3.1 / 3.2: llama3 rope scaling, tied embeddings (3.2-1B/3B), an explicit head_dim.
    "llama3": {**BASE, "architectures": ["LlamaForCausalLM"], "model_type": "llama", "rope_theta": 500000.0,
               "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 8192, "rope_type": "llama3"},
               "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False, "head_dim": 16,
               "pretraining_tp": 1, "eos_token_id": [262, 261]},
    # Llama with linear position interpolation and heads wider than hidden_size / heads.
    "llama-linear": {**BASE, "architectures": ["LlamaForCausalLM"], "model_type": "llama", "rope_theta": 10000.0,
                     "rope_scaling": {"type": "linear", "factor": 4.0}, "tie_word_embeddings": False,
                     "attention_bias": False, "mlp_bias": False, "head_dim": 32},
    # Qwen2 / 2.5: biases on q/k/v, rope_theta 1e6, tied embeddings (0.5B-3B), sliding window off.
    "qwen2": {**BASE, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "rope_theta": 1000000.0,
              "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 32768,
              "max_window_layers": 21, "attention_dropout": 0.0, "rope_scaling": None},
    # Qwen3: per-head q_norm / k_norm, head_dim 32 with hidden 64 / 4 heads (as Qwen3-0.6B's 128 vs 64).
    "qwen3": {**BASE, "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "rope_theta": 1000000.0,
              "head_dim": 32, "tie_word_embeddings": False, "attention_bias": False, "use_sliding_window": False,
              "sliding_window": None, "max_window_layers": 28, "rope_scaling": None},
    # Mistral-7B-v0.1: a sliding window, here shorter than the reference sequence so it matters.
    "mistral": {**BASE, "architectures": ["MistralForCausalLM"], "model_type": "mistral", "rope_theta": 10000.0,
                "sliding_window": 8, "tie_word_embeddings": False, "head_dim": None},
}
TOKENS = [261, 47, 3, 250, 100, 7, 8, 199, 33, 34, 35, 120, 5, 260, 11, 90, 91, 92, 64, 0, 17, 230, 45, 262]


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def random_weights(c, rng):
    d, f, v, hd = c["hidden_size"], c["intermediate_size"], c["vocab_size"], head_dim(c)
    nq, nkv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    w = {}
    def mat(name, rows, cols):  # unit-variance outputs, so the test sees O(1) activations
        w[name] = rng.standard_normal((rows, cols)) / math.sqrt(cols)
    def vec(name, n, mean, sd):
        w[name] = mean + sd * rng.standard_normal(n)
    w["model.embed_tokens.weight"] = rng.standard_normal((v, d))
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        vec(p + "input_layernorm.weight", d, 1.0, 0.1)
        vec(p + "post_attention_layernorm.weight", d, 1.0, 0.1)
        mat(p + "self_attn.q_proj.weight", nq, d)
        mat(p + "self_attn.k_proj.weight", nkv, d)
        mat(p + "self_attn.v_proj.weight", nkv, d)
        mat(p + "self_attn.o_proj.weight", d, nq)
        if c["model_type"] == "qwen2":
            vec(p + "self_attn.q_proj.bias", nq, 0.0, 0.5)
            vec(p + "self_attn.k_proj.bias", nkv, 0.0, 0.5)
            vec(p + "self_attn.v_proj.bias", nkv, 0.0, 0.5)
        if c["model_type"] == "qwen3":
            vec(p + "self_attn.q_norm.weight", hd, 1.0, 0.2)
            vec(p + "self_attn.k_norm.weight", hd, 1.0, 0.2)
        mat(p + "mlp.gate_proj.weight", f, d)
        mat(p + "mlp.up_proj.weight", f, d)
        mat(p + "mlp.down_proj.weight", d, f)
    vec("model.norm.weight", d, 1.0, 0.1)
    if not c["tie_word_embeddings"]:
        mat("lm_head.weight", v, d)
    return {k: x.astype(np.float32) for k, x in w.items()}


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# --- transformers' forward pass, in float64 -------------------------------------------------

def rms_norm(x, w, eps):  # LlamaRMSNorm / Qwen2RMSNorm / Qwen3RMSNorm / MistralRMSNorm
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def inv_freq(c):  # modeling_rope_utils: _compute_default / _linear / _llama3 _rope_parameters
    hd = head_dim(c)
    f = 1.0 / (c["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    rs = c.get("rope_scaling")
    if not rs:
        return f
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return f / rs["factor"]
    assert kind == "llama3"
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / f
    scaled = np.where(wavelen > old / lo, f / factor, f)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    return np.where(medium, smoothed, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(c, w, tokens):
    n, hd = len(tokens), head_dim(c)
    nh, nkv, eps = c["num_attention_heads"], c["num_key_value_heads"], c["rms_norm_eps"]
    W = {k: v.astype(np.float64) for k, v in w.items()}
    x = W["model.embed_tokens.weight"][tokens]
    pos = np.arange(n, dtype=np.float64)
    freqs = np.outer(pos, inv_freq(c))
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    mask = np.tril(np.ones((n, n), dtype=bool))
    window = c.get("sliding_window") if c["model_type"] == "mistral" else None
    if window:  # kv_idx > q_idx - sliding_window
        mask &= np.arange(n)[None, :] > np.arange(n)[:, None] - window
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        def proj(name):
            y = h @ W[p + f"self_attn.{name}_proj.weight"].T
            b = W.get(p + f"self_attn.{name}_proj.bias")
            return y if b is None else y + b
        q = proj("q").reshape(n, nh, hd)
        k = proj("k").reshape(n, nkv, hd)
        v = proj("v").reshape(n, nkv, hd)
        if c["model_type"] == "qwen3":  # on each head, before RoPE
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, nh // nkv, axis=1)  # repeat_kv
        v = np.repeat(v, nh // nkv, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd)
        scores = np.where(mask[None], scores, -np.inf)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        att = np.einsum("hqk,khd->qhd", probs, v).reshape(n, nh * hd)
        x = x + att @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def main():
    family, out, tok_json, tok_config = sys.argv[1:5]
    c = FAMILIES[family]
    rng = np.random.default_rng(sum(map(ord, family)))
    w = random_weights(c, rng)
    with open(f"{out}/config.json", "w") as f:
        json.dump(c, f, indent=2)
    write_safetensors(f"{out}/model.safetensors", w)
    shutil.copyfile(tok_json, f"{out}/tokenizer.json")
    shutil.copyfile(tok_config, f"{out}/tokenizer_config.json")
    logits = forward(c, w, TOKENS)
    with open(f"{out}/reference.json", "w") as f:
        json.dump({"tokens": TOKENS, "logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
