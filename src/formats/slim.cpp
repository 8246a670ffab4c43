#include "mixq/formats/slim.hpp"

#include <random>
#include <algorithm>
#include <cstring>
#include <memory>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"
#include "formats/format_util.hpp"

namespace mixq::formats {
namespace {

std::vector<uint8_t> halves(std::span<const float> v) { return io::encode_f32_as(v, io::DType::F16); }

// Where each group's codes start in a row (bytes), for the widths given; entry `groups` = B.
std::vector<int64_t> group_offsets(int64_t cols, const SlimParams& p, std::span<const int> widths) {
  std::vector<int64_t> off(widths.size() + 1, 0);
  for (size_t g = 0; g < widths.size(); ++g)
    off[g + 1] = off[g] + 4 * SlimFormat::words_for(p.group_len(cols, int64_t(g)), widths[g]);
  return off;
}

// Everything a decoder needs, parsed once per call.
struct Layout {
  SlimParams p;
  std::vector<int> widths;
  std::vector<int64_t> offsets;  // bytes within a row
  int64_t groups;
};

Layout layout_of(const PackedTensor& t) {
  Layout l{t.params_as<SlimParams>(), SlimFormat::widths(t), {}, 0};
  l.groups = l.p.groups(t.cols);
  l.offsets = group_offsets(t.cols, l.p, l.widths);
  return l;
}

// The specification of one row's decode: code i of a group at width b is bits [i·b, i·b + b) of
// the group's little-endian bit stream (bit k of the stream = bit k mod 8 of byte ⌊k/8⌋).
uint8_t code_reference(const uint8_t* group_base, int64_t i, int bits) {
  uint32_t code = 0;
  for (int k = 0; k < bits; ++k) {
    const int64_t bit = i * bits + k;
    code |= uint32_t((group_base[bit / 8] >> (bit % 8)) & 1) << k;
  }
  return uint8_t(code);
}

// The same for `n` codes at once, a 32-bit word at a time through a 64-bit window (BITS a
// compile-time constant); reads only the stream's own ⌈n·BITS/32⌉ words.
template <int BITS>
void unpack_stream(const uint8_t* base, int64_t n, uint8_t* codes) {
  constexpr uint64_t mask = (1u << BITS) - 1;
  uint64_t window = 0;
  int have = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (have < BITS) {
      uint32_t word;
      std::memcpy(&word, base, 4);  // little-endian layout on a little-endian host
      base += 4;
      window |= uint64_t(word) << have;
      have += 32;
    }
    codes[i] = uint8_t(window & mask);
    window >>= BITS;
    have -= BITS;
  }
}

float value_of(uint8_t code, int bits, float scale, float zero) {
  return bits == 1 ? zero + scale * float(2 * int(code) - 1) : scale * (float(code) - zero);
}

void dequantize_row_reference(const PackedTensor& t, const Layout& l, int64_t row, float* out) {
  const int64_t row_bytes = l.offsets.back();
  const uint8_t* base = t.part("codes").bytes.data() + size_t(row * row_bytes);
  for (int64_t g = 0; g < l.groups; ++g) {
    const int bits = l.widths[size_t(g)];
    const float s = f16_part_at(t.part("scales"), size_t(row * l.groups + g));
    const float z = f16_part_at(t.part("zeros"), size_t(row * l.groups + g));
    for (int64_t i = 0; i < l.p.group_len(t.cols, g); ++i)
      out[g * l.p.group + i] = value_of(code_reference(base + l.offsets[size_t(g)], i, bits), bits, s, z);
  }
}

// The same, a whole word at a time, for the kernels.
void dequantize_row_fast(const PackedTensor& t, const Layout& l, int64_t row, float* out, std::vector<uint8_t>& codes) {
  const int64_t row_bytes = l.offsets.back();
  const uint8_t* base = t.part("codes").bytes.data() + size_t(row * row_bytes);
  const PackedPart &scales = t.part("scales"), &zeros = t.part("zeros");
  for (int64_t g = 0; g < l.groups; ++g) {
    const int bits = l.widths[size_t(g)];
    const int64_t len = l.p.group_len(t.cols, g);
    codes.resize(size_t(len));
    with_code_width(bits, [&](auto b) { unpack_stream<b.value>(base + l.offsets[size_t(g)], len, codes.data()); });
    const float s = f16_part_at(scales, size_t(row * l.groups + g)), z = f16_part_at(zeros, size_t(row * l.groups + g));
    float* o = out + g * l.p.group;
    if (bits == 1)
      for (int64_t i = 0; i < len; ++i) o[i] = z + s * float(2 * int(codes[size_t(i)]) - 1);
    else
      for (int64_t i = 0; i < len; ++i) o[i] = s * (float(codes[size_t(i)]) - z);
  }
}

}  // namespace

void SlimParams::validate() const {
  if (bits < 2 || bits > 7) fail("slim", "target bits N must be 2…7 (groups get N−1, N or N+1), got {}", bits);
  if (group <= 0) fail("slim", "group size must be positive, got {}", group);
}

nlohmann::json SlimParams::to_json() const {
  nlohmann::json j{{"bits", bits}, {"group", group}};
  if (!sba.is_null()) j["sba"] = sba;
  return j;
}

SlimParams SlimParams::from_json(const nlohmann::json& j) {
  SlimParams p;
  try {
    p.bits = json_int(j.at("bits"), "slim", "bits");
    p.group = json_int(j.at("group"), "slim", "group");
    if (j.contains("sba")) p.sba = j.at("sba");
  } catch (const nlohmann::json::exception& e) {
    fail("slim", "bad format parameters {}: {}", j.dump(), e.what());
  }
  p.validate();
  return p;
}

int64_t SlimFormat::row_code_bytes(int64_t cols, const SlimParams& p, std::span<const int> widths) {
  return group_offsets(cols, p, widths).back();
}

size_t SlimFormat::bytes_for(int64_t rows, int64_t cols, const SlimParams& p, std::span<const int> widths) {
  const int64_t groups = p.groups(cols);
  return size_t(rows * (row_code_bytes(cols, p, widths) + 4 * groups) + (groups + 3) / 4);
}

size_t SlimFormat::stored_bytes(const PackedTensor& t) {
  return bytes_for(t.rows, t.cols, t.params_as<SlimParams>(), widths(t));
}

PackedTensor SlimFormat::random(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static constexpr int kGroups[] = {32, 48, 64, 128};
  SlimParams p;
  p.bits = 2 + int(rng() % 3);
  p.group = std::min<int>(kGroups[rng() % 4], int(cols));
  const int64_t groups = p.groups(cols);
  std::vector<int> group_bits(static_cast<size_t>(groups));
  for (auto& w : group_bits) w = p.bits - 1 + int(rng() % 3);
  std::vector<uint8_t> codes(size_t(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) codes[size_t(i)] = uint8_t(rng() % (1u << group_bits[size_t(i % cols / p.group)]));
  std::vector<float> scales(size_t(rows * groups)), zeros(size_t(rows * groups));
  for (auto& s : scales) s = 0.001f * float(1 + rng() % 100);
  for (int64_t i = 0; i < rows * groups; ++i) {
    const int b = group_bits[size_t(i % groups)];
    zeros[size_t(i)] = b == 1 ? 0.001f * float(int(rng() % 21) - 10) : float(rng() % (1u << b));  // 1 bit: the mean μ
  }
  return pack(rows, cols, group_bits, codes, scales, zeros, p);
}

PackedTensor SlimFormat::pack(int64_t rows, int64_t cols, std::span<const int> widths, std::span<const uint8_t> codes,
                              std::span<const float> scales, std::span<const float> zeros, const SlimParams& p) {
  p.validate();
  const int64_t groups = p.groups(cols);
  if (rows <= 0 || cols <= 0) fail("slim", "pack: empty shape [{}, {}]", rows, cols);
  if (widths.size() != size_t(groups) || codes.size() != size_t(rows * cols) || scales.size() != size_t(rows * groups) ||
      zeros.size() != size_t(rows * groups))
    fail("slim", "pack: sizes do not match a [{}, {}] tensor with {} groups of {}", rows, cols, groups, p.group);
  std::vector<uint8_t> map(size_t((groups + 3) / 4), 0);
  for (int64_t g = 0; g < groups; ++g) {
    const int rel = widths[size_t(g)] - (p.bits - 1);
    if (rel < 0 || rel > 2) fail("slim", "group {} has width {}, outside {}…{}", g, widths[size_t(g)], p.bits - 1, p.bits + 1);
    map[size_t(g / 4)] |= uint8_t(rel << (2 * (g % 4)));
  }
  const auto off = group_offsets(cols, p, widths);
  const int64_t row_bytes = off.back();
  std::vector<uint8_t> bytes(size_t(rows * row_bytes), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const int bits = widths[size_t(g)];
      uint8_t* base = &bytes[size_t(r * row_bytes + off[size_t(g)])];
      for (int64_t i = 0; i < p.group_len(cols, g); ++i) {
        const uint32_t q = codes[size_t(r * cols + g * p.group + i)];
        if (q >> bits) fail("slim", "code {} does not fit group {}'s {} bits", q, g, bits);
        for (int k = 0; k < bits; ++k) {
          const int64_t bit = i * bits + k;
          base[bit / 8] |= uint8_t(((q >> k) & 1) << (bit % 8));
        }
      }
    }
  PackedTensor t{std::string(name), p, rows, cols, {}};
  t.parts.push_back({"widths", io::DType::U8, {1, int64_t(map.size())}, std::move(map)});
  t.parts.push_back({"codes", io::DType::U8, {rows, row_bytes}, std::move(bytes)});
  t.parts.push_back({"scales", io::DType::F16, {rows, groups}, halves(scales)});
  t.parts.push_back({"zeros", io::DType::F16, {rows, groups}, halves(zeros)});
  return t;
}

std::vector<int> SlimFormat::widths(const PackedTensor& t) {
  const SlimParams& p = t.params_as<SlimParams>();
  const PackedPart& map = t.part("widths");
  const int64_t groups = p.groups(t.cols);
  if (map.dtype != io::DType::U8 || map.shape != std::vector<int64_t>{1, (groups + 3) / 4} ||
      map.bytes.size() != size_t((groups + 3) / 4))
    fail("slim", "part 'widths' should be U8 [1, {}] for {} groups", (groups + 3) / 4, groups);
  std::vector<int> w(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const int rel = (map.bytes[size_t(g / 4)] >> (2 * (g % 4))) & 3;
    if (rel == 3) fail("slim", "group {} has the unused width code 3", g);
    w[size_t(g)] = p.bits - 1 + rel;
  }
  return w;
}

void SlimFormat::validate(const PackedTensor& t) {
  expect_shape(t, "slim");
  const SlimParams& p = t.params_as<SlimParams>();
  const auto w = widths(t);
  const int64_t groups = p.groups(t.cols);
  expect_part(t, "slim", "codes", io::DType::U8, row_code_bytes(t.cols, p, w));
  expect_part(t, "slim", "scales", io::DType::F16, groups);
  expect_part(t, "slim", "zeros", io::DType::F16, groups);
  if (t.parts.size() != 4) fail("slim", "{} parts, expected 4 (widths, codes, scales, zeros)", t.parts.size());
}

std::vector<int64_t> SlimFormat::code_histogram(const PackedTensor& t) {
  std::vector<int64_t> counts(size_t(t.params_as<SlimParams>().bits + 1), 0);
  for (int b : widths(t)) ++counts[size_t(b - 1)];
  return counts;
}

std::string SlimFormat::layout(const PackedTensor& t) {
  std::string s = "widths";
  for (int b : widths(t)) s += " " + std::to_string(b);
  const nlohmann::json& sba = t.params_as<SlimParams>().sba;
  if (sba.is_object() && sba.contains("p")) s += " (p = " + sba["p"].dump() + ")";
  return s;
}

void SlimFormat::dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out) {
  const Layout l = layout_of(t);
  thread_local std::vector<uint8_t> codes;  // kernels call this per tile: no allocation in steady state
  for (int64_t r = row_begin; r < row_end; ++r) dequantize_row_fast(t, l, r, out + (r - row_begin) * t.cols, codes);
}

void SlimFormat::gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                                int64_t row_end) {
  const Layout l = layout_of(t);
  gemm_by_decoded_rows(t, x, n, y, row_begin, row_end,
                       [&](int64_t r, float* w) { dequantize_row_reference(t, l, r, w); });
}

AffineForm SlimFormat::affine_form(const PackedTensor& t) {
  auto l = std::make_shared<const Layout>(layout_of(t));
  AffineForm f;
  for (int64_t g = 0; g < l->groups; ++g) f.groups.push_back({g * l->p.group, l->p.group_len(t.cols, g), l->widths[size_t(g)]});
  f.decode_row = [&t, l](int64_t r, uint8_t* codes, float* scale, float* offset) {
    const uint8_t* base = t.part("codes").bytes.data() + size_t(r * l->offsets.back());
    const PackedPart &scales = t.part("scales"), &zeros = t.part("zeros");
    for (int64_t g = 0; g < l->groups; ++g) {
      const int bits = l->widths[size_t(g)];
      with_code_width(bits, [&](auto b) {
        unpack_stream<b.value>(base + l->offsets[size_t(g)], l->p.group_len(t.cols, g), codes + g * l->p.group);
      });
      const float s = f16_part_at(scales, size_t(r * l->groups + g));
      const float z = f16_part_at(zeros, size_t(r * l->groups + g));
      // 1 bit: μ + α(2c − 1) = 2α·c + (μ − α); wider: s(c − z) = s·c − s·z.
      scale[g] = bits == 1 ? 2 * s : s;
      offset[g] = bits == 1 ? z - s : -s * z;
    }
  };
  return f;
}

}  // namespace mixq::formats
