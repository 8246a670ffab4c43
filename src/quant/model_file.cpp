#include "mixq/quant/model_file.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "mixq/core/error.hpp"
#include "mixq/core/hash.hpp"
#include "mixq/core/json_number.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/run_files.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/model/stored_linear.hpp"

namespace mixq::quant {
namespace {

using nlohmann::json;

const char* kTokenizerTensor = "mixq.tokenizer";
const char* kHeaderChecksum = "mixq.header_checksum";

// What the header says of one tensor, for the header checksum.
struct HeaderTensor {
  std::string name;
  io::DType dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

// FNV-1a over every metadata entry but the header checksum itself and every tensor's name, dtype,
// shape and byte count, in name order: what the writer wrote and what a reader parses hash alike.
std::string header_checksum(const std::map<std::string, std::string>& meta, std::vector<HeaderTensor> tensors) {
  uint64_t h = kFnv1aSeed;
  auto add = [&h](const std::string& s) { h = fnv1a64(reinterpret_cast<const uint8_t*>(s.data()), s.size() + 1, h); };
  for (const auto& [key, value] : meta)
    if (key != kHeaderChecksum) {
      add(key);
      add(value);
    }
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& t : tensors) {
    add(t.name);
    add(io::dtype_name(t.dtype));
    for (int64_t d : t.shape) add(std::to_string(d));
    add(std::to_string(t.bytes));
  }
  return fnv1a64_label(h);
}

json format_entry(const formats::PackedTensor& t) {
  return {{"format", t.format},
          {"params", formats::format_ops(t.format).params_json(t)},
          {"shape", {t.rows, t.cols}},
          {"bits_per_weight", t.bits_per_weight()}};
}

const std::string& meta_string(const std::map<std::string, std::string>& meta, const std::string& key,
                               const std::string& where) {
  auto it = meta.find(key);
  if (it == meta.end()) fail(where, "metadata has no '{}'", key);
  return it->second;
}

json parse_json(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& where) {
  const std::string& text = meta_string(meta, key, where);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(where, "metadata '{}' is not valid JSON: {}", key, e.what());
  }
}

}  // namespace

void add_checksums(const std::vector<io::TensorToWrite>& tensors, std::map<std::string, std::string>& meta) {
  json checksums = json::object();
  for (const auto& t : tensors) checksums[t.name] = fnv1a64_label(fnv1a64(t.bytes.data(), t.bytes.size()));
  meta["mixq.checksums"] = checksums.dump();
  std::vector<HeaderTensor> header;
  for (const auto& t : tensors) header.push_back({t.name, t.dtype, t.shape, t.bytes.size()});
  meta[kHeaderChecksum] = header_checksum(meta, std::move(header));
}

double decoder_bits_per_weight(const model::LlamaModel& model) {
  double bytes = 0, weights = 0;
  for (const auto& layer : model.weights().layers)
    for (const auto& slot : model::linear_slots()) {
      const model::Linear& lin = *(layer.*slot.member);
      bytes += double(lin.weight_bytes());
      weights += double(lin.rows() * lin.cols());
    }
  return 8.0 * bytes / weights;
}

QuantizedFileWriter::QuantizedFileWriter(const std::string& path, const model::LlamaModel& model,
                                         const io::Tokenizer& tokenizer, std::optional<JournalOptions> journal)
    : path_(path),
      config_(model.config()),
      journal_(std::move(journal)),
      stopped_(open_journal()),
      out_(path, journal_ ? scratch_path(path) : "", stopped_.has_value()),
      tokenizer_(tokenizer) {
  if (tokenizer.file_bytes().empty()) fail(path, "the tokenizer has no file bytes to embed");
  if (stopped_) {
    restore(*stopped_);
    return;
  }
  const auto& w = model.weights();
  // The embedding (and below, a dense classifier) in the dtype it was read in: never widened.
  add_stored(io::names::embedding(), w.embedding);
  add_f32(io::names::final_norm(), w.final_norm, {config_.dim});
  if (!config_.tied_classifier) add_linear(io::names::classifier(), *w.classifier);
  if (journal_) write_journal();
}

QuantizedFileWriter::~QuantizedFileWriter() {
  if (!journal_ || finished_ || next_layer_ > 0) return;
  std::error_code ec;
  std::filesystem::remove(journal_path(path_), ec);
  std::filesystem::remove(scratch_path(path_), ec);
}

// The stopped run this one continues, if any (only with --resume, and only the same run).
std::optional<RunJournal> QuantizedFileWriter::open_journal() {
  if (!journal_) return std::nullopt;
  const std::string where = journal_path(path_);
  io::check_output_file(where, "journal");
  if (!std::filesystem::exists(where)) {
    if (journal_->resume) journal_note_ = fmt::format("nothing to resume ({} does not exist): starting at layer 0", where);
    return std::nullopt;
  }
  // Read directly, not as an input of the run: this run rewrites it.
  std::ifstream in(where, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) fail(where, "cannot read the journal");
  if (!journal_->resume) {  // replaced, whatever it holds
    try {
      const int done = parse_journal(text, where).layers_done;
      if (done > 0)
        journal_note_ = fmt::format("a stopped run of {} had finished {} of {} layers; starting again (--resume continues it)",
                                    path_, done, config_.n_layers);
    } catch (const Error&) {
    }
    return std::nullopt;
  }
  RunJournal j = parse_journal(text, where);
  check_same_run(j.identity, journal_->identity, where);
  if (j.layers_done > config_.n_layers)
    fail(where, "journal says {} layers are done; the model has {}", j.layers_done, config_.n_layers);
  journal_note_ = fmt::format("resuming the stopped run: {} of {} layers were finished", j.layers_done, config_.n_layers);
  return j;
}

// Takes over the stopped run's scratch data after checking every tensor against its checksum.
void QuantizedFileWriter::restore(const RunJournal& j) {
  const std::string where = scratch_path(path_);
  out_.restore(j.entries);
  for (size_t i = 0; i < j.entries.size(); ++i) {
    const std::vector<uint8_t> bytes = out_.read(i);
    if (fnv1a64_label(fnv1a64(bytes.data(), bytes.size())) != j.checksums.at(j.entries[i].name))
      fail(where, "tensor '{}' does not match the journal's checksum: the stopped run cannot be continued; run without "
           "--resume to start again", j.entries[i].name);
  }
  checksums_ = j.checksums;
  for (const auto& [name, entry] : j.formats) meta_["mixq.format." + name] = entry;
  linear_bytes_ = j.linear_bytes;
  linear_weights_ = j.linear_weights;
  next_layer_ = layers_restored_ = j.layers_done;
}

void QuantizedFileWriter::restore_layer(int l, model::LayerWeights& layer) const {
  if (l >= layers_restored_) fail(path_, "layer {} was not finished by the stopped run", l);
  const std::string where = scratch_path(path_);
  for (const auto& slot : model::linear_slots()) {
    const std::string name = slot.name(l);
    auto format = meta_.find("mixq.format." + name);
    if (format == meta_.end()) fail(where, "the stopped run's '{}' is not packed", name);
    std::vector<formats::PackedPart> parts;
    for (size_t i = 0; i < out_.entries().size(); ++i) {
      const auto& e = out_.entries()[i];
      if (is_part_of(e.name, name)) parts.push_back({e.name.substr(name.size() + 1), e.dtype, e.shape, out_.read(i)});
    }
    layer.*slot.member = std::make_unique<model::PackedLinear>(packed_tensor_from(name, format->second, std::move(parts), where));
  }
}

void QuantizedFileWriter::write_journal() {
  RunJournal j;
  j.identity = journal_->identity;
  j.layers_done = next_layer_;
  j.entries = out_.entries();
  j.checksums = checksums_;
  const std::string prefix = "mixq.format.";
  for (auto it = meta_.lower_bound(prefix); it != meta_.end() && it->first.starts_with(prefix); ++it)
    j.formats[it->first.substr(prefix.size())] = it->second;
  j.linear_bytes = linear_bytes_;
  j.linear_weights = linear_weights_;
  out_.sync();  // the data first: the journal never vouches for bytes not on disk
  io::write_file_atomic(journal_path(path_), journal_json(j), /*test_kill_points=*/false);
}

void QuantizedFileWriter::add(const std::string& name, io::DType dtype, std::vector<int64_t> shape,
                              std::span<const uint8_t> bytes) {
  checksums_[name] = fnv1a64_label(fnv1a64(bytes.data(), bytes.size()));
  out_.add(name, dtype, std::move(shape), bytes);
}

void QuantizedFileWriter::add_f32(const std::string& name, std::span<const float> values, std::vector<int64_t> shape) {
  add(name, io::DType::F32, std::move(shape), io::encode_f32_as(values, io::DType::F32));
}

void QuantizedFileWriter::add_stored(const std::string& name, const io::StoredTensor& t) {
  // Reordered rows and ggml blocks (a GGUF source) are re-encoded: as F32 for blocks, exactly.
  if (t.reordered() || t.block_coded()) add(name, t.dtype(), t.shape(), t.encode_as(t.dtype()));
  else add(name, t.dtype(), t.shape(), t.bytes());  // straight from the mapping, no copy
  t.release_pages();
}

void QuantizedFileWriter::add_linear(const std::string& name, const model::Linear& lin) {
  if (const auto* p = dynamic_cast<const model::PackedLinear*>(&lin)) {
    const formats::PackedTensor& t = p->packed();
    for (const formats::PackedPart& part : t.parts) add(name + "." + part.suffix, part.dtype, part.shape, part.bytes);
    meta_["mixq.format." + name] = format_entry(t).dump();
  } else if (const Tensor* d = lin.dense_weight()) {
    add_f32(name, d->data, d->shape);
  } else if (const io::StoredTensor* st = lin.stored_weight()) {
    add_stored(name, *st);
  } else {
    fail(path_, "linear '{}' is neither packed nor dense; cannot be saved", name);
  }
}

void QuantizedFileWriter::add_layer(int l, const model::LayerWeights& layer) {
  if (l != next_layer_) fail(path_, "decoder layer {} written out of order (expected layer {})", l, next_layer_);
  for (const model::VectorSlot& v : model::vector_slots(config_)) add_f32(v.spec.name(l), layer.*v.member, {v.spec.length});
  for (const auto& slot : model::linear_slots()) {
    const model::Linear& lin = *(layer.*slot.member);
    add_linear(slot.name(l), lin);
    linear_bytes_ += uint64_t(lin.weight_bytes());
    linear_weights_ += uint64_t(lin.rows() * lin.cols());
  }
  ++next_layer_;
  if (!journal_) return;
  io::test_kill_point(fmt::format("layer{}-data", l));  // data written, journal not yet
  write_journal();
  io::test_kill_point(fmt::format("layer{}", l));
}

void QuantizedFileWriter::finish(const QuantizationRecord& record) {
  if (next_layer_ != config_.n_layers)
    fail(path_, "only {} of {} decoder layers were written", next_layer_, config_.n_layers);
  const std::string& tok = tokenizer_.file_bytes();
  add(kTokenizerTensor, io::DType::U8, {int64_t(tok.size())}, {reinterpret_cast<const uint8_t*>(tok.data()), tok.size()});
  meta_["mixq.version"] = kQuantizedFileVersion;
  meta_["mixq.config"] = io::hf_config_json(config_, io::DType::F32);
  meta_["mixq.tokenizer"] = tokenizer_.kind();
  meta_["mixq.method"] = record.method.dump();
  meta_["mixq.calibration"] = record.calibration.dump();
  meta_["mixq.bits_per_weight"] = fmt::format("{:.6f}", decoder_bits_per_weight());
  meta_["mixq.checksums"] = json(checksums_).dump();
  std::vector<HeaderTensor> header;
  for (const auto& e : out_.entries()) header.push_back({e.name, e.dtype, e.shape, size_t(e.size)});
  meta_[kHeaderChecksum] = header_checksum(meta_, std::move(header));
  out_.finish(meta_);
  finished_ = true;
  if (journal_) std::filesystem::remove(journal_path(path_));
}

void save_quantized_model(const std::string& path, const model::LlamaModel& model, const io::Tokenizer& tokenizer,
                          const QuantizationRecord& record) {
  QuantizedFileWriter out(path, model, tokenizer);
  for (int l = 0; l < model.config().n_layers; ++l) out.add_layer(l, model.weights().layers[size_t(l)]);
  out.finish(record);
}

bool is_quantized_model_file(const std::string& path) {
  if (io::model_path_kind(path) != io::ModelPathKind::Safetensors) return false;
  // It looks like safetensors: parse errors are reported as such (a truncated quantized file must
  // not be re-read as a llama2.c checkpoint and blamed on a llama2.c header).
  return io::SafetensorsFile(path).metadata().count("mixq.version") > 0;
}

io::Checkpoint dequantized_checkpoint(QuantizedModel&& q, const std::string& source) {
  const auto& c = q.model->config();
  const auto& w = q.model->weights();
  io::Checkpoint ck;
  ck.config = c;
  ck.source = source;
  auto weight_of = [&](const model::Linear& lin) {
    if (const Tensor* d = lin.dense_weight()) return *d;
    if (const io::StoredTensor* s = lin.stored_weight()) return s->to_f32();
    const formats::PackedTensor& t = dynamic_cast<const model::PackedLinear&>(lin).packed();
    Tensor out{{t.rows, t.cols}, std::vector<float>(size_t(t.rows * t.cols))};
    formats::format_ops(t.format).dequantize_rows(t, 0, t.rows, out.data.data());
    return out;
  };
  auto vector_tensor = [](const std::vector<float>& v) { return Tensor{{int64_t(v.size())}, v}; };
  ck.tensors[io::names::embedding()] = w.embedding.to_f32();
  ck.tensors[io::names::final_norm()] = vector_tensor(w.final_norm);
  if (!c.tied_classifier) ck.tensors[io::names::classifier()] = weight_of(*w.classifier);
  for (int l = 0; l < c.n_layers; ++l) {
    const auto& layer = w.layers[size_t(l)];
    for (const model::VectorSlot& v : model::vector_slots(c)) ck.tensors[v.spec.name(l)] = vector_tensor(layer.*v.member);
    for (const auto& slot : model::linear_slots()) ck.tensors[slot.name(l)] = weight_of(*(layer.*slot.member));
  }
  ck.tokenizer = std::move(q.tokenizer);
  q.model.reset();
  return ck;
}

bool is_part_of(const std::string& tensor, const std::string& weight) {
  return tensor.size() > weight.size() + 1 && tensor.starts_with(weight + ".") &&
         tensor.find('.', weight.size() + 1) == std::string::npos;
}

formats::PackedTensor packed_tensor_from(const std::string& name, const std::string& format_entry,
                                         std::vector<formats::PackedPart> parts, const std::string& where) {
  json entry;
  try {
    entry = json::parse(format_entry);
  } catch (const json::exception& e) {
    fail(where, "metadata 'mixq.format.{}' is not valid JSON: {}", name, e.what());
  }
  formats::PackedTensor t;
  try {
    t.format = entry.at("format").get<std::string>();
    try {
      t.params = formats::format_ops(t.format).parse_params(entry.at("params"));
    } catch (const Error& e) {
      fail(where, "packed tensor '{}': {}", name, e.what());
    }
    const auto& shape = entry.at("shape");
    if (!shape.is_array() || shape.size() != 2) fail(where, "'{}': shape must have 2 dimensions", name);
    // Any int64 here; the format's validate() below bounds the shape (formats::expect_shape) and names the tensor.
    constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
    t.rows = json_integer(shape[0], where, "shape", lo, hi);
    t.cols = json_integer(shape[1], where, "shape", lo, hi);
  } catch (const json::exception& e) {
    fail(where, "'{}': bad format entry: {}", name, e.what());
  }
  t.parts = std::move(parts);
  try {
    formats::format_ops(t.format).validate(t);
  } catch (const Error& e) {
    fail(where, "packed tensor '{}': {}", name, e.what());
  }
  t.release_pages();  // checked; a mapped tensor is resident again only where it is used
  return t;
}

std::map<std::string, formats::PackedTensor> read_packed_tensors(const io::SafetensorsFile& file) {
  std::map<std::string, formats::PackedTensor> out;
  const auto& meta = file.metadata();
  const std::string prefix = "mixq.format.";
  for (auto it = meta.lower_bound(prefix); it != meta.end() && it->first.starts_with(prefix); ++it) {
    const std::string name = it->first.substr(prefix.size());
    std::vector<formats::PackedPart> parts;
    for (const auto& e : file.entries())
      if (is_part_of(e.name, name))  // no copy: the parts stay in the mapping
        parts.push_back({e.name.substr(name.size() + 1), e.dtype, e.shape, io::StoredBytes(e.bytes, file.mapping())});
    out.emplace(name, packed_tensor_from(name, it->second, std::move(parts), file.path()));
  }
  return out;
}

std::vector<TensorCheck> verify_checksums(const io::SafetensorsFile& file) {
  const auto& meta = file.metadata();
  for (const char* key : {"mixq.checksums", kHeaderChecksum})
    if (!meta.count(key)) fail(file.path(), "metadata has no '{}': the file cannot be verified (damaged, or not written by mixq {})", key, kQuantizedFileVersion);
  const json sums = parse_json(meta, "mixq.checksums", file.path());
  if (!sums.is_object()) fail(file.path(), "metadata 'mixq.checksums' is not an object");
  std::vector<TensorCheck> out;
  std::vector<HeaderTensor> header;
  for (const auto& e : file.entries()) header.push_back({e.name, e.dtype, e.shape, e.bytes.size()});
  const std::string actual = header_checksum(meta, std::move(header)), stored = meta.at(kHeaderChecksum);
  out.push_back({"(header)", actual == stored, actual == stored ? actual : "stored " + stored + ", the header hashes to " + actual});
  for (const auto& e : file.entries()) {
    TensorCheck c{e.name, false, "no checksum stored"};
    if (sums.contains(e.name) && sums[e.name].is_string()) {
      const std::string actual = fnv1a64_label(fnv1a64(e.bytes.data(), e.bytes.size()));
      c.ok = actual == sums[e.name].get<std::string>();
      c.detail = c.ok ? actual : "stored " + sums[e.name].get<std::string>() + ", bytes hash to " + actual;
    }
    out.push_back(std::move(c));
  }
  for (const auto& [name, _] : sums.items())
    if (!file.find(name)) out.push_back({name, false, "listed in the checksums but missing from the file"});
  return out;
}

QuantizedModel load_quantized_model(const std::string& path, int threads) {
  io::SafetensorsFile file(path);
  const auto& meta = file.metadata();
  const std::string& version = meta_string(meta, "mixq.version", path);
  if (version != kQuantizedFileVersion)
    fail(path, "quantized file version {} is not supported (this mixq reads version {})", version, kQuantizedFileVersion);
  // Damage anywhere (a flipped bit in codes would still decode) is reported before any use.
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // the fuzzer's mutations must get past the checksums
  for (const auto& c : verify_checksums(file))
    if (!c.ok) fail(path, "{} is corrupted: {}", c.name == "(header)" ? "the header" : "tensor '" + c.name + "'", c.detail);
  file.mapping()->release(file.mapping()->bytes());  // read once to check: resident only again where used
#endif
  QuantizedModel q;
  const io::LlamaConfig config = io::parse_hf_config(meta_string(meta, "mixq.config", path), path + " (mixq.config)");
  const auto& tok_entry = file.at(kTokenizerTensor);
  q.tokenizer = io::tokenizer_from_bytes(meta_string(meta, "mixq.tokenizer", path),
                                         std::string(tok_entry.bytes.begin(), tok_entry.bytes.end()), path + " (tokenizer)");
  io::check_tokenizer_fits(*q.tokenizer, config.vocab_size, path + " (embedded tokenizer)");
  q.record.method = parse_json(meta, "mixq.method", path);
  q.record.calibration = parse_json(meta, "mixq.calibration", path);
  q.bits_per_weight = std::atof(meta_string(meta, "mixq.bits_per_weight", path).c_str());

  auto packed = read_packed_tensors(file);
  std::map<std::string, io::TensorSpec> specs;
  for (auto& spec : io::llama_tensor_specs(config)) specs.emplace(spec.name, spec);
  for (const auto& [name, t] : packed)
    if (!specs.count(name)) fail(path, "packed tensor '{}' is not a tensor of this model", name);
  // Dense tensors stay in the mapping, in their stored dtype (the embedding's rows are read when
  // looked up, a dense classifier runs from there).
  auto dense = [&](const std::string& name) {
    const auto& e = file.at(name);
    io::StoredTensor t(path, name, e.dtype, e.shape, e.bytes, file.mapping());
    if (t.shape() != specs.at(name).shape)
      fail(path, "tensor '{}' has shape {}, expected {}", name, shape_string(t.shape()), shape_string(specs.at(name).shape));
    t.check_finite();
    return t;
  };
  auto linear = [&](const std::string& name) -> std::unique_ptr<model::Linear> {
    auto it = packed.find(name);
    if (it != packed.end()) return std::make_unique<model::PackedLinear>(std::move(it->second));
    return std::make_unique<model::StoredLinear>(dense(name));
  };
  q.model = std::make_unique<model::LlamaModel>(model::LlamaModel::assemble(config, dense, linear, threads));
  return q;
}

}  // namespace mixq::quant
