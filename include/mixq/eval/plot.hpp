#pragma once
// A dependency-free SVG chart of perplexity against measured bits/weight: one curve per method
// (the config up to its first ':'), the fp32 perplexity as a dashed line. Log-scale y, since 2-bit
// models can be 100× worse than 4-bit ones.
#include <string>
#include <vector>

#include "mixq/eval/compare.hpp"

namespace mixq::eval {

std::string ppl_vs_bits_svg(const std::vector<CompareRow>& rows, const std::string& title);

}  // namespace mixq::eval
