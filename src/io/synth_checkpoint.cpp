#include "mixq/io/synth_checkpoint.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/run_files.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {
namespace fs = std::filesystem;

namespace {

LlamaConfig shape(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int ctx, float theta, float eps,
                  bool tied) {
  LlamaConfig c;
  c.dim = dim, c.hidden_dim = hidden, c.n_layers = layers, c.n_heads = heads, c.n_kv_heads = kv_heads;
  c.vocab_size = vocab, c.seq_len = ctx, c.rope_theta = theta, c.rms_norm_eps = eps, c.tied_classifier = tied;
  return c;
}

// The parts a family adds to the plain Llama shape (biases, q/k norms, RoPE scaling, head width).
LlamaConfig family(LlamaConfig c, Architecture a, RopeScaling rope = {}, int head_dim = 0) {
  set_architecture(c, a);
  c.rope_scaling = rope;
  c.head_dim = head_dim;
  return c;
}

// splitmix64: a counter-based generator, so any element's value depends only on (seed, tensor, index).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
double uniform(uint64_t key) { return (double(mix(key) >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
// Approximately standard normal (sum of four uniforms, variance-matched): cheap and smooth enough.
float normal(uint64_t key) {
  const uint64_t k = mix(key);
  double s = 0;
  for (int i = 0; i < 4; ++i) s += double((k >> (16 * i)) & 0xffff) / 65535.0;
  return float((s - 2.0) * std::sqrt(3.0));
}

uint64_t tensor_key(uint64_t seed, const std::string& name) {
  uint64_t h = mix(seed);
  for (char c : name) h = mix(h ^ uint8_t(c));
  return h;
}

struct Generated {
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

void store(float v, DType dtype, uint8_t* out) {
  if (dtype == DType::F32) std::memcpy(out, &v, 4);
  else {
    const uint16_t h = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
    std::memcpy(out, &h, 2);
  }
}

// A weight matrix [rows][cols]: N(0, σ²) with σ = 1/√cols × a per-row scale (log-normal), and
// ~0.5 % of input columns ×(8…24): the outlier columns GPTQ's act-order and FineQ's clusters see.
Generated matrix(uint64_t key, int64_t rows, int64_t cols, DType dtype, ThreadPool& pool) {
  Generated g{{rows, cols}, std::vector<uint8_t>(size_t(rows * cols) * dtype_size(dtype))};
  std::vector<float> col_scale(size_t(cols), 1.f);
  for (int64_t j = 0; j < cols; ++j)
    if (uniform(key ^ mix(uint64_t(j) + 1)) < 0.005) col_scale[size_t(j)] = float(8 + 16 * uniform(key + uint64_t(j)));
  const float base = float(1.0 / std::sqrt(double(cols)));
  const size_t es = dtype_size(dtype);
  pool.parallel_for(size_t(rows), [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      const float row_scale = base * float(std::exp(0.35 * double(normal(key ^ mix(~uint64_t(r))))));
      const uint64_t rk = mix(key + r * 0x100000001b3ull);
      for (int64_t j = 0; j < cols; ++j)
        store(row_scale * col_scale[size_t(j)] * normal(rk + uint64_t(j)), dtype, &g.bytes[(r * size_t(cols) + size_t(j)) * es]);
    }
  }, 16);
  return g;
}

// RMSNorm weights: around 1, with ~1 % of channels ×(5…20) (massive activations).
Generated norm(uint64_t key, int64_t dim, DType dtype) {
  Generated g{{dim}, std::vector<uint8_t>(size_t(dim) * dtype_size(dtype))};
  for (int64_t j = 0; j < dim; ++j) {
    float v = 1.f + 0.1f * normal(key + uint64_t(j));
    if (uniform(key ^ mix(uint64_t(j) + 7)) < 0.01) v *= float(5 + 15 * uniform(key + 3 * uint64_t(j)));
    store(v, dtype, &g.bytes[size_t(j) * dtype_size(dtype)]);
  }
  return g;
}

}  // namespace

const std::vector<SynthShape>& synth_shapes() {
  static const std::vector<SynthShape> shapes = {
      {"tiny", shape(64, 172, 2, 8, 4, 512, 512, 10000.f, 1e-5f, false)},
      {"llama2-7b", shape(4096, 11008, 32, 32, 32, 32000, 4096, 10000.f, 1e-5f, false)},
      {"llama2-13b", shape(5120, 13824, 40, 40, 40, 32000, 4096, 10000.f, 1e-5f, false)},
      {"llama2-70b", shape(8192, 28672, 80, 64, 8, 32000, 4096, 10000.f, 1e-5f, false)},
      {"llama3-8b", shape(4096, 14336, 32, 32, 8, 128256, 8192, 500000.f, 1e-5f, false)},
      {"llama3.2-1b", shape(2048, 8192, 16, 32, 8, 128256, 131072, 500000.f, 1e-5f, true)},
      {"mistral-7b", shape(4096, 14336, 32, 32, 8, 32000, 32768, 1000000.f, 1e-5f, false)},
      {"llama3.1-8b", family(shape(4096, 14336, 32, 32, 8, 128256, 131072, 500000.f, 1e-5f, false), Architecture::Llama,
                             {RopeScaling::Type::Llama3, 8.f, 1.f, 4.f, 8192, {}})},
      {"qwen2.5-7b", family(shape(3584, 18944, 28, 28, 4, 152064, 32768, 1000000.f, 1e-6f, false), Architecture::Qwen2)},
      {"qwen3-8b", family(shape(4096, 12288, 36, 32, 8, 151936, 40960, 1000000.f, 1e-6f, false), Architecture::Qwen3, {}, 128)},
  };
  return shapes;
}

const LlamaConfig& synth_shape(const std::string& name) {
  std::string names;
  for (const auto& s : synth_shapes()) {
    if (name == s.name) return s.config;
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  }
  fail("--shape", "unknown shape '{}' (choices: {})", name, names);
}

std::string synth_tokenizer_bytes(int vocab) {
  if (vocab < 3 + 256) fail("--vocab", "a tokenizer needs at least 259 tokens (3 special + 256 bytes), not {}", vocab);
  std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) pieces.push_back(fmt::format("<0x{:02X}>", b));
  const std::string letters = " abcdefghijklmnopqrstuvwxyz";
  std::vector<std::string> extra;
  for (char c = 33; c < 127; ++c) extra.emplace_back(1, c);
  for (char a : letters)
    for (char b : letters) extra.push_back(std::string{a, b});
  for (char a : letters)
    for (char b : letters)
      for (char c : letters) extra.push_back(std::string{a, b, c});
  for (size_t i = 0; pieces.size() < size_t(vocab); ++i)
    pieces.push_back(i < extra.size() ? extra[i] : fmt::format("<synth{}>", i - extra.size()));
  std::string out;
  auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  const int32_t max_len = 16;
  put(&max_len, 4);
  for (size_t id = 0; id < pieces.size(); ++id) {
    // Longer pieces merge first (llama2.c merges the highest-scoring pair).
    const float score = id < 259 ? 0.f : float(pieces[id].size()) - float(id) * 1e-6f;
    const int32_t len = int32_t(pieces[id].size());
    put(&score, 4);
    put(&len, 4);
    put(pieces[id].data(), pieces[id].size());
  }
  return out;
}

uint64_t write_synth_checkpoint(const std::string& dir, const SynthOptions& opt) {
  const LlamaConfig& c = opt.config;
  c.validate("synthetic checkpoint");
  if (opt.dtype != DType::F32 && opt.dtype != DType::F16 && opt.dtype != DType::BF16)
    fail("--dtype", "weights are F32, F16 or BF16, not {}", dtype_name(opt.dtype));
  check_output_dir(dir, "-o");
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec)) fail(dir, "already exists and is not empty: write to a new directory");
  fs::create_directories(dir);
  std::vector<Tokenizer::DirFile> tokenizer_files = {{"tokenizer.bin", ""}};
  if (!opt.tokenizer.empty()) {
    const auto tok = load_tokenizer(opt.tokenizer);
    if (tok->vocab_size() > c.vocab_size)
      fail(opt.tokenizer, "has {} tokens but the shape's vocabulary is {} (pass --vocab {})", tok->vocab_size(), c.vocab_size,
           tok->vocab_size());
    tokenizer_files = tok->dir_files();
  } else {
    tokenizer_files[0].bytes = synth_tokenizer_bytes(c.vocab_size);
  }

  ThreadPool pool(opt.threads);
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  std::vector<std::string> shard_names;
  std::unique_ptr<SafetensorsWriter> shard;
  uint64_t shard_used = 0, total = 0;
  std::vector<std::pair<std::string, std::string>> pending;  // (tensor, shard index) for the map
  auto emit = [&](const std::string& name, const Generated& g) {
    if (!shard || (shard_used > 0 && shard_used + g.bytes.size() > opt.shard_bytes)) {
      if (shard) shard->finish({{"format", "pt"}});
      shard_names.push_back(fmt::format("model-{:05d}", shard_names.size() + 1));
      shard = std::make_unique<SafetensorsWriter>((fs::path(dir) / (shard_names.back() + ".safetensors")).string());
      shard_used = 0;
    }
    shard->add(name, opt.dtype, g.shape, g.bytes);
    pending.emplace_back(name, shard_names.back());
    shard_used += g.bytes.size();
    total += g.bytes.size();
  };
  const int64_t dim = c.dim, hid = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim(), V = c.vocab_size;
  auto key = [&](const std::string& name) { return tensor_key(opt.seed, name); };
  emit(names::embedding(), matrix(key(names::embedding()), V, dim, opt.dtype, pool));
  for (int l = 0; l < c.n_layers; ++l) {
    // Per-layer vectors (norms near 1; biases and q/k norms where the family has them).
    for (const auto& v : layer_vector_specs(c)) emit(v.name(l), norm(key(v.name(l)), v.length, opt.dtype));
    emit(names::wq(l), matrix(key(names::wq(l)), q, dim, opt.dtype, pool));
    emit(names::wk(l), matrix(key(names::wk(l)), kv, dim, opt.dtype, pool));
    emit(names::wv(l), matrix(key(names::wv(l)), kv, dim, opt.dtype, pool));
    emit(names::wo(l), matrix(key(names::wo(l)), dim, q, opt.dtype, pool));
    emit(names::w1(l), matrix(key(names::w1(l)), hid, dim, opt.dtype, pool));
    emit(names::w3(l), matrix(key(names::w3(l)), hid, dim, opt.dtype, pool));
    emit(names::w2(l), matrix(key(names::w2(l)), dim, hid, opt.dtype, pool));
  }
  emit(names::final_norm(), norm(key(names::final_norm()), dim, opt.dtype));
  if (!c.tied_classifier) emit(names::classifier(), matrix(key(names::classifier()), V, dim, opt.dtype, pool));
  shard->finish({{"format", "pt"}});

  // HF's names: model-00001-of-00003.safetensors. The count is known only now, so shards are
  // renamed at the end (the directory is new: nothing else is there).
  const size_t n = shard_names.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string final_name = fmt::format("{}-of-{:05d}.safetensors", shard_names[i], n);
    fs::rename(fs::path(dir) / (shard_names[i] + ".safetensors"), fs::path(dir) / final_name);
    shard_names[i] = final_name;
  }
  for (const auto& [tensor, s] : pending) weight_map[tensor] = fmt::format("{}-of-{:05d}.safetensors", s, n);
  const nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_file_atomic((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "config.json").string(), hf_config_json(c, opt.dtype));
  for (const auto& f : tokenizer_files) write_file_atomic((fs::path(dir) / f.name).string(), f.bytes);
  return total;
}

}  // namespace mixq::io
