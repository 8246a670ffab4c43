#include "mixq/core/memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <string>

#include "mixq/core/error.hpp"

namespace mixq {
namespace {

constexpr size_t kUnknown = std::numeric_limits<size_t>::max();

// "Key:   123 kB" from a /proc file, in bytes; kUnknown when absent.
size_t proc_kb_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key + ":")) return size_t(std::stoull(line.substr(key.size() + 1))) * 1024;
  return kUnknown;
}

size_t read_number_file(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return kUnknown;
  try {
    return size_t(std::stoull(s));
  } catch (const std::exception&) {
    return kUnknown;
  }
}

// cgroup v2: the group this process is in, from /proc/self/cgroup ("0::/path").
size_t cgroup_headroom() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("0::")) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    const size_t max = read_number_file(dir + "/memory.max"), used = read_number_file(dir + "/memory.current");
    if (max == kUnknown || used == kUnknown) return kUnknown;
    return max > used ? max - used : 0;
  }
  return kUnknown;
}

size_t address_space_headroom() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kUnknown;
  const size_t mapped = proc_kb_field("/proc/self/status", "VmSize");
  if (mapped == kUnknown) return kUnknown;
  return size_t(rl.rlim_cur) > mapped ? size_t(rl.rlim_cur) - mapped : 0;
}

}  // namespace

size_t available_memory_bytes() {
  return std::min({proc_kb_field("/proc/meminfo", "MemAvailable"), cgroup_headroom(), address_space_headroom()});
}

std::string byte_size_string(double bytes) {
  if (bytes >= double(1ull << 30)) return fmt::format("{:.2f} GiB", bytes / double(1ull << 30));
  if (bytes >= double(1ull << 20)) return fmt::format("{:.1f} MiB", bytes / double(1ull << 20));
  return fmt::format("{:.1f} KiB", bytes / 1024.0);
}

void require_memory(size_t bytes, const std::string& what, const std::string& where) {
  const size_t available = available_memory_bytes();
  if (available == kUnknown || bytes <= available) return;
  fail(where, "needs {} for {} but only {} of memory is available", byte_size_string(double(bytes)), what,
       byte_size_string(double(available)));
}

}  // namespace mixq
