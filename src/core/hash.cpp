#include "mixq/core/hash.hpp"

#include <fmt/format.h>

namespace mixq {

std::string fnv1a64_label(uint64_t h) { return fmt::format("fnv1a64:{:016x}", h); }

}  // namespace mixq
