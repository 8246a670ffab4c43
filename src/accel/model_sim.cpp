#include "mixq/accel/model_sim.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/model/packed_linear.hpp"

namespace mixq::accel {
namespace {

void add(PeRun& total, const PeRun& r) {
  total.cycles += r.cycles;
  total.macs += r.macs;
  total.events += r.events;
  EnergyReport& te = total.energy;
  te.compute_pj += r.energy.compute_pj, te.register_pj += r.energy.register_pj;
  te.sram_pj += r.energy.sram_pj, te.dram_pj += r.energy.dram_pj;
  te.pe_area_um2 = r.energy.pe_area_um2, te.array_area_um2 = r.energy.array_area_um2;
  set_efficiency(te, total.macs);
}

double outlier_fraction(const AccelLayer& l) {
  int64_t outliers = 0;
  for (int64_t i = 0; i < l.n * l.k; i += 3) outliers += l.int3[size_t(i)];
  return double(outliers) / double(l.n * l.k / 3);
}

}  // namespace

ModelSimReport simulate_model(model::LlamaModel& m, std::span<const int> tokens, const ModelSimOptions& opt,
                              const std::function<void(const LayerRun&)>& on_layer) {
  opt.config.validate();
  const auto& cfg = m.config();
  if (tokens.empty()) fail("simulate", "no prompt tokens");
  if (tokens.size() > size_t(cfg.seq_len)) fail("simulate", "{} prompt tokens exceed the context {}", tokens.size(), cfg.seq_len);
  for (int l : opt.layers)
    if (l < 0 || l >= cfg.n_layers) fail("--layers", "layer {} is outside 0…{}", l, cfg.n_layers - 1);
  ModelSimReport report;
  for (PeKind pe : opt.pes) report.totals.push_back({pe, 0, 0, {}, {}});
  const size_t n = tokens.size();
  std::vector<float> x(n * size_t(cfg.dim));
  m.embed(tokens, x.data());
  model::KvCache cache(cfg, int(n));
  for (int l = 0; l < cfg.n_layers; ++l) {
    const bool wanted = opt.layers.empty() || std::find(opt.layers.begin(), opt.layers.end(), l) != opt.layers.end();
    std::map<model::LinearSite, std::vector<float>> inputs;
    m.forward_layer(l, x.data(), n, 0, cache, [&](model::LinearSite site, const float* in, size_t rows, size_t width) {
      if (wanted) inputs[site].assign(in, in + rows * width);
    });
    if (!wanted) continue;
    std::vector<LayerRun> runs;
    std::vector<AccelLayer> weights;
    std::vector<Activations> acts;
    const auto slots = model::linear_slots();
    runs.reserve(slots.size()), weights.reserve(slots.size()), acts.reserve(slots.size());
    for (const auto& slot : slots) {
      const auto* packed = dynamic_cast<const model::PackedLinear*>((m.layer(l).*slot.member).get());
      if (!packed) fail(slot.name(l), "is not quantized; the accelerator runs FineQ layers");
      weights.push_back(AccelLayer::from_fineq(packed->packed()));
      const std::vector<float>& in = inputs.at(slot.site);
      acts.push_back(Activations::quantize(in.data(), int64_t(n), int64_t(packed->cols()), weights.back().k));
      runs.push_back({slot.name(l), weights.back().n, weights.back().k, int64_t(n), outlier_fraction(weights.back()), true,
                      std::vector<PeRun>(opt.pes.size())});
    }
    // Job j = (linear j / PEs, PE model j % PEs); each writes only its own slots.
    const size_t pes = opt.pes.size();
    std::vector<std::vector<int32_t>> refs(runs.size());
    std::vector<uint8_t> ok(runs.size() * pes, 1);
    m.pool().parallel_for(runs.size(), [&](size_t b, size_t e) {
      for (size_t s = b; s < e; ++s) refs[s] = reference_gemm(weights[s], acts[s]);
    });
    m.pool().parallel_for(runs.size() * pes, [&](size_t b, size_t e) {
      for (size_t j = b; j < e; ++j) {
        const size_t s = j / pes, p = j % pes;
        const SimResult r = simulate(weights[s], acts[s], opt.config, opt.pes[p]);
        ok[j] = r.y == refs[s];
        runs[s].runs[p] = {opt.pes[p], r.cycles, r.macs, r.events, energy_of(r, opt.config, opt.pes[p])};
      }
    });
    for (size_t j = 0; j < ok.size(); ++j) runs[j / pes].matches_reference &= ok[j] != 0;
    for (auto& run : runs) {
      for (size_t p = 0; p < run.runs.size(); ++p) add(report.totals[p], run.runs[p]);
      if (on_layer) on_layer(run);
      report.layers.push_back(std::move(run));
    }
  }
  return report;
}

nlohmann::json ModelSimReport::to_json() const {
  auto pe_json = [](const PeRun& r) {
    const Events& e = r.events;
    return nlohmann::json{{"pe", pe_name(r.pe)},
                          {"cycles", r.cycles},
                          {"macs", r.macs},
                          {"utilization", r.events.utilization()},
                          {"events", {{"mults", e.mults}, {"psum_adds", e.psum_adds}, {"small_adds", e.small_adds},
                                      {"selects", e.selects}, {"shifts", e.shifts}, {"reg_bits", e.reg_bits}, {"busy_steps", e.busy_steps},
                                      {"total_steps", e.total_steps}, {"sram_weight_bytes", e.sram_weight_bytes},
                                      {"sram_act_bytes", e.sram_act_bytes}, {"sram_out_bytes", e.sram_out_bytes},
                                      {"dram_bytes", e.dram_bytes}}},
                          {"energy_pj", {{"compute", r.energy.compute_pj}, {"registers", r.energy.register_pj},
                                         {"sram", r.energy.sram_pj}, {"dram", r.energy.dram_pj},
                                         {"total", r.energy.total_pj()}}},
                          {"ops_per_joule", r.energy.ops_per_joule},
                          {"array_ops_per_joule", r.energy.array_ops_per_joule},
                          {"pe_area_um2", r.energy.pe_area_um2},
                          {"array_area_um2", r.energy.array_area_um2}};
  };
  nlohmann::json layers_j = nlohmann::json::array(), totals_j = nlohmann::json::array();
  for (const auto& l : layers) {
    nlohmann::json runs_j = nlohmann::json::array();
    for (const auto& r : l.runs) runs_j.push_back(pe_json(r));
    layers_j.push_back({{"name", l.name}, {"n", l.n}, {"k", l.k}, {"tokens", l.tokens},
                        {"outlier_cluster_fraction", l.outlier_cluster_fraction},
                        {"matches_reference", l.matches_reference}, {"runs", runs_j}});
  }
  for (const auto& t : totals) totals_j.push_back(pe_json(t));
  return {{"layers", layers_j}, {"model", totals_j}};
}

std::string ModelSimReport::table() const {
  std::string s = fmt::format("{:<40} {:>9} {:>6} {:<9} {:>10} {:>6} {:>10} {:>8} {:>8} {:>10} {:>8} {:>6}\n", "layer",
                              "shape", "INT3%", "PE", "cycles", "util", "energy µJ", "TOPS/W", "vs base", "array µJ",
                              "vs base", "exact");
  auto line = [&](const std::string& name, const std::string& shape, double outliers, const PeRun& r, const PeRun& base,
                  const std::string& exact) {
    const double eff = r.energy.ops_per_joule, base_eff = base.energy.ops_per_joule;
    const double arr = r.energy.array_ops_per_joule, base_arr = base.energy.array_ops_per_joule;
    s += fmt::format("{:<40} {:>9} {:>6} {:<9} {:>10} {:>5.1f}% {:>10.3f} {:>8.3f} {:>7.2f}× {:>10.3f} {:>7.2f}× {:>6}\n",
                     name, shape, outliers >= 0 ? fmt::format("{:.1f}", 100 * outliers) : "", pe_name(r.pe), r.cycles,
                     100 * r.events.utilization(), r.energy.total_pj() / 1e6, eff / 1e12, base_eff > 0 ? eff / base_eff : 0.0,
                     (r.energy.compute_pj + r.energy.register_pj) / 1e6, base_arr > 0 ? arr / base_arr : 0.0, exact);
  };
  for (const auto& l : layers)
    for (const auto& r : l.runs)
      line(l.name.substr(0, l.name.size() - (l.name.ends_with(".weight") ? 7 : 0)), fmt::format("{}x{}", l.n, l.k), l.outlier_cluster_fraction, r, l.runs.front(),
           l.matches_reference ? "yes" : "NO");
  for (const auto& t : totals) line("whole model", "", -1, t, totals.front(), "");
  s += "\nPE-array area:";
  for (const auto& t : totals)
    s += fmt::format("  {} {:.0f} µm² ({:.3f} mm², {:+.1f}% vs {})", pe_name(t.pe), t.energy.array_area_um2,
                     t.energy.array_area_um2 / 1e6, 100 * (t.energy.array_area_um2 / totals.front().energy.array_area_um2 - 1),
                     pe_name(totals.front().pe));
  return s + "\n";
}

namespace {

// Grouped bars: one group per label, one bar (or stacked segments) per series.
std::string bar_svg(const std::string& title, const std::string& unit, const std::vector<std::string>& groups,
                    const std::vector<std::string>& series, const std::vector<std::vector<std::vector<double>>>& values,
                    const std::vector<std::string>& stack_names) {
  // values[group][series][stack segment]
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  double ymax = 0;
  for (const auto& g : values)
    for (const auto& b : g) {
      double sum = 0;
      for (double v : b) sum += v;
      ymax = std::max(ymax, sum);
    }
  if (ymax <= 0) ymax = 1;
  const double W = std::max(480.0, 80.0 + 40.0 * double(groups.size() * (series.size() + 1))), H = 360, left = 70,
               bottom = 60, top = 40, plot_h = H - top - bottom;
  const double group_w = (W - left - 160) / double(std::max<size_t>(1, groups.size()));
  const double bar_w = group_w / double(series.size() + 1);
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
                              "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
                              "<text x=\"{:.0f}\" y=\"20\" font-size=\"14\">{}</text>\n",
                              W, H, left, title);
  s += fmt::format("<text x=\"10\" y=\"{:.0f}\" transform=\"rotate(-90 10 {:.0f})\">{}</text>\n", top + plot_h / 2,
                   top + plot_h / 2, unit);
  for (int t = 0; t <= 4; ++t) {
    const double y = top + plot_h * (1 - t / 4.0);
    s += fmt::format("<line x1=\"{:.0f}\" x2=\"{:.0f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/><text x=\"{:.0f}\" "
                     "y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n",
                     left, W - 160, y, y, left - 4, y + 4, ymax * t / 4);
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const double gx = left + group_w * double(g);
    for (size_t b = 0; b < series.size(); ++b) {
      double y = top + plot_h;
      for (size_t k = 0; k < values[g][b].size(); ++k) {
        const double h = plot_h * values[g][b][k] / ymax;
        y -= h;
        const char* color = stack_names.size() > 1 ? colors[k % 6] : colors[b % 6];
        s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
                         "fill-opacity=\"{}\"><title>{} {} {:.4g}</title></rect>\n",
                         gx + bar_w * (double(b) + 0.5), y, bar_w * 0.9, h, color, stack_names.size() > 1 ? 1.0 - 0.25 * double(b) : 1.0,
                         groups[g], series[b], values[g][b][k]);
      }
      if (stack_names.size() > 1)
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\" font-size=\"9\">{}</text>\n",
                         gx + bar_w * (double(b) + 0.95), top + plot_h + 12, series[b]);
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>\n", gx + group_w / 2,
                     top + plot_h + 28, groups[g]);
  }
  const auto& legend = stack_names.size() > 1 ? stack_names : series;
  for (size_t i = 0; i < legend.size(); ++i)
    s += fmt::format("<rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.0f}\" "
                     "y=\"{:.0f}\">{}</text>\n",
                     W - 150, top + 18.0 * double(i), colors[i % 6], W - 132, top + 18.0 * double(i) + 10, legend[i]);
  return s + "</svg>\n";
}

std::vector<std::string> pe_names(const ModelSimReport& r) {
  std::vector<std::string> names;
  for (const auto& t : r.totals) names.push_back(pe_name(t.pe));
  return names;
}

}  // namespace

std::string energy_svg(const ModelSimReport& r) {
  std::vector<std::vector<double>> bars;
  for (const auto& t : r.totals)
    bars.push_back({t.energy.compute_pj / 1e6, t.energy.register_pj / 1e6, t.energy.sram_pj / 1e6, t.energy.dram_pj / 1e6});
  return bar_svg("Energy by component, whole model", "µJ", {"whole model"}, pe_names(r), {bars},
                 {"PE compute", "PE registers", "SRAM", "DRAM"});
}

std::string area_svg(const ModelSimReport& r, const AccelConfig& cfg) {
  std::vector<std::vector<double>> bars;
  for (const auto& t : r.totals) bars.push_back({t.energy.array_area_um2 / 1e6});
  return bar_svg(fmt::format("PE-array area ({}×{})", cfg.rows, cfg.cols), "mm²", {"PE array"}, pe_names(r), {bars}, {"area"});
}

std::string cycles_svg(const ModelSimReport& r) {
  std::vector<std::string> groups;
  std::vector<std::vector<std::vector<double>>> values;
  for (const auto& l : r.layers) {
    std::string short_name = l.name;
    for (const char* cut : {"model.layers.", ".weight", "self_attn.", "mlp."})
      if (const auto at = short_name.find(cut); at != std::string::npos) short_name.erase(at, std::string(cut).size());
    groups.push_back(short_name);
    values.emplace_back();
    for (const auto& run : l.runs) values.back().push_back({double(run.cycles)});
  }
  return bar_svg("Cycles per layer", "cycles", groups, pe_names(r), values, {"cycles"});
}

}  // namespace mixq::accel
