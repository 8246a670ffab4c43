#pragma once
// An owned fp32 tensor with a row-major shape: what loaders produce and the model consumes.
#include <cstdint>
#include <string>
#include <vector>

namespace mixq {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  int64_t rows() const { return shape.empty() ? 0 : shape.front(); }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape.back(); }
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace mixq
