#include "mixq/io/hf_checkpoint.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/core/json_number.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int get_int(const json& j, const char* key, const std::string& where, const json& fallback = nullptr) {
  const auto it = j.find(key);
  const json& v = it != j.end() ? *it : fallback;
  if (v.is_null()) fail(where, "missing '{}'", key);
  return int(json_integer(v, where, key, 1, int64_t(1) << 30));
}

float get_float(const json& j, const char* key, float fallback, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return json_float(*it, where, key);
}

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

std::vector<int64_t> hf_rows_of_llama2c_rows(int64_t rows, int n_heads) {
  const int64_t hs = rows / n_heads, half = hs / 2;
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t p = 0; p < 2; ++p) out[size_t(h * hs + 2 * j + p)] = h * hs + p * half + j;
  return out;
}

LlamaConfig parse_hf_config(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(where, "not valid JSON: {}", e.what());
  }
  if (!j.is_object()) fail(where, "not a JSON object");
  static const std::set<std::string> supported = {"LlamaForCausalLM", "MistralForCausalLM"};
  if (auto a = j.find("architectures"); a != j.end() && a->is_array() && !a->empty()) {
    const std::string arch = (*a)[0].is_string() ? (*a)[0].get<std::string>() : "?";
    if (!supported.count(arch)) fail(where, "unsupported architecture '{}' (supported: LlamaForCausalLM, MistralForCausalLM)", arch);
  }
  if (auto r = j.find("rope_scaling"); r != j.end() && !r->is_null())
    fail(where, "rope_scaling is not supported yet");
  LlamaConfig c;
  c.dim = get_int(j, "hidden_size", where);
  c.hidden_dim = get_int(j, "intermediate_size", where);
  c.n_layers = get_int(j, "num_hidden_layers", where);
  c.n_heads = get_int(j, "num_attention_heads", where);
  c.n_kv_heads = get_int(j, "num_key_value_heads", where, j.value("num_attention_heads", json()));
  c.vocab_size = get_int(j, "vocab_size", where);
  c.seq_len = get_int(j, "max_position_embeddings", where);
  c.rope_theta = get_float(j, "rope_theta", 10000.f, where);
  c.rms_norm_eps = get_float(j, "rms_norm_eps", 1e-6f, where);
  const auto tie = j.find("tie_word_embeddings");
  if (tie != j.end() && !tie->is_null() && !tie->is_boolean())
    fail(where, "'tie_word_embeddings' must be true or false, got {}", tie->dump());
  c.tied_classifier = tie != j.end() && tie->is_boolean() && tie->get<bool>();
  if (auto hd = j.find("head_dim"); hd != j.end() && !hd->is_null() && c.n_heads > 0 &&
                                    (!hd->is_number_integer() ||
                                     json_integer(*hd, where, "head_dim", 1, int64_t(1) << 30) * c.n_heads != c.dim))
    fail(where, "head_dim {} differs from hidden_size / num_attention_heads (not supported)", hd->dump());
  c.validate(where);
  return c;
}

std::string hf_config_json(const LlamaConfig& c, DType dtype) {
  json j = {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"hidden_size", c.dim},
            {"intermediate_size", c.hidden_dim},
            {"num_hidden_layers", c.n_layers},
            {"num_attention_heads", c.n_heads},
            {"num_key_value_heads", c.n_kv_heads},
            {"vocab_size", c.vocab_size},
            {"max_position_embeddings", c.seq_len},
            {"rope_theta", c.rope_theta},
            {"rms_norm_eps", c.rms_norm_eps},
            {"tie_word_embeddings", c.tied_classifier},
            {"hidden_act", "silu"},
            {"bos_token_id", 1},
            {"eos_token_id", 2},
            {"torch_dtype", dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16"}};
  return j.dump(2) + "\n";
}

StoredCheckpoint open_hf_dir(const std::string& dir) {
  const fs::path root(dir);
  note_input(dir);  // an export must never write into the directory it reads
  StoredCheckpoint ck;
  ck.source = dir;
  const std::string cfg_path = (root / "config.json").string();
  if (!fs::exists(cfg_path)) fail(dir, "no config.json: not a Hugging Face model directory");
  ck.config = parse_hf_config(read_whole_file(cfg_path), cfg_path);
  const LlamaConfig& c = ck.config;

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
  for (int l = 0; l < c.n_layers; ++l) {
    for (auto [name, heads] : {std::pair{names::wq(l), c.n_heads}, std::pair{names::wk(l), c.n_kv_heads}}) {
      auto it = ck.tensors.find(name);
      if (it == ck.tensors.end()) continue;  // validate_llama_shapes reports it
      if (it->second.shape().size() != 2 || it->second.rows() % (2 * heads) != 0)
        fail(dir, "tensor '{}' has shape {}, not [heads x head_size, dim]", name, shape_string(it->second.shape()));
      it->second.set_row_order(hf_rows_of_llama2c_rows(it->second.rows(), heads));
    }
  }
  validate_llama_shapes(ck, true);
  return ck;
}

Checkpoint load_hf_dir(const std::string& dir) { return to_checkpoint(open_hf_dir(dir)); }

namespace {

const char* tokenizer_file_name(const Checkpoint& ck) {
  return std::string(ck.tokenizer->kind()) == "sentencepiece" ? "tokenizer.model" : "tokenizer.bin";
}

// Before anything is written: the directory and each file it will hold may be written, and nothing
// already there would be read in place of (or beside) what is written now.
void check_hf_output(const Checkpoint& ck, const fs::path& root) {
  ck.config.validate(root.string());
  if (ck.tokenizer && ck.tokenizer->vocab_size() != ck.config.vocab_size)
    fail(root.string(), "the tokenizer has {} tokens but the model's vocabulary is {}: the directory would not load",
         ck.tokenizer->vocab_size(), ck.config.vocab_size);
  check_output_dir(root.string());
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  std::set<std::string> written = {"config.json", "model.safetensors"};
  if (ck.tokenizer) written.insert(tokenizer_file_name(ck));
  for (const auto& name : written) check_output_file((root / name).string());
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (written.count(name)) continue;
    const bool shard = name == "model.safetensors.index.json" || (name.ends_with(".safetensors") && name.starts_with("model-"));
    const bool tokenizer = name == "tokenizer.model" || name == "tokenizer.bin" || name == "tok512.bin" || name == "tokenizer.json";
    if (shard || tokenizer)
      fail(root.string(), "already holds {}, which a loader would read {} the files written now; write to an empty directory",
           name, shard ? "beside" : "instead of");
  }
}

void write_hf_files(const Checkpoint& ck, const std::string& dir, DType dtype) {
  const LlamaConfig& c = ck.config;
  std::vector<TensorToWrite> out;
  for (const auto& [name, t] : ck.tensors) {
    const Tensor* src = &t;
    Tensor permuted;
    for (int l = 0; l < c.n_layers; ++l) {
      if (name == names::wq(l)) src = &(permuted = permute_rows_to_hf(t, c.n_heads));
      if (name == names::wk(l)) src = &(permuted = permute_rows_to_hf(t, c.n_kv_heads));
    }
    out.push_back({name, dtype, t.shape, encode_f32_as(src->data, dtype)});
  }
  write_safetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
  write_file_atomic((fs::path(dir) / "config.json").string(), hf_config_json(c, dtype));
  if (ck.tokenizer) write_file_atomic((fs::path(dir) / tokenizer_file_name(ck)).string(), ck.tokenizer->file_bytes());
}

}  // namespace

std::vector<std::string> hf_dir_file_names() { return {"config.json", "model.safetensors", "tokenizer.model", "tokenizer.bin"}; }

void save_hf_dir(const Checkpoint& ck, const std::string& dir, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail(dir, "unsupported output dtype {} (F32, F16 or BF16)", dtype_name(dtype));
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
