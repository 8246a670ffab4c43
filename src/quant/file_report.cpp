#include "mixq/quant/file_report.hpp"

#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::quant {

namespace {

// 8 × every byte of the file ÷ the model's parameters: what the file costs per weight, embedding,
// head, norms, tokenizer and header included.
nlohmann::json whole_file_size(const io::SafetensorsFile& file) {
  const auto config = io::parse_hf_config(file.metadata().at("mixq.config"), file.path() + " (mixq.config)");
  const int64_t params = io::parameter_count(config);
  const size_t bytes = file.mapping()->bytes().size();
  return {{"bytes", bytes}, {"parameters", params}, {"bits_per_weight", 8.0 * double(bytes) / double(params)}};
}

}  // namespace

nlohmann::json describe_quantized_file(const io::SafetensorsFile& file) {
  const auto& meta = file.metadata();
  if (!meta.count("mixq.version")) fail(file.path(), "not a mixq quantized file (no mixq.version in its metadata)");
  const auto packed = read_packed_tensors(file);
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& e : file.entries()) {
    const size_t dot = e.name.rfind('.');
    if (dot != std::string::npos && packed.count(e.name.substr(0, dot))) continue;  // a part: listed below
    tensors.push_back({{"name", e.name}, {"dtype", io::dtype_name(e.dtype)}, {"shape", e.shape}, {"bytes", e.bytes.size()}});
  }
  for (const auto& [name, t] : packed) {
    const auto& ops = formats::format_ops(t.format);
    tensors.push_back({{"name", name},
                       {"layout", ops.layout(t)},
                       {"format", t.format},
                       {"params", ops.params_json(t)},
                       {"shape", {t.rows, t.cols}},
                       {"bytes", t.total_bytes()},
                       {"bits_per_weight", t.bits_per_weight()},
                       {"code_histogram", ops.code_histogram(t)}});
  }
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [k, v] : meta)
    if (!k.starts_with("mixq.format.")) m[k] = v;
  return {{"file", file.path()}, {"metadata", m}, {"size", whole_file_size(file)}, {"tensors", tensors}};
}

nlohmann::json registered_formats_and_methods() {
  nlohmann::json formats = nlohmann::json::array(), methods = nlohmann::json::array();
  for (const auto& f : formats::all_formats()) formats.push_back(f.name);
  for (const MethodInfo* m : all_methods())
    methods.push_back({{"name", m->name}, {"format", m->format}, {"spec", std::string(m->name) + m->grammar}});
  return {{"formats", formats}, {"methods", methods}};
}

}  // namespace mixq::quant
