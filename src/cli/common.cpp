#include "common.hpp"

#include "mixq/quant/model_file.hpp"

namespace mixq::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o) {
  cmd.add_option("-m,--model", o.model,
                 "llama2.c checkpoint, Hugging Face directory, or a mixq quantized .safetensors file")
      ->required();
  cmd.add_option("--tokenizer", o.tokenizer, "tokenizer file (default: found beside the model)");
  cmd.add_option("-t,--threads", o.threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

LoadedModel load_model(const ModelOptions& o) {
  if (quant::is_quantized_model_file(o.model)) {
    quant::QuantizedModel q = quant::load_quantized_model(o.model, o.threads);
    LoadedModel m;
    m.config = q.model->config();
    m.tokenizer = o.tokenizer.empty() ? std::move(q.tokenizer) : io::load_tokenizer(o.tokenizer);
    m.model = std::move(q.model);
    return m;
  }
  io::Checkpoint ck = io::load_checkpoint(o.model, o.tokenizer);
  LoadedModel m;
  m.config = ck.config;
  m.tokenizer = std::move(ck.tokenizer);
  m.model = std::make_unique<model::LlamaModel>(model::LlamaModel::from_checkpoint(ck, o.threads));
  return m;
}

}  // namespace mixq::cli
