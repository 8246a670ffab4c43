#include "mixq/quant/gguf_export.hpp"

#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::quant {

GgufExport save_quantized_gguf(const std::string& model_path, const std::string& out, io::DType dtype, bool dequantize) {
  QuantizedModel q = load_quantized_model(model_path, 1);
  const auto& c = q.model->config();
  GgufExport report;
  std::map<std::string, io::GgmlTensorBytes> encoded;
  for (int l = 0; l < c.n_layers; ++l)
    for (const auto& slot : model::linear_slots()) {
      const auto* packed = dynamic_cast<const model::PackedLinear*>((q.model->weights().layers[size_t(l)].*slot.member).get());
      if (!packed) continue;  // a dense linear goes with the dense tensors
      const formats::PackedTensor& t = packed->packed();
      std::string why;
      if (auto blocks = formats::format_ops(t.format).ggml_blocks(t, &why)) {
        ++report.linears_by_type[io::ggml_type_name(blocks->type)];
        encoded.emplace(slot.name(l), std::move(*blocks));
      } else if (dequantize) {
        ++report.linears_by_type[std::string(io::dtype_name(dtype)) + " (dequantized)"];
      } else {
        fail(model_path, "tensor '{}': {}; --dequantize writes such tensors dequantized (then llama.cpp runs on "
             "{} weights, not mixq's packed ones)", slot.name(l), why, io::dtype_name(dtype));
      }
    }
  const io::Checkpoint ck = dequantized_checkpoint(std::move(q), model_path);
  io::save_gguf(ck, out, dtype, encoded);
  return report;
}

}  // namespace mixq::quant
