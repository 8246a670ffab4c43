#include "mixq/io/run_files.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "mixq/core/error.hpp"

namespace mixq::io {
namespace {

struct FileId {
  dev_t dev;
  ino_t ino;
  std::string path;
};

std::mutex g_inputs_mutex;
int g_scopes = 0;
std::vector<FileId> g_inputs;  // a run opens a handful of files: a linear scan is enough

// The input with this identity, if its path still names it (an input deleted during the run may
// have its inode reused by an unrelated new file).
std::optional<std::string> find_input(const struct stat& st) {
  std::lock_guard lock(g_inputs_mutex);
  for (const auto& f : g_inputs) {
    struct stat now {};
    if (f.dev == st.st_dev && f.ino == st.st_ino && ::stat(f.path.c_str(), &now) == 0 && now.st_dev == f.dev &&
        now.st_ino == f.ino)
      return f.path;
  }
  return std::nullopt;
}

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "a regular file";
}

// lstat, or false when nothing is there (and the directory to make it in exists); other failures
// name the path.
bool lstat_path(const std::string& path, const std::string& role, struct stat& st) {
  if (path.empty()) fail(role, "empty path");
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno != ENOENT) fail(path, "{}: cannot examine: {}", role, std::strerror(errno));
  const auto parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode))
    fail(path, "{}: directory {} does not exist", role, dir);
  return false;
}

}  // namespace

RunScope::RunScope() {
  std::lock_guard lock(g_inputs_mutex);
  ++g_scopes;
}

RunScope::~RunScope() {
  std::lock_guard lock(g_inputs_mutex);
  if (--g_scopes == 0) g_inputs.clear();
}

void note_input(const std::string& path) {
  struct stat st {};
  std::lock_guard lock(g_inputs_mutex);
  if (g_scopes == 0 || ::stat(path.c_str(), &st) != 0) return;
  for (const auto& f : g_inputs)
    if (f.dev == st.st_dev && f.ino == st.st_ino) return;
  g_inputs.push_back({st.st_dev, st.st_ino, path});
}

void check_output_file(const std::string& path, const std::string& role) {
  struct stat st {};
  if (!lstat_path(path, role, st)) return;
  if (!S_ISREG(st.st_mode))
    fail(path, "{} is {}, not a regular file; mixq replaces only regular files", role, kind_of(st.st_mode));
  if (const auto in = find_input(st)) fail(path, "{} is an input of this run ({}); write the output elsewhere", role, *in);
  // rename() would replace it anyway (it needs only the directory's permission): refuse as cp would.
  if ((st.st_mode & 0222) == 0) fail(path, "{} is read-only; mixq will not replace it", role);
}

void check_output_dir(const std::string& dir, const std::string& role) {
  struct stat st {};
  // A symbolic link to a directory is fine here: files are written inside it, it is not replaced.
  // A missing directory is made with its parents.
  if (dir.empty()) fail(role, "empty path");
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(dir, "{}: cannot examine: {}", role, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) fail(dir, "{} is {}, not a directory", role, kind_of(st.st_mode));
  if (const auto in = find_input(st)) fail(dir, "{} is an input of this run ({}); write the output elsewhere", role, *in);
}

}  // namespace mixq::io
