#pragma once
// Where tests find real data: ../shared (models, text, reference outputs) and the repository's
// own copy of stories260K. A test whose input is missing is skipped with the reason, never passed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mixq::test {

inline std::string shared_path(const std::string& rel) { return std::string(MIXQ_SHARED_DIR) + "/" + rel; }
inline std::string repo_model_path(const std::string& rel) { return std::string(MIXQ_REPO_MODELS_DIR) + "/" + rel; }

struct RealModel {
  const char* name;     // folder under shared/models and shared/reference
  const char* file;     // checkpoint file name
};
inline constexpr RealModel kRealModels[] = {{"stories260K", "stories260K.bin"}, {"tinystories5M", "model.bin"}};

inline std::string model_file(const RealModel& m) { return shared_path(std::string("models/") + m.name + "/" + m.file); }

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

}  // namespace mixq::test

#define MIXQ_REQUIRE_FILE(path)                                                    \
  do {                                                                             \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing input " << (path); \
  } while (0)
