#pragma once
// A tensor as its file stores it: F32, F16 or BF16 bytes (or a GGUF file's ggml blocks), usually
// inside a read-only mapping, turned into fp32 only when asked. A checkpoint's layers then cost memory only while a method
// works on them (docs/DESIGN.md "Streaming a checkpoint"), whatever the model's size.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/io/ggml_type.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

class StoredTensor {
 public:
  StoredTensor() = default;
  // Tensor `name` of `source`, its `bytes` inside `file`, which the tensor keeps open.
  StoredTensor(std::string source, std::string name, DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes,
               std::shared_ptr<const MappedFile> file);
  // fp32 values held in memory (a tensor made, not read; release_pages keeps them).
  static StoredTensor from_f32(std::string source, std::string name, Tensor t);
  // Rows of ggml blocks (`type` of ggml_types(), a GGUF tensor), decoded row by row when read.
  static StoredTensor ggml(std::string source, std::string name, GgmlType type, std::vector<int64_t> shape,
                           std::span<const uint8_t> bytes, std::shared_ptr<const MappedFile> file);

  const std::string& source() const { return source_; }
  const std::string& name() const { return name_; }
  // The stored dtype; for ggml blocks F32, the dtype their values are copied out as (exactly).
  DType dtype() const { return dtype_; }
  // Whether the bytes are ggml blocks rather than plain F32/F16/BF16 values.
  bool block_coded() const { return codec_ && codec_->block_elems > 1; }
  // "F32", "BF16", "Q4_K", …: what the bytes are.
  const char* type_name() const { return codec_ ? codec_->name : dtype_name(dtype_); }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  int64_t rows() const { return shape_.empty() ? 0 : shape_.front(); }
  int64_t cols() const { return shape_.size() < 2 ? 1 : shape_.back(); }
  size_t stored_bytes() const { return bytes_.size(); }
  // The stored bytes themselves (in stored row order).
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Reads logical row r from stored row order[r] (HF q/k projections are stored with their RoPE
  // pairs split into halves; see hf_checkpoint.hpp). Empty: rows in stored order.
  void set_row_order(std::vector<int64_t> order);
  bool reordered() const { return !row_order_.empty(); }

  // The rows' values directly, when the stored bytes already are fp32 in logical row order.
  const float* f32_data() const;
  // Logical rows [r0, r1) as fp32 into out[(r1 - r0) * cols].
  void rows_f32(int64_t r0, int64_t r1, float* out) const;
  // The whole tensor as fp32, every value checked finite (the error names tensor, row and column).
  Tensor to_f32() const;
  // Error naming tensor, row and column unless every value is finite; reads the tensor once, in
  // slabs, and drops the pages it read (release_pages).
  void check_finite() const;
  // The stored values as another dtype (F32, F16 or BF16), row order applied; a copy when equal.
  std::vector<uint8_t> encode_as(DType dtype) const;
  // Drops the mapped pages from this process's resident memory once the tensor has been used
  // (the kernel's page cache keeps them); a later read maps them back in.
  void release_pages() const;

 private:
  size_t row_bytes() const;
  void check_byte_count() const;  // Error unless the bytes hold exactly rows() rows

  std::string source_, name_;
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::span<const uint8_t> bytes_;
  const GgmlTypeInfo* codec_ = nullptr;  // decodes a row of the stored bytes
  std::shared_ptr<const MappedFile> file_;  // null when the values are owned_
  std::shared_ptr<const Tensor> owned_;
  std::vector<int64_t> row_order_;
};

}  // namespace mixq::io
