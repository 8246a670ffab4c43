#include "mixq/model/stored_linear.hpp"

#include <algorithm>
#include <cctype>

#include "mixq/core/error.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace mixq::model {

StoredLinear::StoredLinear(io::StoredTensor w) : w_(std::move(w)) {
  if (w_.shape().size() != 2) fail(w_.source(), "tensor '{}' has shape {}, not a matrix", w_.name(), shape_string(w_.shape()));
}

std::string StoredLinear::format_name() const {
  std::string s = w_.type_name();
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void StoredLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  const size_t R = rows(), C = cols();
  if (const float* w = w_.f32_data()) {  // DenseLinear's own path
    if (n == 1) kernels::gemv_f32(w, R, C, x, y, pool);
    else kernels::gemm_f32(w, R, C, x, n, y, pool);
    return;
  }
  // gemm_f32's fixed slabs (bit-identical results), each converted just before use.
  constexpr size_t S = kernels::kGemmSlabRows;
  pool.parallel_for((R + S - 1) / S, [&](size_t sb, size_t se) {
    std::vector<float> slab(S * C);
    for (size_t s = sb; s < se; ++s) {
      const size_t b = s * S, e = std::min(R, b + S);
      w_.rows_f32(int64_t(b), int64_t(e), slab.data());
      if (n == 1)
        for (size_t r = b; r < e; ++r) y[r] = kernels::dot_f32(slab.data() + (r - b) * C, x, C);
      else
        kernels::gemm_f32_slab(slab.data(), e - b, C, x, n, y + b, R);
    }
  });
}

}  // namespace mixq::model
