#pragma once
// Speed figures printed beside their limit, measured in the same run: the machine's memory-read
// bandwidth (a STREAM-like probe) and the model's prompt and decode throughput.
#include <cstddef>

#include "mixq/core/thread_pool.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::eval {

// Best-of-`reps` read bandwidth in GB/s (1e9 bytes/s) over a buffer of `bytes`, all threads reading:
// the faster of one stream per thread (a dot product) and the fp32 GEMV (several rows per thread).
double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t(256) << 20, int reps = 5);

struct SpeedResult {
  int prompt_tokens = 0, decode_tokens = 0;
  double prompt_tokens_per_second = 0, decode_tokens_per_second = 0;
  size_t weight_bytes = 0;  // read per decode step
  double decode_gbs() const { return double(weight_bytes) * decode_tokens_per_second / 1e9; }
};

// Times one prompt of `prompt_tokens` and `decode_tokens` single-token steps (best of `reps`).
SpeedResult measure_speed(model::LlamaModel& model, int prompt_tokens, int decode_tokens, int reps = 3);

}  // namespace mixq::eval
