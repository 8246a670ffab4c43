#include "mixq/eval/compare.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/eval/perplexity.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/pipeline.hpp"

namespace mixq::eval {
namespace fs = std::filesystem;

namespace {

double source_megabytes(const std::string& path) {
  uintmax_t bytes = 0;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".safetensors") bytes += e.file_size();
  } else {
    bytes = fs::file_size(path);
  }
  return double(bytes) / 1e6;
}

// A scratch directory that disappears with the comparison unless the user asked to keep files.
struct OutputDir {
  fs::path path;
  bool temporary;
  explicit OutputDir(const std::string& wanted) : temporary(wanted.empty()) {
    path = temporary ? fs::temp_directory_path() / fmt::format("mixq-compare-{}", ::getpid()) : fs::path(wanted);
    fs::create_directories(path);
  }
  ~OutputDir() {
    std::error_code ec;
    if (temporary) fs::remove_all(path, ec);
  }
};

}  // namespace

std::vector<CompareRow> compare_configs(const CompareOptions& opt, const std::function<void(const CompareRow&)>& on_row) {
  std::vector<quant::MethodOptions> methods;
  for (const auto& spec : opt.configs) methods.push_back(quant::parse_method_spec(spec));
  io::Checkpoint ck = io::load_checkpoint(opt.model, opt.tokenizer);
  const std::map<std::string, Tensor> master = ck.tensors;  // each configuration starts from these
  auto fresh_model = [&] {
    io::Checkpoint copy{ck.config, master, nullptr, ck.source};
    return model::LlamaModel::from_checkpoint(copy, opt.threads);
  };
  const io::Tokenizer& tok = *ck.tokenizer;
  const auto stream = tokenize_eval_text(tok, io::read_whole_file(opt.eval_text), false);
  quant::Calibration calib;
  for (const auto& m : methods)
    if (quant::method_info(m.method).needs_calibration) {
      calib = quant::prepare_calibration(tok, ck.config.seq_len, opt.calib_text, opt.calib);
      break;
    }

  auto ppl = [&](model::LlamaModel& m, PplProtocol protocol, model::LlamaModel* reference) {
    PerplexityOptions po;
    po.protocol = protocol;
    po.ctx = opt.ctx;
    po.max_windows = opt.max_windows;
    po.progress = opt.progress;
    po.reference = reference;
    po.bos_id = tok.bos_id();
    return perplexity(m, stream, po);
  };
  std::vector<CompareRow> rows;
  model::LlamaModel fp = fresh_model();
  CompareRow base;
  base.config = "fp32";
  base.format = "f32";
  base.file_mb = source_megabytes(opt.model);
  const double parameters = double(io::parameter_count(ck.config));
  base.file_bits_per_weight = 8e6 * base.file_mb / parameters;
  base.ppl_gptq = ppl(fp, PplProtocol::Gptq, nullptr).ppl;
  base.ppl_llamacpp = ppl(fp, PplProtocol::LlamaCpp, nullptr).ppl;
  rows.push_back(base);
  if (on_row) on_row(base);

  OutputDir dir(opt.out_dir);
  for (const auto& m : methods) {
    CompareRow row;
    row.config = quant::method_spec(m);
    row.format = quant::method_label(m);
    std::string name = row.config;  // "gptq:3:128+sym" → "gptq_3_128_sym.safetensors"
    for (char& c : name)
      if (c == ':' || c == '+') c = '_';
    const std::string file = (dir.path / (name + ".safetensors")).string();
    {
      model::LlamaModel q = fresh_model();
      const auto record = quant::quantize_with_record(q, calib, m);
      quant::save_quantized_model(file, q, tok, record);
      row.quantize_seconds = record.seconds;
    }
    quant::QuantizedModel loaded = quant::load_quantized_model(file, opt.threads);
    row.bits_per_weight = loaded.bits_per_weight;
    row.file_mb = double(fs::file_size(file)) / 1e6;
    row.file_bits_per_weight = 8.0 * double(fs::file_size(file)) / parameters;
    const auto g = ppl(*loaded.model, PplProtocol::Gptq, &fp);
    row.ppl_gptq = g.ppl;
    row.kl = g.mean_kl;
    row.top1 = g.top1_agreement;
    row.ppl_llamacpp = ppl(*loaded.model, PplProtocol::LlamaCpp, nullptr).ppl;
    row.delta_ppl = row.ppl_gptq - base.ppl_gptq;
    rows.push_back(row);
    if (on_row) on_row(row);
  }
  return rows;
}

std::string compare_table(const std::vector<CompareRow>& rows) {
  std::string s = fmt::format("{:<34} {:<28} {:>7} {:>8} {:>8} {:>10} {:>10} {:>9} {:>8} {:>7} {:>9}\n", "config", "format",
                              "bpw", "file bpw", "file MB", "ppl gptq", "ppl l.cpp", "Δppl", "KL", "top-1", "quant s");
  for (const auto& r : rows)
    s += fmt::format("{:<34} {:<28} {:>7.3f} {:>8.3f} {:>8.3f} {:>10.4f} {:>10.4f} {:>+9.4f} {:>8.5f} {:>6.2f}% {:>9.1f}\n",
                     r.config, r.format, r.bits_per_weight, r.file_bits_per_weight, r.file_mb, r.ppl_gptq, r.ppl_llamacpp,
                     r.delta_ppl, r.kl, 100 * r.top1, r.quantize_seconds);
  return s;
}

nlohmann::json compare_json(const std::vector<CompareRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"config", r.config},       {"format", r.format},         {"bits_per_weight", r.bits_per_weight},
                   {"file_mb", r.file_mb},     {"ppl_gptq", r.ppl_gptq},     {"ppl_llamacpp", r.ppl_llamacpp},
                   {"delta_ppl", r.delta_ppl}, {"kl", r.kl},                 {"top1", r.top1},
                   {"quantize_seconds", r.quantize_seconds}, {"file_bits_per_weight", r.file_bits_per_weight}});
  return out;
}

std::string compare_csv(const std::vector<CompareRow>& rows) {
  // file_bits_per_weight last: the columns before it keep their places for existing readers.
  std::string s = "config,format,bits_per_weight,file_mb,ppl_gptq,ppl_llamacpp,delta_ppl,kl,top1,quantize_seconds,file_bits_per_weight\n";
  for (const auto& r : rows)
    s += fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.6f},{:.3f},{:.6f}\n", r.config, r.format,
                     r.bits_per_weight, r.file_mb, r.ppl_gptq, r.ppl_llamacpp, r.delta_ppl, r.kl, r.top1,
                     r.quantize_seconds, r.file_bits_per_weight);
  return s;
}

}  // namespace mixq::eval
