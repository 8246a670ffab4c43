#include "mixq/eval/plot.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace mixq::eval {
namespace {

constexpr double kW = 720, kH = 460, kLeft = 70, kRight = 170, kTop = 40, kBottom = 50;
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string ppl_vs_bits_svg(const std::vector<CompareRow>& rows, const std::string& title) {
  std::map<std::string, std::vector<const CompareRow*>> curves;
  double fp = 0, xmin = 1e9, xmax = 0, ymin = 1e9, ymax = 0;
  for (const auto& r : rows) {
    if (r.config == "fp32") {
      fp = r.ppl_gptq;
    } else {
      curves[r.config.substr(0, r.config.find(':'))].push_back(&r);
      xmin = std::min(xmin, r.bits_per_weight), xmax = std::max(xmax, r.bits_per_weight);
    }
    ymin = std::min(ymin, r.ppl_gptq), ymax = std::max(ymax, r.ppl_gptq);
  }
  if (curves.empty()) xmin = 0, xmax = 1;
  xmin = std::floor(xmin * 2) / 2 - 0.25, xmax = std::ceil(xmax * 2) / 2 + 0.25;
  const double ly0 = std::log(ymin * 0.97), ly1 = std::log(ymax * 1.03);
  auto X = [&](double b) { return kLeft + (b - xmin) / (xmax - xmin) * (kW - kLeft - kRight); };
  auto Y = [&](double p) { return kTop + (ly1 - std::log(p)) / std::max(1e-9, ly1 - ly0) * (kH - kTop - kBottom); };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n",
      kW, kH, kLeft, escape(title));
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", kLeft, kH - kBottom, kW - kRight);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", kLeft, kTop, kH - kBottom);
  for (double b = std::ceil(xmin * 2) / 2; b <= xmax; b += 0.5)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", X(b), kH - kBottom + 16, b);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">bits per weight (measured from bytes)</text>\n",
                   (kLeft + kW - kRight) / 2, kH - 12);
  for (int i = 0; i <= 5; ++i) {
    const double p = std::exp(ly0 + (ly1 - ly0) * i / 5);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", kLeft - 6, Y(p) + 4, p);
  }
  s += fmt::format("<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">perplexity (log scale)</text>\n",
                   (kTop + kH - kBottom) / 2);
  if (fp > 0)
    s += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"gray\" stroke-dasharray=\"5,4\"/>"
                     "<text x=\"{3}\" y=\"{4:.1f}\" fill=\"gray\">fp32 {5:.4f}</text>\n",
                     kLeft, Y(fp), kW - kRight, kW - kRight + 6, Y(fp) + 4, fp);
  size_t ci = 0;
  for (auto& [method, pts] : curves) {
    const char* color = kColors[ci % std::size(kColors)];
    std::sort(pts.begin(), pts.end(), [](auto* a, auto* b) { return a->bits_per_weight < b->bits_per_weight; });
    std::string path;
    for (const auto* r : pts) path += fmt::format("{:.1f},{:.1f} ", X(r->bits_per_weight), Y(r->ppl_gptq));
    s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", path, color);
    for (const auto* r : pts)
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} {:.3f} bpw ppl {:.4f}</title></circle>\n",
                       X(r->bits_per_weight), Y(r->ppl_gptq), color, escape(r->config), r->bits_per_weight, r->ppl_gptq);
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n", kW - kRight + 6, kTop + 20 + 18 * double(ci), color,
                     escape(method));
    ++ci;
  }
  return s + "</svg>\n";
}

}  // namespace mixq::eval
