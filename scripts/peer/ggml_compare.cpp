// The oracle for mixq's GGUF import: ggml's own decoder (ggml_get_type_traits()->to_float, the
// code llama.cpp dequantizes with) applied to every tensor of a GGUF, compared value for value
// with the tensors of the same names in a second GGUF that mixq wrote as F32 after importing the
// first. Built and run by scripts/peer/gguf_vs_llamacpp.sh against the llama.cpp build of
// scripts/peer/llamacpp.sh. Prints one line per ggml type: tensors, values, values that differ,
// largest difference relative to the tensor's largest magnitude; exits 1 when any value differs.
// Usage: ggml_compare SOURCE.gguf MIXQ_F32.gguf
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"

namespace {

struct Loaded {
  gguf_context* gguf = nullptr;
  ggml_context* ctx = nullptr;
};

Loaded load(const char* path) {
  Loaded l;
  gguf_init_params params{/*no_alloc=*/false, &l.ctx};
  l.gguf = gguf_init_from_file(path, params);
  if (!l.gguf) {
    std::fprintf(stderr, "ggml_compare: cannot read %s\n", path);
    std::exit(2);
  }
  return l;
}

std::vector<float> to_float(const ggml_tensor* t) {
  std::vector<float> out(size_t(ggml_nelements(t)));
  if (t->type == GGML_TYPE_F32) std::memcpy(out.data(), t->data, out.size() * sizeof(float));  // no to_float
  else ggml_get_type_traits(t->type)->to_float(t->data, out.data(), ggml_nelements(t));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ggml_compare SOURCE.gguf MIXQ_F32.gguf\n");
    return 2;
  }
  const Loaded src = load(argv[1]), ours = load(argv[2]);
  struct Stats {
    int tensors = 0;
    size_t values = 0, differ = 0;
    double worst = 0;
  };
  std::map<std::string, Stats> by_type;
  for (int64_t i = 0; i < gguf_get_n_tensors(src.gguf); ++i) {
    const ggml_tensor* t = ggml_get_tensor(src.ctx, gguf_get_tensor_name(src.gguf, i));
    const ggml_tensor* o = ggml_get_tensor(ours.ctx, ggml_get_name(t));
    if (!o || ggml_nelements(o) != ggml_nelements(t)) {
      std::fprintf(stderr, "ggml_compare: tensor %s is missing or has another size in %s\n", ggml_get_name(t), argv[2]);
      return 1;
    }
    const std::vector<float> a = to_float(t), b = to_float(o);
    Stats& s = by_type[ggml_type_name(t->type)];
    ++s.tensors;
    float peak = 0;
    for (float v : a) peak = std::fmax(peak, std::fabs(v));
    for (size_t i = 0; i < a.size(); ++i) {
      ++s.values;
      if (a[i] != b[i]) {
        ++s.differ;
        s.worst = std::fmax(s.worst, std::fabs(double(a[i]) - b[i]) / (peak > 0 ? peak : 1));
      }
    }
  }
  size_t differ = 0;
  for (const auto& [type, s] : by_type) {
    std::printf("%-6s %3d tensors %10zu values %8zu differ (largest %.2e of the tensor's peak)\n", type.c_str(), s.tensors,
                s.values, s.differ, s.worst);
    differ += s.differ;
  }
  return differ ? 1 : 0;
}
