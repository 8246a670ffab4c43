#include "mixq/formats/registry.hpp"

#include "mixq/core/error.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::formats {
namespace {

template <typename Format>
constexpr FormatOps ops_of() {
  return {Format::name.data(),     &Format::validate,        &Format::code_histogram, &Format::code_label,
          &Format::layout,          &Format::dequantize_rows, &Format::gemm_reference,
          &Format::affine_form};
}

constexpr FormatOps kFormats[] = {
    ops_of<UniformFormat>(),
    ops_of<FineqFormat>(),
    ops_of<SlimFormat>(),
};

}  // namespace

const FormatOps& format_ops(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f;
  fail("format registry", "unknown packed format '{}'", name);
}

}  // namespace mixq::formats
