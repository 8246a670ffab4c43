#include "mixq/formats/packed_tensor.hpp"

#include "mixq/core/error.hpp"

namespace mixq::formats {

const PackedPart& PackedTensor::part(const std::string& suffix) const {
  for (const auto& p : parts)
    if (p.suffix == suffix) return p;
  fail(format, "packed tensor has no part '{}'", suffix);
}

size_t PackedTensor::total_bytes() const {
  size_t n = 0;
  for (const auto& p : parts) n += p.bytes.size();
  return n;
}

void PackedTensor::release_pages() const {
  for (const auto& p : parts) p.bytes.release_pages();
}

}  // namespace mixq::formats
