#include "mixq/io/stored_bytes.hpp"

#include <algorithm>

namespace mixq::io {

std::vector<uint8_t>& StoredBytes::edit() {
  if (file_) {
    held_.assign(mapped_.begin(), mapped_.end());
    file_.reset();
    mapped_ = {};
  }
  return held_;
}

void StoredBytes::release_pages() const {
  if (file_) file_->release(mapped_);
}

bool operator==(const StoredBytes& a, const StoredBytes& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace mixq::io
