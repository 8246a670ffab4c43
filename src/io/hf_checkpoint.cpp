#include "mixq/io/hf_checkpoint.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Both directions of the permutation in one place: HF row (h, half, j) <-> llama2.c row (h, j, half).
Tensor permute_rows(const Tensor& w, int n_heads, bool to_hf) {
  const int64_t rows = w.rows(), cols = w.cols();
  const int64_t hs = rows / n_heads, half = hs / 2;
  Tensor out{w.shape, std::vector<float>(w.data.size())};
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t p = 0; p < 2; ++p) {
        const int64_t l2c = h * hs + 2 * j + p, hf = h * hs + p * half + j;
        const int64_t src = to_hf ? l2c : hf, dst = to_hf ? hf : l2c;
        std::copy_n(&w.data[size_t(src * cols)], cols, &out.data[size_t(dst * cols)]);
      }
  return out;
}

}  // namespace

Tensor permute_rows_to_hf(const Tensor& w, int n_heads) { return permute_rows(w, n_heads, true); }
Tensor permute_rows_from_hf(const Tensor& w, int n_heads) { return permute_rows(w, n_heads, false); }

std::vector<std::pair<std::string, int>> rope_permuted_tensors(const LlamaConfig& c, int l) {
  std::vector<std::pair<std::string, int>> out = {{names::wq(l), c.n_heads}, {names::wk(l), c.n_kv_heads}};
  if (c.qkv_bias) out.insert(out.end(), {{names::bq(l), c.n_heads}, {names::bk(l), c.n_kv_heads}});
  if (c.qk_norm) out.insert(out.end(), {{names::q_norm(l), 1}, {names::k_norm(l), 1}});
  return out;
}

std::vector<int64_t> hf_rows_of_llama2c_rows(int64_t rows, int n_heads) {
  const int64_t hs = rows / n_heads, half = hs / 2;
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t p = 0; p < 2; ++p) out[size_t(h * hs + 2 * j + p)] = h * hs + p * half + j;
  return out;
}

void read_rope_rows_from_hf_order(StoredCheckpoint& ck) {
  for (int l = 0; l < ck.config.n_layers; ++l)
    for (const auto& [name, heads] : rope_permuted_tensors(ck.config, l)) {
      auto it = ck.tensors.find(name);
      if (it == ck.tensors.end()) continue;  // validate_llama_shapes reports it
      const size_t rank = it->second.shape().size();
      if (rank < 1 || rank > 2 || it->second.rows() % (2 * heads) != 0)
        fail(ck.source, "tensor '{}' has shape {}, not [heads x head_size{}]", name, shape_string(it->second.shape()),
             rank == 1 ? "" : ", dim");
      it->second.set_row_order(hf_rows_of_llama2c_rows(it->second.rows(), heads));
    }
}

StoredCheckpoint open_hf_dir(const std::string& dir) {
  const fs::path root(dir);
  note_input(dir);  // an export must never write into the directory it reads
  StoredCheckpoint ck;
  ck.source = dir;
  const std::string cfg_path = (root / "config.json").string();
  if (!fs::exists(cfg_path)) fail(dir, "no config.json: not a Hugging Face model directory");
  ck.config = parse_hf_config(read_whole_file(cfg_path), cfg_path);

  // Which file holds each tensor: one model.safetensors, or the shards of an index.
  std::vector<std::string> shard_files;
  const fs::path single = root / "model.safetensors", index = root / "model.safetensors.index.json";
  if (fs::exists(single)) {
    shard_files.push_back(single.string());
  } else if (fs::exists(index)) {
    json j;
    try {
      j = json::parse(read_whole_file(index.string()));
    } catch (const json::exception& e) {
      fail(index.string(), "not valid JSON: {}", e.what());
    }
    const auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) fail(index.string(), "missing weight_map");
    std::set<std::string> files;
    for (const auto& [name, file] : wm->items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos)
        fail(index.string(), "weight_map entry '{}' is not a plain file name", name);
      files.insert(file.get<std::string>());
    }
    for (const auto& f : files) shard_files.push_back((root / f).string());
  } else {
    fail(dir, "neither model.safetensors nor model.safetensors.index.json found");
  }

  for (const auto& file : shard_files) {
    const auto st = std::make_shared<const SafetensorsFile>(file);
    for (const auto& e : st->entries()) {
      if (e.name.find("rotary_emb.inv_freq") != std::string::npos) continue;  // derived, not a weight
      if (ck.tensors.count(e.name)) fail(file, "tensor '{}' appears in more than one shard", e.name);
      ck.tensors.emplace(e.name, StoredTensor(file, e.name, e.dtype, e.shape, e.bytes, st->mapping()));
    }
  }
  read_rope_rows_from_hf_order(ck);
  validate_llama_shapes(ck, true);
  return ck;
}

Checkpoint load_hf_dir(const std::string& dir) { return to_checkpoint(open_hf_dir(dir)); }

namespace {

// Before anything is written: the directory and each file it will hold may be written, and nothing
// already there would be read in place of (or beside) what is written now.
void check_hf_output(const Checkpoint& ck, const fs::path& root) {
  ck.config.validate(root.string());
  if (ck.tokenizer) check_tokenizer_fits(*ck.tokenizer, ck.config.vocab_size, root.string());
  check_output_dir(root.string());
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  std::set<std::string> written = {"config.json", "model.safetensors"};
  if (ck.tokenizer)
    for (const auto& f : ck.tokenizer->dir_files()) written.insert(f.name);
  for (const auto& name : written) check_output_file((root / name).string());
  const auto tokenizer_names = tokenizer_dir_file_names();
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (written.count(name)) continue;
    const bool shard = name == "model.safetensors.index.json" || (name.ends_with(".safetensors") && name.starts_with("model-"));
    const bool tokenizer = std::find(tokenizer_names.begin(), tokenizer_names.end(), name) != tokenizer_names.end();
    if (shard || tokenizer)
      fail(root.string(), "already holds {}, which a loader would read {} the files written now; write to an empty directory",
           name, shard ? "beside" : "instead of");
  }
}

void write_hf_files(const Checkpoint& ck, const std::string& dir, DType dtype) {
  const LlamaConfig& c = ck.config;
  std::vector<TensorToWrite> out;
  std::map<std::string, int> heads_of;  // the tensors stored in HF's rotate-half row order
  for (int l = 0; l < c.n_layers; ++l)
    for (const auto& [name, heads] : rope_permuted_tensors(c, l)) heads_of[name] = heads;
  for (const auto& [name, t] : ck.tensors) {
    const Tensor* src = &t;
    Tensor permuted;
    if (auto it = heads_of.find(name); it != heads_of.end()) src = &(permuted = permute_rows_to_hf(t, it->second));
    out.push_back({name, dtype, t.shape, encode_f32_as(src->data, dtype)});
  }
  write_safetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
  write_file_atomic((fs::path(dir) / "config.json").string(), hf_config_json(c, dtype));
  if (ck.tokenizer)
    for (const auto& f : ck.tokenizer->dir_files()) write_file_atomic((fs::path(dir) / f.name).string(), f.bytes);
}

}  // namespace

std::vector<std::string> hf_dir_file_names() {
  std::vector<std::string> out = {"config.json", "model.safetensors"};
  for (const auto& name : tokenizer_dir_file_names())
    if (name != "tok512.bin") out.push_back(name);
  return out;
}

void save_hf_dir(const Checkpoint& ck, const std::string& dir, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail(dir, "unsupported output dtype {} (F32, F16 or BF16)", dtype_name(dtype));
  if (ck.config.rope_scaling.type == RopeScaling::Type::FreqFactors)
    fail(dir, "the model's RoPE scaling is a GGUF's rope_freqs.weight matching no Llama-3 rope_scaling; "
              "config.json cannot say it (export to GGUF keeps it)");
  check_hf_output(ck, dir);
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the output directory: {}", ec.message());
  try {
    write_hf_files(ck, dir, dtype);
  } catch (...) {
    if (created) fs::remove_all(dir, ec);  // a failed export leaves nothing behind
    throw;
  }
}

}  // namespace mixq::io
