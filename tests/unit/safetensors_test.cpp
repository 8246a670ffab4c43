#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "mixq/core/error.hpp"
#include "mixq/io/safetensors.hpp"
#include "test_paths.hpp"

namespace mixq::io {
namespace {

// A file with a hand-written header and `data_bytes` zero bytes of data.
std::string write_raw(const test::TempDir& dir, const std::string& header, size_t data_bytes, uint64_t declared = 0) {
  const std::string path = dir / "raw.safetensors";
  std::ofstream f(path, std::ios::binary);
  const uint64_t n = declared ? declared : header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header << std::string(data_bytes, '\0');
  return path;
}

void expect_error(const std::string& path, const std::string& needle) {
  test::expect_open_error([](const std::string& p) { SafetensorsFile f(p); }, path, needle);
}

}  // namespace

TEST(Safetensors, WriteThenReadRoundTripsEveryFloatDtype) {
  test::TempDir dir;
  const std::vector<float> v = {1.f, -2.5f, 0.125f, 3.f, 65504.f, -0.f};
  write_safetensors(dir / "t.safetensors",
                    {{"a", DType::F32, {2, 3}, encode_f32_as(v, DType::F32)},
                     {"b", DType::F16, {6}, encode_f32_as(v, DType::F16)},
                     {"c", DType::BF16, {3, 2}, encode_f32_as(v, DType::BF16)},
                     {"d", DType::U8, {3}, {7, 8, 9}}},
                    {{"mixq.version", "0.1"}});
  SafetensorsFile f(dir / "t.safetensors");
  ASSERT_EQ(f.entries().size(), 4u);
  EXPECT_EQ(f.metadata().at("mixq.version"), "0.1");
  EXPECT_EQ(f.to_f32(f.at("a")).data, v);
  EXPECT_EQ(f.to_f32(f.at("b")).data, v);  // every value is exact in fp16
  EXPECT_EQ(f.at("c").shape, (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(f.to_f32(f.at("c")).data[1], -2.5f);
  EXPECT_EQ(f.at("d").bytes[2], 9);
  EXPECT_THROW(f.to_f32(f.at("d")), Error);  // U8 is not a float dtype
  // The header is padded so data starts 8-byte aligned, and no temporary file is left behind.
  uint64_t header_bytes = 0;
  std::ifstream(dir / "t.safetensors", std::ios::binary).read(reinterpret_cast<char*>(&header_bytes), 8);
  EXPECT_EQ((8 + header_bytes) % 8, 0u) << header_bytes;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.at("a").bytes.data()) % 8, 0u);  // the mapping is page-aligned
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(Safetensors, RejectsFileShorterThanLengthField) {
  test::TempDir dir;
  const std::string p = dir / "short.safetensors";
  std::ofstream(p) << "abc";
  expect_error(p, "shorter than the 8-byte header length");
}

TEST(Safetensors, RejectsHeaderLengthPastEof) {
  test::TempDir dir;
  expect_error(write_raw(dir, "{}", 0, 1000), "header length 1000 runs past end of file");
}

// The 100 MiB header cap, on a sparse file long enough that the header is within it.
TEST(Safetensors, RejectsHeaderBeyondTheCap) {
  test::TempDir dir;
  const std::string path = write_raw(dir, "{}", 0, SafetensorsFile::kMaxHeaderBytes + 1);
  std::filesystem::resize_file(path, SafetensorsFile::kMaxHeaderBytes + 64);
  expect_error(path, "header length 104857601 exceeds the 104857600 byte limit");
}

TEST(Safetensors, RejectsMalformedJson) {
  test::TempDir dir;
  expect_error(write_raw(dir, "{\"a\": [", 0), "not valid JSON");
}

// Each header is wrong in one way; the error names what is wrong.
TEST(Safetensors, RejectsInconsistentTensorTables) {
  struct Case {
    const char* header;
    size_t data_bytes;
    const char* error;
  };
  const Case cases[] = {
      {R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", 2, "unknown dtype 'Q4'"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "end past data size 8"},
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "needs 12 bytes"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "overlap"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8, "unindexed bytes [0, 4)"},
  };
  for (const auto& c : cases) {
    test::TempDir dir;
    expect_error(write_raw(dir, c.header, c.data_bytes), c.error);
  }
}

TEST(Safetensors, RejectsNegativeDimensionAndOverflowingShape) {
  test::TempDir dir;
  expect_error(write_raw(dir, R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0), "non-integer or negative");
  expect_error(write_raw(dir, R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
               "overflows");
}

TEST(Safetensors, MissingTensorIsNamed) {
  test::TempDir dir;
  write_safetensors(dir / "t.safetensors", {{"a", DType::F32, {1}, encode_f32_as(std::vector<float>{1.f}, DType::F32)}});
  SafetensorsFile f(dir / "t.safetensors");
  try {
    f.at("model.norm.weight");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'model.norm.weight'"), std::string::npos);
  }
}

TEST(Safetensors, WriterRejectsWrongByteCount) {
  test::TempDir dir;
  EXPECT_THROW(write_safetensors(dir / "t.safetensors", {{"a", DType::F32, {2}, {1, 2, 3}}}), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "t.safetensors"));
}

}  // namespace mixq::io
