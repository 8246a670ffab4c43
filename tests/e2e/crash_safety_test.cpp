// An interrupted quantize run (SIGKILL at several moments) never leaves a partial output, not even
// a temporary file, and never touches the previous file of the same name. What it leaves is its
// journal and scratch data (<out>.partial.json, <out>.partial), which --resume continues.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

extern char** environ;

namespace mixq {
namespace {

// Runs the mixq binary with `args` and the environment plus `env` ("NAME=value"), output
// discarded; returns its wait status.
int run_mixq_with_env(const std::vector<std::string>& args, const std::string& env = "") {
  std::vector<std::string> all = {MIXQ_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  std::string extra = env;
  if (!extra.empty()) envp.push_back(extra.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, MIXQ_BINARY, &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// The kills land at defined points of writing the output (MIXQ_TEST_KILL_AT, io/atomic_file.cpp),
// whatever the machine's speed: part of the file written, and the temporary named but not yet
// renamed into place. Each leaves the previous file as it was; the second may leave its named
// temporary, which the next run removes.
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
                                         dir / "calib.txt", "--calib-samples", "8", "--calib-len", "64", "-o", out};
  for (const char* phase : {"write", "linked"}) {
    const int status = run_mixq_with_env(args, std::string("MIXQ_TEST_KILL_AT=") + phase);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << phase;
    EXPECT_EQ(io::read_whole_file(out), previous) << "killed at " << phase;
    auto files = files_in(dir.path() / "out");
    const std::vector<std::string> resumable = {"q.safetensors", "q.safetensors.partial", "q.safetensors.partial.json"};
    if (std::string(phase) == "linked") {  // and the named temporary, "q.safetensors.tmp.<pid>.0"
      ASSERT_EQ(files.size(), 4u);
      EXPECT_EQ(files[3].rfind("q.safetensors.tmp.", 0), 0u) << files[3];
      files.pop_back();
    }
    EXPECT_EQ(files, resumable) << "killed at " << phase;
  }
  // Run to the end: the file is replaced by a valid quantized model, and nothing else is left.
  const int status = run_mixq_with_env(args);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(files_in(dir.path() / "out"), std::vector<std::string>{"q.safetensors"});
  EXPECT_TRUE(quant::is_quantized_model_file(out));
}

}  // namespace mixq
