// A GGUF model as a StoredCheckpoint: the inverse of gguf_export.cpp, for files llama.cpp's
// converters and llama-quantize write, of the architectures gguf_names.hpp lists. llama.cpp
// stores a "llama" model's q/k rows in the order its RoPE expects, adjacent pairs, which is mixq's
// own; qwen2/qwen3 rotate halves, so their q/k weights, biases and norms are read in HF's order
// and reordered as an HF checkpoint's are. Llama-3.1's RoPE scaling arrives as the tensor
// rope_freqs.weight and becomes the config's rope_scaling.
#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/rope_freq_factors.hpp"
#include "gguf_names.hpp"

namespace mixq::io {
namespace {

int int_key(const GgufFile& f, const std::string& key, std::optional<int64_t> fallback = std::nullopt) {
  auto v = f.get_int(key);
  if (!v) v = fallback;
  if (!v) fail(f.path(), "GGUF key '{}' is missing", key);
  if (*v < 0 || *v > INT32_MAX) fail(f.path(), "GGUF key '{}' is {}, outside what a model can have", key, *v);
  return int(*v);
}

float float_key(const GgufFile& f, const std::string& key, float fallback) {
  const auto v = f.get_float(key);
  return v ? float(*v) : fallback;
}

const gguf_names::Architecture& architecture_of(const GgufFile& f) {
  const auto arch = f.get_string("general.architecture");
  if (!arch) fail(f.path(), "GGUF key 'general.architecture' is missing");
  std::string names;
  for (const auto& a : gguf_names::kArchitectures) {
    if (*arch == a.name) return a;
    names += std::string(names.empty() ? "" : ", ") + a.name;
  }
  fail(f.path(), "GGUF architecture '{}' is not read by mixq yet (it reads {})", *arch, names);
}

LlamaConfig read_config(const GgufFile& f, const gguf_names::Architecture& arch) {
  const std::string a = std::string(arch.name) + ".";
  LlamaConfig c;
  c.architecture = arch.family;
  c.qkv_bias = arch.qkv_bias;
  c.qk_norm = arch.qk_norm;
  c.dim = int_key(f, a + "embedding_length");
  c.hidden_dim = int_key(f, a + "feed_forward_length");
  c.n_layers = int_key(f, a + "block_count");
  c.n_heads = int_key(f, a + "attention.head_count");
  c.n_kv_heads = int_key(f, a + "attention.head_count_kv", c.n_heads);
  c.seq_len = int_key(f, a + "context_length", 2048);
  c.rope_theta = float_key(f, a + "rope.freq_base", 10000.f);
  c.rms_norm_eps = float_key(f, a + "attention.layer_norm_rms_epsilon", 1e-5f);
  if (c.n_heads <= 0) fail(f.path(), "GGUF key '{}attention.head_count' is 0", a);
  const int key_length = int_key(f, a + "attention.key_length", c.dim / c.n_heads);
  if (int_key(f, a + "attention.value_length", key_length) != key_length)
    fail(f.path(), "GGUF attention.key_length and value_length differ; a Llama head has one width");
  if (key_length != c.dim / c.n_heads || c.dim % c.n_heads != 0) c.head_dim = key_length;
  if (int_key(f, a + "rope.dimension_count", key_length) != key_length)
    fail(f.path(), "GGUF rope.dimension_count {} is not the head width {}: partial rotary embeddings are not supported",
         int_key(f, a + "rope.dimension_count"), key_length);
  if (const auto type = f.get_string(a + "rope.scaling.type"); type && *type != "none") {
    if (*type != "linear") fail(f.path(), "GGUF rope.scaling.type '{}' is not supported (mixq reads 'linear')", *type);
    c.rope_scaling.type = RopeScaling::Type::Linear;
    c.rope_scaling.factor = float_key(f, a + "rope.scaling.factor", 1.f);
  }
  return c;
}

// rope_freqs.weight: one divisor per rotation pair, which becomes the config's rope_scaling.
void read_rope_freqs(const StoredTensor& t, LlamaConfig& c) {
  if (t.shape() != std::vector<int64_t>{c.head_size() / 2})
    fail(t.source(), "GGUF tensor '{}' has shape {}, not the head's {} rotation pairs", t.name(), shape_string(t.shape()),
         c.head_size() / 2);
  if (c.rope_scaling.type != RopeScaling::Type::None)
    fail(t.source(), "GGUF has both rope.scaling.type 'linear' and '{}'; mixq applies one RoPE scaling", t.name());
  c.rope_scaling = rope_scaling_of_freq_factors(t.to_f32().data, c);
  c.validate(t.source());
}

// mixq's name of each llama.cpp tensor name a model of `c` has.
std::map<std::string, std::string> canonical_names(const LlamaConfig& c) {
  std::map<std::string, std::string> m{{gguf_names::kEmbedding, names::embedding()},
                                       {gguf_names::kFinalNorm, names::final_norm()},
                                       {gguf_names::kClassifier, names::classifier()}};
  for (int l = 0; l < c.n_layers; ++l)
    for (const auto& t : gguf_names::kLayerTensors)
      if (t.present(c)) m[gguf_names::layer_name(l, t)] = t.name(l);
  return m;
}

}  // namespace

StoredCheckpoint open_gguf(const std::string& path, bool tokenizer) { return open_gguf(GgufFile(path), tokenizer); }

StoredCheckpoint open_gguf(const GgufFile& f, bool tokenizer) {
  const std::string& path = f.path();
  const gguf_names::Architecture& arch = architecture_of(f);
  StoredCheckpoint ck;
  ck.source = path;
  ck.config = read_config(f, arch);
  const auto names = canonical_names(ck.config);
  std::optional<StoredTensor> rope_freqs;
  for (const GgufFile::TensorInfo& t : f.tensors()) {
    if (t.name == kRopeFreqsTensor) {
      rope_freqs = StoredTensor::ggml(path, t.name, t.type, t.shape, t.bytes, f.file());
      continue;
    }
    auto it = names.find(t.name);
    if (it == names.end()) fail(path, "GGUF tensor '{}' is not part of a '{}' model", t.name, arch.name);
    ck.tensors.emplace(it->second, StoredTensor::ggml(path, it->second, t.type, t.shape, t.bytes, f.file()));
  }
  const auto embedding = ck.tensors.find(names::embedding());
  if (embedding == ck.tensors.end()) fail(path, "GGUF tensor '{}' is missing", gguf_names::kEmbedding);
  ck.config.vocab_size = int(embedding->second.rows());
  ck.config.tied_classifier = !ck.tensors.count(names::classifier());
  ck.config.validate(path);
  if (rope_freqs) read_rope_freqs(*rope_freqs, ck.config);  // needs the validated head size
  validate_llama_shapes(ck, /*exact=*/true);
  if (arch.rotate_half) read_rope_rows_from_hf_order(ck);
  if (tokenizer) {
    ck.tokenizer = gguf_vocab_tokenizer(read_gguf_vocab(f), path);
    check_tokenizer_fits(*ck.tokenizer, ck.config.vocab_size, path);
  }
  return ck;
}

}  // namespace mixq::io
