#include "mixq/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {

void test_kill_point(const std::string& phase) {
  static const char* wanted = std::getenv("MIXQ_TEST_KILL_AT");
  if (wanted && phase == wanted) ::kill(::getpid(), SIGKILL);
}

namespace {

std::string directory_of(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

// Crash tests kill the process at defined points of writing an output, not after guessed sleeps:
// MIXQ_TEST_KILL_AT=write (at the second write: part of the file written) or =linked (the temporary named, not yet
// renamed) makes the process SIGKILL itself there.
void kill_point(const char* phase) { test_kill_point(phase); }

// A run killed between naming its temporary and the rename leaves "<path>.tmp.<pid>.<n>"; the
// next run writing the same path removes those whose process is gone.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_of(path), ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(prefix) || !e.is_regular_file(ec)) continue;
    const std::string rest = name.substr(prefix.size());  // "<pid>.<n>"
    char* end = nullptr;
    const long pid = std::strtol(rest.c_str(), &end, 10);
    if (pid <= 0 || *end != '.') continue;
    if (::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
}

}  // namespace

AtomicFile::AtomicFile(std::string path, bool test_kill_points) : path_(std::move(path)), kill_points_(test_kill_points) {
  check_output_file(path_);
  remove_stale_temporaries(path_);
#ifdef O_TMPFILE
  // An unnamed file in the target's directory: if the process dies (even by SIGKILL) before
  // commit(), nothing is left behind at all.
  fd_ = ::open(directory_of(path_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ >= 0) return;
#endif
  // Filesystems without O_TMPFILE: a named temporary, removed unless committed.
  std::string templ = fmt::format("{}.tmp.{}.XXXXXX", path_, ::getpid());  // pid: see remove_stale_temporaries
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0 && errno == ENOENT) fail(path_, "cannot create output: directory {} does not exist", directory_of(path_));
  if (fd_ < 0) fail(path_, "cannot create temporary output: {}", std::strerror(errno));
  tmp_path_ = buf.data();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void AtomicFile::write(std::span<const uint8_t> bytes) {
  if (++writes_ == 2 && kill_points_) kill_point("write");  // the header is out, the tensors not yet
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed: {}", std::strerror(errno));
    }
    done += size_t(n);
  }
}

void AtomicFile::commit() {
  if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0)
    fail(path_, "cannot flush output: {}", std::strerror(errno));
  if (tmp_path_.empty()) {
    // Give the unnamed file a temporary name beside the target (linkat cannot replace a file),
    // then rename it over the target as below.
    for (int attempt = 0; tmp_path_.empty(); ++attempt) {
      const std::string name = fmt::format("{}.tmp.{}.{}", path_, ::getpid(), attempt);
      if (::linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) {
        tmp_path_ = name;
      } else if (errno == ENOENT || errno == EPERM) {  // AT_EMPTY_PATH needs privileges: go through /proc
        const std::string proc = fmt::format("/proc/self/fd/{}", fd_);
        if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) tmp_path_ = name;
        else if (errno != EEXIST) fail(path_, "cannot name the output file: {}", std::strerror(errno));
      } else if (errno != EEXIST) {
        fail(path_, "cannot name the output file: {}", std::strerror(errno));
      }
    }
  }
  if (kill_points_) kill_point("linked");
  ::close(fd_);
  fd_ = -1;
  // Again at the last moment: an input opened since the constructor (or a node made since) is
  // never replaced.
  check_output_file(path_);
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    fail(path_, "cannot rename temporary output into place: {}", std::strerror(errno));
  committed_ = true;
  // fsync the directory so the rename itself survives a crash.
  const auto dir = std::filesystem::path(path_).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, const std::string& contents, bool test_kill_points) {
  AtomicFile f(path, test_kill_points);
  f.write(contents);
  f.commit();
}

}  // namespace mixq::io
