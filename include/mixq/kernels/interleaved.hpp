#pragma once
// The fast CPU layout every affine-readable format (formats/affine_form.hpp) is repacked
// into at load time; the file on disk keeps its own layout. docs/kernels.md describes it.
//
// Columns are permuted: groups sorted by width (stable), each group padded to a multiple of 32
// columns, each width's run padded to a multiple of 128. A chunk is 128 columns of one width b,
// stored per row as bit planes over 16 16-bit lanes × 8 slots, position
//   chunk_position(lane h, slot k) = 32·((h >> 1) & 3) + 8·((h & 1) + 2·(h >> 3)) + k,
// so that 32-bit lane l (u16 lanes 2l, 2l + 1) holds 16 columns of sub-block l & 3 (32 columns
// = one activation scale, one weight group). Planes, in this order:
//   b ≥ 2: low plane, 32 bytes: bits [2k, 2k+2) of little-endian u16 lane h = code bits 0–1
//   b = 4: high plane, 32 bytes, the same for code bits 2–3
//   b odd: bit plane, 16 bytes: bit k of byte h = the code's top bit (bit 0 for b = 1, 2 for b = 3)
// Rows are stored in tiles of 8: a tile holds the block of chunk 0 of its 8 rows, then chunk 1's
// block, …, so a kernel working on 8 rows at a time reads one sequential stream (what hardware
// prefetchers follow best); the last tile is padded with zero rows. A block holds each plane of its
// 8 rows back to back: the low planes (8 × 32 bytes), the high planes (8 × 32), the bit planes
// (8 × 16), so that one 512-bit load takes the same plane of two rows.
// The kernel reads the planes as bytes in four steps: in step j, byte 2h of a plane gives slot j
// of lane h and byte 2h + 1 slot j + 4. Activations are quantized to int8 per 32-bit lane's 16
// columns (scale = absmax / 127) in that byte order, so the code × activation sums are exact
// integers (four bytes per 32-bit lane per step); the fp32 part is one activation scale per lane
// and one weight scale per sub-block.
#include <array>
#include <cstdint>
#include <vector>

#include "mixq/formats/affine_form.hpp"

namespace mixq::kernels {

inline constexpr int64_t kChunkCols = 128;
inline constexpr int64_t kSubCols = 32;
inline constexpr int kInterleavedMaxBits = 4;
inline constexpr int64_t kTileRows = 8;

// Bytes of one row's planes of a b-bit chunk: b bits per weight.
constexpr int plane_bytes(int bits) { return (bits / 2) * 32 + (bits % 2) * 16; }

// Where row i (of a tile's 8) finds its planes within a b-bit chunk's block (the CUDA kernel too).
#ifdef __CUDACC__
#define MIXQ_HOST_DEVICE __host__ __device__
#else
#define MIXQ_HOST_DEVICE
#endif
struct PlaneOffsets {
  int lo, hi, bit;
};
MIXQ_HOST_DEVICE constexpr PlaneOffsets plane_offsets(int bits, int i) {
  constexpr int k = int(kTileRows);
  return {32 * i, 32 * k + 32 * i, (bits / 2) * 32 * k + 16 * i};
}

constexpr int chunk_position(int lane, int slot) {
  return 32 * ((lane >> 1) & 3) + 8 * ((lane & 1) + 2 * (lane >> 3)) + slot;
}

// Where the activation of (lane, slot) sits within a chunk's 128 int8 activations: step j = slot & 3,
// byte 2·lane + slot / 4 of that step's 32.
constexpr int activation_index(int lane, int slot) { return 32 * (slot & 3) + 2 * lane + (slot >> 2); }

// The layout arithmetic, checked where it is written: a row's planes hold exactly b bits per
// column of a chunk; a tile's rows never overlap within a block; the 16 lanes × 8 slots of a
// chunk reach each of its 128 columns, and each of its 128 activations, exactly once.
constexpr bool is_chunk_permutation(int (*at)(int, int)) {
  bool seen[kChunkCols] = {};
  for (int lane = 0; lane < 16; ++lane)
    for (int slot = 0; slot < 8; ++slot) {
      const int p = at(lane, slot);
      if (p < 0 || p >= kChunkCols || seen[p]) return false;
      seen[p] = true;
    }
  return true;
}
static_assert(is_chunk_permutation(chunk_position));
static_assert(is_chunk_permutation(activation_index));
static_assert(plane_bytes(1) * 8 == kChunkCols && plane_bytes(2) * 8 == 2 * kChunkCols &&
              plane_bytes(3) * 8 == 3 * kChunkCols && plane_bytes(4) * 8 == 4 * kChunkCols);
static_assert(plane_offsets(4, kTileRows - 1).hi + 32 == kTileRows * plane_bytes(4));  // 2 planes: lo, then hi
static_assert(plane_offsets(3, kTileRows - 1).bit + 16 == kTileRows * plane_bytes(3));  // lo, then the odd bit
static_assert(plane_offsets(1, kTileRows - 1).bit + 16 == kTileRows * plane_bytes(1));
static_assert(kChunkCols % kSubCols == 0);

// x in the kernel's byte order: q[c·128 + activation_index(lane, slot)] (int8), scale[c·8 + l] =
// the scale of 32-bit lane l of chunk c (u16 lanes 2l, 2l + 1), group_sum[g] = Σ x over group g's
// columns (original order).
struct QuantizedActivations {
  std::vector<int8_t> q;
  std::vector<float> scale;
  std::vector<float> group_sum;
};

// Σ_g offset[g] · group_sum[g]: the part of a row's result that does not depend on its codes, in
// group order (the reference and the CUDA kernel; the SIMD kernel sums it in vector lanes).
inline float offset_term(const float* offset, const float* group_sum, int64_t groups) {
  float o = 0;
  for (int64_t g = 0; g < groups; ++g) o += offset[g] * group_sum[g];
  return o;
}

struct InterleavedChunk {
  int32_t bits;
  int32_t tile_offset;          // where the chunk's 8 rows start within a tile
  std::array<int32_t, 4> group; // the weight group of each 32-column sub-block
  bool one_group;               // all four sub-blocks share a group
};

class InterleavedWeights {
 public:
  // True when every group's codes fit the layout (1…4 bits).
  static bool supports(const formats::AffineForm& f);
  InterleavedWeights(const formats::AffineForm& f, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t padded_cols() const { return int64_t(chunks_.size()) * kChunkCols; }
  // Bytes one GEMV reads: the rows' code planes (not a last tile's padding rows) plus fp32 scale
  // and offset per (row, group).
  size_t bytes() const { return size_t(rows_ * row_bytes_) + 4 * (scale_.size() + offset_.size()); }

  void quantize(const float* x, QuantizedActivations& a) const;
  // y[r] = Ŵ[r] · x for r in [row_begin, row_end): Highway kernel, best target at run time.
  void gemv(const QuantizedActivations& a, float* y, int64_t row_begin, int64_t row_end) const;
  // The same from the layout's definition, one code at a time (what gemv is tested against).
  void gemv_reference(const QuantizedActivations& a, float* y, int64_t row_begin, int64_t row_end) const;
  // The code of (row, original column), read from the planes by the definition above.
  uint8_t code_at(int64_t row, int64_t col) const;

  // x in slot order (fp32, 0 in padding) and Σ x per group: what a kernel on fp32 activations needs.
  void permute(const float* x, float* slots) const;
  void group_sums(const float* x, float* sums) const;

  // What the kernels read (kernels/interleaved_simd.cpp, kernels/cuda).
  struct View {
    const uint8_t* codes;
    int64_t tile_bytes;  // kTileRows rows
    const InterleavedChunk* chunks;
    int64_t n_chunks;
    const float* scale;   // [rows][groups]
    const float* offset;  // [rows][groups]
    int64_t groups;
    int64_t rows;

    // The block of chunk ch in row r's tile; row r's planes are at plane_offsets(bits, r % 8).
    const uint8_t* block(int64_t r, const InterleavedChunk& ch) const {
      return codes + (r / kTileRows) * tile_bytes + ch.tile_offset;
    }
  };
  View view() const;

 private:
  int64_t rows_, cols_, groups_, row_bytes_ = 0;
  std::vector<int32_t> gather_;     // activation slot c·128 + k·16 + h → original column, −1 for padding
  std::vector<int32_t> position_of_;  // original column → padded position
  std::vector<formats::AffineForm::Group> groups_in_;
  std::vector<InterleavedChunk> chunks_;
  std::vector<uint8_t> codes_;        // [tiles][chunks][planes][kTileRows][plane bytes]
  std::vector<float> scale_, offset_;  // [rows][groups], original group order
};

// gemv_reference on a view: one code at a time, exact integer sums per 32-bit lane.
void gemv_by_definition(const InterleavedWeights::View& v, const QuantizedActivations& a, float* y,
                        int64_t row_begin, int64_t row_end);

}  // namespace mixq::kernels
