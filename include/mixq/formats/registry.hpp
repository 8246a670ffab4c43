#pragma once
// The format table (after ggml's type traits): one row per packed format, looked up by the name
// stored in the tensor. A new format is its own header and source (a struct satisfying
// PackedFormat below) plus one line in registry.cpp; tests/unit/format_contract_test.cpp then
// checks it with every other format.
#include <any>
#include <optional>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/formats/affine_form.hpp"
#include "mixq/formats/ggml_blocks.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

struct FormatOps {
  const char* name;
  // The format's parameters from a file's JSON, validated (Error naming the bad key), and back.
  std::any (*parse_params)(const nlohmann::json&);
  nlohmann::json (*params_json)(const PackedTensor&);
  // Error unless the parts are consistent with shape and parameters (run on every loaded tensor).
  void (*validate)(const PackedTensor&);
  std::vector<int64_t> (*code_histogram)(const PackedTensor&);
  std::string (*code_label)(size_t code);  // what histogram entry `code` counts
  // What varies inside the tensor beyond its parameters, in a few words ("" when nothing does):
  // slim's per-group widths, for `mixq inspect` and `mixq quantize -v`.
  std::string (*layout)(const PackedTensor&);
  // Rows [row_begin, row_end) as fp32, out[(r − row_begin) · cols + i].
  void (*dequantize_rows)(const PackedTensor&, int64_t row_begin, int64_t row_end, float* out);
  // Scalar reference Y[n][rows] = X[n][cols] Ŵᵀ for output rows [row_begin, row_end): the
  // specification faster kernels are tested against.
  void (*gemm_reference)(const PackedTensor&, const float* x, size_t n, float* y, int64_t row_begin, int64_t row_end);
  // The tensor as codes with an affine map per (row, group), for the fast kernels; the returned
  // decoder refers to the tensor, which must outlive it.
  AffineForm (*affine_form)(const PackedTensor&);
  // The bytes its shape and parameters call for (bits/weight are counted from these), and a valid
  // tensor of random codes and parameters drawn from a seed (the contract test's input).
  size_t (*stored_bytes)(const PackedTensor&);
  PackedTensor (*random)(int64_t rows, int64_t cols, uint64_t seed);
  // The tensor as ggml blocks when its grid is exactly a ggml type's (formats/ggml_blocks.hpp);
  // nullopt, with *why saying what differs, when it is not.
  std::optional<GgmlBlocks> (*ggml_blocks)(const PackedTensor&, std::string* why);
};

// What a row of the table needs of a format: checked by a static_assert beside each row.
template <typename F>
concept PackedFormat = requires(const PackedTensor& t, const typename F::Params& p, const nlohmann::json& j,
                                const float* x, float* y, int64_t row, size_t n, uint64_t seed, std::string why) {
  { F::name } -> std::convertible_to<std::string_view>;
  { F::Params::from_json(j) } -> std::same_as<typename F::Params>;
  { p.to_json() } -> std::same_as<nlohmann::json>;
  { p.validate() } -> std::same_as<void>;
  { F::validate(t) } -> std::same_as<void>;
  { F::code_histogram(t) } -> std::same_as<std::vector<int64_t>>;
  { F::code_label(n) } -> std::same_as<std::string>;
  { F::layout(t) } -> std::same_as<std::string>;
  { F::dequantize_rows(t, row, row, y) } -> std::same_as<void>;
  { F::gemm_reference(t, x, n, y, row, row) } -> std::same_as<void>;
  { F::affine_form(t) } -> std::same_as<AffineForm>;
  { F::ggml_blocks(t, &why) } -> std::same_as<std::optional<GgmlBlocks>>;
  { F::stored_bytes(t) } -> std::same_as<size_t>;
  { F::random(row, row, seed) } -> std::same_as<PackedTensor>;
};

// Every registered format, in table order: the one list the CLI, tests and fuzzers read.
std::span<const FormatOps> all_formats();

// The entry for `name`, or Error naming the unknown format.
const FormatOps& format_ops(const std::string& name);

}  // namespace mixq::formats
