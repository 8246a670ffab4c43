// GGUF reading: every ggml type decoded as ggml itself decodes it (a fixture ggml wrote), the
// metadata and tensors GgufWriter writes read back, and every malformed or hostile file refused
// with an error naming the file and what is wrong, before any count sizes an allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/stored_tensor.hpp"
#include "test_paths.hpp"

namespace mixq::io {
namespace {

const std::string kFixture = MIXQ_SOURCE_DIR "/tests/data/ggml_types.gguf";

// Hand-made GGUF bytes, for headers GgufWriter would never write.
struct Bytes {
  std::string b;
  template <typename T>
  Bytes& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b += s;
    return *this;
  }
  // Magic, version, tensor count and key-value count.
  static Bytes header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    Bytes x;
    x.b = "GGUF";
    x.put(version).put(tensors).put(kvs);
    return x;
  }
  // A tensor description: name, rank, dimensions (innermost first), type, offset.
  Bytes& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(uint32_t(ne.size()));
    for (uint64_t n : ne) put(n);
    return put(type).put(offset);
  }
  // Pads to the 32-byte alignment and appends `data` zero bytes.
  Bytes& data(size_t bytes) {
    b.resize((b.size() + 31) / 32 * 32, '\0');
    b.append(bytes, '\0');
    return *this;
  }
};

std::string write(const test::TempDir& dir, const std::string& bytes, const std::string& name = "t.gguf") {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_error(const std::string& path, const std::string& needle) {
  test::expect_open_error([](const std::string& p) { GgufFile f(p); }, path, needle);
}

}  // namespace

// tests/data/ggml_types.gguf holds, per type, rows ggml_quantize_chunk wrote and ggml's own
// to_float of them (scripts/peer/ggml_fixture.sh): mixq's decoders must give the same floats.
TEST(GgufImport, EveryGgmlTypeDecodesAsGgmlDoes) {
  const GgufFile f(kFixture);
  std::map<std::string, const GgufFile::TensorInfo*> by_name;
  auto lower = [](std::string s) {  // ggml names its types "q4_K", "bf16"
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& t : f.tensors()) by_name[lower(t.name)] = &t;
  int checked = 0;
  for (const GgmlTypeInfo& type : ggml_types()) {
    if (type.type == GgmlType::F32) continue;
    const std::string name = lower(type.name);
    ASSERT_TRUE(by_name.count(name) && by_name.count(name + ".expected")) << type.name << " is missing from the fixture";
    const auto& q = *by_name[name];
    const auto& e = *by_name[name + ".expected"];
    EXPECT_EQ(q.type, type.type);
    const Tensor got = StoredTensor::ggml(f.path(), q.name, q.type, q.shape, q.bytes, f.file()).to_f32();
    const Tensor want = StoredTensor::ggml(f.path(), e.name, e.type, e.shape, e.bytes, f.file()).to_f32();
    ASSERT_EQ(got.shape, want.shape);
    size_t differ = 0;
    for (size_t i = 0; i < got.data.size(); ++i) differ += got.data[i] != want.data[i];
    EXPECT_EQ(differ, 0u) << type.name << ": values differ from ggml's decoding";
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

TEST(GgufReader, WhatTheWriterWritesReadsBack) {
  test::TempDir dir;
  GgufWriter w;
  w.add_u32("a.u32", 7);
  w.add_i32("a.i32", -3);
  w.add_f32("a.f32", 0.5f);
  w.add_bool("a.bool", true);
  w.add_string("a.str", "héllo");
  w.add_strings("a.strs", {"x", "", "▁y"});
  w.add_f32s("a.f32s", {1.f, -2.f});
  w.add_i32s("a.i32s", {4, -5, 6});
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  w.add_tensor("t", {2, 3}, GgmlType::F32, 24, [&](std::string& out) { out.append(reinterpret_cast<const char*>(v.data()), 24); });
  std::string q8(34 * 2, '\0');  // two Q8_0 blocks: d = 1 (fp16 0x3C00), codes 0…31 and 0…-31
  for (int b = 0; b < 2; ++b) {
    q8[size_t(34 * b + 1)] = char(0x3C);
    for (int j = 0; j < 32; ++j) q8[size_t(34 * b + 2 + j)] = char(b ? -j : j);
  }
  w.add_tensor("q", {2, 32}, GgmlType::Q8_0, q8.size(), [&](std::string& out) { out += q8; });
  w.write(dir / "w.gguf");

  const GgufFile f(dir / "w.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_int("a.u32"), 7);
  EXPECT_EQ(f.get_int("a.i32"), -3);
  EXPECT_EQ(f.get_float("a.f32"), 0.5);
  EXPECT_EQ(f.get_bool("a.bool"), true);
  EXPECT_EQ(f.get_string("a.str"), "héllo");
  EXPECT_EQ(f.get_strings("a.strs"), (std::vector<std::string>{"x", "", "▁y"}));
  EXPECT_EQ(f.get_floats("a.f32s"), (std::vector<float>{1.f, -2.f}));
  EXPECT_EQ(f.get_ints("a.i32s"), (std::vector<int64_t>{4, -5, 6}));
  EXPECT_FALSE(f.get_int("absent").has_value());
  EXPECT_THROW(f.get_string("a.u32"), Error);  // a value of another type is an error naming the key
  EXPECT_THROW(f.get_int("a.strs"), Error);
  ASSERT_EQ(f.tensors().size(), 2u);
  const auto& t = f.tensors()[0];
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(StoredTensor::ggml(f.path(), t.name, t.type, t.shape, t.bytes, f.file()).to_f32().data, v);
  const auto& q = f.tensors()[1];
  EXPECT_EQ(q.type, GgmlType::Q8_0);
  const Tensor qv = StoredTensor::ggml(f.path(), q.name, q.type, q.shape, q.bytes, f.file()).to_f32();
  EXPECT_EQ(qv.data[5], 5.f);
  EXPECT_EQ(qv.data[32 + 31], -31.f);
}

TEST(GgufReader, MalformedFilesAreClearErrors) {
  test::TempDir dir;
  auto check = [&](const Bytes& x, const std::string& needle) { expect_error(write(dir, x.b), needle); };
  check(Bytes{"GGML"}, "no 'GGUF' magic");
  check(Bytes::header(0, 0, 1), "version 1 is not supported");
  check(Bytes::header(0, 0, 0x03000000), "big-endian");
  check(Bytes::header(0, 1u << 30), "key-value count");
  check(Bytes::header(1ull << 40, 0), "tensor count");
  check(Bytes::header(0, 1).str("k").put<uint32_t>(99), "unknown value type 99");
  check(Bytes::header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9), "array of arrays");
  check(Bytes::header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 50), "array length");
  check(Bytes::header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1ull << 40), "truncated GGUF");
  check(Bytes::header(0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1),
        "'k' appears twice");
  check(Bytes::header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(3), "power of two");
  check(Bytes::header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).data(4), "rank 5");
  check(Bytes::header(1, 0).tensor("t", {0}, 0, 0).data(4), "impossible dimension 0");
  check(Bytes::header(1, 0).tensor("t", {1ull << 40, 1ull << 40}, 0, 0).data(4), "impossible dimension");
  check(Bytes::header(1, 0).tensor("t", {256}, 16, 0).data(256), "IQ2_XXS");
  check(Bytes::header(1, 0).tensor("t", {16}, 8, 0).data(64), "not a multiple of its 32-value blocks");
  check(Bytes::header(1, 0).tensor("t", {4}, 0, 8).data(64), "not a multiple of the alignment");
  check(Bytes::header(1, 0).tensor("t", {64}, 0, 0).data(64), "run past the end of the file");
  check(Bytes::header(2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).data(64), "'t' appears twice");
}

// A valid file cut short anywhere before its last tensor's last byte is an error, never a crash.
TEST(GgufReader, EveryTruncationIsAnError) {
  test::TempDir dir;
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_strings("tokenizer.ggml.tokens", {"a", "b"});
  w.add_tensor("t", {2, 32}, GgmlType::F32, 256, [](std::string& out) { out.append(256, '\0'); });
  w.write(dir / "full.gguf");
  const std::string full = read_whole_file(dir / "full.gguf");
  ASSERT_NO_THROW(GgufFile(dir / "full.gguf"));
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string path = write(dir, full.substr(0, n), "cut.gguf");
    EXPECT_THROW(GgufFile{path}, Error) << "cut at " << n << " of " << full.size();
  }
}

}  // namespace mixq::io

namespace mixq::io {

// The tokenizer keys of a hostile or inconsistent GGUF are errors naming the file, never a crash or
// a tokenizer that indexes past its tokens.
TEST(GgufVocab, InconsistentTokenizerKeysAreClearErrors) {
  test::TempDir dir;
  int n = 0;
  auto check = [&](const std::function<void(GgufWriter&)>& keys, const std::string& needle) {
    GgufWriter w;
    keys(w);
    const std::string path = dir / ("v" + std::to_string(n++) + ".gguf");
    w.write(path);
    test::expect_open_error([](const std::string& p) { (void)gguf_vocab_tokenizer(read_gguf_vocab(GgufFile(p)), p); }, path,
                            needle);
  };
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "a"};
  check([](GgufWriter&) {}, "no tokenizer");
  check([&](GgufWriter& w) { w.add_string("tokenizer.ggml.model", "bert"); }, "'bert'");
  check([&](GgufWriter& w) { w.add_string("tokenizer.ggml.model", "llama"); }, "tokenizer.ggml.tokens");
  check([&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", tokens);
    w.add_f32s("tokenizer.ggml.scores", {0.f, 0.f});
  }, "4 tokens, 2 scores");
  check([&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", tokens);
    w.add_i32s("tokenizer.ggml.token_type", {1, 1, 1, 9});
  }, "unknown token type 9");
  check([&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", tokens);
    w.add_u32("tokenizer.ggml.eos_token_id", 4);
  }, "past the 4 tokens");
  check([&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "a", "a"});
  }, "appears twice");
  check([&](GgufWriter& w) {
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "falcon");
    w.add_strings("tokenizer.ggml.tokens", tokens);
  }, "'falcon'");
  check([&](GgufWriter& w) {  // a token that is not UTF-8 cannot be a tokenizer.json key
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "llama-bpe");
    w.add_strings("tokenizer.ggml.tokens", {"a", "\xff\xfe"});
  }, "cannot be rebuilt");
}

}  // namespace mixq::io
