// Block-wise learnable clipping (block_tuning.hpp): AdamW on the clipping logits of a block's seven
// linears against the fp block's output.
#include "mixq/quant/tune/block_tuning.hpp"

#include <cmath>
#include <memory>

#include "mixq/core/error.hpp"

namespace mixq::quant {
namespace {

using Quantizers = std::vector<std::unique_ptr<TrainableQuantizer>>;

Quantizers fresh_quantizers(const BlockTuneJob& job) {
  Quantizers q;
  for (size_t i = 0; i < kBlockLinears; ++i) q.push_back(job.make(i));
  return q;
}

// AdamW over one flat parameter vector (OmniQuant's settings: β 0.9/0.999, ε 1e-8, no decay).
struct AdamW {
  double lr;
  std::vector<double> m, v;
  long step = 0;
  AdamW(double lr_, size_t n) : lr(lr_), m(n, 0.0), v(n, 0.0) {}
  void update(std::span<float> p, std::span<const float> g) {
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    ++step;
    const double c1 = 1 - std::pow(b1, double(step)), c2 = 1 - std::pow(b2, double(step));
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * double(g[i]) * g[i];
      p[i] -= float(lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps));
    }
  }
};

bool all_finite(std::span<const float> v) {
  float any = 0.f;  // stays 0 only if every value is finite
  for (float x : v) any += x * 0.f;
  return any == 0.f;
}

struct Attempt {
  bool finite = true;
  double first_loss = 0, last_loss = 0;
};

// One training run at learning rate `lr` from the initial logits; false in .finite when a loss or
// gradient was not finite.
Attempt train(const BlockTuneJob& job, const ClipTuning& opt, double lr, Quantizers& clips) {
  const io::LlamaConfig& c = *job.config;
  ThreadPool& pool = *job.pool;
  const size_t windows = opt.windows > 0 ? std::min(size_t(opt.windows), job.inputs->windows()) : job.inputs->windows();
  const size_t T = job.inputs->tokens_per_window(), n = T * size_t(c.dim);
  size_t total = 0;
  for (const auto& cl : clips) total += cl->params().size();
  AdamW adam(lr, total);
  BlockGrad block(c, T);
  std::array<std::vector<float>, kBlockLinears> w_hat;
  for (size_t i = 0; i < kBlockLinears; ++i) w_hat[i].resize(size_t(clips[i]->rows() * clips[i]->cols()));
  BlockWeights bw{job.vectors, {}};
  for (size_t i = 0; i < kBlockLinears; ++i) bw.linear[i] = w_hat[i].data();
  std::vector<float> x, target, aug, y(n), dy(n), dy_aug(n), grad(total), flat(total);
  const size_t batch = size_t(opt.batch);
  Attempt a;
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    double epoch_loss = 0;
    for (size_t first = 0; first < windows; first += batch) {
      const size_t last = std::min(windows, first + batch);
      for (size_t i = 0; i < kBlockLinears; ++i) clips[i]->fake_quantize(w_hat[i].data());
      BlockLinearGrads grads = zero_block_grads(c);
      const float scale = 1.f / float(last - first);  // the batch's mean loss
      for (size_t s = first; s < last; ++s) {
        job.inputs->read(s, x);
        job.targets->read(s, target);
        block.forward(bw, x.data(), y.data(), pool);
        double loss = mse_loss(y.data(), target.data(), n, scale, dy.data());
        if (opt.aug_loss) {
          job.aug_targets->read(s, aug);
          loss += mse_loss(y.data(), aug.data(), n, scale, dy_aug.data());
          for (size_t i = 0; i < n; ++i) dy[i] += dy_aug[i];
        }
        if (!std::isfinite(loss)) return {false};
        epoch_loss += loss * scale;
        block.backward(bw, dy.data(), grads, nullptr, pool);
      }
      size_t at = 0;
      for (size_t i = 0; i < kBlockLinears; ++i) {
        clips[i]->backward(grads[i].data(), grad.data() + at);
        at += clips[i]->params().size();
      }
      if (!all_finite(grad)) return {false};
      // One AdamW over every logit of the block.
      at = 0;
      for (auto& cl : clips) std::copy(cl->params().begin(), cl->params().end(), flat.begin() + long(at)), at += cl->params().size();
      adam.update(flat, grad);
      at = 0;
      for (auto& cl : clips) std::copy_n(flat.begin() + long(at), cl->params().size(), cl->params().begin()), at += cl->params().size();
    }
    const double mean = epoch_loss / double((windows + batch - 1) / batch);
    if (epoch == 0) a.first_loss = mean;
    a.last_loss = mean;
  }
  return a;
}

}  // namespace

ClipTuning ClipTuning::official() {
  ClipTuning t;
  t.epochs = 50, t.lr = 1e-2, t.batch = 1, t.aug_loss = true, t.init = 4.f, t.init_binary = 4.f;
  return t;
}

void ClipTuning::validate() const {
  if (epochs < 1 || epochs > 10000) fail("slim+", "epochs must be 1…10000, got {}", epochs);
  if (!(lr > 0) || !std::isfinite(lr) || lr > 10) fail("slim+", "learning rate must be in (0, 10], got {}", lr);
  if (batch < 1 || batch > 4096) fail("slim+", "batch must be 1…4096 windows, got {}", batch);
  if (windows < 0) fail("slim+", "windows must be ≥ 0 (0: all), got {}", windows);
  if (!std::isfinite(init) || !std::isfinite(init_binary)) fail("slim+", "initial clipping logits must be finite");
}

nlohmann::json ClipTuning::to_json() const {
  return {{"epochs", epochs}, {"lr", lr},         {"batch", batch},       {"windows", windows},
          {"fp_inputs", fp_inputs}, {"aug_loss", aug_loss}, {"init", init}, {"init_binary", init_binary}};
}

double mse_loss(const float* y, const float* target, size_t n, float scale, float* dy) {
  double sum = 0;
  const float k = 2.f * scale / float(n);
  for (size_t i = 0; i < n; ++i) {
    const float d = y[i] - target[i];
    sum += double(d) * d;
    dy[i] = k * d;
  }
  return sum / double(n);
}

Quantizers tune_block_clipping(const BlockTuneJob& job, const ClipTuning& opt, BlockTuneReport* report) {
  opt.validate();
  if (!job.inputs || !job.targets || (opt.aug_loss && !job.aug_targets) || !job.pool || !job.config || !job.make)
    fail(job.where, "block training without its activations");
  if (job.inputs->windows() == 0) fail(job.where, "block training needs calibration windows");
  double lr = opt.lr;
  for (int attempt = 0;; ++attempt, lr /= 10) {
    Quantizers clips = fresh_quantizers(job);
    const Attempt a = train(job, opt, lr, clips);
    if (!a.finite) {
      if (attempt < 2) continue;
      fail(job.where, "clipping training diverged (non-finite loss or gradient) at learning rates {} … {}", opt.lr, lr);
    }
    if (report) {
      report->first_loss = a.first_loss, report->last_loss = a.last_loss, report->retries = attempt;
      report->activation_floats = BlockGrad(*job.config, job.inputs->tokens_per_window()).floats_held();
    }
    return clips;
  }
}

}  // namespace mixq::quant
