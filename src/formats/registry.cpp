#include "mixq/formats/registry.hpp"

#include "mixq/core/error.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::formats {
namespace {

template <PackedFormat Format>
std::any parse_params(const nlohmann::json& j) {
  return Format::Params::from_json(j);
}

template <PackedFormat Format>
nlohmann::json params_json(const PackedTensor& t) {
  return t.params_as<typename Format::Params>().to_json();
}

template <PackedFormat Format>
constexpr FormatOps ops_of() {
  return {Format::name.data(),     &parse_params<Format>, &params_json<Format>,     &Format::validate,
          &Format::code_histogram, &Format::code_label,   &Format::layout,          &Format::dequantize_rows,
          &Format::gemm_reference, &Format::affine_form,  &Format::stored_bytes,    &Format::random,
          &Format::ggml_blocks};
}

static_assert(PackedFormat<UniformFormat>);
static_assert(PackedFormat<FineqFormat>);
static_assert(PackedFormat<SlimFormat>);
constexpr FormatOps kFormats[] = {
    ops_of<UniformFormat>(),
    ops_of<FineqFormat>(),
    ops_of<SlimFormat>(),
};

}  // namespace

std::span<const FormatOps> all_formats() { return kFormats; }

const FormatOps& format_ops(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f;
  fail("format registry", "unknown packed format '{}'", name);
}

}  // namespace mixq::formats
