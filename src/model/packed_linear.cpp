#include "mixq/model/packed_linear.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "mixq/kernels/dense_f32.hpp"

namespace mixq::model {

PackedLinear::PackedLinear(formats::PackedTensor t) : t_(std::move(t)), ops_(&formats::format_ops(t_.format)) {
  const formats::AffineForm form = ops_->affine_form(t_);
  if (kernels::InterleavedWeights::supports(form)) fast_.emplace(form, t_.rows, t_.cols);
  t_.release_pages();  // read from a file: resident again only while a batch is multiplied
}

// Tokens up to this many run the one-token kernel each: it reads the weights once per token,
// which beats dequantizing for BLAS only while the batch is this small.
constexpr size_t kMaxTokensPerTokenKernel = 2;

// One token: the interleaved kernel over output rows split across threads (each row is computed
// by one thread in a fixed way: the result does not depend on the thread count). Otherwise fixed
// slabs of output rows are dequantized into a per-thread buffer and multiplied with the fp32 SIMD
// dot or a single-threaded sgemm; only one slab is ever fp32.
void PackedLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  const size_t rows = this->rows(), cols = this->cols(), slab = kernels::kGemmSlabRows;
  if (fast_ && n <= kMaxTokensPerTokenKernel) {
    const Linear* self = this;
    forward_shared_input({&self, 1}, x, n, {&y, 1}, pool);
    return;
  }
  const size_t slabs = (rows + slab - 1) / slab;
  pool.parallel_for(slabs, [&](size_t sb, size_t se) {
    thread_local std::vector<float> w;
    w.resize(slab * cols);
    for (size_t s = sb; s < se; ++s) {
      const size_t b = s * slab, e = std::min(rows, b + slab);
      ops_->dequantize_rows(t_, int64_t(b), int64_t(e), w.data());
      if (n == 1) {
        for (size_t r = b; r < e; ++r) y[r] = kernels::dot_f32(w.data() + (r - b) * cols, x, cols);
      } else {
        kernels::gemm_f32_slab(w.data(), e - b, cols, x, n, y + b, rows);
      }
    }
  });
  // A file's packed pages are needed only for batches; one token reads the interleaved copy. Not
  // keeping them resident beside it halves a mapped model's memory (a page read back is a cheap
  // fault next to the dequantization and GEMM of a batch).
  if (fast_) t_.release_pages();
}

void forward_shared_input(std::span<const Linear* const> linears, const float* x, size_t n,
                          std::span<float* const> ys, ThreadPool& pool) {
  constexpr size_t kMaxLinears = 4;
  std::array<const kernels::InterleavedWeights*, kMaxLinears> fast{};
  bool fused = n <= kMaxTokensPerTokenKernel && linears.size() <= kMaxLinears && linears.size() == ys.size();
  for (size_t i = 0; fused && i < linears.size(); ++i) {
    fast[i] = linears[i]->interleaved();
    fused = fast[i] != nullptr && linears[i]->cols() == linears[0]->cols();
  }
  if (!fused) {
    for (size_t i = 0; i < linears.size(); ++i) linears[i]->forward(x, n, ys[i], pool);
    return;
  }
  // One activation buffer per linear (their column permutations differ), reused across calls.
  thread_local std::array<kernels::QuantizedActivations, kMaxLinears> mine;
  const auto& acts = mine;  // a name the workers resolve to this thread's copy
  std::array<size_t, kMaxLinears + 1> first_row{};  // the linears' rows laid end to end
  for (size_t i = 0; i < linears.size(); ++i) first_row[i + 1] = first_row[i] + linears[i]->rows();
  const size_t cols = linears[0]->cols();
  for (size_t k = 0; k < n; ++k) {
    for (size_t i = 0; i < linears.size(); ++i) fast[i]->quantize(x + k * cols, mine[i]);
    pool.parallel_for(first_row[linears.size()], [&](size_t b, size_t e) {
      for (size_t i = 0; i < linears.size(); ++i) {
        const size_t lo = std::max(b, first_row[i]), hi = std::min(e, first_row[i + 1]);
        if (lo < hi)
          fast[i]->gemv(acts[i], ys[i] + k * linears[i]->rows(), int64_t(lo - first_row[i]), int64_t(hi - first_row[i]));
      }
    }, 16);
  }
}

}  // namespace mixq::model
