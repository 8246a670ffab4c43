// An interrupted quantize run (SIGKILL at several moments) never leaves a partial output, not even
// a temporary file, and never touches the previous file of the same name.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

extern char** environ;

namespace mixq {
namespace {

// Starts the mixq binary with `args`, output discarded; returns its pid.
pid_t spawn_mixq(const std::vector<std::string>& args) {
  std::vector<std::string> all = {MIXQ_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, MIXQ_BINARY, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(CrashSafety, KilledQuantizeLeavesNoPartialOutputAndKeepsThePreviousFile) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "out");
  {
    std::ofstream calib(dir / "calib.txt");
    for (int i = 0; i < 200; ++i) calib << "Once upon a time, there was a little girl named Lily. She loved to play. ";
  }
  const std::string out = dir / "out/q.safetensors", previous = "the previous file, which must survive";
  std::ofstream(out) << previous;
  const std::vector<std::string> args = {"quantize", "-q", "-m", test::repo_model_path("stories260K/stories260K.bin"),
                                         "--method", "gptq", "--bits", "3", "--group", "32", "--calib",
                                         dir / "calib.txt", "--calib-samples", "64", "--calib-len", "128", "-o", out};
  for (int delay_ms : {20, 100, 300, 700, 1500}) {
    const pid_t pid = spawn_mixq(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(files_in(dir.path() / "out"), std::vector<std::string>{"q.safetensors"}) << "killed after " << delay_ms << " ms";
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(io::read_whole_file(out), previous) << "killed after " << delay_ms << " ms";
    }
  }
  // Run to the end: the file is replaced by a valid quantized model, and nothing else is left.
  const pid_t pid = spawn_mixq(args);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(files_in(dir.path() / "out"), std::vector<std::string>{"q.safetensors"});
  EXPECT_TRUE(quant::is_quantized_model_file(out));
}

}  // namespace mixq
