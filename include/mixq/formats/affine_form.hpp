#pragma once
// A packed tensor read as unsigned integer codes with one affine map per (row, group):
//   ŵ = scale · code + offset.
// uniform and slim (≥ 2 bits) are this with offset = −scale·zero, slim's 1-bit groups with
// scale = 2α, offset = μ − α, and FineQ with code = half-steps + 8 (4 bits) and scale = Δ/2. The
// fast kernels (kernels/interleaved.hpp) repack any tensor that can be read this way, so a new
// format gets them by writing its form; nothing is re-quantized, the values are the stored ones.
#include <cstdint>
#include <functional>
#include <vector>

namespace mixq::formats {

struct AffineForm {
  struct Group {
    int64_t begin, len;  // input columns [begin, begin + len)
    int bits;            // every code of the group is < 2^bits
  };
  std::vector<Group> groups;  // cover [0, cols) in column order; the same for every row
  // Row r: codes[cols], and scale[g], offset[g] for every group g.
  std::function<void(int64_t row, uint8_t* codes, float* scale, float* offset)> decode_row;
};

}  // namespace mixq::formats
