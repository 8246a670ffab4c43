#include "mixq/kernels/interleaved.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "mixq/core/error.hpp"

namespace mixq::kernels {
namespace {

// Inverse of chunk_position: the (lane, slot) holding position `pos` of a chunk.
std::pair<int, int> lane_slot_of(int pos) {
  const int m = pos / 32, j = (pos % 32) / 8, k = pos % 8;
  return {2 * m + (j & 1) + 8 * (j >> 1), k};
}

// Codes at position `pos` of row i's planes in a b-bit chunk's block (header: plane_offsets).
void put_code(uint8_t* block, int i, int bits, int pos, uint8_t code) {
  const auto [lane, slot] = lane_slot_of(pos);
  const int h = lane, k = slot;  // named copies: lambdas below capture them
  const PlaneOffsets at = plane_offsets(bits, i);
  // u16 lane h is bytes 2h (bits 0–7) and 2h + 1 (bits 8–15): slot k's two bits sit in byte 2h + k/4.
  auto put2 = [&](uint8_t* plane, unsigned v) { plane[2 * h + k / 4] |= uint8_t((v & 3) << (2 * (k % 4))); };
  if (bits >= 2) put2(block + at.lo, code);
  if (bits == 4) put2(block + at.hi, code >> 2);
  if (bits % 2) block[at.bit + h] |= uint8_t(((code >> (bits - 1)) & 1) << k);
}

uint8_t get_code(const uint8_t* block, int i, int bits, int pos) {
  const auto [lane, slot] = lane_slot_of(pos);
  const int h = lane, k = slot;
  const PlaneOffsets at = plane_offsets(bits, i);
  auto get2 = [&](const uint8_t* plane) { return unsigned(plane[2 * h + k / 4] >> (2 * (k % 4))) & 3; };
  unsigned code = 0;
  if (bits >= 2) code = get2(block + at.lo);
  if (bits == 4) code |= get2(block + at.hi) << 2;
  if (bits % 2) code |= unsigned((block[at.bit + h] >> k) & 1) << (bits - 1);
  return uint8_t(code);
}

}  // namespace

bool InterleavedWeights::supports(const formats::AffineForm& f) {
  return std::all_of(f.groups.begin(), f.groups.end(),
                     [](const auto& g) { return g.bits >= 1 && g.bits <= kInterleavedMaxBits; });
}

InterleavedWeights::InterleavedWeights(const formats::AffineForm& f, int64_t rows, int64_t cols)
    : rows_(rows), cols_(cols), groups_(int64_t(f.groups.size())), groups_in_(f.groups) {
  if (!supports(f)) fail("interleaved layout", "codes wider than {} bits", kInterleavedMaxBits);
  // Permutation: groups by width (stable), each padded to whole sub-blocks, each width's run to
  // whole chunks. Sub-blocks of a run's padding belong to its last group (their activations are 0).
  position_of_.assign(size_t(cols), -1);
  std::vector<int32_t> column_of;  // padded position → original column, −1 for padding
  for (int bits = 1; bits <= kInterleavedMaxBits; ++bits) {
    const size_t run_start = column_of.size();
    std::vector<int32_t> sub_group;
    for (size_t g = 0; g < f.groups.size(); ++g) {
      if (f.groups[g].bits != bits) continue;
      for (int64_t i = 0; i < f.groups[g].len; ++i) {
        position_of_[size_t(f.groups[g].begin + i)] = int32_t(column_of.size());
        column_of.push_back(int32_t(f.groups[g].begin + i));
      }
      while ((column_of.size() - run_start) % kSubCols) column_of.push_back(-1);
      sub_group.resize((column_of.size() - run_start) / kSubCols, int32_t(g));
    }
    if (sub_group.empty()) continue;
    while ((column_of.size() - run_start) % kChunkCols) column_of.push_back(-1);
    sub_group.resize((column_of.size() - run_start) / kSubCols, sub_group.back());
    for (size_t c = 0; c < sub_group.size() / 4; ++c) {
      InterleavedChunk ch{bits, int32_t(kTileRows * row_bytes_), {}, true};
      for (size_t m = 0; m < 4; ++m) ch.group[m] = sub_group[4 * c + m];
      ch.one_group = std::all_of(ch.group.begin(), ch.group.end(), [&](int32_t g) { return g == ch.group[0]; });
      chunks_.push_back(ch);
      row_bytes_ += plane_bytes(bits);
    }
  }
  if (std::find(position_of_.begin(), position_of_.end(), -1) != position_of_.end())
    fail("interleaved layout", "the groups do not cover all {} columns", cols);
  gather_.resize(column_of.size());
  for (size_t c = 0; c < chunks_.size(); ++c)
    for (int h = 0; h < 16; ++h)
      for (int k = 0; k < 8; ++k)
        gather_[c * kChunkCols + size_t(k * 16 + h)] = column_of[c * kChunkCols + size_t(chunk_position(h, k))];

  codes_.assign(size_t((rows + kTileRows - 1) / kTileRows * kTileRows * row_bytes_), 0);
  scale_.resize(size_t(rows * groups_));
  offset_.resize(size_t(rows * groups_));
  const View v = view();
  std::vector<uint8_t> row_codes(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    f.decode_row(r, row_codes.data(), &scale_[size_t(r * groups_)], &offset_[size_t(r * groups_)]);
    for (int64_t c = 0; c < cols; ++c) {
      const int32_t pos = position_of_[size_t(c)];
      const auto& ch = chunks_[size_t(pos / kChunkCols)];
      if (row_codes[size_t(c)] >> ch.bits) fail("interleaved layout", "code {} exceeds {} bits", row_codes[size_t(c)], ch.bits);
      put_code(codes_.data() + (v.block(r, ch) - v.codes), int(r % kTileRows), ch.bits, int(pos % kChunkCols),
               row_codes[size_t(c)]);
    }
  }
}

uint8_t InterleavedWeights::code_at(int64_t row, int64_t col) const {
  const int32_t pos = position_of_[size_t(col)];
  const auto& ch = chunks_[size_t(pos / kChunkCols)];
  return get_code(view().block(row, ch), int(row % kTileRows), ch.bits, int(pos % kChunkCols));
}

void InterleavedWeights::quantize(const float* x, QuantizedActivations& a) const {
  const size_t chunks = chunks_.size();
  a.q.resize(chunks * kChunkCols);
  a.scale.resize(chunks * 8);
  a.group_sum.resize(size_t(groups_));
  for (size_t c = 0; c < chunks; ++c) {
    // gather_ is in slot order (k·16 + h); lane h's 32-bit lane is l = h >> 1 (16 columns, all of
    // sub-block l & 3), which gets its own activation scale.
    const int32_t* cols = &gather_[c * kChunkCols];
    float v[kChunkCols], absmax[8] = {};
    for (int j = 0; j < kChunkCols; ++j) {
      v[j] = cols[j] < 0 ? 0.f : x[cols[j]];
      float& m = absmax[(j & 15) >> 1];
      m = std::max(m, std::fabs(v[j]));
    }
    float inv[8];
    for (int l = 0; l < 8; ++l) inv[l] = absmax[l] > 0 ? 127.f / absmax[l] : 0.f;
    // Round to nearest even by the 1.5·2^23 trick (|v·inv| ≤ 127): no libm call per element.
    constexpr float kRound = 12582912.f;
    int8_t* q = &a.q[c * kChunkCols];
    for (int j = 0; j < kChunkCols; ++j) {
      const int h = j & 15, k = j >> 4;
      q[activation_index(h, k)] = int8_t((v[j] * inv[h >> 1] + kRound) - kRound);
    }
    for (int l = 0; l < 8; ++l) a.scale[c * 8 + size_t(l)] = absmax[l] / 127.f;
  }
  group_sums(x, a.group_sum.data());
}

void InterleavedWeights::permute(const float* x, float* slots) const {
  for (size_t j = 0; j < gather_.size(); ++j) slots[j] = gather_[j] < 0 ? 0.f : x[gather_[j]];
}

void InterleavedWeights::group_sums(const float* x, float* sums) const {
  for (int64_t g = 0; g < groups_; ++g) {
    const auto& grp = groups_in_[size_t(g)];
    sums[g] = std::accumulate(x + grp.begin, x + grp.begin + grp.len, 0.f);
  }
}

void gemv_by_definition(const InterleavedWeights::View& v, const QuantizedActivations& a, float* y,
                        int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const float* row_scale = v.scale + r * v.groups;
    float acc = 0;
    for (int64_t c = 0; c < v.n_chunks; ++c) {
      const auto& ch = v.chunks[c];
      const uint8_t* block = v.block(r, ch);
      for (int l = 0; l < 8; ++l) {  // 32-bit lane l: u16 lanes 2l and 2l + 1, all eight slots
        int32_t isum = 0;
        for (int h = 2 * l; h < 2 * l + 2; ++h)
          for (int k = 0; k < 8; ++k)
            isum += int32_t(get_code(block, int(r % kTileRows), ch.bits, chunk_position(h, k))) * a.q[size_t(c * kChunkCols + activation_index(h, k))];
        acc += float(isum) * a.scale[size_t(c * 8 + l)] * row_scale[ch.group[size_t(l & 3)]];
      }
    }
    y[r] = acc + offset_term(v.offset + r * v.groups, a.group_sum.data(), v.groups);
  }
}

void InterleavedWeights::gemv_reference(const QuantizedActivations& a, float* y, int64_t row_begin,
                                        int64_t row_end) const {
  gemv_by_definition(view(), a, y, row_begin, row_end);
}

InterleavedWeights::View InterleavedWeights::view() const {
  return {codes_.data(), kTileRows * row_bytes_, chunks_.data(), int64_t(chunks_.size()), scale_.data(), offset_.data(), groups_, rows_};
}

}  // namespace mixq::kernels
