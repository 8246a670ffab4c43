#include <filesystem>

#include "common.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/hf_checkpoint.hpp"

namespace mixq::cli {

void add_convert_command(CLI::App& app) {
  struct Options {
    std::string model, tokenizer, out, dtype = "F32";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("convert", "write a checkpoint as a Hugging Face directory");
  cmd->add_option("-m,--model", o->model, "llama2.c checkpoint or HF directory")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer to copy (default: found beside the model)");
  cmd->add_option("-o,--out", o->out, "output directory")->required();
  cmd->add_option("--dtype", o->dtype, "F32, F16 or BF16")->check(CLI::IsMember({"F32", "F16", "BF16"}));
  cmd->callback([o] {
    const auto ck = io::load_checkpoint(o->model, o->tokenizer);
    const io::DType dtype = o->dtype == "F16" ? io::DType::F16 : o->dtype == "BF16" ? io::DType::BF16 : io::DType::F32;
    std::string tok = o->tokenizer;
    if (tok.empty()) {
      const auto dir = std::filesystem::is_directory(o->model) ? std::filesystem::path(o->model)
                                                               : std::filesystem::path(o->model).parent_path();
      for (const char* name : {"tokenizer.model", "tokenizer.bin", "tok512.bin"})
        if (std::filesystem::exists(dir / name)) {
          tok = (dir / name).string();
          break;
        }
    }
    io::save_hf_dir(ck, o->out, dtype, tok);
    fmt::print("wrote {} ({} tensors, {})\n", o->out, ck.tensors.size(), o->dtype);
  });
}

}  // namespace mixq::cli
