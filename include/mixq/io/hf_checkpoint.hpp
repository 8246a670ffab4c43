#pragma once
// Hugging Face LlamaForCausalLM directories: config.json + model.safetensors (or a sharded
// model.safetensors.index.json). HF stores q/k rows permuted for rotate-half RoPE; mixq keeps
// llama2.c's adjacent-pair order inside, so rows are permuted on the way in and out.
#include <string>

#include "mixq/io/checkpoint.hpp"
#include "mixq/io/hf_config.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

// Opens an HF directory (tokenizer not included): shards mapped, q/k read through their row
// permutation; load_hf_dir converts every tensor to fp32.
StoredCheckpoint open_hf_dir(const std::string& dir);
Checkpoint load_hf_dir(const std::string& dir);

// Writes `ckpt` as an HF directory with weights in `dtype` (F32, F16 or BF16), and its tokenizer
// (tokenizer.model or tokenizer.bin) when it has one. Files are written atomically.
// It first checks the directory may be written (io/run_files.hpp) and that nothing already there
// (a sharded index, another tokenizer) would be read beside or instead of the new files.
void save_hf_dir(const Checkpoint& ckpt, const std::string& dir, DType dtype);
// The names save_hf_dir may write in its directory (either tokenizer name).
std::vector<std::string> hf_dir_file_names();

// Row permutations between llama2.c's adjacent-pair RoPE order and HF's rotate-half order for a
// [n_heads * head_size, cols] projection.
Tensor permute_rows_to_hf(const Tensor& w, int n_heads);
Tensor permute_rows_from_hf(const Tensor& w, int n_heads);
// Every tensor of layer `l` whose rows follow the RoPE order, with the number of heads it holds:
// q/k projections, their biases (qkv_bias), and the per-head q/k norm weights (qk_norm: one head).
std::vector<std::pair<std::string, int>> rope_permuted_tensors(const LlamaConfig& c, int l);
// For llama2.c row r of such a projection, the HF row that holds it.
std::vector<int64_t> hf_rows_of_llama2c_rows(int64_t rows, int n_heads);
// Makes every rope_permuted_tensors tensor of `ck`, stored in HF's rotate-half row order (an HF
// directory, a qwen2/qwen3 GGUF), read in mixq's order; Error(ck.source) naming a tensor whose
// shape is not whole heads.
void read_rope_rows_from_hf_order(StoredCheckpoint& ck);

}  // namespace mixq::io
