#include "mixq/formats/fineq.hpp"

#include <random>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"
#include "formats/format_util.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::formats {
namespace {

int sign_extend(int v, int bits) { return (v ^ (1 << (bits - 1))) - (1 << (bits - 1)); }

}  // namespace

void FineqParams::validate() const {
  if (group < 0 || group % 3 != 0)
    fail("fineq", "group size must be a positive multiple of 3 (or 0 for one step per row), got {}", group);
  if (!(threshold > 1.0) || !std::isfinite(threshold)) fail("fineq", "threshold T must be > 1, got {}", threshold);
}

nlohmann::json FineqParams::to_json() const {
  return {{"group", group}, {"threshold", threshold}, {"rule", enum_name(rule)}, {"int3", enum_name(int3)},
          {"int2", enum_name(int2)}};
}

FineqParams FineqParams::from_json(const nlohmann::json& j) {
  FineqParams p;
  try {
    p.group = json_int(j.at("group"), "fineq", "group");
    p.threshold = j.at("threshold").get<double>();
    p.rule = parse_enum<FineqRule>(j.at("rule").get<std::string>(), "fineq: rule");
    p.int3 = parse_enum<FineqInt3>(j.at("int3").get<std::string>(), "fineq: int3");
    p.int2 = parse_enum<FineqInt2>(j.at("int2").get<std::string>(), "fineq: int2");
  } catch (const nlohmann::json::exception& e) {
    fail("fineq", "bad format parameters {}: {}", j.dump(), e.what());
  }
  p.validate();
  return p;
}

int fineq_ratio_mode(const float w[3], double threshold) {
  const float a[3] = {std::fabs(w[0]), std::fabs(w[1]), std::fabs(w[2])};
  const int lo = int(std::min_element(a, a + 3) - a);  // first smallest
  const float hi = std::max({a[0], a[1], a[2]});
  return double(hi) > threshold * double(a[lo]) ? lo : -1;
}

FineqGrids::FineqGrids(const FineqParams& p)
    : int2_unit(2), int2_offset(p.int2 == FineqInt2::Sym ? 1 : 0), int3_unit(p.int3 == FineqInt3::Fine ? 1 : 2) {}

int FineqGrids::int2_code(float w_half) const {
  return std::clamp(int(std::lround((w_half - float(int2_offset)) / float(int2_unit))), -2, 1);
}

int FineqGrids::int3_code(float w_half) const {
  return std::clamp(int(std::lround(w_half / float(int3_unit))), -4, 3);
}

uint8_t fineq_encode(const float w[3], float delta, int mode, const FineqGrids& g, float* sq_error,
                     const float* importance) {
  auto weight = [&](int i) { return importance ? importance[i] : 1.f; };
  const float half = delta / 2;
  const float inv = half > 0 ? 1.f / half : 0.f;
  float err = 0;
  uint8_t byte;
  if (mode < 0) {
    byte = 0;
    for (int i = 0; i < 3; ++i) {
      const int q = g.int2_code(w[i] * inv);
      const float v = float(g.int2_unit * q + g.int2_offset) * half;
      err += weight(i) * (w[i] - v) * (w[i] - v);
      byte |= uint8_t((q & 3) << (4 - 2 * i));
    }
  } else {
    byte = uint8_t((mode + 1) << 6);
    int slot = 0;
    for (int i = 0; i < 3; ++i) {
      if (i == mode) {
        err += weight(i) * w[i] * w[i];
        continue;
      }
      const int q = g.int3_code(w[i] * inv);
      const float v = float(g.int3_unit * q) * half;
      err += weight(i) * (w[i] - v) * (w[i] - v);
      byte |= uint8_t((q & 7) << (slot == 0 ? 3 : 0));
      ++slot;
    }
  }
  if (sq_error) *sq_error = err;
  return byte;
}

FineqCodes fineq_codes(uint8_t byte) {
  FineqCodes c{(byte >> 6) - 1, {0, 0, 0}};
  if (c.mode < 0) {
    for (int i = 0; i < 3; ++i) c.q[size_t(i)] = int8_t(sign_extend((byte >> (4 - 2 * i)) & 3, 2));
  } else {
    const int kept[2] = {sign_extend((byte >> 3) & 7, 3), sign_extend(byte & 7, 3)};
    int slot = 0;
    for (int i = 0; i < 3; ++i)
      if (i != c.mode) c.q[size_t(i)] = int8_t(kept[slot++]);
  }
  return c;
}

FineqDecodeTable fineq_decode_table(const FineqParams& p) {
  const FineqGrids g(p);
  FineqDecodeTable t{};
  for (int b = 0; b < 256; ++b) {
    const FineqCodes c = fineq_codes(uint8_t(b));
    for (int i = 0; i < 3; ++i)
      t[size_t(b)][size_t(i)] = c.mode < 0 ? int8_t(g.int2_unit * c.q[size_t(i)] + g.int2_offset)
                                : i == c.mode ? int8_t(0) : int8_t(g.int3_unit * c.q[size_t(i)]);
  }
  return t;
}

size_t FineqFormat::bytes_for(int64_t rows, int64_t cols, const FineqParams& p) {
  return size_t(rows) * (size_t(p.padded_cols(cols) / 3) + 2 * size_t(p.groups(cols)));
}

size_t FineqFormat::stored_bytes(const PackedTensor& t) {
  return bytes_for(t.rows, t.cols, t.params_as<FineqParams>());
}

PackedTensor FineqFormat::random(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static constexpr int kGroups[] = {0, 48, 96};
  FineqParams p;
  p.group = kGroups[rng() % 3];
  p.int3 = rng() % 2 ? FineqInt3::Wide : FineqInt3::Fine;
  p.int2 = rng() % 2 ? FineqInt2::Twos : FineqInt2::Sym;
  std::vector<uint8_t> bytes(size_t(rows * (p.padded_cols(cols) / 3)));
  for (auto& b : bytes) b = uint8_t(rng());  // every byte is a valid cluster
  std::vector<float> scales(size_t(rows * p.groups(cols)));
  for (auto& s : scales) s = 0.001f * float(1 + rng() % 100);
  return pack(rows, cols, bytes, scales, p);
}

PackedTensor FineqFormat::pack(int64_t rows, int64_t cols, std::span<const uint8_t> bytes, std::span<const float> scales,
                               const FineqParams& p) {
  p.validate();
  const int64_t clusters = p.padded_cols(cols) / 3, groups = p.groups(cols);
  if (bytes.size() != size_t(rows * clusters) || scales.size() != size_t(rows * groups))
    fail("fineq", "pack: sizes do not match a [{}, {}] tensor ({} clusters, {} groups per row)", rows, cols, clusters, groups);
  PackedTensor t{std::string(name), p, rows, cols, {}};
  t.parts.push_back({"codes", io::DType::U8, {rows, clusters}, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  t.parts.push_back({"scales", io::DType::F16, {rows, groups}, io::encode_f32_as(scales, io::DType::F16)});
  return t;
}

void FineqFormat::validate(const PackedTensor& t) {
  expect_shape(t, "fineq");
  const FineqParams& p = t.params_as<FineqParams>();
  const int64_t clusters = p.padded_cols(t.cols) / 3, groups = p.groups(t.cols);
  expect_part(t, "fineq", "codes", io::DType::U8, clusters);
  expect_part(t, "fineq", "scales", io::DType::F16, groups);
  if (t.parts.size() != 2) fail("fineq", "{} parts, expected 2 (codes, scales)", t.parts.size());
}

std::vector<int64_t> FineqFormat::code_histogram(const PackedTensor& t) {
  std::vector<int64_t> counts(4, 0);
  for (uint8_t b : t.part("codes").bytes) ++counts[b >> 6];
  return counts;
}

std::string FineqFormat::code_label(size_t code) {
  static const char* labels[] = {"int2", "prune0", "prune1", "prune2"};
  return code < 4 ? labels[code] : "?";
}

void FineqFormat::dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out) {
  const FineqParams& p = t.params_as<FineqParams>();
  const auto table = fineq_decode_table(p);
  const int64_t clusters = p.padded_cols(t.cols) / 3, groups = p.groups(t.cols), gs = p.group_size(t.cols);
  const uint8_t* codes = t.part("codes").bytes.data();
  const PackedPart& scales = t.part("scales");
  thread_local std::vector<float> padded;  // the row with its padding weights, then trimmed
  padded.resize(size_t(clusters * 3));
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t g = 0; g < groups; ++g) {  // groups are whole clusters (G is a multiple of 3)
      const float half = f16_part_at(scales, size_t(r * groups + g)) / 2;
      const int64_t c_end = std::min(clusters, (g + 1) * gs / 3);
      for (int64_t c = g * gs / 3; c < c_end; ++c) {
        const auto& h = table[codes[r * clusters + c]];
        for (size_t i = 0; i < 3; ++i) padded[size_t(3 * c) + i] = float(h[i]) * half;
      }
    }
    std::copy_n(padded.begin(), t.cols, out + (r - row_begin) * t.cols);
  }
}

void FineqFormat::gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                                 int64_t row_end) {
  gemm_by_decoded_rows(t, x, n, y, row_begin, row_end, [&](int64_t r, float* w) { dequantize_rows(t, r, r + 1, w); });
}

// Half-steps h ∈ [−8, 7] become 4-bit codes h + 8: ŵ = (Δ/2)·code − 4Δ.
AffineForm FineqFormat::affine_form(const PackedTensor& t) {
  const FineqParams& p = t.params_as<FineqParams>();
  auto table = std::make_shared<const FineqDecodeTable>(fineq_decode_table(p));
  const int64_t groups = p.groups(t.cols), gs = p.group_size(t.cols), clusters = p.padded_cols(t.cols) / 3;
  AffineForm f;
  for (int64_t g = 0; g < groups; ++g) f.groups.push_back({g * gs, std::min<int64_t>(gs, t.cols - g * gs), 4});
  f.decode_row = [&t, table, groups, clusters](int64_t r, uint8_t* codes, float* scale, float* offset) {
    const uint8_t* bytes = t.part("codes").bytes.data() + size_t(r * clusters);
    for (int64_t i = 0; i < t.cols; ++i) codes[i] = uint8_t((*table)[bytes[i / 3]][size_t(i % 3)] + 8);
    const PackedPart& scales = t.part("scales");
    for (int64_t g = 0; g < groups; ++g) {
      scale[g] = f16_part_at(scales, size_t(r * groups + g)) / 2;
      offset[g] = -8 * scale[g];
    }
  };
  return f;
}

}  // namespace mixq::formats
