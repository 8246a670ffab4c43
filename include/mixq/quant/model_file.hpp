#pragma once
// The quantized model file (docs/DESIGN.md "Quantized model file"): one safetensors file that holds everything needed to
// run the model — packed weights as `W.<part>` tensors, the embedding and norms as F32, the
// tokenizer's own file bytes as the U8 tensor `mixq.tokenizer` — and, in `__metadata__`:
//   mixq.version          "1"
//   mixq.config           the model's HF config.json
//   mixq.tokenizer        "llama2c" | "sentencepiece"
//   mixq.format.<W>       {"format", "params", "shape", "bits_per_weight"} per packed weight
//   mixq.method           the method and its options (JSON)
//   mixq.calibration      calibration windows, length, seed, text and token hash (JSON)
//   mixq.bits_per_weight  8 × packed bytes ÷ weights over all decoder-layer linears
// Nothing time- or machine-dependent is stored: the same inputs give a byte-identical file.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "mixq/formats/packed_tensor.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::quant {

inline constexpr const char* kQuantizedFileVersion = "1";

struct QuantizationRecord {
  nlohmann::json method = nlohmann::json::object();
  nlohmann::json calibration = nlohmann::json::object();
  double seconds = 0;  // wall time; reported, not stored (files stay deterministic)
};

// 8 × packed bytes ÷ weights over the decoder-layer linears (dense ones count 32 bits).
double decoder_bits_per_weight(const model::LlamaModel& model);

// Writes `model` (decoder linears packed or dense) with its tokenizer atomically to `path`.
void save_quantized_model(const std::string& path, const model::LlamaModel& model, const io::Tokenizer& tokenizer,
                          const QuantizationRecord& record);

// True when `path` is a file whose safetensors metadata carries mixq.version.
bool is_quantized_model_file(const std::string& path);

struct QuantizedModel {
  std::unique_ptr<model::LlamaModel> model;
  std::unique_ptr<io::Tokenizer> tokenizer;
  QuantizationRecord record;
  double bits_per_weight = 0;
};

// Loads a quantized model file; every packed tensor is validated against its format and the
// config's shapes before use. Needs nothing but the file.
QuantizedModel load_quantized_model(const std::string& path, int threads);

// The fp32 checkpoint the quantized model stands for (every packed weight dequantized, the
// tokenizer moved over): what `mixq convert` / `quantize --export-f16` write for other frameworks.
io::Checkpoint dequantized_checkpoint(QuantizedModel&& q, const std::string& source);

// The packed tensors of an open quantized file, by weight name (for `mixq inspect`).
std::map<std::string, formats::PackedTensor> read_packed_tensors(const io::SafetensorsFile& file);

// Each tensor's bytes against the FNV-1a checksum stored in `mixq.checksums` (every tensor of the
// file, written by save_quantized_model). Loading runs the same check and refuses a damaged file.
struct TensorCheck {
  std::string name;
  bool ok;
  std::string detail;  // the checksum, or what is wrong
};
std::vector<TensorCheck> verify_checksums(const io::SafetensorsFile& file);

}  // namespace mixq::quant
