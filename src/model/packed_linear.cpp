#include "mixq/model/packed_linear.hpp"

namespace mixq::model {

PackedLinear::PackedLinear(quant::PackedTensor t) : t_(std::move(t)), ops_(&quant::format_ops(t_.format)) {}

void PackedLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  pool.parallel_for(rows(), [&](size_t b, size_t e) { ops_->gemm_rows(t_, x, n, y, int64_t(b), int64_t(e)); }, 16);
}

}  // namespace mixq::model
