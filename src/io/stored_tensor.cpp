#include "mixq/io/stored_tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {

StoredTensor::StoredTensor(std::string source, std::string name, DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes,
                           std::shared_ptr<const MappedFile> file)
    : source_(std::move(source)), name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)), bytes_(bytes), file_(std::move(file)) {
  if (dtype_ != DType::F32 && dtype_ != DType::F16 && dtype_ != DType::BF16)
    fail(source_, "tensor '{}' has unsupported dtype {} (expected F32, F16 or BF16)", name_, dtype_name(dtype_));
  codec_ = &ggml_type_info(dtype_ == DType::F32 ? GgmlType::F32 : dtype_ == DType::F16 ? GgmlType::F16 : GgmlType::BF16);
  check_byte_count();
}

StoredTensor StoredTensor::ggml(std::string source, std::string name, GgmlType type, std::vector<int64_t> shape,
                                std::span<const uint8_t> bytes, std::shared_ptr<const MappedFile> file) {
  StoredTensor s;
  s.source_ = std::move(source);
  s.name_ = std::move(name);
  s.dtype_ = type == GgmlType::F16 ? DType::F16 : type == GgmlType::BF16 ? DType::BF16 : DType::F32;
  s.codec_ = &ggml_type_info(type);
  s.shape_ = std::move(shape);
  s.bytes_ = bytes;
  s.file_ = std::move(file);
  if (s.cols() % s.codec_->block_elems != 0)
    fail(s.source_, "tensor '{}' of {} has rows of {} values, not a multiple of its {}-value blocks", s.name_, s.codec_->name,
         s.cols(), s.codec_->block_elems);
  s.check_byte_count();
  return s;
}

size_t StoredTensor::row_bytes() const {
  if (!codec_) return 0;  // default-constructed: no rows
  return size_t(cols() / codec_->block_elems * codec_->block_bytes);
}

void StoredTensor::check_byte_count() const {
  // From the element count, as before blocks existed: a tensor of any rank (whole blocks per row).
  const uint64_t need = uint64_t(numel()) / uint64_t(codec_->block_elems) * uint64_t(codec_->block_bytes);
  if (need != bytes_.size())
    fail(source_, "tensor '{}': shape {} of {} needs {} bytes, {} stored", name_, shape_string(shape_), codec_->name, need,
         bytes_.size());
}

StoredTensor StoredTensor::from_f32(std::string source, std::string name, Tensor t) {
  auto owned = std::make_shared<const Tensor>(std::move(t));
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(owned->data.data()), owned->data.size() * sizeof(float));
  StoredTensor s(std::move(source), std::move(name), DType::F32, owned->shape, bytes, nullptr);
  s.owned_ = std::move(owned);
  return s;
}

int64_t StoredTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

void StoredTensor::set_row_order(std::vector<int64_t> order) {
  if (!order.empty() && int64_t(order.size()) != rows()) fail(source_, "tensor '{}': row order of {} rows for {} rows", name_, order.size(), rows());
  row_order_ = std::move(order);
}

const float* StoredTensor::f32_data() const {
  const bool aligned = reinterpret_cast<uintptr_t>(bytes_.data()) % alignof(float) == 0;
  return codec_ && codec_->type == GgmlType::F32 && row_order_.empty() && aligned ? reinterpret_cast<const float*>(bytes_.data()) : nullptr;
}

void StoredTensor::rows_f32(int64_t r0, int64_t r1, float* out) const {
  const int64_t c = cols();
  const size_t row = row_bytes();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t src = row_order_.empty() ? r : row_order_[size_t(r)];
    codec_->to_f32(bytes_.data() + size_t(src) * row, c, out + size_t((r - r0) * c));
  }
}

Tensor StoredTensor::to_f32() const {
  require_memory(size_t(numel()) * sizeof(float), "tensor '" + name_ + "' as fp32", source_);
  Tensor t{shape_, std::vector<float>(size_t(numel()))};
  rows_f32(0, rows(), t.data.data());
  for (size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i]))
      fail(source_, "tensor '{}' holds a non-finite value ({}) at row {} column {}", name_, t.data[i], int64_t(i) / cols(),
           int64_t(i) % cols());
  return t;
}

void StoredTensor::check_finite() const {
  const int64_t c = cols(), slab = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, c));
  std::vector<float> buf(size_t(std::min(slab, rows()) * c));
  for (int64_t r0 = 0; r0 < rows(); r0 += slab) {
    const int64_t r1 = std::min(rows(), r0 + slab);
    rows_f32(r0, r1, buf.data());
    for (size_t i = 0; i < size_t((r1 - r0) * c); ++i)
      if (!std::isfinite(buf[i]))
        fail(source_, "tensor '{}' holds a non-finite value ({}) at row {} column {}", name_, buf[i], r0 + int64_t(i) / c,
             int64_t(i) % c);
  }
  release_pages();
}

std::vector<uint8_t> StoredTensor::encode_as(DType dtype) const {
  if (dtype == dtype_ && row_order_.empty() && !block_coded()) return {bytes_.begin(), bytes_.end()};
  return encode_f32_as(to_f32().data, dtype);
}

void StoredTensor::release_pages() const {
  if (file_) file_->release(bytes_);
}

}  // namespace mixq::io
