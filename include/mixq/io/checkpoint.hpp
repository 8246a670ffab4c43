#pragma once
// A loaded fp32 checkpoint: config, tensors under canonical names, and the tokenizer.
// q/k projection rows are in llama2.c's order (RoPE on adjacent pairs) whatever the source.
#include <map>
#include <memory>
#include <string>

#include "mixq/core/tensor.hpp"
#include "mixq/io/llama_config.hpp"
#include "mixq/io/stored_tensor.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {

struct Checkpoint {
  LlamaConfig config;
  std::map<std::string, Tensor> tensors;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string source;  // the path it was loaded from

  // The tensor `name`, or Error(source, "missing tensor ...").
  const Tensor& at(const std::string& name) const;
  Tensor& at(const std::string& name);
};

// A checkpoint opened, not loaded: every tensor stays in its (mapped) file in its stored dtype
// until it is used, so a model larger than memory can be quantized layer by layer. Shapes and the
// tensor set are checked when it is opened; values (finite) when a tensor is converted.
struct StoredCheckpoint {
  LlamaConfig config;
  std::map<std::string, StoredTensor> tensors;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string source;

  const StoredTensor& at(const std::string& name) const;  // Error(source, "missing tensor ...")
};

// Every tensor the config implies is present with its shape, and (`exact`) no other tensor is:
// a config naming fewer layers than the weights hold would silently drop the rest.
void validate_llama_shapes(const StoredCheckpoint& ckpt, bool exact);

// Error(where, ...) when `tokenizer` has more tokens than the model has embedding rows. Fewer is
// allowed, as transformers allows it: Qwen pads its embedding past the tokenizer's vocabulary.
void check_tokenizer_fits(const Tokenizer& tokenizer, int vocab_size, const std::string& where);

// Every tensor as fp32 (memory checked first), each value checked finite.
Checkpoint to_checkpoint(StoredCheckpoint&& stored);

// Checks that every tensor a Llama model needs is present with the shape `config` implies and
// holds only finite values.
void validate_llama_tensors(const Checkpoint& ckpt);
// The same check for one tensor: Error(where, ...) unless it has spec's shape and only finite values.
void check_tensor(const Tensor& t, const TensorSpec& spec, const std::string& where);

// What a model path holds, judged from its type and first bytes: a directory (Hugging Face), a
// safetensors file (8-byte header length, then '{'), a GGUF file ("GGUF"), or anything else, read
// as llama2.c. Anything
// but a directory or a regular file (a FIFO, a device) is an error, before a byte is read.
enum class ModelPathKind { Directory, Safetensors, Gguf, Llama2c };
ModelPathKind model_path_kind(const std::string& path);

// Opens a llama2.c checkpoint (a file), a Hugging Face directory (config.json +
// model.safetensors[.index.json]) or a GGUF file (gguf.hpp). The tokenizer comes from
// `tokenizer_path` when given, else from the GGUF's metadata or from beside the model
// (tokenizer.json, tokenizer.model, tokenizer.bin or tok512.bin).
StoredCheckpoint open_checkpoint(const std::string& path, const std::string& tokenizer_path = "");
// The same, every tensor loaded as fp32.
Checkpoint load_checkpoint(const std::string& path, const std::string& tokenizer_path = "");

// llama2.c "legacy" (version 0) format: header of 7 int32, then fp32 tensors (docs/DESIGN.md "llama2.c checkpoints").
StoredCheckpoint open_llama2c(const std::string& path);
Checkpoint load_llama2c(const std::string& path);

}  // namespace mixq::io
