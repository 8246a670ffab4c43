// Writes tests/data/ggml_types.gguf with ggml's own code: for each ggml type mixq decodes, a
// 2 × 512 tensor "<type>" quantized by ggml_quantize_chunk from the same pseudo-random rows
// (Gaussian-ish, with a few outliers), and "<type>.expected", ggml's to_float of those bytes as
// F32. The unit test GgufImport.EveryGgmlTypeDecodesAsGgmlDoes checks mixq's decoders against it
// without llama.cpp at hand. Built and run by scripts/peer/ggml_fixture.sh.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ggml_fixture OUT.gguf\n");
    return 2;
  }
  constexpr int64_t kRows = 2, kCols = 512;
  std::vector<float> src(kRows * kCols);
  uint64_t state = 12345;
  auto uniform = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return double(state >> 11) / double(1ull << 53);
  };
  for (size_t i = 0; i < src.size(); ++i) {
    const double g = std::sqrt(-2 * std::log(uniform() + 1e-12)) * std::cos(6.283185307179586 * uniform());
    src[i] = float(g * 0.02 * (1 + (i / kCols)));  // a different scale per row
    if (i % 97 == 0) src[i] *= 12;                  // outliers
  }
  const ggml_type types[] = {GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                             GGML_TYPE_Q8_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
  ggml_init_params params{/*mem_size=*/64 << 20, /*mem_buffer=*/nullptr, /*no_alloc=*/false};
  ggml_context* ctx = ggml_init(params);
  gguf_context* gguf = gguf_init_empty();
  gguf_set_val_str(gguf, "general.description", "ggml's quantization and decoding of the same rows, one tensor per type");
  for (ggml_type type : types) {
    ggml_tensor* q = ggml_new_tensor_2d(ctx, type, kCols, kRows);
    ggml_set_name(q, ggml_type_name(type));
    ggml_quantize_chunk(type, src.data(), q->data, 0, kRows, kCols, nullptr);
    ggml_tensor* e = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, kCols, kRows);
    ggml_set_name(e, (std::string(ggml_type_name(type)) + ".expected").c_str());
    ggml_get_type_traits(type)->to_float(q->data, static_cast<float*>(e->data), kRows * kCols);
    gguf_add_tensor(gguf, q);
    gguf_add_tensor(gguf, e);
  }
  if (!gguf_write_to_file(gguf, argv[1], false)) {
    std::fprintf(stderr, "ggml_fixture: cannot write %s\n", argv[1]);
    return 1;
  }
  gguf_free(gguf);
  ggml_free(ctx);
  return 0;
}
