#include "mixq/formats/uniform.hpp"

#include <random>
#include <cmath>
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"
#include "formats/format_util.hpp"

namespace mixq::formats {
namespace {

std::vector<uint8_t> halves(std::span<const float> v) { return io::encode_f32_as(v, io::DType::F16); }

}  // namespace

void UniformParams::validate() const {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8) fail("uniform", "bits must be 2, 3, 4 or 8, got {}", bits);
  if (group < 0) fail("uniform", "group size must be positive (or 0 for one group per row), got {}", group);
}

nlohmann::json UniformParams::to_json() const { return {{"bits", bits}, {"group", group}, {"symmetric", symmetric}}; }

UniformParams UniformParams::from_json(const nlohmann::json& j) {
  UniformParams p;
  try {
    p.bits = json_int(j.at("bits"), "uniform", "bits");
    p.group = json_int(j.at("group"), "uniform", "group");
    p.symmetric = j.at("symmetric").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("uniform", "bad format parameters {}: {}", j.dump(), e.what());
  }
  p.validate();
  return p;
}

size_t UniformFormat::bytes_for(int64_t rows, int64_t cols, const UniformParams& p) {
  const size_t per_row = size_t(words_per_row(cols, p.bits)) * 4 + size_t(p.groups(cols)) * 2 * (p.symmetric ? 1 : 2);
  return size_t(rows) * per_row;
}

size_t UniformFormat::stored_bytes(const PackedTensor& t) {
  return bytes_for(t.rows, t.cols, t.params_as<UniformParams>());
}

PackedTensor UniformFormat::random(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static constexpr int kBits[] = {2, 3, 4, 8}, kGroups[] = {0, 32, 48, 128};
  const UniformParams p{kBits[rng() % 4], kGroups[rng() % 4], rng() % 2 == 0};
  const int64_t groups = p.groups(cols);
  std::vector<uint8_t> codes(size_t(rows * cols));
  for (auto& c : codes) c = uint8_t(rng() % (1u << p.bits));
  std::vector<float> scales(size_t(rows * groups)), zeros(size_t(rows * groups));
  for (auto& s : scales) s = 0.001f * float(1 + rng() % 100);
  for (auto& z : zeros) z = float(rng() % (1u << p.bits));
  return pack(rows, cols, codes, scales, zeros, p);
}

PackedTensor UniformFormat::pack(int64_t rows, int64_t cols, std::span<const uint8_t> codes,
                                 std::span<const float> scales, std::span<const float> zeros, const UniformParams& p) {
  p.validate();
  const int64_t groups = p.groups(cols), words = words_per_row(cols, p.bits);
  if (codes.size() != size_t(rows * cols) || scales.size() != size_t(rows * groups) ||
      (!p.symmetric && zeros.size() != size_t(rows * groups)))
    fail("uniform", "pack: sizes do not match a [{}, {}] tensor with {} groups per row", rows, cols, groups);
  const int k = codes_per_word(p.bits);
  std::vector<uint32_t> packed(size_t(rows * words), 0u);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) {
      const uint32_t q = codes[size_t(r * cols + i)];
      if (q >> p.bits) fail("uniform", "code {} does not fit in {} bits", q, p.bits);
      packed[size_t(r * words + i / k)] |= q << ((i % k) * p.bits);
    }
  PackedTensor t{std::string(name), p, rows, cols, {}};
  std::vector<uint8_t> code_bytes(packed.size() * 4);
  for (size_t w = 0; w < packed.size(); ++w)
    for (int b = 0; b < 4; ++b) code_bytes[w * 4 + size_t(b)] = uint8_t(packed[w] >> (8 * b));  // little-endian
  t.parts.push_back({"codes", io::DType::U8, {rows, words * 4}, std::move(code_bytes)});
  t.parts.push_back({"scales", io::DType::F16, {rows, groups}, halves(scales)});
  if (!p.symmetric) t.parts.push_back({"zeros", io::DType::F16, {rows, groups}, halves(zeros)});
  return t;
}

namespace {

// The specification of the layout: code i is bits [(i mod k)·b, …) of little-endian word ⌊i / k⌋.
void unpack_row_reference(const PackedTensor& t, const UniformParams& p, int64_t row, uint8_t* codes) {
  const int k = UniformFormat::codes_per_word(p.bits);
  const int64_t words = UniformFormat::words_per_row(t.cols, p.bits);
  const uint8_t* base = t.part("codes").bytes.data() + size_t(row * words * 4);
  const uint32_t mask = (1u << p.bits) - 1;
  for (int64_t i = 0; i < t.cols; ++i) {
    const uint8_t* w = base + (i / k) * 4;
    const uint32_t word = uint32_t(w[0]) | uint32_t(w[1]) << 8 | uint32_t(w[2]) << 16 | uint32_t(w[3]) << 24;
    codes[i] = uint8_t((word >> ((i % k) * p.bits)) & mask);
  }
}

// The same, a whole word at a time, for the kernels. `codes` needs codes_capacity() entries.
void unpack_row_fast(const PackedTensor& t, const UniformParams& p, int64_t row, uint8_t* codes) {
  const int64_t words = UniformFormat::words_per_row(t.cols, p.bits);
  const uint8_t* base = t.part("codes").bytes.data() + size_t(row * words * 4);
  with_code_width(p.bits, [&](auto bits) { unpack_code_words<bits.value>(base, words, codes); });
}

size_t codes_capacity(const PackedTensor& t, const UniformParams& p) {
  return size_t(UniformFormat::words_per_row(t.cols, p.bits) * UniformFormat::codes_per_word(p.bits));
}

using UnpackFn = void (*)(const PackedTensor&, const UniformParams&, int64_t, uint8_t*);

void dequantize_row_with(const PackedTensor& t, const UniformParams& p, int64_t row, float* out, uint8_t* codes,
                         UnpackFn unpack) {
  const int64_t groups = p.groups(t.cols), gs = p.group_size(t.cols);
  unpack(t, p, row, codes);
  const PackedPart& scales = t.part("scales");
  const float sym_zero = float(1 << (p.bits - 1));
  for (int64_t g = 0; g < groups; ++g) {
    const float s = f16_part_at(scales, size_t(row * groups + g));
    const float z = p.symmetric ? sym_zero : f16_part_at(t.part("zeros"), size_t(row * groups + g));
    const int64_t end = std::min(t.cols, (g + 1) * gs);
    for (int64_t i = g * gs; i < end; ++i) out[i] = s * (float(codes[i]) - z);  // vectorizes
  }
}

}  // namespace

void UniformFormat::validate(const PackedTensor& t) {
  expect_shape(t, "uniform");
  const UniformParams& p = t.params_as<UniformParams>();
  const int64_t groups = p.groups(t.cols), words = words_per_row(t.cols, p.bits);
  expect_part(t, "uniform", "codes", io::DType::U8, words * 4);
  expect_part(t, "uniform", "scales", io::DType::F16, groups);
  if (!p.symmetric) expect_part(t, "uniform", "zeros", io::DType::F16, groups);
  const size_t expected_parts = p.symmetric ? 2 : 3;
  if (t.parts.size() != expected_parts)
    fail("uniform", "{} parts, expected {} (codes, scales{})", t.parts.size(), expected_parts, p.symmetric ? "" : ", zeros");
}

std::vector<int64_t> UniformFormat::code_histogram(const PackedTensor& t) {
  const UniformParams& p = t.params_as<UniformParams>();
  std::vector<int64_t> counts(size_t(1) << p.bits, 0);
  std::vector<uint8_t> codes(size_t(t.cols));
  for (int64_t r = 0; r < t.rows; ++r) {
    unpack_row_reference(t, p, r, codes.data());
    for (uint8_t c : codes) ++counts[c];
  }
  return counts;
}

void UniformFormat::unpack_row(const PackedTensor& t, int64_t row, uint8_t* codes) {
  unpack_row_reference(t, t.params_as<UniformParams>(), row, codes);
}

void UniformFormat::dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out) {
  const UniformParams& p = t.params_as<UniformParams>();
  thread_local std::vector<uint8_t> codes;  // kernels call this per tile: no allocation in steady state
  codes.resize(codes_capacity(t, p));
  for (int64_t r = row_begin; r < row_end; ++r)
    dequantize_row_with(t, p, r, out + (r - row_begin) * t.cols, codes.data(), unpack_row_fast);
}

void UniformFormat::gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                                   int64_t row_end) {
  const UniformParams& p = t.params_as<UniformParams>();
  std::vector<uint8_t> codes(static_cast<size_t>(t.cols));
  gemm_by_decoded_rows(t, x, n, y, row_begin, row_end,
                       [&](int64_t r, float* w) { dequantize_row_with(t, p, r, w, codes.data(), unpack_row_reference); });
}

AffineForm UniformFormat::affine_form(const PackedTensor& t) {
  const UniformParams& p = t.params_as<UniformParams>();
  const int64_t groups = p.groups(t.cols), gs = p.group_size(t.cols);
  AffineForm f;
  for (int64_t g = 0; g < groups; ++g) f.groups.push_back({g * gs, std::min(gs, t.cols - g * gs), p.bits});
  f.decode_row = [&t, p, groups](int64_t r, uint8_t* codes, float* scale, float* offset) {
    thread_local std::vector<uint8_t> words;  // whole words: the row's last one may hold padding codes
    words.resize(codes_capacity(t, p));
    unpack_row_fast(t, p, r, words.data());
    std::copy_n(words.begin(), t.cols, codes);
    const float sym_zero = float(1 << (p.bits - 1));
    const PackedPart& scales = t.part("scales");
    const PackedPart* zeros = p.symmetric ? nullptr : &t.part("zeros");
    for (int64_t g = 0; g < groups; ++g) {
      scale[g] = f16_part_at(scales, size_t(r * groups + g));
      offset[g] = -scale[g] * (zeros ? f16_part_at(*zeros, size_t(r * groups + g)) : sym_zero);
    }
  };
  return f;
}

}  // namespace mixq::formats
