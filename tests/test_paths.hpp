#pragma once
// Where tests find real data: ../shared (models, text, reference outputs) and the repository's
// own copy of stories260K. A test whose input is missing is skipped with the reason, never passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::test {

inline std::string shared_path(const std::string& rel) { return std::string(MIXQ_SHARED_DIR) + "/" + rel; }
inline std::string repo_model_path(const std::string& rel) { return std::string(MIXQ_REPO_MODELS_DIR) + "/" + rel; }

struct RealModel {
  const char* name;     // folder under shared/models and shared/reference
  const char* file;     // checkpoint file name
};
inline constexpr RealModel kRealModels[] = {{"stories260K", "stories260K.bin"}, {"tinystories5M", "model.bin"}};

inline std::string model_file(const RealModel& m) { return shared_path(std::string("models/") + m.name + "/" + m.file); }

// Token ids written one line, space-separated (shared/reference/*.tokens.txt).
inline std::vector<int> read_ids(const std::string& path) {
  std::ifstream f(path);
  std::vector<int> ids;
  for (int id; f >> id;) ids.push_back(id);
  return ids;
}

// A checkpoint loaded as a dense fp32 model, with its tokenizer.
struct LoadedModel {
  std::unique_ptr<io::Tokenizer> tok;
  std::unique_ptr<model::LlamaModel> model;
};
inline LoadedModel load_model(const std::string& path, int threads = 2) {
  io::Checkpoint ck = io::load_checkpoint(path);
  LoadedModel l;
  l.tok = std::move(ck.tokenizer);
  l.model = std::make_unique<model::LlamaModel>(model::LlamaModel::from_checkpoint(ck, threads));
  return l;
}

// The model's logits at every position of `tokens`, in one batch from position 0.
inline std::vector<float> logits_of(model::LlamaModel& m, const std::vector<int>& tokens) {
  model::KvCache cache(m.config(), int(tokens.size()));
  std::vector<float> out(tokens.size() * size_t(m.config().vocab_size));
  m.forward(tokens, 0, cache, out.data());
  return out;
}

// The largest |a[i] − b[i]|; a and b must be as long.
inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// A fresh temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "mixq-test-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Opening `path` with `open(path)` must throw mixq::Error whose message names the file and
// contains `needle`.
template <typename Open>
void expect_open_error(Open&& open, const std::string& path, const std::string& needle) {
  try {
    open(path);
    ADD_FAILURE() << "no error, expected one containing: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "error must name the file: " << e.what();
  }
}

}  // namespace mixq::test

#define MIXQ_REQUIRE_FILE(path)                                                    \
  do {                                                                             \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing input " << (path); \
  } while (0)
