// A checkpoint as one of llama.cpp's architectures (gguf_names.hpp: "llama" for Llama and Mistral,
// "qwen2", "qwen3"; the keys and tensor names of llama.cpp's src/llama-arch.cpp and of its convert
// scripts). mixq holds q/k rows in adjacent-pair RoPE order, which is llama's; qwen2/qwen3 rotate
// halves (NEOX), so their q/k weights, biases and norms are written in HF's order, as
// llama.cpp's converter leaves them.
#include <filesystem>

#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/rope_freq_factors.hpp"
#include "mixq/io/run_files.hpp"
#include "gguf_names.hpp"

namespace mixq::io {
namespace {

GgmlType ggml_type_of(DType d, const std::string& where) {
  switch (d) {
    case DType::F32: return GgmlType::F32;
    case DType::F16: return GgmlType::F16;
    case DType::BF16: return GgmlType::BF16;
    default: fail(where, "GGUF export writes F32, F16 or BF16 weights, not {}", dtype_name(d));
  }
}

// llama.cpp's general.file_type (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16).
uint32_t file_type_of(GgmlType t) { return t == GgmlType::F32 ? 0 : t == GgmlType::F16 ? 1 : 32; }

const gguf_names::Architecture& architecture_of(const LlamaConfig& c, const std::string& where) {
  const io::Architecture family = c.architecture == io::Architecture::Mistral ? io::Architecture::Llama : c.architecture;
  for (const auto& a : gguf_names::kArchitectures)
    if (a.family == family) {
      if (c.qkv_bias != a.qkv_bias || c.qk_norm != a.qk_norm)
        fail(where, "the model's q/k/v biases or q/k norms are not those of llama.cpp's '{}' architecture", a.name);
      if (c.sliding_window > 0)
        fail(where, "the model has a sliding attention window (Mistral), which llama.cpp's '{}' architecture cannot express", a.name);
      return a;
    }
  fail(where, "the model's family has no llama.cpp architecture mixq writes");
}

// Linear scaling is said with keys; Llama-3's rule (and divisors read from a GGUF) as the
// rope_freqs.weight tensor llama.cpp's converter writes.
void add_rope_scaling(GgufWriter& w, const LlamaConfig& c, const std::string& a) {
  if (c.rope_scaling.type == RopeScaling::Type::Linear) {
    w.add_string(a + ".rope.scaling.type", "linear");
    w.add_f32(a + ".rope.scaling.factor", c.rope_scaling.factor);
  }
  const std::vector<float> factors = rope_freq_factors(c);
  if (factors.empty()) return;
  w.add_tensor(kRopeFreqsTensor, {int64_t(factors.size())}, GgmlType::F32, factors.size() * sizeof(float),
               [factors](std::string& out) { out.append(reinterpret_cast<const char*>(factors.data()), factors.size() * sizeof(float)); });
}

void add_hyperparameters(GgufWriter& w, const LlamaConfig& c, const std::string& name, GgmlType type, const std::string& a) {
  w.add_string("general.architecture", a);
  w.add_string("general.name", name);
  w.add_u32("general.file_type", file_type_of(type));
  w.add_u32("general.alignment", uint32_t(GgufWriter::kAlignment));
  w.add_u32(a + ".vocab_size", uint32_t(c.vocab_size));
  w.add_u32(a + ".context_length", uint32_t(c.seq_len));
  w.add_u32(a + ".embedding_length", uint32_t(c.dim));
  w.add_u32(a + ".block_count", uint32_t(c.n_layers));
  w.add_u32(a + ".feed_forward_length", uint32_t(c.hidden_dim));
  w.add_u32(a + ".rope.dimension_count", uint32_t(c.head_size()));
  w.add_u32(a + ".attention.head_count", uint32_t(c.n_heads));
  w.add_u32(a + ".attention.head_count_kv", uint32_t(c.n_kv_heads));
  if (c.head_size() * c.n_heads != c.dim) {
    w.add_u32(a + ".attention.key_length", uint32_t(c.head_size()));
    w.add_u32(a + ".attention.value_length", uint32_t(c.head_size()));
  }
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.add_f32(a + ".rope.freq_base", c.rope_theta);
}

// Rows of ggml blocks in mixq's RoPE order, reordered to HF's (rotate-half) order.
std::string block_rows_to_hf(const std::string& bytes, int64_t rows, int heads) {
  const size_t row = bytes.size() / size_t(rows);
  std::string out(bytes.size(), '\0');
  const auto hf = hf_rows_of_llama2c_rows(rows, heads);
  for (int64_t r = 0; r < rows; ++r) bytes.copy(&out[size_t(hf[size_t(r)]) * row], row, size_t(r) * row);
  return out;
}

// `heads` > 0: the tensor's rows are written in HF's rotate-half order (permuted as written, so
// no second copy of the model is held).
void add_weight(GgufWriter& w, const std::string& gguf_name, const Tensor& t, DType dtype, int heads = 0) {
  const GgmlType type = ggml_type_of(dtype, gguf_name);
  const uint64_t bytes = uint64_t(t.numel()) * dtype_size(dtype);
  w.add_tensor(gguf_name, t.shape, type, bytes, [&t, dtype, heads](std::string& out) {
    const auto b = encode_f32_as(heads > 0 ? permute_rows_to_hf(t, heads).data : t.data, dtype);
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
  });
}

}  // namespace

void save_gguf(const Checkpoint& ck, const std::string& path, DType dtype,
               const std::map<std::string, GgmlTensorBytes>& encoded) {
  const LlamaConfig& c = ck.config;
  c.validate(path);
  const gguf_names::Architecture& arch = architecture_of(c, path);
  if (!ck.tokenizer) fail(path, "GGUF export needs the model's tokenizer (none was found; give --tokenizer)");
  check_tokenizer_fits(*ck.tokenizer, c.vocab_size, path);
  check_output_file(path);
  GgufWriter w;
  add_hyperparameters(w, c, std::filesystem::path(ck.source).stem().string(), ggml_type_of(dtype, path), arch.name);
  add_rope_scaling(w, c, arch.name);
  write_gguf_vocab(w, gguf_vocab_of(*ck.tokenizer, path), c.vocab_size);
  add_weight(w, gguf_names::kEmbedding, ck.at(names::embedding()), dtype);
  add_weight(w, gguf_names::kFinalNorm, ck.at(names::final_norm()), DType::F32);
  if (!c.tied_classifier) add_weight(w, gguf_names::kClassifier, ck.at(names::classifier()), dtype);
  for (int l = 0; l < c.n_layers; ++l) {
    std::map<std::string, int> heads_of;  // tensors written in HF's row order
    if (arch.rotate_half)
      for (const auto& [name, heads] : rope_permuted_tensors(c, l)) heads_of[name] = heads;
    for (const gguf_names::LayerTensor& lt : gguf_names::kLayerTensors) {
      if (!lt.present(c)) continue;
      const std::string name = gguf_names::layer_name(l, lt);
      const Tensor& t = ck.at(lt.name(l));
      const auto it = heads_of.find(lt.name(l));
      const int heads = it == heads_of.end() ? 0 : it->second;
      if (auto e = encoded.find(lt.name(l)); e != encoded.end())
        w.add_tensor(name, t.shape, e->second.type, e->second.bytes.size(), [&b = e->second.bytes, rows = t.rows(), heads](std::string& out) {
          out += heads > 0 ? block_rows_to_hf(b, rows, heads) : b;
        });
      else
        add_weight(w, name, t, lt.vector ? DType::F32 : dtype, heads);
    }
  }
  w.write(path);
}

}  // namespace mixq::io
