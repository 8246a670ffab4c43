#pragma once
// Shared by the libFuzzer targets: mixq's parsers read files (memory-mapped), so each input is
// written to a file in /dev/shm (RAM) first. A parser may throw mixq::Error — that is the clear
// error bad input must get; anything else (a crash, a sanitizer report, another exception
// escaping) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mixq/core/error.hpp"

namespace mixq::fuzz {

inline std::string& input_path() {
  static std::string path;
  return path;
}

// Writes the input to a file private to this process (removed when the fuzzer exits) and returns
// its path.
inline std::string input_file(const uint8_t* data, size_t size, const char* suffix = "") {
  const std::string path = "/dev/shm/mixq-fuzz-" + std::to_string(::getpid()) + suffix;
  if (input_path().empty()) {
    input_path() = path;
    std::atexit([] { std::remove(input_path().c_str()); });
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Runs fn; mixq::Error is the expected outcome for malformed input.
template <typename Fn>
void expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

}  // namespace mixq::fuzz
