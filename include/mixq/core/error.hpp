#pragma once
// One error type for everything mixq reports: it names the file or tensor and the problem,
// e.g. "model.safetensors: tensor 'x': data_offsets [0, 9000) end past file size 8192".
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace mixq {

class Error : public std::runtime_error {
 public:
  Error(const std::string& where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

// Throws Error(where, formatted message).
template <typename... Args>
[[noreturn]] void fail(const std::string& where, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(where, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace mixq
