#pragma once
// Runs the mixq binary as a user would, for the CLI tests: its exit code and everything it printed.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace mixq::test {

struct Run {
  int exit_code;
  std::string output;  // stdout + stderr
};

// A shell command line; 128 + N when killed by signal N.
inline Run run_command(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Run r{-1, ""};
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// The last line a setup script prints (the folder it installed into), or "" when it failed.
inline std::string script_output_dir(const std::string& command) {
  const Run r = run_command(command);
  if (r.exit_code != 0) return "";
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

// `args` go through the shell (quote paths with spaces).
inline Run run_mixq(const std::string& args) { return run_command(std::string(MIXQ_BINARY) + " " + args); }

// Exit 1 with one "mixq: ..." error naming `needle`.
inline void expect_clean_error(const Run& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("mixq: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

}  // namespace mixq::test
