#include "mixq/io/checkpoint.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {
namespace fs = std::filesystem;

const Tensor& Checkpoint::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(source, "missing tensor '{}'", name);
  return it->second;
}

Tensor& Checkpoint::at(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const Checkpoint&>(*this).at(name));
}

void check_tensor(const Tensor& t, const TensorSpec& spec, const std::string& where) {
  if (t.shape != spec.shape)
    fail(where, "tensor '{}' has shape {}, expected {}", spec.name, shape_string(t.shape), shape_string(spec.shape));
  for (size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i]))
      fail(where, "tensor '{}' holds a non-finite value ({}) at flat index {}", spec.name, t.data[i], i);
}

const StoredTensor& StoredCheckpoint::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(source, "missing tensor '{}'", name);
  return it->second;
}

void validate_llama_shapes(const StoredCheckpoint& ck, bool exact) {
  std::set<std::string> expected;
  for (const TensorSpec& spec : llama_tensor_specs(ck.config)) {
    const StoredTensor& t = ck.at(spec.name);
    if (t.shape() != spec.shape)
      fail(ck.source, "tensor '{}' has shape {}, expected {}", spec.name, shape_string(t.shape()), shape_string(spec.shape));
    expected.insert(spec.name);
  }
  if (!exact) return;
  const LlamaConfig& c = ck.config;
  for (const auto& [name, t] : ck.tensors)
    if (!expected.count(name))
      fail(ck.source, "tensor '{}' is not part of the model config.json describes ({} layers{}); the config and the weights disagree",
           name, c.n_layers, c.tied_classifier ? ", tied embeddings" : "");
}

Checkpoint to_checkpoint(StoredCheckpoint&& stored) {
  size_t floats = 0;
  for (const auto& [name, t] : stored.tensors) floats += size_t(t.numel());
  require_memory(floats * sizeof(float), "the checkpoint's weights as fp32", stored.source);
  Checkpoint ck;
  ck.config = stored.config;
  ck.source = stored.source;
  ck.tokenizer = std::move(stored.tokenizer);
  for (const TensorSpec& spec : llama_tensor_specs(stored.config)) ck.tensors[spec.name] = stored.at(spec.name).to_f32();
  for (auto& [name, t] : stored.tensors)
    if (!ck.tensors.count(name)) ck.tensors[name] = t.to_f32();
  stored.tensors.clear();
  return ck;
}

void validate_llama_tensors(const Checkpoint& ck) {
  for (const TensorSpec& spec : llama_tensor_specs(ck.config)) check_tensor(ck.at(spec.name), spec, ck.source);
}

void check_tokenizer_fits(const Tokenizer& tokenizer, int vocab_size, const std::string& where) {
  if (tokenizer.vocab_size() > vocab_size)
    fail(where, "tokenizer has {} tokens but the model's vocabulary is {}: its last ids would have no embedding row",
         tokenizer.vocab_size(), vocab_size);
}

namespace {

std::string find_tokenizer_beside(const fs::path& dir) {
  // tokenizer.json first, as transformers prefers it to a tokenizer.model beside it.
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin", "tok512.bin"})
    if (fs::exists(dir / name)) return (dir / name).string();
  return "";
}

}  // namespace

ModelPathKind model_path_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(path, "no such file or directory");
    fail(path, "cannot open: {}", std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return ModelPathKind::Directory;
  const MappedFile file(path);  // refuses FIFOs and devices without reading them
  const auto b = file.bytes();
  if (b.size() >= 4 && std::memcmp(b.data(), "GGUF", 4) == 0) return ModelPathKind::Gguf;
  if (b.size() < 9 || b[8] != '{') return ModelPathKind::Llama2c;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | b[size_t(i)];
  // A llama2.c header starts with dim and hidden_dim as int32: as one u64 it is far above the cap.
  return n > 0 && n <= SafetensorsFile::kMaxHeaderBytes ? ModelPathKind::Safetensors : ModelPathKind::Llama2c;
}

StoredCheckpoint open_checkpoint(const std::string& path, const std::string& tokenizer_path) {
  const ModelPathKind kind = model_path_kind(path);
  if (kind == ModelPathKind::Safetensors)
    fail(path, "is a safetensors file: a Hugging Face model is read from its directory (config.json beside "
               "model.safetensors); a mixq quantized file carries mixq.version in its metadata");
  if (kind == ModelPathKind::Gguf) {
    StoredCheckpoint ck = open_gguf(path, /*tokenizer=*/tokenizer_path.empty());
    if (!tokenizer_path.empty()) {
      ck.tokenizer = load_tokenizer(tokenizer_path);
      check_tokenizer_fits(*ck.tokenizer, ck.config.vocab_size, tokenizer_path);
    }
    return ck;
  }
  const bool is_dir = kind == ModelPathKind::Directory;
  StoredCheckpoint ck = is_dir ? open_hf_dir(path) : open_llama2c(path);
  std::string tok = tokenizer_path;
  if (tok.empty()) tok = find_tokenizer_beside(is_dir ? fs::path(path) : fs::path(path).parent_path());
  if (tok.empty())
    fail(path, "no tokenizer found beside the model (tokenizer.json, tokenizer.model, tokenizer.bin or tok512.bin); pass --tokenizer");
  ck.tokenizer = load_tokenizer(tok);
  check_tokenizer_fits(*ck.tokenizer, ck.config.vocab_size, tok);
  return ck;
}

Checkpoint load_checkpoint(const std::string& path, const std::string& tokenizer_path) {
  return to_checkpoint(open_checkpoint(path, tokenizer_path));
}

}  // namespace mixq::io
