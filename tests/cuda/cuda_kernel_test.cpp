// The CUDA kernel on the interleaved layout against each format's scalar reference, on every
// linear of tinystories5M's first and last layers (one token and a batch). Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "mixq/formats/registry.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/kernels/cuda/interleaved_gemm.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/method.hpp"
#include "test_paths.hpp"

namespace mixq::kernels::cuda {
namespace {

TEST(CudaKernel, MatchesTheScalarReferenceOnRealLayersOfTinyStories5M) {
  if (device_count() == 0) GTEST_SKIP() << "no CUDA device";
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  std::cout << "device: " << device_name() << "\n";
  const io::Checkpoint ck = io::load_checkpoint(test::model_file(test::kRealModels[1]));
  int checked = 0;
  for (const char* spec : {"rtn:2:128", "rtn:3:64", "rtn:4:32", "fineq-rtn:row"})
    for (const auto& [name, w] : ck.tensors) {
      if (name.find("_proj.weight") == std::string::npos || name.find("layers.0.") == std::string::npos) continue;
      const auto o = quant::parse_method_spec(spec);
      const model::PackedLinear lin(quant::method_info(o.method).quantize(w, {}, o));
      ASSERT_NE(lin.interleaved(), nullptr) << spec;
      const DeviceInterleaved dev(*lin.interleaved());
      for (size_t n : {size_t(1), size_t(11)}) {
        std::vector<float> x(n * lin.cols()), y(n * lin.rows()), ref(y.size());
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) * (i % 61 == 0 ? 8.f : 1.f);
        dev.gemm(x.data(), n, y.data());
        formats::format_ops(lin.packed().format).gemm_reference(lin.packed(), x.data(), n, ref.data(), 0, int64_t(lin.rows()));
        for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-4 * (1 + std::fabs(ref[i]))) << spec << " " << name;
      }
      ++checked;
    }
  EXPECT_EQ(checked, 4 * 7);
}

}  // namespace
}  // namespace mixq::kernels::cuda
