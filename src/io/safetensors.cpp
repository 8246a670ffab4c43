#include "mixq/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {
namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2},  {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
    {DType::I8, "I8", 1},   {DType::U8, "U8", 1},    {DType::I16, "I16", 2},   {DType::I32, "I32", 4},
    {DType::I64, "I64", 8}, {DType::U16, "U16", 2},  {DType::U32, "U32", 4},   {DType::U64, "U64", 8},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo* dtype_by_name(const std::string& s) {
  for (const auto& d : kDTypes)
    if (s == d.name) return &d;
  return nullptr;
}

}  // namespace

const char* dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

DType parse_dtype(const std::string& name, const std::string& where) {
  const DTypeInfo* d = dtype_by_name(name);
  if (!d) fail(where, "unknown dtype '{}'", name);
  return d->type;
}

size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<const MappedFile>(path)) {
  const auto b = file_->bytes();
  if (b.size() < 8) fail(path, "not a safetensors file: {} bytes, shorter than the 8-byte header length", b.size());
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  if (n > b.size() - 8) fail(path, "header length {} runs past end of file ({} bytes)", n, b.size());
  if (n > kMaxHeaderBytes) fail(path, "header length {} exceeds the {} byte limit", n, kMaxHeaderBytes);
  const std::string_view text(reinterpret_cast<const char*>(b.data() + 8), size_t(n));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, "header is not valid JSON: {}", e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");
  const uint8_t* data = b.data() + 8 + n;
  const uint64_t data_size = b.size() - 8 - n;

  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(path, "__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(path, "__metadata__ value of '{}' is not a string", k);
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!info.is_object()) fail(where, "entry is not an object");
    const auto dt = info.find("dtype");
    const auto sh = info.find("shape");
    const auto off = info.find("data_offsets");
    if (dt == info.end() || !dt->is_string()) fail(where, "missing dtype");
    const DTypeInfo* type = dtype_by_name(dt->get<std::string>());
    if (!type) fail(where, "unknown dtype '{}'", dt->get<std::string>());
    if (sh == info.end() || !sh->is_array()) fail(where, "missing shape");
    if (off == info.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail(where, "data_offsets must be two non-negative integers");
    SafetensorsEntry e{name, type->type, {}, {}};
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) fail(where, "shape holds a non-integer or negative dimension");
      const uint64_t v = d.get<uint64_t>();
      if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v / type->size)
        fail(where, "shape {} overflows", sh->dump());
      numel *= v;
      e.shape.push_back(int64_t(v));
    }
    const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (begin > end) fail(where, "data_offsets [{}, {}) has begin after end", begin, end);
    if (end > data_size)
      fail(where, "data_offsets [{}, {}) end past data size {} (file size {})", begin, end, data_size, b.size());
    if (end - begin != numel * type->size)
      fail(where, "shape {} of {} needs {} bytes but data_offsets [{}, {}) hold {}", sh->dump(),
           type->name, numel * type->size, begin, end, end - begin);
    e.bytes = {data + begin, size_t(end - begin)};
    by_name_[name] = entries_.size();
    entries_.push_back(std::move(e));
  }
  // The data region must be tiled exactly: no overlap between tensors and no unindexed bytes.
  std::vector<const SafetensorsEntry*> sorted;
  for (const auto& e : entries_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* x) {
    return a->bytes.data() != x->bytes.data() ? a->bytes.data() < x->bytes.data() : a->bytes.size() < x->bytes.size();
  });
  uint64_t cursor = 0;
  for (const auto* e : sorted) {
    const uint64_t begin = uint64_t(e->bytes.data() - data);
    if (begin < cursor) fail(path, "tensor '{}' data_offsets overlap the previous tensor's", e->name);
    if (begin > cursor) fail(path, "unindexed bytes [{}, {}) before tensor '{}'", cursor, begin, e->name);
    cursor = begin + e->bytes.size();
  }
  if (cursor != data_size) fail(path, "unindexed bytes [{}, {}) after the last tensor", cursor, data_size);
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

const SafetensorsEntry& SafetensorsFile::at(const std::string& name) const {
  const auto* e = find(name);
  if (!e) fail(path(), "missing tensor '{}'", name);
  return *e;
}

Tensor SafetensorsFile::to_f32(const SafetensorsEntry& e) const {
  Tensor t;
  t.shape = e.shape;
  t.data.resize(size_t(e.numel()));
  const uint8_t* p = e.bytes.data();
  switch (e.dtype) {
    case DType::F32:
      std::memcpy(t.data.data(), p, t.data.size() * 4);
      break;
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < t.data.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        t.data[i] = e.dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    default:
      fail(path(), "tensor '{}' has unsupported dtype {} (expected F32, F16 or BF16)", e.name, dtype_name(e.dtype));
  }
  return t;
}

std::vector<uint8_t> encode_f32_as(std::span<const float> values, DType dtype) {
  std::vector<uint8_t> out(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::F32) {
      std::memcpy(&out[4 * i], &values[i], 4);
    } else if (dtype == DType::F16 || dtype == DType::BF16) {
      const uint16_t h = dtype == DType::F16 ? f32_to_f16(values[i]) : f32_to_bf16(values[i]);
      std::memcpy(&out[2 * i], &h, 2);
    } else {
      fail("", "cannot encode floats as {}", dtype_name(dtype));
    }
  }
  return out;
}

SafetensorsWriter::SafetensorsWriter(const std::string& path, const std::string& scratch, bool keep)
    : path_(path), out_(std::make_unique<AtomicFile>(path)), scratch_path_(scratch) {
  const auto dir = std::filesystem::path(path).parent_path();
  const std::string where = dir.empty() ? "." : dir.string();
  if (!scratch.empty()) {
    check_output_file(scratch, "scratch file");
    scratch_ = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (keep ? 0 : O_TRUNC), 0644);
    if (scratch_ < 0) fail(scratch, "cannot open the scratch file: {}", std::strerror(errno));
    return;
  }
#ifdef O_TMPFILE
  scratch_ = ::open(where.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (scratch_ < 0) {  // no O_TMPFILE here: a named file, unlinked at once
    std::string templ = (std::filesystem::path(where) / ".mixq-scratch.XXXXXX").string();
    scratch_ = ::mkstemp(templ.data());
    if (scratch_ < 0) fail(path, "cannot create a scratch file in {}: {}", where, std::strerror(errno));
    ::unlink(templ.c_str());
  }
}

SafetensorsWriter::~SafetensorsWriter() {
  if (scratch_ >= 0) ::close(scratch_);
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes) {
  uint64_t numel = 1;
  for (auto d : shape) numel *= uint64_t(d);
  if (numel * dtype_size(dtype) != bytes.size())
    fail(path_, "tensor '{}': shape {} of {} needs {} bytes, given {}", name, shape_string(shape), dtype_name(dtype),
         numel * dtype_size(dtype), bytes.size());
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::pwrite(scratch_, bytes.data() + done, bytes.size() - done, off_t(data_bytes_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path_, "write failed (tensor '{}', {} bytes): {}", name, bytes.size(), std::strerror(errno));
    done += size_t(n);
  }
  entries_.push_back({name, dtype, std::move(shape), bytes.size()});
  data_bytes_ += bytes.size();
}

void SafetensorsWriter::restore(std::vector<Entry> entries) {
  uint64_t bytes = 0;
  for (const auto& e : entries) bytes += e.size;
  struct stat st {};
  if (::fstat(scratch_, &st) != 0 || uint64_t(st.st_size) < bytes)
    fail(scratch_path_, "holds {} bytes, the journal of the stopped run says {}: it cannot be continued", uint64_t(st.st_size),
         bytes);
  if (::ftruncate(scratch_, off_t(bytes)) != 0) fail(scratch_path_, "cannot cut the scratch file: {}", std::strerror(errno));
  entries_ = std::move(entries);
  data_bytes_ = bytes;
}

std::vector<uint8_t> SafetensorsWriter::read(size_t i) const {
  uint64_t offset = 0;
  for (size_t k = 0; k < i; ++k) offset += entries_.at(k).size;
  std::vector<uint8_t> out(size_t(entries_.at(i).size));
  for (size_t done = 0; done < out.size();) {
    const ssize_t got = ::pread(scratch_, out.data() + done, out.size() - done, off_t(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail(scratch_path_, "cannot read back tensor '{}'", entries_[i].name);
    done += size_t(got);
  }
  return out;
}

void SafetensorsWriter::sync() {
  if (::fsync(scratch_) != 0) fail(path_, "cannot flush the scratch file: {}", std::strerror(errno));
}

void SafetensorsWriter::finish(const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.size}}};
    offset += e.size;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  const uint64_t n = json.size();
  out_->write({reinterpret_cast<const uint8_t*>(&n), 8});
  out_->write(json);
  std::vector<uint8_t> buf(std::min<uint64_t>(data_bytes_, 8u << 20));
  for (uint64_t done = 0; done < data_bytes_;) {
    const ssize_t got = ::pread(scratch_, buf.data(), size_t(std::min<uint64_t>(buf.size(), data_bytes_ - done)), off_t(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail(path_, "cannot read back the scratch data: {}", got < 0 ? std::strerror(errno) : "short read");
    out_->write({buf.data(), size_t(got)});
    done += uint64_t(got);
  }
  out_->commit();
  if (!scratch_path_.empty()) ::unlink(scratch_path_.c_str());
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  SafetensorsWriter out(path);
  for (const auto& t : tensors) out.add(t.name, t.dtype, t.shape, t.bytes);
  out.finish(metadata);
}

}  // namespace mixq::io
