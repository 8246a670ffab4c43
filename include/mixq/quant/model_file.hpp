#pragma once
// The quantized model file (docs/DESIGN.md "Quantized model file"): one safetensors file that holds everything needed to
// run the model — packed weights as `W.<part>` tensors (lm_head too with quantize --head), the
// embedding in its checkpoint's dtype, the norms as F32, the tokenizer's own file bytes as the U8 tensor `mixq.tokenizer` — and, in `__metadata__`:
//   mixq.version          "2" (2: the standard FNV offset basis, and the header checksum)
//   mixq.config           the model's HF config.json
//   mixq.tokenizer        "llama2c" | "sentencepiece"
//   mixq.format.<W>       {"format", "params", "shape", "bits_per_weight"} per packed weight
//   mixq.method           the method and its options (JSON; "head": the head's spec when quantized)
//   mixq.calibration      calibration windows, length, seed, text and token hash (JSON)
//   mixq.bits_per_weight  8 × packed bytes ÷ weights over all decoder-layer linears
//   mixq.checksums        {tensor: FNV-1a of its bytes} for every tensor
//   mixq.header_checksum  FNV-1a over every other metadata entry and every tensor's name, dtype,
//                         shape and size: no bit of the file is unchecked
// Nothing time- or machine-dependent is stored: the same inputs give a byte-identical file.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mixq/formats/packed_tensor.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/run_journal.hpp"

namespace mixq::quant {

inline constexpr const char* kQuantizedFileVersion = "2";

struct QuantizationRecord {
  nlohmann::json method = nlohmann::json::object();
  nlohmann::json calibration = nlohmann::json::object();
  double seconds = 0;  // wall time; reported, not stored (files stay deterministic)
};

// 8 × packed bytes ÷ weights over the decoder-layer linears (dense ones count 32 bits).
double decoder_bits_per_weight(const model::LlamaModel& model);

// Sets mixq.checksums and mixq.header_checksum for these tensors and this metadata (the last step
// before a quantized file is written).
void add_checksums(const std::vector<io::TensorToWrite>& tensors, std::map<std::string, std::string>& meta);

// A journaled writer (quantize's) keeps its data in `<out>.partial` and a journal of the finished
// layers beside it, so that a killed run can go on (quant/run_journal.hpp).
struct JournalOptions {
  nlohmann::json identity = nlohmann::json::object();  // what makes two runs the same run
  bool resume = false;  // go on from a stopped run's journal when there is one
};

// Writes a quantized file while the model is quantized, so that finished layers need not stay in
// memory: the embedding, final norm and an untied classifier when made, then each decoder layer as
// it is finished (the caller may free it after add_layer), the tokenizer and the header in
// finish(). The target is checked when the writer is made; it is replaced atomically by finish().
class QuantizedFileWriter {
 public:
  QuantizedFileWriter(const std::string& path, const model::LlamaModel& model, const io::Tokenizer& tokenizer,
                      std::optional<JournalOptions> journal = std::nullopt);
  // Unfinished: a journaled run keeps its scratch data and journal only when they hold a finished
  // layer (worth a --resume); otherwise they are removed.
  ~QuantizedFileWriter();
  QuantizedFileWriter(const QuantizedFileWriter&) = delete;
  QuantizedFileWriter& operator=(const QuantizedFileWriter&) = delete;
  // Decoder layer l (its norms, packed or dense linears); layers come in order 0, 1, …
  void add_layer(int l, const model::LayerWeights& layer);
  // Resumed: the stopped run's finished layers are already written (add layers from here on), and
  // restore_layer puts layer l's packed linears, read back from the scratch file, into `layer`.
  int layers_restored() const { return layers_restored_; }
  int layers_written() const { return next_layer_; }
  void restore_layer(int l, model::LayerWeights& layer) const;
  // What happened to a stopped run's journal ("" when there was none), for the user.
  const std::string& journal_note() const { return journal_note_; }
  // 8 × packed bytes ÷ weights over the decoder-layer linears added so far.
  double decoder_bits_per_weight() const { return 8.0 * double(linear_bytes_) / double(linear_weights_); }
  void finish(const QuantizationRecord& record);

 private:
  void add_linear(const std::string& name, const model::Linear& lin);
  void add_f32(const std::string& name, std::span<const float> values, std::vector<int64_t> shape);
  void add_stored(const std::string& name, const io::StoredTensor& t);
  void add(const std::string& name, io::DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes);
  std::optional<RunJournal> open_journal();
  void restore(const RunJournal& stopped);
  void write_journal();

  std::string path_;
  io::LlamaConfig config_;
  std::optional<JournalOptions> journal_;
  std::string journal_note_;
  std::optional<RunJournal> stopped_;  // set before out_ is made: it decides whether the scratch is kept
  io::SafetensorsWriter out_;
  const io::Tokenizer& tokenizer_;
  std::map<std::string, std::string> meta_;
  std::map<std::string, std::string> checksums_;
  uint64_t linear_bytes_ = 0, linear_weights_ = 0;
  int next_layer_ = 0, layers_restored_ = 0;
  bool finished_ = false;
};

// Writes `model` (decoder linears packed or dense) with its tokenizer atomically to `path`.
void save_quantized_model(const std::string& path, const model::LlamaModel& model, const io::Tokenizer& tokenizer,
                          const QuantizationRecord& record);

// True when `path` is a file whose safetensors metadata carries mixq.version. A file that looks
// like safetensors but does not parse is an Error (its parse error), never "not quantized".
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

// The packed tensor `name` described by its mixq.format entry (JSON) with these parts, validated
// against its format; Error naming `where` and the tensor.
formats::PackedTensor packed_tensor_from(const std::string& name, const std::string& format_entry,
                                         std::vector<formats::PackedPart> parts, const std::string& where);
// True when safetensors tensor `tensor` is a part of packed weight `weight` ("<weight>.<part>").
bool is_part_of(const std::string& tensor, const std::string& weight);

// The packed tensors of an open quantized file, by weight name (for `mixq inspect`).
std::map<std::string, formats::PackedTensor> read_packed_tensors(const io::SafetensorsFile& file);

// The header against `mixq.header_checksum` (first row, named "(header)"), then each tensor's bytes
// against the FNV-1a checksum stored in `mixq.checksums`. Loading runs the same checks and refuses
// a damaged file; a file without either checksum is an Error.
struct TensorCheck {
  std::string name;
  bool ok;
  std::string detail;  // the checksum, or what is wrong
};
std::vector<TensorCheck> verify_checksums(const io::SafetensorsFile& file);

}  // namespace mixq::quant
