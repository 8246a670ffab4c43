// uniform's exact ggml blocks (ggml-common.h's block_q8_0 and block_q4_0: an fp16 scale d, then
// 32 int8 values, or 16 bytes whose low nibbles are weights 0–15 and high nibbles 16–31). mixq
// decodes scale · (code − zero) in fp32 and llama.cpp d · q or d · (q − 8): the same product of the
// same fp16 scale and the same small integer, so each weight is the same float.
#include <cstring>

#include "format_util.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::formats {

std::optional<GgmlBlocks> UniformFormat::ggml_blocks(const PackedTensor& t, std::string* why) {
  const auto& p = t.params_as<UniformParams>();
  const bool q8 = p.bits == 8, q4 = p.bits == 4;
  if (t.cols % 32 != 0) {
    *why = "its " + std::to_string(t.cols) + " columns are no whole number of ggml's 32-weight blocks";
    return std::nullopt;
  }
  if (!(q8 || q4) || p.group != 32 || !p.symmetric) {
    *why = "uniform " + std::to_string(p.bits) + "-bit, group " + std::to_string(p.group) +
           (p.symmetric ? " symmetric" : " asymmetric") +
           " is no ggml type exactly (exact: 8-bit group 32 symmetric = Q8_0, 4-bit group 32 symmetric = Q4_0)";
    return std::nullopt;
  }
  const int64_t blocks = t.cols / 32;
  const size_t block_bytes = q8 ? 34 : 18;
  GgmlBlocks out{q8 ? io::GgmlType::Q8_0 : io::GgmlType::Q4_0, std::string(size_t(t.rows * blocks) * block_bytes, '\0')};
  const PackedPart& scales = t.part("scales");
  std::vector<uint8_t> codes(size_t(t.cols));
  char* dst = out.bytes.data();
  for (int64_t r = 0; r < t.rows; ++r) {
    unpack_row(t, r, codes.data());
    for (int64_t b = 0; b < blocks; ++b, dst += block_bytes) {
      std::memcpy(dst, scales.bytes.data() + 2 * size_t(r * blocks + b), 2);  // the fp16 scale as stored
      const uint8_t* c = codes.data() + b * 32;
      for (int j = 0; j < (q8 ? 32 : 16); ++j)
        dst[2 + j] = q8 ? char(int8_t(int(c[j]) - 128)) : char(c[j] | (c[j + 16] << 4));
    }
  }
  return out;
}

}  // namespace mixq::formats
