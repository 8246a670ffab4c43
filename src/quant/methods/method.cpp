#include "mixq/quant/methods/method.hpp"

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/rtn.hpp"

namespace mixq::quant {
namespace {

PackedTensor rtn_method(const Tensor& w, const std::vector<double>&, const MethodOptions& o) {
  return quantize_rtn(w, {o.format, o.mse_clip});
}

constexpr MethodInfo kMethods[] = {
    {"rtn", false, &rtn_method},
    {"gptq", true, &quantize_gptq},
};

}  // namespace

const MethodInfo& method_info(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return m;
  fail("--method", "unknown method '{}' (rtn, gptq)", name);
}

}  // namespace mixq::quant
