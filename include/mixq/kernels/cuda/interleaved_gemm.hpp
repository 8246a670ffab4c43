#pragma once
// The interleaved layout (kernels/interleaved.hpp) on an NVIDIA GPU: the same code planes and
// scales copied to device memory once, and a GEMM/GEMV kernel on fp32 activations. Built only when
// CMake finds nvcc (library mixq_cuda); this header needs no CUDA headers, and nothing in the CPU
// build depends on it.
#include <cstddef>
#include <memory>
#include <string>

#include "mixq/kernels/interleaved.hpp"

namespace mixq::kernels::cuda {

// Number of CUDA devices: 0 without a GPU or a driver (the tests then skip); an Error when the
// runtime fails otherwise (the tests then fail).
int device_count();
// "NVIDIA H100 80GB HBM3, sm_90, 80.0 GiB" for device 0.
std::string device_name();

// Bytes read per second by a device-to-device copy of `bytes` (best of 5; the copy also writes as
// many): the memory-read figure the GEMV rate is set beside.
double measure_copy_bandwidth_gbs(size_t bytes = size_t(512) << 20);

class DeviceInterleaved {
 public:
  // Copies w's planes, chunk table, scales and offsets to the current device.
  explicit DeviceInterleaved(const InterleavedWeights& w);
  ~DeviceInterleaved();
  DeviceInterleaved(const DeviceInterleaved&) = delete;
  DeviceInterleaved& operator=(const DeviceInterleaved&) = delete;

  // Y[n][rows] = X[n][cols] Ŵᵀ (host arrays; copies in and out, synchronous).
  void gemm(const float* x, size_t n, float* y) const;
  // Kernel time alone for n tokens already on the device, mean over `reps` launches (CUDA events).
  double time_gemm_ms(size_t n, int reps) const;
  // Bytes one launch reads from device memory for the weights.
  size_t weight_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mixq::kernels::cuda
