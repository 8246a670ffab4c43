#include "mixq/io/gguf_report.hpp"

#include <map>

#include "mixq/io/checkpoint.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/hf_config.hpp"

namespace mixq::io {

nlohmann::json describe_gguf(const std::string& path) {
  const GgufFile f(path);
  const StoredCheckpoint ck = open_gguf(f, /*tokenizer=*/false);  // every check import makes
  nlohmann::json j = {{"file", path},
                      {"gguf_version", f.version()},
                      {"architecture", f.get_string("general.architecture").value_or("")},
                      {"config", nlohmann::json::parse(hf_config_json(ck.config, DType::F32))},
                      {"tokenizer",
                       {{"model", f.get_string("tokenizer.ggml.model").value_or("")},
                        {"pre", f.get_string("tokenizer.ggml.pre").value_or("")},
                        {"tokens", f.get_strings("tokenizer.ggml.tokens").value_or(std::vector<std::string>{}).size()}}}};
  auto& tensors = j["tensors"] = nlohmann::json::array();
  for (const GgufFile::TensorInfo& t : f.tensors()) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    tensors.push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"shape", t.shape}, {"bytes", t.bytes.size()},
                       {"bits_per_weight", 8.0 * double(t.bytes.size()) / double(n)}});
  }
  uint64_t linear_bytes = 0;
  int64_t linear_weights = 0;
  std::map<std::string, int> types;
  for (const TensorSpec& spec : llama_tensor_specs(ck.config)) {
    if (!spec.decoder_linear) continue;
    const StoredTensor& t = ck.at(spec.name);
    linear_bytes += t.stored_bytes();
    linear_weights += t.numel();
    ++types[t.type_name()];
  }
  const int64_t params = parameter_count(ck.config);
  j["decoder_linear_types"] = types;
  j["size"] = {{"bytes", f.file()->size()},
               {"parameters", params},
               {"bits_per_weight", 8.0 * double(f.file()->size()) / double(params)},
               {"decoder_linear_bits_per_weight", 8.0 * double(linear_bytes) / double(linear_weights)}};
  return j;
}

}  // namespace mixq::io
