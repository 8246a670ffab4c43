// Block decoders of the ggml types GGUF import reads. Each is written from the block layout
// (ggml-common.h) and checked end to end against llama.cpp itself: a model llama-quantize wrote in
// that type scores the same perplexity in mixq as in llama-perplexity
// (scripts/peer/gguf_vs_llamacpp.sh, docs/results/gguf_vs_llamacpp.txt).
#include "mixq/io/ggml_type.hpp"

#include <cstring>

#include "mixq/core/half.hpp"

namespace mixq::io {
namespace {

constexpr int64_t kQK = 32;    // values per block of the legacy types
constexpr int64_t kQKK = 256;  // values per super-block of the k-quants

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void f32_row(const uint8_t* b, int64_t n, float* out) { std::memcpy(out, b, size_t(n) * sizeof(float)); }
void f16_row(const uint8_t* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = half_at(b + 2 * i);
}
void bf16_row(const uint8_t* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, b + 2 * i, 2);
    out[i] = bf16_to_f32(h);
  }
}

// Legacy blocks of 32: the low nibbles of qs[0..15] are values 0..15, the high nibbles 16..31;
// the 5-bit types take each value's fifth bit from the 32-bit word qh (bit j for value j).
// `scaled(q, j)` gives value j from its unsigned code q.
template <int64_t kBytes, typename Decode>
void legacy_row(const uint8_t* b, int64_t n, float* out, Decode decode) {
  for (int64_t blk = 0; blk < n / kQK; ++blk, b += kBytes, out += kQK) decode(b, out);
}

void q4_0_row(const uint8_t* b, int64_t n, float* out) {
  legacy_row<18>(b, n, out, [](const uint8_t* p, float* y) {
    const float d = half_at(p);
    for (int j = 0; j < 16; ++j) {
      y[j] = float((p[2 + j] & 0xF) - 8) * d;
      y[j + 16] = float((p[2 + j] >> 4) - 8) * d;
    }
  });
}

void q4_1_row(const uint8_t* b, int64_t n, float* out) {
  legacy_row<20>(b, n, out, [](const uint8_t* p, float* y) {
    const float d = half_at(p), m = half_at(p + 2);
    for (int j = 0; j < 16; ++j) {
      y[j] = float(p[4 + j] & 0xF) * d + m;
      y[j + 16] = float(p[4 + j] >> 4) * d + m;
    }
  });
}

uint32_t u32_at(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void q5_0_row(const uint8_t* b, int64_t n, float* out) {
  legacy_row<22>(b, n, out, [](const uint8_t* p, float* y) {
    const float d = half_at(p);
    const uint32_t qh = u32_at(p + 2);
    for (int j = 0; j < 16; ++j) {
      const int lo = (p[6 + j] & 0xF) | int((qh >> j) & 1) << 4;
      const int hi = (p[6 + j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      y[j] = float(lo - 16) * d;
      y[j + 16] = float(hi - 16) * d;
    }
  });
}

void q5_1_row(const uint8_t* b, int64_t n, float* out) {
  legacy_row<24>(b, n, out, [](const uint8_t* p, float* y) {
    const float d = half_at(p), m = half_at(p + 2);
    const uint32_t qh = u32_at(p + 4);
    for (int j = 0; j < 16; ++j) {
      const int lo = (p[8 + j] & 0xF) | int((qh >> j) & 1) << 4;
      const int hi = (p[8 + j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      y[j] = float(lo) * d + m;
      y[j + 16] = float(hi) * d + m;
    }
  });
}

void q8_0_row(const uint8_t* b, int64_t n, float* out) {
  legacy_row<34>(b, n, out, [](const uint8_t* p, float* y) {
    const float d = half_at(p);
    for (int j = 0; j < 32; ++j) y[j] = float(int8_t(p[2 + j])) * d;
  });
}

// Super-blocks of 256 values: sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K, Q5_K) values, each
// with a small integer scale (and min) that the super-block's fp16 d (and dmin) multiplies.

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. In each half of 128
// values, 2-bit field `shift` of qs[l] / qs[l + 16] holds sub-blocks 2·(shift/2) and the next.
void q2_k_row(const uint8_t* b, int64_t n, float* out) {
  for (int64_t blk = 0; blk < n / kQKK; ++blk, b += 84) {
    const uint8_t* scales = b;
    const uint8_t* q = b + 16;
    const float d = half_at(b + 80), dmin = half_at(b + 82);
    int sub = 0;
    for (int half = 0; half < 2; ++half, q += 32)
      for (int shift = 0; shift < 8; shift += 2)
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * float(scales[sub] & 0xF), ml = dmin * float(scales[sub] >> 4);
          for (int l = 0; l < 16; ++l) *out++ = dl * float((q[l + 16 * part] >> shift) & 3) - ml;
        }
  }
}

// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit scales, offset 32), d. The low two bits as
// in Q2_K; a clear hmask bit (bit `shift/2 + 4·half` of hmask[l]) subtracts 4.
void q3_k_scales(const uint8_t* packed, int* scales) {
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
    const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = (low | high << 4) - 32;
  }
}

void q3_k_row(const uint8_t* b, int64_t n, float* out) {
  for (int64_t blk = 0; blk < n / kQKK; ++blk, b += 110) {
    const uint8_t* hmask = b;
    const uint8_t* q = b + 32;
    int scales[16];
    q3_k_scales(b + 96, scales);
    const float d = half_at(b + 108);
    int sub = 0, bit = 0;
    for (int half = 0; half < 2; ++half, q += 32)
      for (int shift = 0; shift < 8; shift += 2, ++bit)
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * float(scales[sub]);
          for (int l = 0; l < 16; ++l) {
            const int i = l + 16 * part;
            const int v = ((q[i] >> shift) & 3) - ((hmask[i] >> bit) & 1 ? 0 : 4);
            *out++ = dl * float(v);
          }
        }
  }
}

// Q4_K/Q5_K's twelve bytes of eight 6-bit scales and eight 6-bit mins.
void k4_scale_min(int j, const uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | (q[j - 4] >> 6) << 4;
    min = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
  }
}

// Q4_K: d, dmin, scales[12], qs[128]; each 64 values are 32 low nibbles then 32 high nibbles.
// Q5_K adds qh[32] before qs: bit 2·(j/64) (low nibbles) or the next bit (high) of qh[l] is the
// fifth bit.
template <bool kFifthBit>
void q45_k_row(const uint8_t* b, int64_t n, float* out) {
  constexpr int64_t kBytes = kFifthBit ? 176 : 144;
  for (int64_t blk = 0; blk < n / kQKK; ++blk, b += kBytes) {
    const float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* q = b + (kFifthBit ? 48 : 16);
    for (int j = 0; j < 4; ++j, q += 32)
      for (int nib = 0; nib < 2; ++nib) {
        int sc, m;
        k4_scale_min(2 * j + nib, scales, sc, m);
        const float dl = d * float(sc), ml = dmin * float(m);
        for (int l = 0; l < 32; ++l) {
          int v = nib ? q[l] >> 4 : q[l] & 0xF;
          if (kFifthBit && (qh[l] >> (2 * j + nib)) & 1) v += 16;
          *out++ = dl * float(v) - ml;
        }
      }
  }
}

// Q6_K: ql[128], qh[64], int8 scales[16], d. Per 128 values: value l + 32·k takes the low or high
// nibble of ql[l + 32·(k % 2)] and bits 2k..2k+1 of qh[l], minus 32; its scale is sc[l/16 + 2k].
void q6_k_row(const uint8_t* b, int64_t n, float* out) {
  for (int64_t blk = 0; blk < n / kQKK; ++blk, b += 210) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    const float d = half_at(b + 208);
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, out += 128)
      for (int l = 0; l < 32; ++l)
        for (int k = 0; k < 4; ++k) {
          const uint8_t low = k < 2 ? ql[l + 32 * k] & 0xF : ql[l + 32 * (k - 2)] >> 4;
          const int v = (low | ((qh[l] >> (2 * k)) & 3) << 4) - 32;
          out[l + 32 * k] = d * float(sc[l / 16 + 2 * k]) * float(v);
        }
  }
}

constexpr GgmlTypeInfo kTypes[] = {
    {GgmlType::F32, "F32", 1, 4, f32_row},
    {GgmlType::F16, "F16", 1, 2, f16_row},
    {GgmlType::BF16, "BF16", 1, 2, bf16_row},
    {GgmlType::Q4_0, "Q4_0", kQK, 18, q4_0_row},
    {GgmlType::Q4_1, "Q4_1", kQK, 20, q4_1_row},
    {GgmlType::Q5_0, "Q5_0", kQK, 22, q5_0_row},
    {GgmlType::Q5_1, "Q5_1", kQK, 24, q5_1_row},
    {GgmlType::Q8_0, "Q8_0", kQK, 34, q8_0_row},
    {GgmlType::Q2_K, "Q2_K", kQKK, 84, q2_k_row},
    {GgmlType::Q3_K, "Q3_K", kQKK, 110, q3_k_row},
    {GgmlType::Q4_K, "Q4_K", kQKK, 144, q45_k_row<false>},
    {GgmlType::Q5_K, "Q5_K", kQKK, 176, q45_k_row<true>},
    {GgmlType::Q6_K, "Q6_K", kQKK, 210, q6_k_row},
};

}  // namespace

const GgmlTypeInfo* find_ggml_type(uint32_t id) {
  for (const GgmlTypeInfo& t : kTypes)
    if (uint32_t(t.type) == id) return &t;
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType t) { return *find_ggml_type(uint32_t(t)); }
const char* ggml_type_name(GgmlType t) { return ggml_type_info(t).name; }
std::span<const GgmlTypeInfo> ggml_types() { return kTypes; }

}  // namespace mixq::io
