#pragma once
// Next-token sampling exactly as llama2.c's run.c: greedy at temperature 0, otherwise softmax
// at the temperature and top-p (nucleus) sampling driven by run.c's xorshift RNG, so the same
// seed reproduces run.c's samples.
#include <cstdint>
#include <vector>

namespace mixq::model {

struct SamplerOptions {
  float temperature = 0.f;
  float top_p = 0.9f;
  uint64_t seed = 42;
};

class Sampler {
 public:
  Sampler(int vocab_size, SamplerOptions options);
  // Picks a token from `logits` (modified in place).
  int sample(float* logits);

 private:
  float random_f32();
  int vocab_size_;
  SamplerOptions opt_;
  uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;
};

}  // namespace mixq::model
