#pragma once
// The options of the methods that write format `uniform` (rtn, gptq) and the parts of their table
// rows they share: the spec METHOD:BITS[:GROUP|row][+sym][+mse][+act-order][+true-seq].
#include <string>

#include <nlohmann/json.hpp>

#include "mixq/formats/uniform.hpp"
#include "mixq/quant/methods/method_row.hpp"

namespace mixq::quant {

struct UniformOptions {
  formats::UniformParams format;
};

void parse_uniform_options(const MethodArgs& args, MethodOptions& o);
std::string uniform_spec_tail(const MethodOptions& o);
void validate_uniform_options(const MethodOptions& o);
nlohmann::json uniform_params_json(const MethodOptions& o);
std::string uniform_label(const MethodOptions& o);

}  // namespace mixq::quant
