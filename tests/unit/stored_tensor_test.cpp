// Tensors read lazily from their file (io::StoredTensor) and linears run straight from them
// (model::StoredLinear): the values are the loader's, the results bit-identical to DenseLinear's.
#include <gtest/gtest.h>

#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/io/stored_bytes.hpp"
#include "mixq/io/stored_tensor.hpp"
#include "mixq/model/stored_linear.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

// A [rows][cols] matrix of distinct values, written as F32, F16 and BF16 tensors of one file.
std::vector<float> values(int64_t rows, int64_t cols) {
  std::vector<float> v(size_t(rows * cols));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * float(i)) * (1.f + float(i % 7));
  return v;
}

struct StoredFile {
  test::TempDir dir;
  std::unique_ptr<io::SafetensorsFile> file;
  io::StoredTensor get(const std::string& name) const {
    const auto& e = file->at(name);
    return io::StoredTensor(file->path(), name, e.dtype, e.shape, e.bytes, file->mapping());
  }
};

std::unique_ptr<StoredFile> write_file(int64_t rows, int64_t cols) {
  auto f = std::make_unique<StoredFile>();
  const auto v = values(rows, cols);
  std::vector<io::TensorToWrite> t;
  for (auto [name, dtype] : {std::pair{"f32", io::DType::F32}, {"f16", io::DType::F16}, {"bf16", io::DType::BF16}})
    t.push_back({name, dtype, {rows, cols}, io::encode_f32_as(v, dtype)});
  io::write_safetensors(f->dir / "t.safetensors", t);
  f->file = std::make_unique<io::SafetensorsFile>(f->dir / "t.safetensors");
  return f;
}

TEST(StoredTensor, ValuesAreTheLoadersInEveryDtype) {
  const auto f = write_file(5, 3);
  for (const char* name : {"f32", "f16", "bf16"}) {
    const Tensor expected = f->file->to_f32(f->file->at(name));
    const io::StoredTensor s = f->get(name);
    EXPECT_EQ(s.to_f32().data, expected.data) << name;
    std::vector<float> rows(6);
    s.rows_f32(2, 4, rows.data());
    EXPECT_EQ(rows, std::vector<float>(expected.data.begin() + 6, expected.data.begin() + 12)) << name;
    EXPECT_EQ(s.f32_data() != nullptr, std::string(name) == "f32") << name;  // only fp32 runs in place
    s.release_pages();  // the mapping's pages come back on the next read
    EXPECT_EQ(s.to_f32().data, expected.data) << name;
  }
}

// A packed part's bytes: held, or a range of a mapped file (kept open), read the same either way;
// editing a mapped range copies it first, and dropping its pages loses nothing.
TEST(StoredBytes, MappedAndHeldBytesReadTheSame) {
  const auto f = write_file(64, 64);
  const auto& e = f->file->at("f32");
  const io::StoredBytes mapped(e.bytes, f->file->mapping());
  const io::StoredBytes held(std::vector<uint8_t>(e.bytes.begin(), e.bytes.end()));
  EXPECT_TRUE(mapped.mapped());
  EXPECT_FALSE(held.mapped());
  EXPECT_EQ(mapped.data(), e.bytes.data());
  EXPECT_EQ(mapped, held);
  mapped.release_pages();
  held.release_pages();
  EXPECT_EQ(mapped, held);
  EXPECT_EQ(mapped[17], e.bytes[17]);

  io::StoredBytes copy = mapped;
  copy.edit()[0] ^= 1;
  EXPECT_FALSE(copy.mapped());
  EXPECT_NE(copy, mapped);
  EXPECT_EQ(mapped[0], e.bytes[0]);  // the file's bytes are untouched
  EXPECT_EQ(std::span<const uint8_t>(copy).size(), e.bytes.size());
}

TEST(StoredTensor, RowOrderReadsHfProjectionsInLlama2cOrder) {
  const int heads = 2;
  const auto f = write_file(8, 3);
  io::StoredTensor s = f->get("f32");
  const Tensor stored = s.to_f32();
  s.set_row_order(io::hf_rows_of_llama2c_rows(8, heads));
  EXPECT_EQ(s.f32_data(), nullptr);
  EXPECT_EQ(s.to_f32().data, io::permute_rows_from_hf(stored, heads).data);
  EXPECT_THROW(s.set_row_order({0, 1}), Error);
}

TEST(StoredTensor, NonFiniteValuesAndBadSizesAreNamed) {
  test::TempDir dir;
  std::vector<float> v = {1.f, 2.f, NAN, 4.f};
  io::write_safetensors(dir / "n.safetensors", {{"w", io::DType::F32, {2, 2}, io::encode_f32_as(v, io::DType::F32)}});
  io::SafetensorsFile file(dir / "n.safetensors");
  const auto& e = file.at("w");
  const io::StoredTensor s(file.path(), "w", e.dtype, e.shape, e.bytes, file.mapping());
  try {
    (void)s.to_f32();
    FAIL() << "a NaN was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("tensor 'w' holds a non-finite value (nan) at row 1 column 0"), std::string::npos)
        << err.what();
  }
  EXPECT_THROW(io::StoredTensor(file.path(), "w", io::DType::F32, {3, 2}, e.bytes, file.mapping()), Error);
  EXPECT_THROW(io::StoredTensor(file.path(), "w", io::DType::I32, {2, 2}, e.bytes, file.mapping()), Error);
}

// 130 rows: two full 64-row slabs and a partial one; 1 token (GEMV) and 5 (GEMM).
TEST(StoredLinear, BitIdenticalToDenseLinearInEveryDtype) {
  const int64_t rows = 130, cols = 48;
  const auto f = write_file(rows, cols);
  ThreadPool pool(3);
  std::vector<float> x(5 * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * float(i));
  for (const char* name : {"f32", "f16", "bf16"}) {
    const model::StoredLinear stored(f->get(name));
    const model::DenseLinear dense(f->file->to_f32(f->file->at(name)));
    EXPECT_EQ(stored.format_name(), name);
    for (size_t n : {size_t(1), size_t(5)}) {
      std::vector<float> a(n * rows), b(n * rows);
      stored.forward(x.data(), n, a.data(), pool);
      dense.forward(x.data(), n, b.data(), pool);
      EXPECT_EQ(a, b) << name << ", " << n << " tokens";
    }
  }
}

// Row-reordered fp32 weights (HF q/k) take the converting path: still the dense result.
TEST(StoredLinear, RowOrderedWeightsMatchTheirPermutedDenseCopy) {
  const auto f = write_file(128, 40);
  io::StoredTensor s = f->get("f32");
  const Tensor permuted = io::permute_rows_from_hf(s.to_f32(), 4);
  s.set_row_order(io::hf_rows_of_llama2c_rows(128, 4));
  const model::StoredLinear stored(std::move(s));
  const model::DenseLinear dense(permuted);
  ThreadPool pool(2);
  std::vector<float> x(3 * 40, 0.25f), a(3 * 128), b(3 * 128);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 11) - 5.f;
  for (size_t n : {size_t(1), size_t(3)}) {
    stored.forward(x.data(), n, a.data(), pool);
    dense.forward(x.data(), n, b.data(), pool);
    EXPECT_EQ(std::vector<float>(a.begin(), a.begin() + long(n * 128)), std::vector<float>(b.begin(), b.begin() + long(n * 128)));
  }
}

}  // namespace
}  // namespace mixq
