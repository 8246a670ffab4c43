#pragma once
// Cycle-level model of a weight-stationary R×C systolic array (docs/DESIGN.md "Array and dataflow") running one FineQ
// layer on int8 activations, with pluggable processing elements:
//   baseline  int8 × int4 multiplier + accumulator: one weight per beat;
//   select    FineQ temporal (a): a 2-bit "multiplier" selects 0, ±x or −2x; INT2 codes take one
//             step, INT3 codes q = 4·hi + lo (lo the sign-extended low 2 bits, hi ∈ {−1,0,1})
//             take two (lo·x, then hi·4x) — the same 2-bit select twice, scheduled by the
//             cluster index;
//   unary     FineQ temporal (b): |q| pulses of ±x into the accumulator, an adder only.
// Every model computes x·h exactly (h the weight in half-steps: INT2 unit·q + offset, INT3
// unit·q; ×unit is a wired shift, +offset one add), so the array's int32 outputs equal the
// reference integer GEMM bit for bit.
//
// Timing. Tile (k0, n0) holds W[n0+c][k0+r] in PE(r, c). Token t's activation a[t][k0+r] enters
// row r at beat t + r and moves one PE right per beat; partial sums move one PE down per beat, so
// column c delivers token t's sum at beat t + R − 1 + c: a tile streams T tokens in T + R + C − 2
// beats. All PEs advance in lockstep: a beat lasts as many clock cycles as the slowest PE's
// weight needs (baseline 1; select 2 when the tile holds an INT3 code; unary max|q| + offset).
// Loading a tile's weights takes R cycles (hidden behind the previous tile with
// overlap_weight_load). Partial sums of successive K tiles accumulate in the output buffer.
// Output-stationary (dataflow "os"): PE(r, c) keeps token t0+r's output n0+c; activations move
// right and weights move down, meeting on index k at beat k + r + c: K + R + C − 2 beats per
// tile plus R cycles to shift the sums out; weights are re-read once per token tile.
#include <cstdint>
#include <string>
#include <vector>

#include "mixq/accel/accel_config.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::accel {

// A FineQ layer as the array sees it: every weight's code and kind, and its integer value.
struct AccelLayer {
  int64_t n = 0, k = 0;        // outputs; inputs padded to a multiple of 3
  std::vector<int8_t> h;       // [n][k] weight in half-steps (what the GEMM multiplies)
  std::vector<int8_t> q;       // [n][k] FineQ code (INT2 −2…1, INT3 −4…3, 0 when pruned)
  std::vector<uint8_t> int3;   // [n][k] 1 for codes of an outlier cluster (INT3 or pruned)
  int int2_unit = 2, int2_offset = 0, int3_unit = 2;
  double packed_bytes = 0;     // the cluster bytes (weight traffic of the FineQ PEs)

  // Error unless t is a valid `fineq` tensor.
  static AccelLayer from_fineq(const formats::PackedTensor& t);
};

// Token activations quantized to int8, one symmetric scale per token (absmax / 127).
struct Activations {
  int64_t tokens = 0, k = 0;
  std::vector<int8_t> a;     // [tokens][k] (columns beyond the source's are 0)
  std::vector<float> scale;  // [tokens]
  static Activations quantize(const float* x, int64_t tokens, int64_t cols, int64_t k_padded);
};

// Y[t][n] = Σ_k h[n][k]·a[t][k] in int32: the reference the array must match bit for bit.
std::vector<int32_t> reference_gemm(const AccelLayer& layer, const Activations& acts);

enum class PeKind { Baseline, Select, Unary };
const char* pe_name(PeKind kind);
PeKind pe_from_name(const std::string& name);  // baseline | select | unary, else Error

struct Events {
  uint64_t mults = 0, psum_adds = 0, small_adds = 0, selects = 0;  // PE arithmetic
  uint64_t shifts = 0;  // operand shifts (×2 of the grid unit, ×4 of an INT3 high step): wiring, no energy
  uint64_t reg_bits = 0;                                           // flip-flop writes
  uint64_t busy_steps = 0, total_steps = 0;                        // PE clock steps used / offered
  double sram_weight_bytes = 0, sram_act_bytes = 0, sram_out_bytes = 0, dram_bytes = 0;

  // Busy PE steps ÷ offered PE steps.
  double utilization() const { return total_steps ? double(busy_steps) / double(total_steps) : 0; }
  Events& operator+=(const Events& e);
};

struct SimResult {
  std::vector<int32_t> y;  // [tokens][n]
  uint64_t cycles = 0, tiles = 0, macs = 0;
  Events events;
};

SimResult simulate(const AccelLayer& layer, const Activations& acts, const AccelConfig& cfg, PeKind pe);

// Energy by component (pJ) and area of the PE array (µm²) under cfg's constants.
struct EnergyReport {
  double compute_pj = 0, register_pj = 0, sram_pj = 0, dram_pj = 0;
  double total_pj() const { return compute_pj + register_pj + sram_pj + dram_pj; }
  double ops_per_joule = 0;        // 2 ops per multiply-accumulate, all energy
  double array_ops_per_joule = 0;  // the same over the PE array's energy only (compute + registers)
  double pe_area_um2 = 0, array_area_um2 = 0;
};
double pe_area_um2(PeKind pe, const AccelConfig& cfg);
// Sets the two ops-per-joule figures of `e` from its energies and the multiply-accumulates done.
void set_efficiency(EnergyReport& e, uint64_t macs);
EnergyReport energy_of(const SimResult& r, const AccelConfig& cfg, PeKind pe);

}  // namespace mixq::accel
