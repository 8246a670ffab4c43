#include "mixq/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {

MappedFile::MappedFile(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type check below refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, "cannot open: {}", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a file");
    fail(path, "not a regular file (a FIFO, device or socket cannot be read as one)");
  }
  note_input(path);
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail(path, "cannot map its {}: {}", byte_size_string(double(size_)), std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(std::span<const uint8_t> bytes) const {
  if (bytes.empty() || bytes.data() < data_ || bytes.data() + bytes.size() > data_ + size_) return;
  static const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(bytes.data()) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(bytes.data()) + bytes.size()) / page * page;
  // On a private, read-only file mapping MADV_DONTNEED only unmaps the pages: nothing is lost.
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::string read_whole_file(const std::string& path) {
  // Through the mapping: a directory, FIFO or device is refused before anything is read (a FIFO
  // would block, /dev/zero never ends), and the size is known before the copy is allocated.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    require_memory(size_t(st.st_size), "reading the whole file", path);
  const MappedFile file(path);
  return std::string(reinterpret_cast<const char*>(file.bytes().data()), file.size());
}

}  // namespace mixq::io
