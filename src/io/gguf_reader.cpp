// Reads GGUF (the layout gguf_writer.cpp describes). Every count is checked against the bytes that
// are left before anything is reserved, so a hostile header cannot ask for memory or read past the
// mapping; llama.cpp's own gguf.cpp refuses the same things (nested arrays, duplicate keys, ranks
// above 4, misaligned tensors).
#include <algorithm>
#include <cstring>
#include <set>

#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"

namespace mixq::io {
namespace {

size_t value_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;  // strings and arrays: variable
  }
}

bool is_integer(GgufValueType t) {
  return t != GgufValueType::F32 && t != GgufValueType::F64 && t != GgufValueType::BOOL && value_size(t) > 0;
}

// The ggml types GGUF files may hold that mixq does not decode, by number, for errors.
const char* unread_type_name(uint32_t id) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {4, "Q4_2"},     {5, "Q4_3"},    {9, "Q8_1"},   {15, "Q8_K"}, {16, "IQ2_XXS"}, {17, "IQ2_XS"},
      {18, "IQ3_XXS"}, {19, "IQ1_S"},  {20, "IQ4_NL"}, {21, "IQ3_S"}, {22, "IQ2_S"},  {23, "IQ4_XS"},
      {24, "I8"},      {25, "I16"},    {26, "I32"},   {27, "I64"},  {28, "F64"},     {29, "IQ1_M"}};
  for (const auto& [n, name] : kNames)
    if (n == id) return name;
  return "unknown";
}

std::string readable_types() {
  std::string s;
  for (const GgmlTypeInfo& t : ggml_types()) s += std::string(s.empty() ? "" : ", ") + t.name;
  return s;
}

// A bounds-checked cursor over the mapped bytes; every read names what it was reading.
class Reader {
 public:
  Reader(std::span<const uint8_t> b, const std::string& path) : b_(b), path_(path) {}
  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }
  std::span<const uint8_t> take(uint64_t n, const std::string& what) {
    if (n > left()) fail(path_, "truncated GGUF: {} needs {} bytes at offset {}, {} are left", what, n, pos_, left());
    const auto s = b_.subspan(pos_, size_t(n));
    pos_ += size_t(n);
    return s;
  }
  template <typename T>
  T get(const std::string& what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what).data(), sizeof(T));
    return v;
  }
  std::string string(const std::string& what) {
    const uint64_t n = get<uint64_t>(what + "'s length");
    const auto s = take(n, what);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  // A count of items each at least `min_bytes` long: more than the bytes left can hold is an error
  // before anything is sized by it.
  uint64_t count(const std::string& what, uint64_t min_bytes) {
    const uint64_t n = get<uint64_t>(what);
    if (n > left() / min_bytes) fail(path_, "GGUF {} is {}, more than the {} bytes left in the file can hold", what, n, left());
    return n;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& path_;
  size_t pos_ = 0;
};

GgufValueType value_type(Reader& r, const std::string& key, const std::string& path) {
  const uint32_t t = r.get<uint32_t>("the type of '" + key + "'");
  if (t > uint32_t(GgufValueType::F64)) fail(path, "GGUF key '{}' has unknown value type {}", key, t);
  return GgufValueType(t);
}

// Skips one value of type `t` (not an array), checking it lies in the file.
void skip_scalar(Reader& r, GgufValueType t, const std::string& key) {
  if (t == GgufValueType::STRING) (void)r.string("the value of '" + key + "'");
  else (void)r.take(value_size(t), "the value of '" + key + "'");
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<const MappedFile>(path)) {
  const auto bytes = file_->bytes();
  Reader r(bytes, path);
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) fail(path, "not a GGUF file (no 'GGUF' magic)");
  (void)r.take(4, "magic");
  version_ = r.get<uint32_t>("the version");
  if (version_ == 0x03000000 || version_ == 0x02000000) fail(path, "is a big-endian GGUF file; mixq reads little-endian GGUF");
  if (version_ != 2 && version_ != 3) fail(path, "GGUF version {} is not supported (mixq reads versions 2 and 3)", version_);
  const uint64_t n_tensors = r.get<uint64_t>("the tensor count");
  const uint64_t n_kv = r.count("key-value count", 8 + 4 + 1);
  // Each tensor description takes at least 8 + 4 + 8 + 4 + 8 bytes.
  if (n_tensors > r.left() / 32) fail(path, "GGUF tensor count {} is more than the file can hold", n_tensors);

  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string("key " + std::to_string(i));
    Value v{value_type(r, key, path), GgufValueType::U8, 1, {}};
    const size_t start = r.pos();
    if (v.type == GgufValueType::ARRAY) {
      v.element = value_type(r, key, path);
      if (v.element == GgufValueType::ARRAY) fail(path, "GGUF key '{}' is an array of arrays, which mixq does not read", key);
      const size_t elem = value_size(v.element);
      v.count = r.count("array length of '" + key + "'", elem > 0 ? elem : 8);
      if (elem > 0) (void)r.take(v.count * elem, "the values of '" + key + "'");
      else
        for (uint64_t j = 0; j < v.count; ++j) skip_scalar(r, v.element, key);
    } else {
      skip_scalar(r, v.type, key);
    }
    v.bytes = bytes.subspan(start, r.pos() - start);
    if (!kv_.emplace(key, v).second) fail(path, "GGUF key '{}' appears twice", key);
  }

  uint64_t alignment = 32;
  if (auto a = get_int("general.alignment")) {
    if (*a <= 0 || uint64_t(*a) > kMaxAlignment || (*a & (*a - 1)) != 0)
      fail(path, "GGUF general.alignment {} is not a power of two up to {}", *a, kMaxAlignment);
    alignment = uint64_t(*a);
  }

  struct Raw {
    uint64_t offset, size;
  };
  std::vector<Raw> raw;
  std::set<std::string> names;
  tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.name = r.string("tensor " + std::to_string(i) + "'s name");
    if (!names.insert(t.name).second) fail(path, "GGUF tensor '{}' appears twice", t.name);
    const uint32_t rank = r.get<uint32_t>("the rank of '" + t.name + "'");
    if (rank < 1 || rank > 4) fail(path, "GGUF tensor '{}' has rank {}; ggml tensors have 1 to 4 dimensions", t.name, rank);
    uint64_t numel = 1;
    t.shape.resize(rank);
    for (uint32_t d = 0; d < rank; ++d) {
      const uint64_t n = r.get<uint64_t>("a dimension of '" + t.name + "'");
      if (n == 0 || n > (uint64_t(1) << 40) || __builtin_mul_overflow(numel, n, &numel) || numel > (uint64_t(1) << 48))
        fail(path, "GGUF tensor '{}' has an impossible dimension {}", t.name, n);
      t.shape[rank - 1 - d] = int64_t(n);
    }
    const uint32_t type = r.get<uint32_t>("the type of '" + t.name + "'");
    const GgmlTypeInfo* info = find_ggml_type(type);
    if (!info)
      fail(path, "GGUF tensor '{}' has ggml type {} ({}), which mixq does not read; it reads {}", t.name, type,
           unread_type_name(type), readable_types());
    t.type = info->type;
    const uint64_t cols = uint64_t(t.shape.back());
    if (cols % uint64_t(info->block_elems) != 0)
      fail(path, "GGUF tensor '{}' of {} has rows of {} values, not a multiple of its {}-value blocks", t.name, info->name,
           cols, info->block_elems);
    const uint64_t offset = r.get<uint64_t>("the offset of '" + t.name + "'");
    if (offset % alignment != 0) fail(path, "GGUF tensor '{}' starts at offset {}, not a multiple of the alignment {}", t.name, offset, alignment);
    raw.push_back({offset, numel / uint64_t(info->block_elems) * uint64_t(info->block_bytes)});
    tensors_.push_back(std::move(t));
  }

  const uint64_t data_start = (uint64_t(r.pos()) + alignment - 1) / alignment * alignment;
  const uint64_t data_size = data_start <= bytes.size() ? bytes.size() - data_start : 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (raw[i].offset > data_size || raw[i].size > data_size - raw[i].offset)
      fail(path, "GGUF tensor '{}': its {} bytes at data offset {} run past the end of the file ({} bytes of data)",
           tensors_[i].name, raw[i].size, raw[i].offset, data_size);
    tensors_[i].bytes = bytes.subspan(size_t(data_start + raw[i].offset), size_t(raw[i].size));
  }
}

std::vector<std::string> GgufFile::keys() const {
  std::vector<std::string> k;
  for (const auto& [key, v] : kv_) k.push_back(key);
  return k;
}

const GgufFile::Value* GgufFile::find(const std::string& key, const char* what, bool array) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return nullptr;
  if ((it->second.type == GgufValueType::ARRAY) != array)
    fail(path(), "GGUF key '{}' is {}an array; expected {}", key, array ? "not " : "", what);
  return &it->second;
}

namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// The integer of type t at p; false (and no value) when t is not an integer type.
bool integer_at(GgufValueType t, const uint8_t* p, int64_t& out) {
  switch (t) {
    case GgufValueType::U8: out = load<uint8_t>(p); return true;
    case GgufValueType::I8: out = load<int8_t>(p); return true;
    case GgufValueType::U16: out = load<uint16_t>(p); return true;
    case GgufValueType::I16: out = load<int16_t>(p); return true;
    case GgufValueType::U32: out = load<uint32_t>(p); return true;
    case GgufValueType::I32: out = load<int32_t>(p); return true;
    case GgufValueType::I64: out = load<int64_t>(p); return true;
    case GgufValueType::U64: {
      const uint64_t u = load<uint64_t>(p);
      out = u > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(u);
      return true;
    }
    default: return false;
  }
}

std::string string_at(std::span<const uint8_t> b, size_t& pos) {
  const uint64_t n = load<uint64_t>(b.data() + pos);
  std::string s(reinterpret_cast<const char*>(b.data() + pos + 8), size_t(n));
  pos += 8 + size_t(n);
  return s;
}

}  // namespace

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const Value* v = find(key, "an integer", false);
  if (!v) return std::nullopt;
  int64_t out;
  if (!integer_at(v->type, v->bytes.data(), out)) fail(path(), "GGUF key '{}' is not an integer", key);
  return out;
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const Value* v = find(key, "a number", false);
  if (!v) return std::nullopt;
  if (v->type == GgufValueType::F32) return double(load<float>(v->bytes.data()));
  if (v->type == GgufValueType::F64) return load<double>(v->bytes.data());
  fail(path(), "GGUF key '{}' is not a float", key);
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const Value* v = find(key, "a bool", false);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::BOOL) fail(path(), "GGUF key '{}' is not a bool", key);
  return v->bytes[0] != 0;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const Value* v = find(key, "a string", false);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::STRING) fail(path(), "GGUF key '{}' is not a string", key);
  size_t pos = 0;
  return string_at(v->bytes, pos);
}

// Array values start after the element type (4 bytes) and the count (8 bytes).
std::optional<std::vector<std::string>> GgufFile::get_strings(const std::string& key) const {
  const Value* v = find(key, "an array of strings", true);
  if (!v) return std::nullopt;
  if (v->element != GgufValueType::STRING) fail(path(), "GGUF key '{}' is not an array of strings", key);
  std::vector<std::string> out;
  out.reserve(size_t(v->count));
  size_t pos = 12;
  for (uint64_t i = 0; i < v->count; ++i) out.push_back(string_at(v->bytes, pos));
  return out;
}

std::optional<std::vector<float>> GgufFile::get_floats(const std::string& key) const {
  const Value* v = find(key, "an array of floats", true);
  if (!v) return std::nullopt;
  if (v->element != GgufValueType::F32 && v->element != GgufValueType::F64)
    fail(path(), "GGUF key '{}' is not an array of floats", key);
  std::vector<float> out(size_t(v->count));
  const uint8_t* p = v->bytes.data() + 12;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = v->element == GgufValueType::F32 ? load<float>(p + 4 * i) : float(load<double>(p + 8 * i));
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_ints(const std::string& key) const {
  const Value* v = find(key, "an array of integers", true);
  if (!v) return std::nullopt;
  if (!is_integer(v->element)) fail(path(), "GGUF key '{}' is not an array of integers", key);
  std::vector<int64_t> out(size_t(v->count));
  const size_t elem = value_size(v->element);
  for (size_t i = 0; i < out.size(); ++i) integer_at(v->element, v->bytes.data() + 12 + elem * i, out[i]);
  return out;
}

}  // namespace mixq::io
