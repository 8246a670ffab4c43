#include "common.hpp"

namespace mixq::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o) {
  cmd.add_option("-m,--model", o.model, "llama2.c checkpoint file or Hugging Face directory")->required();
  cmd.add_option("--tokenizer", o.tokenizer, "tokenizer file (default: found beside the model)");
  cmd.add_option("-t,--threads", o.threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

LoadedModel load_model(const ModelOptions& o) {
  io::Checkpoint ck = io::load_checkpoint(o.model, o.tokenizer);
  LoadedModel m;
  m.config = ck.config;
  m.tokenizer = std::move(ck.tokenizer);
  m.model = std::make_unique<model::LlamaModel>(model::LlamaModel::from_checkpoint(ck, o.threads));
  return m;
}

}  // namespace mixq::cli
