#include "mixq/accel/systolic.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/formats/fineq.hpp"

namespace mixq::accel {
namespace {

// What one PE holds for the current tile.
struct PeWeight {
  int8_t h = 0, q = 0;
  bool int3 = false, present = false;  // present: inside the layer (edge tiles leave PEs empty)
};

// x · (2-bit code v ∈ {−2…1}) by selecting 0, x or 2x and negating: the FineQ select step.
int32_t select_step(int32_t x, int v, Events& ev) {
  ++ev.selects;
  if (v < 0) ++ev.small_adds;  // the negate
  return v * x;
}

struct BaselinePe {
  static int steps(const PeWeight&, const AccelLayer&) { return 1; }
  static int32_t product(int32_t x, const PeWeight& w, const AccelLayer&, Events& ev) {
    ++ev.mults;
    ++ev.psum_adds;
    return x * w.h;
  }
};

struct SelectPe {
  static int steps(const PeWeight& w, const AccelLayer&) { return w.int3 ? 2 : 1; }
  static int32_t product(int32_t x, const PeWeight& w, const AccelLayer& l, Events& ev) {
    int32_t sum = 0;
    if (!w.int3) {
      const int32_t p = select_step(x, w.q, ev);
      sum = l.int2_unit * p + l.int2_offset * x;  // ×unit is a wired shift
      ev.shifts += uint64_t(l.int2_unit != 1);
      ev.psum_adds += uint64_t(p != 0) + uint64_t(l.int2_offset != 0);
    } else if (w.q != 0) {  // a pruned weight (q = 0 in an outlier cluster) is clock-gated
      const int lo = ((w.q & 3) ^ 2) - 2;  // sign-extended low two bits
      const int hi = (w.q - lo) / 4;       // −1, 0 or 1
      const int32_t p_lo = select_step(x, lo, ev), p_hi = hi ? select_step(4 * x, hi, ev) : 0;
      ev.shifts += uint64_t(hi != 0) + uint64_t(l.int3_unit != 1);
      ev.psum_adds += uint64_t(p_lo != 0) + uint64_t(p_hi != 0);
      sum = l.int3_unit * (p_lo + p_hi);
    }
    return sum;
  }
};

struct UnaryPe {
  static int pulses(const PeWeight& w, const AccelLayer& l) { return std::abs(w.q) + (!w.int3 && l.int2_offset ? 1 : 0); }
  static int steps(const PeWeight& w, const AccelLayer& l) { return std::max(1, pulses(w, l)); }
  static int32_t product(int32_t x, const PeWeight& w, const AccelLayer& l, Events& ev) {
    int32_t sum = 0;
    const int32_t pulse = w.q < 0 ? -x : x;
    if (w.q < 0) ++ev.small_adds;  // negate once, then pulse
    for (int i = 0; i < std::abs(w.q); ++i) sum += pulse;
    ev.psum_adds += uint64_t(pulses(w, l));
    sum *= w.int3 ? l.int3_unit : l.int2_unit;  // wired shift
    ev.shifts += uint64_t((w.int3 ? l.int3_unit : l.int2_unit) != 1);
    if (!w.int3) sum += l.int2_offset * x;
    return sum;
  }
};

// One tile of the array over all tokens, beat by beat. Registers of PE(r, c): the activation
// and its token (moving right) and the partial sum (moving down). Visiting PEs from the bottom
// right means each reads its left and upper neighbours' values of the previous beat.
template <typename Pe>
void run_tile(const AccelLayer& l, const Activations& acts, const AccelConfig& cfg, int64_t k0, int64_t n0,
              std::vector<int32_t>& y, SimResult& res) {
  const int R = cfg.rows, C = cfg.cols;
  const int64_t T = acts.tokens;
  std::vector<PeWeight> w(size_t(R * C));
  int beat = 1, present = 0;
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      if (k0 + r >= l.k || n0 + c >= l.n) continue;
      const size_t at = size_t((n0 + c) * l.k + k0 + r);
      PeWeight& p = w[size_t(r * C + c)];
      p = {l.h[at], l.q[at], l.int3[at] != 0, true};
      beat = std::max(beat, Pe::steps(p, l));
      ++present;
    }
  Events& ev = res.events;
  ev.reg_bits += uint64_t(present) * 4;  // weight registers (4 bits: the int4 value, or code + kind)
  const int64_t beats = T + R + C - 2;
  const bool first_tile = res.tiles == 0;
  res.cycles += uint64_t(beats * beat) + (cfg.overlap_weight_load && !first_tile ? 0 : uint64_t(R));
  ++res.tiles;
  ev.total_steps += uint64_t(beats * beat) * uint64_t(R * C);
  std::vector<int32_t> psum(size_t(R * C), 0), act(size_t(R * C), 0);
  std::vector<int64_t> token(size_t(R * C), -1);
  for (int64_t b = 0; b < beats; ++b)
    for (int r = R - 1; r >= 0; --r)
      for (int c = C - 1; c >= 0; --c) {
        const size_t at = size_t(r * C + c);
        int64_t t;
        int32_t x;
        if (c == 0) {  // injection with the skew: row r takes token b − r
          t = b - r;
          x = (t >= 0 && t < T && k0 + r < l.k) ? acts.a[size_t(t * l.k + k0 + r)] : 0;
          if (t < 0 || t >= T) t = -1;
          else ev.sram_act_bytes += k0 + r < l.k ? 1 : 0;
        } else {
          t = token[at - 1];
          x = act[at - 1];
        }
        int32_t p = r == 0 ? 0 : psum[at - size_t(C)];
        if (t >= 0 && w[at].present) {
          p += Pe::product(x, w[at], l, ev);
          ev.busy_steps += uint64_t(Pe::steps(w[at], l));
          ev.reg_bits += 8 + uint64_t(cfg.psum_bits);
        }
        token[at] = t;
        act[at] = x;
        psum[at] = t >= 0 ? p : 0;
        if (r == R - 1 && t >= 0 && n0 + c < l.n) {  // the column's sum leaves into the output buffer
          y[size_t(t * l.n + n0 + c)] += p;
          ev.sram_out_bytes += double(cfg.psum_bits) / 8 * (k0 == 0 ? 1 : 2);  // write, or read + write
        }
      }
}

// Output-stationary tile (t0, n0): PE(r, c) accumulates token t0 + r's output n0 + c in place.
// Activation a[t0+r][k] enters row r at beat k + r and moves right; weight W[n0+c][k] enters
// column c at beat k + c and moves down, so PE(r, c) meets the pair of index k = b − r − c at beat
// b: K + R + C − 2 beats, then R cycles to shift the sums out. A beat lasts as long as the
// slowest weight of the tile's columns needs.
template <typename Pe>
void run_tile_os(const AccelLayer& l, const Activations& acts, const AccelConfig& cfg, int64_t t0, int64_t n0,
                 std::vector<int32_t>& y, SimResult& res) {
  const int R = cfg.rows, C = cfg.cols;
  const int64_t T = acts.tokens, K = l.k;
  int beat = 1;
  for (int c = 0; c < C && n0 + c < l.n; ++c)
    for (int64_t k = 0; k < K; ++k) {
      const size_t at = size_t((n0 + c) * K + k);
      beat = std::max(beat, Pe::steps(PeWeight{l.h[at], l.q[at], l.int3[at] != 0, true}, l));
    }
  Events& ev = res.events;
  const int64_t beats = K + R + C - 2;
  res.cycles += uint64_t(beats * beat) + uint64_t(R);
  ++res.tiles;
  ev.total_steps += uint64_t(beats * beat) * uint64_t(R * C);
  std::vector<int32_t> acc(size_t(R * C), 0), act(size_t(R * C), 0);
  std::vector<int64_t> act_k(size_t(R * C), -1), w_k(size_t(R * C), -1);
  std::vector<PeWeight> w(size_t(R * C));
  for (int64_t b = 0; b < beats; ++b)
    for (int r = R - 1; r >= 0; --r)
      for (int c = C - 1; c >= 0; --c) {
        const size_t at = size_t(r * C + c);
        int64_t ak, wk;
        int32_t x;
        PeWeight wt;
        if (c == 0) {
          ak = b - r;
          if (ak < 0 || ak >= K || t0 + r >= T) ak = -1;
          x = ak >= 0 ? acts.a[size_t((t0 + r) * K + ak)] : 0;
          ev.sram_act_bytes += ak >= 0 ? 1 : 0;
        } else {
          ak = act_k[at - 1];
          x = act[at - 1];
        }
        if (r == 0) {
          wk = b - c;
          if (wk < 0 || wk >= K || n0 + c >= l.n) wk = -1;
          if (wk >= 0) {
            const size_t i = size_t((n0 + c) * K + wk);
            wt = {l.h[i], l.q[i], l.int3[i] != 0, true};
          }
        } else {
          wk = w_k[at - size_t(C)];
          wt = w[at - size_t(C)];
        }
        if (ak >= 0 && wk >= 0) {  // the skew makes the indices meet: ak == wk
          acc[at] += Pe::product(x, wt, l, ev);
          ev.busy_steps += uint64_t(Pe::steps(wt, l));
          ev.reg_bits += uint64_t(cfg.psum_bits);
        }
        ev.reg_bits += (ak >= 0 ? 8 : 0) + (wk >= 0 ? 4 : 0);  // the operands move one PE on
        act_k[at] = ak, act[at] = x, w_k[at] = wk, w[at] = wt;
      }
  for (int r = 0; r < R && t0 + r < T; ++r)
    for (int c = 0; c < C && n0 + c < l.n; ++c) {
      y[size_t((t0 + r) * l.n + n0 + c)] = acc[size_t(r * C + c)];
      ev.sram_out_bytes += double(cfg.psum_bits) / 8;
    }
}

template <typename Pe>
SimResult simulate_with(const AccelLayer& l, const Activations& acts, const AccelConfig& cfg, PeKind kind) {
  SimResult res;
  res.y.assign(size_t(acts.tokens * l.n), 0);
  const bool os = cfg.dataflow == "os";
  if (os)
    for (int64_t n0 = 0; n0 < l.n; n0 += cfg.cols)
      for (int64_t t0 = 0; t0 < acts.tokens; t0 += cfg.rows) run_tile_os<Pe>(l, acts, cfg, t0, n0, res.y, res);
  else
    for (int64_t n0 = 0; n0 < l.n; n0 += cfg.cols)
      for (int64_t k0 = 0; k0 < l.k; k0 += cfg.rows) run_tile<Pe>(l, acts, cfg, k0, n0, res.y, res);
  res.macs = uint64_t(acts.tokens * l.n * l.k);
  // Weights cross the weight buffer once per tile (weight-stationary: each weight once;
  // output-stationary: once per token tile): int4 for the baseline, the cluster bytes for FineQ
  // PEs. DRAM holds weights, activations and outputs once each.
  const double weight_bytes = kind == PeKind::Baseline ? double(l.n * l.k) / 2 : l.packed_bytes;
  res.events.sram_weight_bytes = weight_bytes * (os ? double((acts.tokens + cfg.rows - 1) / cfg.rows) : 1.0);
  res.events.dram_bytes = weight_bytes + double(acts.tokens * l.k) + double(acts.tokens * l.n) * cfg.psum_bits / 8;
  return res;
}

}  // namespace

AccelLayer AccelLayer::from_fineq(const formats::PackedTensor& t) {
  if (t.format != "fineq") fail("simulate", "the accelerator runs FineQ layers; this tensor is '{}'", t.format);
  formats::FineqFormat::validate(t);
  const formats::FineqParams& p = t.params_as<formats::FineqParams>();
  const formats::FineqGrids g(p);
  AccelLayer l;
  l.n = t.rows;
  l.k = p.padded_cols(t.cols);
  l.int2_unit = g.int2_unit;
  l.int2_offset = g.int2_offset;
  l.int3_unit = g.int3_unit;
  const int64_t clusters = l.k / 3;
  l.packed_bytes = double(t.part("codes").bytes.size());
  l.h.resize(size_t(l.n * l.k));
  l.q.resize(l.h.size());
  l.int3.resize(l.h.size());
  const auto table = formats::fineq_decode_table(p);
  const uint8_t* bytes = t.part("codes").bytes.data();
  for (int64_t r = 0; r < l.n; ++r)
    for (int64_t c = 0; c < clusters; ++c) {
      const uint8_t byte = bytes[r * clusters + c];
      const formats::FineqCodes codes = formats::fineq_codes(byte);
      for (int i = 0; i < 3; ++i) {
        const size_t at = size_t(r * l.k + 3 * c + i);
        l.h[at] = table[byte][size_t(i)];
        l.q[at] = codes.q[size_t(i)];
        l.int3[at] = codes.mode >= 0;
      }
    }
  return l;
}

Activations Activations::quantize(const float* x, int64_t tokens, int64_t cols, int64_t k_padded) {
  if (k_padded < cols) fail("simulate", "activations have {} columns, more than the layer's {}", cols, k_padded);
  Activations a;
  a.tokens = tokens;
  a.k = k_padded;
  a.a.assign(size_t(tokens * k_padded), 0);
  a.scale.resize(size_t(tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    float amax = 0;
    for (int64_t i = 0; i < cols; ++i) {
      if (!std::isfinite(x[t * cols + i])) fail("simulate", "activation of token {} is not finite", t);
      amax = std::max(amax, std::fabs(x[t * cols + i]));
    }
    const float s = amax > 0 ? amax / 127.f : 1.f;
    a.scale[size_t(t)] = s;
    for (int64_t i = 0; i < cols; ++i)
      a.a[size_t(t * k_padded + i)] = int8_t(std::clamp(std::nearbyint(x[t * cols + i] / s), -127.f, 127.f));
  }
  return a;
}

std::vector<int32_t> reference_gemm(const AccelLayer& l, const Activations& acts) {
  if (acts.k != l.k) fail("simulate", "activations of width {} for a layer of {} inputs", acts.k, l.k);
  std::vector<int32_t> y(size_t(acts.tokens * l.n), 0);
  for (int64_t t = 0; t < acts.tokens; ++t)
    for (int64_t n = 0; n < l.n; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < l.k; ++k) s += int32_t(l.h[size_t(n * l.k + k)]) * acts.a[size_t(t * l.k + k)];
      y[size_t(t * l.n + n)] = s;
    }
  return y;
}

const char* pe_name(PeKind kind) {
  switch (kind) {
    case PeKind::Baseline: return "baseline";
    case PeKind::Select: return "select";
    default: return "unary";
  }
}

PeKind pe_from_name(const std::string& name) {
  for (PeKind k : {PeKind::Baseline, PeKind::Select, PeKind::Unary})
    if (name == pe_name(k)) return k;
  fail("--pe", "unknown PE model '{}' (baseline, select, unary)", name);
}

SimResult simulate(const AccelLayer& layer, const Activations& acts, const AccelConfig& cfg, PeKind pe) {
  cfg.validate();
  if (acts.k != layer.k) fail("simulate", "activations of width {} for a layer of {} inputs", acts.k, layer.k);
  switch (pe) {
    case PeKind::Baseline: return simulate_with<BaselinePe>(layer, acts, cfg, pe);
    case PeKind::Select: return simulate_with<SelectPe>(layer, acts, cfg, pe);
    default: return simulate_with<UnaryPe>(layer, acts, cfg, pe);
  }
}

double pe_area_um2(PeKind pe, const AccelConfig& cfg) {
  const double regs = cfg.a("reg_bit") * double(8 + 4 + cfg.psum_bits);  // activation, weight, partial sum
  switch (pe) {
    case PeKind::Baseline: return cfg.a("mult_int8x4") + cfg.a("add_psum") + regs;
    case PeKind::Select: return cfg.a("select_2bit") + cfg.a("add_small") + cfg.a("add_psum") + regs + cfg.a("reg_bit");
    default: return cfg.a("counter_3bit") + cfg.a("add_small") + cfg.a("add_psum") + regs;
  }
}

void set_efficiency(EnergyReport& e, uint64_t macs) {
  const double array_pj = e.compute_pj + e.register_pj;
  e.ops_per_joule = e.total_pj() > 0 ? 2.0 * double(macs) / (e.total_pj() * 1e-12) : 0;
  e.array_ops_per_joule = array_pj > 0 ? 2.0 * double(macs) / (array_pj * 1e-12) : 0;
}

Events& Events::operator+=(const Events& e) {
  mults += e.mults, psum_adds += e.psum_adds, small_adds += e.small_adds, selects += e.selects, shifts += e.shifts;
  reg_bits += e.reg_bits, busy_steps += e.busy_steps, total_steps += e.total_steps;
  sram_weight_bytes += e.sram_weight_bytes, sram_act_bytes += e.sram_act_bytes;
  sram_out_bytes += e.sram_out_bytes, dram_bytes += e.dram_bytes;
  return *this;
}

EnergyReport energy_of(const SimResult& r, const AccelConfig& cfg, PeKind pe) {
  const Events& e = r.events;
  EnergyReport out;
  out.compute_pj = double(e.mults) * cfg.e("mult_int8x4") + double(e.psum_adds) * cfg.e("add_psum") +
                   double(e.small_adds) * cfg.e("add_small") + double(e.selects) * cfg.e("select_2bit");
  out.register_pj = double(e.reg_bits) * cfg.e("reg_bit");
  out.sram_pj = e.sram_weight_bytes * cfg.e("sram_weight_byte") + e.sram_act_bytes * cfg.e("sram_act_byte") +
                e.sram_out_bytes * cfg.e("sram_out_byte");
  out.dram_pj = e.dram_bytes * cfg.e("dram_byte");
  set_efficiency(out, r.macs);
  out.pe_area_um2 = pe_area_um2(pe, cfg);
  out.array_area_um2 = out.pe_area_um2 * cfg.rows * cfg.cols;
  return out;
}

}  // namespace mixq::accel
