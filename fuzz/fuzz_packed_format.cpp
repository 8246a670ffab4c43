// Every packed format's loader: a formats::PackedTensor assembled from the input (format, parameter JSON,
// shape, parts with dtype/shape/bytes) goes through the format's validate(); when it passes,
// every decoder must stay in bounds: dequantize_rows, the scalar GEMM, the code histogram and
// the interleaved repack with its GEMV.
#include <algorithm>
#include <vector>

#include "fuzz_input.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/kernels/interleaved.hpp"

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  uint32_t take(int bytes) {  // little-endian; zeros past the end
    uint32_t v = 0;
    for (int i = 0; i < bytes && n > 0; ++i, ++p, --n) v |= uint32_t(*p) << (8 * i);
    return v;
  }
  std::string str(size_t len) {
    len = std::min(len, n);
    std::string s(reinterpret_cast<const char*>(p), len);
    p += len, n -= len;
    return s;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mixq;
  static const char* const kSuffixes[] = {"codes", "scales", "zeros", "widths"};
  static const io::DType kDTypes[] = {io::DType::U8, io::DType::F16, io::DType::F32, io::DType::I32};
  Reader in{data, size};
  formats::PackedTensor t;
  const auto formats = formats::all_formats();  // every registered format
  t.format = formats[in.take(1) % formats.size()].name;
  fuzz::expect_clean([&] {
    t.params = formats::format_ops(t.format).parse_params(
        nlohmann::json::parse(in.str(in.take(1)), nullptr, /*allow_exceptions=*/false));
    t.rows = int64_t(in.take(1)) - 8;  // a few negative shapes too
    t.cols = int64_t(in.take(2)) - 8;
    for (int parts = int(in.take(1) % 5); parts > 0; --parts) {
      formats::PackedPart part{kSuffixes[in.take(1) % 4], kDTypes[in.take(1) % 4], {}, {}};
      part.shape = {int64_t(in.take(2)), int64_t(in.take(2))};
      const std::string bytes = in.str(in.take(3) % (1 << 16));
      part.bytes = std::vector<uint8_t>(bytes.begin(), bytes.end());
      t.parts.push_back(std::move(part));
    }
    const auto& ops = formats::format_ops(t.format);
    ops.validate(t);  // what a loaded file goes through after its parameters parse
    (void)ops.code_histogram(t);
    (void)ops.layout(t);
    std::vector<float> w(size_t(t.rows * t.cols)), x(size_t(t.cols), 1.f), y(size_t(t.rows));
    ops.dequantize_rows(t, 0, t.rows, w.data());
    ops.gemm_reference(t, x.data(), 1, y.data(), 0, t.rows);
    const formats::AffineForm form = ops.affine_form(t);
    if (kernels::InterleavedWeights::supports(form)) {
      const kernels::InterleavedWeights iw(form, t.rows, t.cols);
      kernels::QuantizedActivations a;
      iw.quantize(x.data(), a);
      iw.gemv(a, y.data(), 0, t.rows);
    }
  });
  return 0;
}
