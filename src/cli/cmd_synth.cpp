#include <thread>

#include "common.hpp"
#include "mixq/io/synth_checkpoint.hpp"

namespace mixq::cli {

void add_synth_command(CLI::App& app) {
  struct Options {
    std::string shape = "tiny", out, tokenizer, dtype = "BF16";
    int layers = 0, dim = 0, hidden = 0, heads = 0, kv_heads = 0, vocab = 0, ctx = 0, threads = 0;
    uint64_t seed = 1;
    double shard_gb = 4;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("synth", "write a synthetic Hugging Face checkpoint of a real model's shape (random weights)");
  std::vector<std::string> shapes;
  for (const auto& s : io::synth_shapes()) shapes.emplace_back(s.name);
  cmd->add_option("--shape", o->shape, "model shape")->check(CLI::IsMember(shapes));
  cmd->add_option("-o,--out", o->out, "output directory (new or empty)")->required();
  cmd->add_option("--layers", o->layers, "decoder layers (default: the shape's)")->check(positive_number());
  cmd->add_option("--dim", o->dim, "hidden size")->check(positive_number());
  cmd->add_option("--hidden", o->hidden, "MLP intermediate size")->check(positive_number());
  cmd->add_option("--heads", o->heads, "attention heads")->check(positive_number());
  cmd->add_option("--kv-heads", o->kv_heads, "key/value heads")->check(positive_number());
  cmd->add_option("--vocab", o->vocab, "vocabulary size")->check(positive_number());
  cmd->add_option("--ctx", o->ctx, "context length (max_position_embeddings)")->check(positive_number());
  cmd->add_option("--dtype", o->dtype, "weights' dtype")->check(CLI::IsMember({"BF16", "F16", "F32"}));
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer to copy (default: a synthetic tokenizer.bin of the vocabulary)");
  cmd->add_option("--seed", o->seed, "seed of the weights");
  cmd->add_option("--shard-gb", o->shard_gb, "largest shard (GB)")->check(positive_number());
  cmd->add_option("-t,--threads", o->threads, "worker threads (0: all cores)")->check(non_negative_number());
  cmd->callback([o, cmd] {
    check_outputs(*cmd, {o->tokenizer}, {{"-o", o->out, true, {"config.json", "model.safetensors.index.json"}}});
    io::SynthOptions s;
    s.config = io::synth_shape(o->shape);
    for (auto [value, field] : {std::pair{o->layers, &s.config.n_layers}, {o->dim, &s.config.dim}, {o->hidden, &s.config.hidden_dim},
                                {o->heads, &s.config.n_heads}, {o->kv_heads, &s.config.n_kv_heads},
                                {o->vocab, &s.config.vocab_size}, {o->ctx, &s.config.seq_len}})
      if (value > 0) *field = value;
    s.dtype = o->dtype == "F16" ? io::DType::F16 : o->dtype == "F32" ? io::DType::F32 : io::DType::BF16;
    s.seed = o->seed;
    s.shard_bytes = uint64_t(o->shard_gb * 1e9);
    s.tokenizer = o->tokenizer;
    s.threads = o->threads > 0 ? o->threads : int(std::max(1u, std::thread::hardware_concurrency()));
    const uint64_t bytes = io::write_synth_checkpoint(o->out, s);
    const auto& c = s.config;
    fmt::print("{}: synthetic {} ({} layers, dim {}, hidden {}, heads {}/{}, vocab {}), {} weights, {:.2f} GB {}\n", o->out,
               o->shape, c.n_layers, c.dim, c.hidden_dim, c.n_heads, c.n_kv_heads, c.vocab_size,
               bytes / io::dtype_size(s.dtype), double(bytes) / 1e9, o->dtype);
  });
}

}  // namespace mixq::cli
