#include "common.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/quant/gguf_export.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::cli {

void add_convert_command(CLI::App& app) {
  struct Options {
    std::string model, tokenizer, out, dtype = "F32", to = "hf";
    bool dequantize = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "convert", "write a checkpoint (or a quantized file, dequantized) as a Hugging Face directory or a GGUF file");
  cmd->add_option("-m,--model", o->model, "llama2.c checkpoint, HF directory, GGUF file or mixq quantized .safetensors")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer to use (default: found beside the model / embedded)");
  cmd->add_option("-o,--out", o->out, "output directory (hf) or file (gguf)")->required();
  cmd->add_option("--to", o->to, "hf (a Hugging Face directory, default) or gguf (a llama.cpp model file)")
      ->check(CLI::IsMember({"hf", "gguf"}));
  cmd->add_flag("--dequantize", o->dequantize,
                "gguf from a quantized file: write linears that are no ggml type exactly in --dtype (default: refuse them)");
  cmd->add_option("--dtype", o->dtype, "F32, F16 or BF16")->check(CLI::IsMember({"F32", "F16", "BF16"}));
  cmd->callback([o, cmd] {
    const bool gguf = o->to == "gguf";
    check_outputs(*cmd, {o->model, o->tokenizer},
                  {gguf ? OutputPath{"-o", o->out} : OutputPath{"-o", o->out, true, io::hf_dir_file_names()}});
    const io::DType dtype = o->dtype == "F16" ? io::DType::F16 : o->dtype == "BF16" ? io::DType::BF16 : io::DType::F32;
    if (gguf && quant::is_quantized_model_file(o->model)) {
      if (!o->tokenizer.empty()) throw CLI::ValidationError("--tokenizer", "a quantized file carries its own tokenizer");
      const auto report = quant::save_quantized_gguf(o->model, o->out, dtype, o->dequantize);
      std::string types;
      for (const auto& [type, n] : report.linears_by_type) types += fmt::format("{}{} × {}", types.empty() ? "" : ", ", n, type);
      fmt::print("wrote {} (decoder linears: {}; the rest {})\n", o->out, types.empty() ? "none packed" : types, o->dtype);
      return;
    }
    io::Checkpoint ck = quant::is_quantized_model_file(o->model)
                            ? quant::dequantized_checkpoint(quant::load_quantized_model(o->model, 1), o->model)
                            : io::load_checkpoint(o->model, o->tokenizer);
    if (!o->tokenizer.empty()) ck.tokenizer = io::load_tokenizer(o->tokenizer);
    if (gguf) io::save_gguf(ck, o->out, dtype);
    else io::save_hf_dir(ck, o->out, dtype);
    fmt::print("wrote {} ({} tensors, {})\n", o->out, ck.tensors.size(), o->dtype);
  });
}

}  // namespace mixq::cli
