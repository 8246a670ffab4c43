#pragma once
// A packed tensor as one of ggml's block types, where its grid is exactly that type's: every
// weight llama.cpp decodes from the blocks equals, bit for bit, the weight mixq decodes from the
// tensor. The GGUF export writes these; a format with no exact mapping says why.
#include <optional>
#include <string>

#include "mixq/io/gguf.hpp"

namespace mixq::formats {

// rows × (cols / 32) blocks, row after row.
using GgmlBlocks = io::GgmlTensorBytes;

}  // namespace mixq::formats
