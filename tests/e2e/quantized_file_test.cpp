// The quantized model file and the packed kernels on real weights: what is saved is what runs,
// a damaged file is refused clearly, and the fast path agrees with the scalar reference.
#include <gtest/gtest.h>

#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/rtn.hpp"
#include "mixq/quant/model_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq::quant {
namespace {

bool is_linear(const std::string& name) { return name.find("_proj.weight") != std::string::npos; }

std::vector<float> random_inputs(size_t n, uint32_t seed) {
  std::vector<float> x(n);
  uint32_t s = seed;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    v = float(int32_t(s >> 8) % 2001 - 1000) / 500.f;
  }
  return x;
}

// stories260K with every decoder linear RTN-quantized, written to `path`; returns its logits on a prompt.
std::vector<float> quantize_and_save(const std::string& path, const MethodOptions& o) {
  auto m = test::load_model(test::repo_model_path("stories260K/stories260K.bin"));
  quantize_with_record(*m.model, {}, o);
  save_quantized_model(path, *m.model, *m.tok, {method_options_json(o), {}, 0});
  const std::vector<int> prompt = m.tok->encode("Once upon a time, a cat", true);
  model::KvCache cache(m.model->config(), 64);
  std::vector<float> logits(prompt.size() * size_t(m.model->config().vocab_size));
  m.model->forward(prompt, 0, cache, logits.data(), true);
  return logits;
}

// Copies src to dst through `edit`. Without keep_checksums the edited file gets fresh checksums,
// so the structural checks behind them are what a damaged file meets.
void rewrite(const std::string& src, const std::string& dst,
             const std::function<void(std::vector<io::TensorToWrite>&, std::map<std::string, std::string>&)>& edit,
             bool keep_checksums = false) {
  io::SafetensorsFile f(src);
  std::vector<io::TensorToWrite> tensors;
  for (const auto& e : f.entries()) tensors.push_back({e.name, e.dtype, e.shape, {e.bytes.begin(), e.bytes.end()}});
  auto meta = f.metadata();
  edit(tensors, meta);
  if (!keep_checksums) add_checksums(tensors, meta);
  io::write_safetensors(dst, tensors, meta);
}

// The model quantized with RTN 3-bit g32, saved at `path`: the file the damage tests start from.
void save_rtn3(const std::string& path) {
  MethodOptions o;
  o.method = "rtn";
  o.params = UniformOptions{{3, 32, false}};
  quantize_and_save(path, o);
}

void expect_load_error(const std::string& path, const std::string& needle) {
  try {
    load_quantized_model(path, 1);
    ADD_FAILURE() << "loaded a damaged file; expected an error containing: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

// The SIMD/BLAS path of PackedLinear against each format's scalar reference, on the first and last
// layers' linears of tinystories5M for every format and bit-width, for one token (GEMV) and a
// batch (GEMM); fp32 summation order differs, so the tolerance is relative to Σ|w||x|, plus the
// int8 rounding of the activations for one token. The
// result is also identical for 1 and 2 threads.
TEST(PackedKernel, MatchesScalarReferenceOnRealLayersOfTinyStories5M) {
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  const io::Checkpoint ck = io::load_checkpoint(test::model_file(test::kRealModels[1]));
  ThreadPool one(1), two(2);
  int checked = 0, interleaved = 0;
  const char* specs[] = {"rtn:2:128", "rtn:3:64", "rtn:4:128", "rtn:8:row", "fineq-rtn:row", "fineq-rtn:96+int3-fine+int2-sym"};
  for (const char* spec : specs)
    for (const auto& [name, w] : ck.tensors) {
      const std::string last = "layers." + std::to_string(ck.config.n_layers - 1) + ".";
      if (!is_linear(name) || (name.find("layers.0.") == std::string::npos && name.find(last) == std::string::npos))
        continue;
      const MethodOptions o = parse_method_spec(spec);
      const model::PackedLinear lin(method_info(o.method).quantize(w, {}, o));
      const auto& ops = formats::format_ops(lin.packed().format);
      ++checked;
      interleaved += lin.interleaved() != nullptr;
      for (size_t n : {size_t(1), size_t(5)}) {
        const auto x = random_inputs(n * lin.cols(), uint32_t(checked * 100 + n));
        std::vector<float> y1(n * lin.rows()), y2(y1.size()), ref(y1.size()), wrow(lin.cols());
        lin.forward(x.data(), n, y1.data(), one);
        lin.forward(x.data(), n, y2.data(), two);
        EXPECT_EQ(y1, y2) << name;
        ops.gemm_reference(lin.packed(), x.data(), n, ref.data(), 0, int64_t(lin.rows()));
        // One token runs the interleaved kernel on int8 activations: each x moves by at most half
        // its 16-column block's step, at most max|x| / 254.
        const bool int8_x = lin.interleaved() != nullptr && n == 1;
        float xmax = 0;
        for (float v : x) xmax = std::max(xmax, std::fabs(v));
        for (size_t r = 0; r < lin.rows(); ++r) {
          ops.dequantize_rows(lin.packed(), int64_t(r), int64_t(r) + 1, wrow.data());
          for (size_t k = 0; k < n; ++k) {
            double mag = 0, wabs = 0;
            for (size_t i = 0; i < lin.cols(); ++i) {
              mag += std::fabs(wrow[i] * x[k * lin.cols() + i]);
              wabs += std::fabs(wrow[i]);
            }
            const double tol = 1e-5 * mag + 1e-6 + (int8_x ? wabs * xmax / 254 : 0);
            ASSERT_NEAR(y1[k * lin.rows() + r], ref[k * lin.rows() + r], tol) << spec << " " << name;
          }
        }
        if (int8_x) {  // and the SIMD kernel against the layout's own scalar reference
          kernels::QuantizedActivations a;
          lin.interleaved()->quantize(x.data(), a);
          lin.interleaved()->gemv_reference(a, ref.data(), 0, int64_t(lin.rows()));
          for (size_t r = 0; r < lin.rows(); ++r) ASSERT_NEAR(y1[r], ref[r], 1e-4 * std::fabs(ref[r]) + 1e-5) << spec;
        }
      }
    }
  EXPECT_EQ(checked, 6 * 14);
  EXPECT_GT(interleaved, 5 * 14 - 1);  // every format but 8-bit uniform runs the interleaved kernel  // 6 formats × 7 linears × the first and the last layer
}

// Save → load gives the same model: identical logits, the tokenizer embedded, the measured
// bits/weight recorded; the F16 export evaluates to nearly the same numbers.
TEST(QuantizedFile, RoundTripGivesIdenticalLogitsWithNothingElseOnDisk) {
  test::TempDir dir;
  MethodOptions o;
  o.method = "rtn";
  o.params = UniformOptions{{4, 32, false}};
  const auto expected = quantize_and_save(dir / "q.safetensors", o);
  ASSERT_TRUE(is_quantized_model_file(dir / "q.safetensors"));
  EXPECT_FALSE(is_quantized_model_file(test::repo_model_path("stories260K/stories260K.bin")));

  QuantizedModel q = load_quantized_model(dir / "q.safetensors", 2);
  const std::vector<int> prompt = q.tokenizer->encode("Once upon a time, a cat", true);
  EXPECT_EQ(q.tokenizer->decode_all(prompt), "Once upon a time, a cat");
  model::KvCache cache(q.model->config(), 64);
  std::vector<float> logits(expected.size());
  q.model->forward(prompt, 0, cache, logits.data(), true);
  EXPECT_EQ(logits, expected);
  EXPECT_EQ(q.record.method.at("spec"), "rtn:4:32");
  // The batch dropped the packed pages it read (the one-token kernel has its own copy): the next
  // batch reads them back and gives the same logits.
  model::KvCache again(q.model->config(), 64);
  q.model->forward(prompt, 0, again, logits.data(), true);
  EXPECT_EQ(logits, expected);

  // bits/weight from the bytes actually stored in the file's packed tensors.
  io::SafetensorsFile f(dir / "q.safetensors");
  size_t bytes = 0;
  int64_t weights = 0;
  for (const auto& [name, t] : read_packed_tensors(f)) {
    for (const auto& part : t.parts) {  // read in place: the parts are the mapping's bytes, not a copy
      EXPECT_TRUE(part.bytes.mapped()) << name;
      EXPECT_EQ(part.bytes.data(), f.at(name + "." + part.suffix).bytes.data()) << name;
      EXPECT_EQ(part.bytes.size(), f.at(name + "." + part.suffix).bytes.size());
    }
    bytes += t.total_bytes();
    weights += t.rows * t.cols;
  }
  EXPECT_EQ(weights, 5 * (64 * 64 * 2 + 32 * 64 * 2 + 172 * 64 * 3));
  EXPECT_NEAR(q.bits_per_weight, 8.0 * double(bytes) / double(weights), 1e-5);

  io::save_hf_dir(dequantized_checkpoint(std::move(q), dir / "q.safetensors"), dir / "hf", io::DType::F32);
  auto hf = test::load_model(dir / "hf");
  std::vector<float> hf_logits(expected.size());
  model::KvCache cache2(hf.model->config(), 64);
  hf.model->forward(prompt, 0, cache2, hf_logits.data(), true);
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(hf_logits[i], expected[i], 1e-3);
}

TEST(QuantizedFile, DamagedFilesAreRefusedClearly) {
  test::TempDir dir;
  const std::string good = dir / "q.safetensors", bad = dir / "bad.safetensors";
  save_rtn3(good);
  const std::string wq = io::names::wq(2);

  rewrite(good, bad, [&](auto&, auto& meta) {  // the format claims 4 bits; the codes hold 3
    meta["mixq.format." + wq] = R"({"format":"uniform","params":{"bits":4,"group":32,"symmetric":false},"shape":[64,64]})";
  });
  expect_load_error(bad, "part 'codes'");
  rewrite(good, bad, [&](auto& tensors, auto&) {  // a part missing
    std::erase_if(tensors, [&](const auto& t) { return t.name == wq + ".zeros"; });
  });
  expect_load_error(bad, "zeros");
  rewrite(good, bad, [&](auto& tensors, auto&) {  // a non-finite scale
    for (auto& t : tensors)
      if (t.name == wq + ".scales") t.bytes[0] = 0x00, t.bytes[1] = 0x7c;  // fp16 +Inf
  });
  expect_load_error(bad, "non-finite");
  rewrite(good, bad, [&](auto&, auto& meta) { meta["mixq.format." + wq] = R"({"format":"nf4"})"; });
  expect_load_error(bad, "unknown packed format 'nf4'");
  rewrite(good, bad, [&](auto&, auto& meta) {  // a packed tensor the model does not have
    meta["mixq.format.model.layers.9.mlp.up_proj.weight"] = meta.at("mixq.format." + wq);
  });
  expect_load_error(bad, "model.layers.9");
  rewrite(good, bad, [&](auto&, auto& meta) { meta["mixq.version"] = "99"; });
  expect_load_error(bad, "version 99");
  rewrite(good, bad, [&](auto& tensors, auto&) {
    std::erase_if(tensors, [&](const auto& t) { return t.name == "mixq.tokenizer"; });
  });
  expect_load_error(bad, "mixq.tokenizer");
}

// Every tensor's bytes and the whole header are checksummed: one flipped bit in the codes (which
// would still decode to a valid-looking model) or in a metadata value (rms_norm_eps) is refused on
// load and reported by verify_checksums; a file whose checksums were removed is refused too.
TEST(QuantizedFile, ChecksumsCatchSilentDamage) {
  test::TempDir dir;
  const std::string good = dir / "q.safetensors", bad = dir / "bad.safetensors";
  save_rtn3(good);
  for (const auto& c : verify_checksums(io::SafetensorsFile(good))) EXPECT_TRUE(c.ok) << c.name << " " << c.detail;
  const std::string codes = io::names::wq(1) + ".codes";
  rewrite(good, bad, [&](auto& tensors, auto&) {
    for (auto& t : tensors)
      if (t.name == codes) t.bytes[5] ^= 0x10;
  }, true);
  expect_load_error(bad, "'" + codes + "' is corrupted");
  std::vector<std::string> damaged;
  for (const auto& c : verify_checksums(io::SafetensorsFile(bad)))
    if (!c.ok) damaged.push_back(c.name);
  EXPECT_EQ(damaged, std::vector<std::string>{codes});

  rewrite(good, bad, [&](auto&, auto& meta) {
    std::string& config = meta.at("mixq.config");
    const size_t at = config.find("rms_norm_eps\": ") + 16;
    ASSERT_LT(at, config.size());
    config[at] ^= 0x01;  // one bit of the value's first digit
  }, true);
  expect_load_error(bad, "the header is corrupted");
  damaged.clear();
  for (const auto& c : verify_checksums(io::SafetensorsFile(bad)))
    if (!c.ok) damaged.push_back(c.name);
  EXPECT_EQ(damaged, std::vector<std::string>{"(header)"});

  for (const char* key : {"mixq.checksums", "mixq.header_checksum"}) {
    rewrite(good, bad, [&](auto&, auto& meta) { meta.erase(key); }, true);
    expect_load_error(bad, std::string("metadata has no '") + key + "'");
    EXPECT_THROW(verify_checksums(io::SafetensorsFile(bad)), Error);
  }
}

}  // namespace mixq::quant
