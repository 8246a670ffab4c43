#include "common.hpp"

#include <cmath>
#include <filesystem>

#include "mixq/core/error.hpp"
#include "mixq/io/run_files.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o) {
  cmd.add_option("-m,--model", o.model,
                 "llama2.c checkpoint, Hugging Face directory, GGUF file, or a mixq quantized .safetensors file")
      ->required();
  cmd.add_option("--tokenizer", o.tokenizer, "tokenizer file (default: found beside the model)");
  cmd.add_option("-t,--threads", o.threads, "worker threads (0: all cores)")->check(non_negative_number());
}

namespace {

CLI::Validator number_check(const char* name, bool (*ok)(double), const char* rule) {
  return CLI::Validator(
      [ok, rule](std::string& s) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != s.size() || used == 0) return fmt::format("expected a number, got '{}'", s);
        if (!std::isfinite(v) || !ok(v)) return fmt::format("must be {}, got {}", rule, s);
        return "";
      },
      name);
}

}  // namespace

CLI::Validator finite_number() { return number_check("NUMBER", [](double) { return true; }, "a finite number"); }
CLI::Validator positive_number() { return number_check("POSITIVE", [](double v) { return v > 0; }, "> 0"); }
CLI::Validator non_negative_number() { return number_check("NONNEGATIVE", [](double v) { return v >= 0; }, ">= 0"); }

void check_outputs(const CLI::App& cmd, const std::vector<std::string>& inputs, const std::vector<OutputPath>& outputs) {
  for (const auto& in : inputs)
    if (!in.empty()) io::note_input(in);
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, const char*>> seen;
  auto claim = [&](const fs::path& file, const char* option) {
    const auto canonical = fs::weakly_canonical(file);
    for (const auto& [path, other] : seen)
      if (path == canonical) fail(file.string(), "{} names the same file as {}", option, other);
    seen.emplace_back(canonical, option);
  };
  for (const auto& out : outputs) {
    if (cmd.count(out.option) == 0) continue;
    if (out.path.empty()) fail(out.option, "empty path");
    if (!out.is_dir) {
      io::check_output_file(out.path, out.option);
      claim(out.path, out.option);
      continue;
    }
    io::check_output_dir(out.path, out.option);
    for (const auto& name : out.dir_files) {
      const fs::path file = fs::path(out.path) / name;
      if (fs::is_directory(out.path)) io::check_output_file(file.string(), out.option);
      claim(file, out.option);
    }
  }
}

LoadedModel load_model(const ModelOptions& o) {
  if (quant::is_quantized_model_file(o.model)) {
    quant::QuantizedModel q = quant::load_quantized_model(o.model, o.threads);
    LoadedModel m;
    m.config = q.model->config();
    m.tokenizer = o.tokenizer.empty() ? std::move(q.tokenizer) : io::load_tokenizer(o.tokenizer);
    io::check_tokenizer_fits(*m.tokenizer, m.config.vocab_size, o.tokenizer);
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
