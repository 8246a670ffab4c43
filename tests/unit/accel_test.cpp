// The systolic-array model on small constructed layers: every PE model computes x·h exactly for
// every code and activation, cycle counts follow the closed form, bad configurations are refused.
#include <gtest/gtest.h>

#include <random>

#include "mixq/accel/systolic.hpp"
#include "mixq/core/error.hpp"

namespace mixq::accel {
namespace {

// A layer of n rows × k inputs whose codes cycle through every INT2 and INT3 code (INT2 with
// the symmetric grid h = 2q + 1, INT3 wide h = 2q).
AccelLayer every_code_layer(int64_t n, int64_t k) {
  AccelLayer l;
  l.n = n;
  l.k = k;
  l.int2_unit = 2, l.int2_offset = 1, l.int3_unit = 2;
  for (int64_t i = 0; i < n * k; ++i) {
    const bool int3 = (i / 4) % 2 == 1;
    const int q = int3 ? int(i % 8) - 4 : int(i % 4) - 2;
    l.q.push_back(int8_t(q));
    l.int3.push_back(int3);
    l.h.push_back(int8_t(int3 ? 2 * q : 2 * q + 1));
  }
  l.packed_bytes = double(n * k) / 3;
  return l;
}

Activations ramp(int64_t tokens, int64_t k, int seed) {
  Activations a;
  a.tokens = tokens;
  a.k = k;
  std::mt19937 rng(static_cast<uint32_t>(seed));
  for (int64_t i = 0; i < tokens * k; ++i) a.a.push_back(int8_t(int(rng() % 255) - 127));
  a.scale.assign(size_t(tokens), 1.f);
  return a;
}

}  // namespace

TEST(Systolic, EveryPeModelMatchesTheIntegerGemmForEveryCode) {
  const AccelLayer l = every_code_layer(37, 70);  // edge tiles in both dimensions of a 32×32 array
  const Activations a = ramp(9, 70, 1);
  const auto ref = reference_gemm(l, a);
  for (PeKind pe : {PeKind::Baseline, PeKind::Select, PeKind::Unary}) {
    const SimResult r = simulate(l, a, AccelConfig::defaults(), pe);
    EXPECT_EQ(r.y, ref) << pe_name(pe);
    EXPECT_EQ(r.macs, uint64_t(9 * 37 * 70));
  }
}

TEST(Systolic, CyclesFollowTheClosedForm) {
  AccelConfig cfg = AccelConfig::defaults();
  cfg.rows = 4;
  cfg.cols = 3;
  AccelLayer l = every_code_layer(6, 8);  // 2 × 2 tiles
  for (auto& v : l.int3) v = 0;           // INT2 code −1 everywhere: one step, or 2 pulses for unary
  for (auto& q : l.q) q = -1;
  for (auto& h : l.h) h = -1;
  const Activations a = ramp(5, 8, 2);
  // T + R + C − 2 beats per tile plus R cycles of weight loading.
  const uint64_t per_tile = 5 + 4 + 3 - 2;
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Baseline).cycles, 4 * (per_tile + 4));
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Select).cycles, 4 * (per_tile + 4));
  // Unary: a beat is |q| + the offset pulse = 2 cycles.
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Unary).cycles, 4 * (2 * per_tile + 4));
  // An INT3 code anywhere in a tile makes that tile's select beats two cycles.
  l.int3[0] = 1;
  l.q[0] = 3;
  l.h[0] = 6;
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Select).cycles, 4 * (per_tile + 4) + per_tile);
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Select).y, reference_gemm(l, a));
  cfg.overlap_weight_load = true;  // only the first tile's load is exposed
  EXPECT_EQ(simulate(l, a, cfg, PeKind::Baseline).cycles, 4 * per_tile + 4);
  // Utilization: busy PE steps over offered ones.
  const SimResult r = simulate(l, a, cfg, PeKind::Baseline);
  EXPECT_DOUBLE_EQ(r.events.utilization(), double(5 * 6 * 8) / double(4 * per_tile * 12));
}

TEST(Systolic, OutputStationaryGivesTheSameIntegersInItsOwnCycleCount) {
  AccelConfig cfg = AccelConfig::defaults();
  cfg.dataflow = "os";
  const AccelLayer l = every_code_layer(37, 70);
  const Activations a = ramp(40, 70, 4);  // two token tiles of a 32×32 array
  for (PeKind pe : {PeKind::Baseline, PeKind::Select, PeKind::Unary})
    EXPECT_EQ(simulate(l, a, cfg, pe).y, reference_gemm(l, a)) << pe_name(pe);
  // 2 token tiles × 2 output tiles, each K + R + C − 2 beats (one cycle each for the baseline)
  // plus R cycles to drain; every weight is read once per token tile.
  const SimResult r = simulate(l, a, cfg, PeKind::Baseline);
  EXPECT_EQ(r.cycles, uint64_t(4 * (70 + 32 + 32 - 2 + 32)));
  EXPECT_DOUBLE_EQ(r.events.sram_weight_bytes, 2 * 37 * 70 / 2.0);
  cfg.dataflow = "diagonal";
  EXPECT_THROW(cfg.validate(), Error);
}

TEST(Systolic, BadConfigurationsAndInputsAreRefused) {
  AccelConfig cfg = AccelConfig::defaults();
  EXPECT_NO_THROW(cfg.validate());
  cfg.rows = 0;
  EXPECT_THROW(cfg.validate(), Error);
  cfg = AccelConfig::defaults();
  cfg.energy["add_psum"].value = -1;
  EXPECT_THROW(cfg.validate(), Error);
  EXPECT_THROW(AccelConfig::from_json(nlohmann::json{{"rows", -4}}), Error);
  EXPECT_THROW(AccelConfig::from_json(nlohmann::json{{"energy", {{"dram_byte", -2.0}}}}), Error);
  EXPECT_THROW(AccelConfig::from_json(nlohmann::json{{"cols", "wide"}}), Error);
  const auto round_trip = AccelConfig::from_json(AccelConfig::defaults().to_json());
  EXPECT_EQ(round_trip.e("dram_byte"), AccelConfig::defaults().e("dram_byte"));
  EXPECT_NE(round_trip.energy.at("add_psum").source.find("Horowitz"), std::string::npos);
  EXPECT_THROW(pe_from_name("systolic"), Error);
  const AccelLayer l = every_code_layer(3, 6);
  EXPECT_THROW(simulate(l, ramp(2, 9, 0), AccelConfig::defaults(), PeKind::Baseline), Error);
  const float inf[3] = {1.f, INFINITY, 0.f};
  EXPECT_THROW(Activations::quantize(inf, 1, 3, 3), Error);
}

TEST(Systolic, FineqPesTradeTheMultiplierForSelectsAndAdds) {
  const AccelLayer l = every_code_layer(32, 96);
  const Activations a = ramp(16, 96, 3);
  const AccelConfig cfg = AccelConfig::defaults();
  const auto base = simulate(l, a, cfg, PeKind::Baseline), sel = simulate(l, a, cfg, PeKind::Select);
  EXPECT_GT(base.events.mults, 0u);
  EXPECT_EQ(sel.events.mults, 0u);
  EXPECT_GT(sel.events.selects, 0u);
  EXPECT_GT(sel.events.shifts, 0u);
  EXPECT_EQ(base.events.shifts, 0u);
  EXPECT_LT(pe_area_um2(PeKind::Select, cfg), pe_area_um2(PeKind::Baseline, cfg));
  EXPECT_LT(energy_of(sel, cfg, PeKind::Select).compute_pj, energy_of(base, cfg, PeKind::Baseline).compute_pj);
}

}  // namespace mixq::accel
