// GEMM on the interleaved layout for NVIDIA GPUs. One warp per output row: lane i of the warp takes
// the (chunk, u16 lane) items i, i + 32, … of the row, decodes the item's 8 slots exactly as the
// CPU kernel does (shift, mask, OR of the planes), multiplies them with the fp32 activations in slot
// order and applies the weight scale of the item's 32-column sub-block; a warp shuffle sums the
// lanes and lane 0 adds the offsets (Σ_g offset · Σ x of the group). Consecutive lanes read
// consecutive 16-bit words of a plane, so a warp's loads coalesce. Tokens loop inside the warp, so
// the row's codes are read from DRAM once per launch and from L1/L2 for the other tokens.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "mixq/kernels/cuda/interleaved_gemm.hpp"

namespace mixq::kernels::cuda {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(fmt::format("cuda: {}: {}", what, cudaGetErrorString(e)));
}

struct DeviceChunk {
  int bits, tile_offset;  // row r's planes: in tile r / 8, block at tile_offset, plane_offsets(bits, r % 8)
  int group[4];
};

template <typename T>
T* upload(const T* host, size_t n) {
  T* d = nullptr;
  check(cudaMalloc(&d, n * sizeof(T) + 1), "cudaMalloc");
  if (n) check(cudaMemcpy(d, host, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to device");
  return d;
}

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxTokens = 8;  // tokens per launch; larger batches run in several launches

__device__ unsigned slot_code(int bits, unsigned lo, unsigned hi, unsigned top, int k) {
  switch (bits) {
    case 1: return (top >> k) & 1u;
    case 2: return (lo >> (2 * k)) & 3u;
    case 3: return ((lo >> (2 * k)) & 3u) | (((top >> k) & 1u) << 2);
    default: return ((lo >> (2 * k)) & 3u) | (((hi >> (2 * k)) & 3u) << 2);
  }
}

// x_slots[t][padded_cols] (slot order), group_sum[t][groups], y[t][rows].
__global__ void interleaved_gemm_kernel(const uint8_t* __restrict__ codes, long long tile_bytes,
                                        const DeviceChunk* __restrict__ chunks, int n_chunks,
                                        const float* __restrict__ scale, const float* __restrict__ offset, int groups,
                                        int rows, const float* __restrict__ x_slots, const float* __restrict__ group_sum,
                                        int n, float* __restrict__ y) {
  const int warp = int(blockIdx.x) * kWarpsPerBlock + int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  if (warp >= rows) return;
  const long long padded = (long long)n_chunks * 128;
  const uint8_t* tile = codes + (long long)(warp / kTileRows) * tile_bytes;
  const float* row_scale = scale + (long long)warp * groups;
  float acc[kMaxTokens] = {};
  for (int item = lane; item < n_chunks * 16; item += 32) {
    const int c = item / 16, h = item % 16;
    const DeviceChunk ch = chunks[c];
    const uint8_t* block = tile + ch.tile_offset;
    const PlaneOffsets at = plane_offsets(ch.bits, warp % int(kTileRows));
    const uint8_t *p_lo = block + at.lo, *p_hi = block + at.hi, *p_bit = block + at.bit;
    const unsigned lo = ch.bits >= 2 ? unsigned(p_lo[2 * h]) | unsigned(p_lo[2 * h + 1]) << 8 : 0u;
    const unsigned hi = ch.bits == 4 ? unsigned(p_hi[2 * h]) | unsigned(p_hi[2 * h + 1]) << 8 : 0u;
    const unsigned top = ch.bits % 2 ? unsigned(p_bit[h]) : 0u;
    const float s = row_scale[ch.group[(h >> 1) & 3]];
    for (int t = 0; t < n; ++t) {
      const float* xs = x_slots + t * padded + c * 128 + h;
      float dot = 0.f;
#pragma unroll
      for (int k = 0; k < 8; ++k) dot += float(slot_code(ch.bits, lo, hi, top, k)) * xs[k * 16];
      acc[t] += s * dot;
    }
  }
  for (int t = 0; t < n; ++t) {
    float v = acc[t];
    for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
    if (lane == 0) {
      float o = 0.f;  // the CPU's offset_term, in the same order
      for (int g = 0; g < groups; ++g) o += offset[(long long)warp * groups + g] * group_sum[t * groups + g];
      y[(long long)t * rows + warp] = v + o;
    }
  }
}

}  // namespace

struct DeviceInterleaved::Impl {
  InterleavedWeights::View v{};
  uint8_t* codes = nullptr;
  DeviceChunk* chunks = nullptr;
  float *scale = nullptr, *offset = nullptr;
  float *x = nullptr, *sums = nullptr, *y = nullptr;
  int64_t rows = 0, cols = 0, padded = 0;
  const InterleavedWeights* host = nullptr;

  void launch(int n, cudaStream_t stream = nullptr) const {
    const int blocks = int((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
    interleaved_gemm_kernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        codes, v.tile_bytes, chunks, int(v.n_chunks), scale, offset, int(v.groups), int(rows), x, sums, n, y);
    check(cudaGetLastError(), "kernel launch");
  }
};

double measure_copy_bandwidth_gbs(size_t bytes) {
  void *a = nullptr, *b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMemset(a, 1, bytes), "cudaMemset");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  double best = 0;
  for (int r = 0; r < 5; ++r) {
    check(cudaEventRecord(start), "cudaEventRecord");
    check(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy device to device");
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    best = std::max(best, double(bytes) / (double(ms) * 1e-3) / 1e9);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  return best;
}

int device_count() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  // No driver or no GPU is "none"; any other failure is a broken runtime, an Error.
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) return 0;
  check(e, "cudaGetDeviceCount");
  return n;
}

std::string device_name() {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  return fmt::format("{}, sm_{}{}, {:.1f} GiB", p.name, p.major, p.minor, double(p.totalGlobalMem) / (1 << 30));
}

DeviceInterleaved::DeviceInterleaved(const InterleavedWeights& w) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.v = w.view();
  d.host = &w;
  d.rows = w.rows();
  d.cols = w.cols();
  d.padded = w.padded_cols();
  std::vector<DeviceChunk> chunks(size_t(d.v.n_chunks));
  for (size_t c = 0; c < chunks.size(); ++c) {
    const InterleavedChunk& ch = d.v.chunks[c];
    chunks[c] = {ch.bits, ch.tile_offset, {}};
    for (int m = 0; m < 4; ++m) chunks[c].group[m] = ch.group[size_t(m)];
  }
  d.codes = upload(d.v.codes, size_t((d.rows + kTileRows - 1) / kTileRows * d.v.tile_bytes));
  d.chunks = upload(chunks.data(), chunks.size());
  d.scale = upload(d.v.scale, size_t(d.rows * d.v.groups));
  d.offset = upload(d.v.offset, size_t(d.rows * d.v.groups));
  check(cudaMalloc(&d.x, sizeof(float) * size_t(kMaxTokens * d.padded)), "cudaMalloc");
  check(cudaMalloc(&d.sums, sizeof(float) * size_t(kMaxTokens * d.v.groups + 1)), "cudaMalloc");
  check(cudaMalloc(&d.y, sizeof(float) * size_t(kMaxTokens * d.rows)), "cudaMalloc");
}

DeviceInterleaved::~DeviceInterleaved() {
  for (void* p : {static_cast<void*>(impl_->codes), static_cast<void*>(impl_->chunks), static_cast<void*>(impl_->scale),
                  static_cast<void*>(impl_->offset), static_cast<void*>(impl_->x), static_cast<void*>(impl_->sums),
                  static_cast<void*>(impl_->y)})
    cudaFree(p);
}

size_t DeviceInterleaved::weight_bytes() const { return impl_->host->bytes(); }

void DeviceInterleaved::gemm(const float* x, size_t n, float* y) const {
  const Impl& d = *impl_;
  std::vector<float> slots(size_t(kMaxTokens * d.padded)), sums(size_t(kMaxTokens * d.v.groups));
  std::vector<float> out(size_t(kMaxTokens * d.rows));
  for (size_t t0 = 0; t0 < n; t0 += kMaxTokens) {
    const size_t tn = std::min<size_t>(kMaxTokens, n - t0);
    for (size_t t = 0; t < tn; ++t) {
      d.host->permute(x + (t0 + t) * size_t(d.cols), &slots[t * size_t(d.padded)]);
      d.host->group_sums(x + (t0 + t) * size_t(d.cols), &sums[t * size_t(d.v.groups)]);
    }
    check(cudaMemcpy(d.x, slots.data(), sizeof(float) * tn * size_t(d.padded), cudaMemcpyHostToDevice), "copy x");
    check(cudaMemcpy(d.sums, sums.data(), sizeof(float) * tn * size_t(d.v.groups), cudaMemcpyHostToDevice), "copy sums");
    d.launch(int(tn));
    check(cudaMemcpy(out.data(), d.y, sizeof(float) * tn * size_t(d.rows), cudaMemcpyDeviceToHost), "copy y");
    std::copy_n(out.begin(), tn * size_t(d.rows), y + t0 * size_t(d.rows));
  }
}

double DeviceInterleaved::time_gemm_ms(size_t n, int reps) const {
  const Impl& d = *impl_;
  if (n < 1 || n > size_t(kMaxTokens)) throw std::runtime_error(fmt::format("cuda: time_gemm_ms: n must be 1…{}", kMaxTokens));
  check(cudaMemset(d.x, 0, sizeof(float) * n * size_t(d.padded)), "cudaMemset");
  check(cudaMemset(d.sums, 0, sizeof(float) * n * size_t(d.v.groups)), "cudaMemset");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  d.launch(int(n));  // warm-up
  check(cudaEventRecord(start), "cudaEventRecord");
  for (int r = 0; r < reps; ++r) d.launch(int(n));
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return double(ms) / reps;
}

}  // namespace mixq::kernels::cuda
