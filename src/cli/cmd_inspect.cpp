#include <nlohmann/json.hpp>

#include "common.hpp"
#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/gguf_report.hpp"
#include "mixq/quant/file_report.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::cli {
namespace {

// "0:12.5% 1:37.5% ..." (or int2:…% prune0:…% for fineq) — how the codes of a packed tensor are spread.
std::string histogram_line(const std::vector<int64_t>& counts, const formats::FormatOps& ops) {
  int64_t total = 0;
  for (auto c : counts) total += c;
  std::string s;
  for (size_t i = 0; i < counts.size(); ++i)
    s += fmt::format("{}{}:{:.1f}%", i ? " " : "", ops.code_label(i), total ? 100.0 * double(counts[i]) / double(total) : 0.0);
  return s;
}

// A llama.cpp user's GGUF: its model in mixq's terms, bits counted from its bytes, its tensors.
void print_gguf(const std::string& path, bool json) {
  const nlohmann::json r = io::describe_gguf(path);
  if (json) {
    fmt::print("{}\n", r.dump(2));
    return;
  }
  const auto& c = r.at("config");
  const auto& size = r.at("size");
  fmt::print("{}  (GGUF version {}, architecture {})\n", path, r.at("gguf_version").get<int>(), r.at("architecture").get<std::string>());
  fmt::print("  {:<22} {} layers, dim {}, hidden {}, heads {}/{}, vocab {}, context {}\n", "model",
             c.at("num_hidden_layers").get<int>(), c.at("hidden_size").get<int>(), c.at("intermediate_size").get<int>(),
             c.at("num_attention_heads").get<int>(), c.at("num_key_value_heads").get<int>(), c.at("vocab_size").get<int>(),
             c.at("max_position_embeddings").get<int>());
  if (c.contains("rope_scaling")) fmt::print("  {:<22} {}\n", "rope_scaling", c.at("rope_scaling").dump());
  const auto& tok = r.at("tokenizer");
  fmt::print("  {:<22} {} {} ({} tokens)\n", "tokenizer", tok.at("model").get<std::string>(), tok.at("pre").get<std::string>(),
             tok.at("tokens").get<size_t>());
  std::string types;
  for (const auto& [type, n] : r.at("decoder_linear_types").items()) types += fmt::format(" {}×{}", n.get<int>(), type);
  fmt::print("  {:<22} {:.4f} ({})\n", "bits/weight, linears", size.at("decoder_linear_bits_per_weight").get<double>(), types.substr(1));
  fmt::print("  {:<22} {:.4f} ({} bytes ÷ {} parameters)\n", "bits/weight, file", size.at("bits_per_weight").get<double>(),
             size.at("bytes").get<size_t>(), size.at("parameters").get<int64_t>());
  fmt::print("\n{:<32} {:<6} {:<14} {:>10} {:>7}\n", "tensor", "type", "shape", "bytes", "bpw");
  for (const auto& t : r.at("tensors")) {
    std::string shape;
    for (int64_t d : t.at("shape").get<std::vector<int64_t>>()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    fmt::print("{:<32} {:<6} {:<14} {:>10} {:>7.3f}\n", t.at("name").get<std::string>(), t.at("type").get<std::string>(), shape,
               t.at("bytes").get<size_t>(), t.at("bits_per_weight").get<double>());
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  struct Options {
    std::string file;
    bool json = false, verify = false, formats = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("inspect", "show what a mixq quantized file (or a llama.cpp GGUF) holds");
  cmd->add_option("file", o->file, "quantized .safetensors file, or a GGUF file");
  cmd->add_flag("--formats", o->formats, "list the registered packed formats and quantization methods (JSON)");
  cmd->add_flag("--json", o->json, "print as JSON");
  cmd->add_flag("--verify", o->verify, "check every tensor's bytes against its stored checksum (exit 1 on damage)");
  cmd->callback([o] {
    if (o->formats) {
      fmt::print("{}\n", quant::registered_formats_and_methods().dump(2));
      return;
    }
    if (o->file.empty()) throw CLI::RequiredError("file");
    if (io::model_path_kind(o->file) == io::ModelPathKind::Gguf) {
      if (o->verify) fail(o->file, "--verify checks a mixq file's checksums; a GGUF has none");
      print_gguf(o->file, o->json);
      return;
    }
    const io::SafetensorsFile file(o->file);
    if (!file.metadata().count("mixq.version")) fail(o->file, "not a mixq quantized file (no mixq.version in its metadata)");
    if (o->verify) {
      size_t bad = 0;
      const auto checks = quant::verify_checksums(file);
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& c : checks) {
        bad += !c.ok;
        if (o->json) rows.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
        else fmt::print("{:<50} {}  {}\n", c.name, c.ok ? "ok     " : "DAMAGED", c.detail);
      }
      if (o->json) fmt::print("{}\n", nlohmann::json{{"file", o->file}, {"damaged", bad}, {"checks", rows}}.dump(2));
      if (bad) fail(o->file, "{} of {} checks failed (header and tensors)", bad, checks.size());
      // Checksums cover every byte; loading as eval would also checks what they cannot (a file
      // written with values the loader refuses), so "verified" always means "loads".
      quant::load_quantized_model(o->file, 1);
      if (!o->json) fmt::print("{}: the header and all {} tensors match their checksums; the model loads\n", o->file, checks.size() - 1);
      return;
    }
    const nlohmann::json report = quant::describe_quantized_file(file);
    if (o->json) {
      fmt::print("{}\n", report.dump(2));
      return;
    }
    const auto& meta = report.at("metadata");
    const auto& tensors = report.at("tensors");
    fmt::print("{}  (mixq file version {})\n", o->file, meta.at("mixq.version").get<std::string>());
    for (const char* key : {"mixq.method", "mixq.calibration", "mixq.bits_per_weight", "mixq.tokenizer"})
      if (meta.contains(key)) fmt::print("  {:<22} {}\n", key, meta.at(key).get<std::string>());
    const auto& size = report.at("size");
    fmt::print("  {:<22} {:.4f} ({} bytes ÷ {} parameters: embedding, head, norms and tokenizer included)\n",
               "bits/weight, file", size.at("bits_per_weight").get<double>(), size.at("bytes").get<size_t>(),
               size.at("parameters").get<int64_t>());
    fmt::print("\n{:<50} {:<8} {:<14} {:>10} {:>7}  {}\n", "tensor", "format", "shape", "bytes", "bpw", "codes");
    for (const auto& t : tensors) {
      const auto shape = t["shape"].get<std::vector<int64_t>>();
      const std::string shape_s = shape.size() == 2 ? fmt::format("{}x{}", shape[0], shape[1]) : fmt::format("{}", shape[0]);
      if (t.contains("format")) {
        fmt::print("{:<50} {:<8} {:<14} {:>10} {:>7.3f}  {}  {}  {}\n", t["name"].get<std::string>(),
                   t["format"].get<std::string>(), shape_s, t["bytes"].get<size_t>(), t["bits_per_weight"].get<double>(),
                   t["params"].dump(), histogram_line(t["code_histogram"].get<std::vector<int64_t>>(),
                                                     formats::format_ops(t["format"].get<std::string>())),
                   t["layout"].get<std::string>());
      } else {
        fmt::print("{:<50} {:<8} {:<14} {:>10}\n", t["name"].get<std::string>(), t["dtype"].get<std::string>(), shape_s,
                   t["bytes"].get<size_t>());
      }
    }
  });
}

}  // namespace mixq::cli
