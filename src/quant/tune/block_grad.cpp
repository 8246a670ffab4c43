// One decoder block's forward with kept activations and its backward (block_grad.hpp).
#include "mixq/quant/tune/block_grad.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace mixq::quant {
namespace {

constexpr size_t kSlab = 64;  // fixed BLAS partition: results do not depend on the thread count

// dX[n][in] (beta 0: =, 1: +=) dY[n][out] · W[out][in], slabs of kSlab input columns.
void gemm_input_grad(const float* w, size_t out, size_t in, const float* dy, size_t n, float* dx, float beta,
                     ThreadPool& pool) {
  kernels::use_single_threaded_blas();
  pool.parallel_for((in + kSlab - 1) / kSlab, [&](size_t sb, size_t se) {
    for (size_t s = sb; s < se; ++s) {
      const size_t c0 = s * kSlab, cols = std::min(in, c0 + kSlab) - c0;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(cols), int(out), 1.f, dy, int(out), w + c0,
                  int(in), beta, dx + c0, int(in));
    }
  });
}

// dW[out][in] += dY[n][out]ᵀ · X[n][in], slabs of kSlab output rows.
void gemm_weight_grad(const float* dy, size_t out, const float* x, size_t in, size_t n, float* dw, ThreadPool& pool) {
  kernels::use_single_threaded_blas();
  pool.parallel_for((out + kSlab - 1) / kSlab, [&](size_t sb, size_t se) {
    for (size_t s = sb; s < se; ++s) {
      const size_t r0 = s * kSlab, rows = std::min(out, r0 + kSlab) - r0;
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(rows), int(in), int(n), 1.f, dy + r0, int(out), x,
                  int(in), 1.f, dw + r0 * in, int(in));
    }
  });
}

// o = w ⊙ (x / rms(x)) as the model's rmsnorm, keeping r = 1/rms.
void rmsnorm_keep(const float* x, const float* w, size_t n, float eps, float* o, float* r) {
  float ss = 0.f;
  for (size_t j = 0; j < n; ++j) ss += x[j] * x[j];
  ss = 1.f / std::sqrt(ss / float(n) + eps);
  *r = ss;
  for (size_t j = 0; j < n; ++j) o[j] = w[j] * (ss * x[j]);
}

// dx (= or +=) the gradient of rmsnorm at x (1/rms r) for output gradient dy:
// r·(w⊙dy) − x·r³/n·Σ w⊙dy⊙x.
void rmsnorm_backward(const float* x, float r, const float* w, const float* dy, size_t n, float* dx, bool add) {
  double s = 0;
  for (size_t j = 0; j < n; ++j) s += double(w[j] * dy[j]) * x[j];
  const float k = float(s) * r * r * r / float(n);
  for (size_t j = 0; j < n; ++j) {
    const float g = r * w[j] * dy[j] - x[j] * k;
    dx[j] = add ? dx[j] + g : g;
  }
}

// RoPE on adjacent pairs at position pos (sign +1), or its transpose (sign −1: the gradient).
void rope_rotate(float* v, size_t size, int head_size, int pos, const float* inv_freq, float sign) {
  for (size_t i = 0; i < size; i += 2) {
    const float val = float(pos) * inv_freq[(int(i) % head_size) / 2];
    const float c = std::cos(val), s = sign * std::sin(val);
    const float v0 = v[i], v1 = v[i + 1];
    v[i] = v0 * c - v1 * s;
    v[i + 1] = v0 * s + v1 * c;
  }
}

void add_rows(float* x, const std::vector<float>& bias, size_t n) {
  if (bias.empty()) return;
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < bias.size(); ++i) x[t * bias.size() + i] += bias[i];
}

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

std::pair<size_t, size_t> block_linear_shape(const io::LlamaConfig& c, size_t slot) {
  const size_t dim = size_t(c.dim), q = size_t(c.q_dim()), kv = size_t(c.kv_dim()), hid = size_t(c.hidden_dim);
  const std::pair<size_t, size_t> shapes[kBlockLinears] = {{q, dim}, {kv, dim}, {kv, dim}, {dim, q},
                                                           {hid, dim}, {hid, dim}, {dim, hid}};
  return shapes[slot];
}

BlockLinearGrads zero_block_grads(const io::LlamaConfig& c) {
  BlockLinearGrads g;
  for (size_t i = 0; i < kBlockLinears; ++i) {
    const auto [rows, cols] = block_linear_shape(c, i);
    g[i].assign(rows * cols, 0.f);
  }
  return g;
}

BlockGrad::BlockGrad(const io::LlamaConfig& c, size_t tokens)
    : c_(c),
      tokens_(tokens),
      dim_(size_t(c.dim)),
      q_dim_(size_t(c.q_dim())),
      kv_dim_(size_t(c.kv_dim())),
      hid_(size_t(c.hidden_dim)),
      hs_(c.head_size()),
      inv_freq_(io::rope_inv_freq(c)) {
  if (tokens == 0 || tokens > size_t(c.seq_len)) fail("block training", "windows of {} tokens (context {})", tokens, c.seq_len);
  const size_t T = tokens;
  xn1_.resize(T * dim_), r1_.resize(T), q_.resize(T * q_dim_), k_.resize(T * kv_dim_), v_.resize(T * kv_dim_);
  if (c.qk_norm) {
    q_pre_.resize(T * q_dim_), k_pre_.resize(T * kv_dim_);
    rq_.resize(T * size_t(c.n_heads)), rk_.resize(T * size_t(c.n_kv_heads));
  }
  att_.resize(T * q_dim_), lse_.resize(size_t(c.n_heads) * T), x1_.resize(T * dim_), xn2_.resize(T * dim_), r2_.resize(T);
  g_.resize(T * hid_), u_.resize(T * hid_), m_.resize(T * hid_);
}

size_t BlockGrad::floats_held() const {
  size_t n = 0;
  for (const auto* v : {&xn1_, &r1_, &q_pre_, &k_pre_, &rq_, &rk_, &q_, &k_, &v_, &att_, &lse_, &x1_, &xn2_, &r2_, &g_, &u_, &m_})
    n += v->size();
  return n;
}

int BlockGrad::first_visible(int t) const { return c_.sliding_window > 0 ? std::max(0, t - c_.sliding_window + 1) : 0; }

void BlockGrad::forward(const BlockWeights& w, const float* x, float* y, ThreadPool& pool) {
  const model::LayerWeights& L = *w.vectors;
  const size_t T = tokens_;
  const float eps = c_.rms_norm_eps;
  x_ = x;
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) rmsnorm_keep(x + t * dim_, L.attn_norm.data(), dim_, eps, &xn1_[t * dim_], &r1_[t]);
  });
  kernels::gemm_f32(w.linear[0], q_dim_, dim_, xn1_.data(), T, q_.data(), pool);
  kernels::gemm_f32(w.linear[1], kv_dim_, dim_, xn1_.data(), T, k_.data(), pool);
  kernels::gemm_f32(w.linear[2], kv_dim_, dim_, xn1_.data(), T, v_.data(), pool);
  add_rows(q_.data(), L.bq, T), add_rows(k_.data(), L.bk, T), add_rows(v_.data(), L.bv, T);
  const size_t hs = size_t(hs_);
  if (c_.qk_norm) {
    q_pre_ = q_, k_pre_ = k_;
    for (size_t i = 0; i < T * q_dim_ / hs; ++i)
      rmsnorm_keep(&q_pre_[i * hs], L.q_norm.data(), hs, eps, &q_[i * hs], &rq_[i]);
    for (size_t i = 0; i < T * kv_dim_ / hs; ++i)
      rmsnorm_keep(&k_pre_[i * hs], L.k_norm.data(), hs, eps, &k_[i * hs], &rk_[i]);
  }
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      rope_rotate(&q_[t * q_dim_], q_dim_, hs_, int(t), inv_freq_.data(), 1.f);
      rope_rotate(&k_[t * kv_dim_], kv_dim_, hs_, int(t), inv_freq_.data(), 1.f);
    }
  });
  attention_forward(pool);
  kernels::gemm_f32(w.linear[3], dim_, q_dim_, att_.data(), T, x1_.data(), pool);
  for (size_t i = 0; i < T * dim_; ++i) x1_[i] += x[i];
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) rmsnorm_keep(&x1_[t * dim_], L.ffn_norm.data(), dim_, eps, &xn2_[t * dim_], &r2_[t]);
  });
  kernels::gemm_f32(w.linear[4], hid_, dim_, xn2_.data(), T, g_.data(), pool);
  kernels::gemm_f32(w.linear[5], hid_, dim_, xn2_.data(), T, u_.data(), pool);
  for (size_t i = 0; i < T * hid_; ++i) m_[i] = g_[i] * sigmoid(g_[i]) * u_[i];
  kernels::gemm_f32(w.linear[6], dim_, hid_, m_.data(), T, y, pool);
  for (size_t i = 0; i < T * dim_; ++i) y[i] += x1_[i];
}

// Per query head: S = Q Kᵀ/√hs over the visible keys, P = softmax(S), O = P V; each row's
// log-sum-exp is kept so backward can rebuild P without storing heads × T² floats.
void BlockGrad::attention_forward(ThreadPool& pool) {
  const size_t T = tokens_, hs = size_t(hs_);
  const int kv_mul = c_.n_heads / c_.n_kv_heads;
  const float inv_sqrt = 1.f / std::sqrt(float(hs_));
  kernels::use_single_threaded_blas();
  pool.parallel_for(size_t(c_.n_heads), [&](size_t hb, size_t he) {
    std::vector<float> s(T * T);
    for (size_t h = hb; h < he; ++h) {
      const float* qh = q_.data() + h * hs;
      const size_t koff = size_t(int(h) / kv_mul) * hs;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(T), int(T), int(hs), inv_sqrt, qh, int(q_dim_),
                  k_.data() + koff, int(kv_dim_), 0.f, s.data(), int(T));
      for (size_t t = 0; t < T; ++t) {
        float* row = &s[t * T];
        const size_t first = size_t(first_visible(int(t)));
        const float mx = *std::max_element(row + first, row + t + 1);
        float sum = 0.f;
        for (size_t j = first; j <= t; ++j) sum += (row[j] = std::exp(row[j] - mx));
        for (size_t j = first; j <= t; ++j) row[j] /= sum;
        std::fill(row, row + first, 0.f);
        std::fill(row + t + 1, row + T, 0.f);
        lse_[h * T + t] = mx + std::log(sum);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(T), int(hs), int(T), 1.f, s.data(), int(T),
                  v_.data() + koff, int(kv_dim_), 0.f, att_.data() + h * hs, int(q_dim_));
    }
  });
}

// dV += Pᵀ dO, dS = P ⊙ (dO Vᵀ − rowdot(dO, O)) / √hs, dQ = dS K, dK += dSᵀ Q; one work item per
// key/value head (its query heads in order), so the sums into dK and dV have one order.
void BlockGrad::attention_backward(const float* d_att, float* dq, float* dk, float* dv, ThreadPool& pool) const {
  const size_t T = tokens_, hs = size_t(hs_);
  const int kv_mul = c_.n_heads / c_.n_kv_heads;
  const float inv_sqrt = 1.f / std::sqrt(float(hs_));
  std::fill(dk, dk + T * kv_dim_, 0.f);
  std::fill(dv, dv + T * kv_dim_, 0.f);
  kernels::use_single_threaded_blas();
  pool.parallel_for(size_t(c_.n_kv_heads), [&](size_t gb, size_t ge) {
    std::vector<float> p(T * T), ds(T * T);
    for (size_t g = gb; g < ge; ++g) {
      const size_t koff = g * hs;
      for (size_t h = g * size_t(kv_mul); h < (g + 1) * size_t(kv_mul); ++h) {
        const float* qh = q_.data() + h * hs;
        const float* doh = d_att + h * hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(T), int(T), int(hs), inv_sqrt, qh, int(q_dim_),
                    k_.data() + koff, int(kv_dim_), 0.f, p.data(), int(T));
        for (size_t t = 0; t < T; ++t) {
          float* row = &p[t * T];
          const size_t first = size_t(first_visible(int(t)));
          for (size_t j = first; j <= t; ++j) row[j] = std::exp(row[j] - lse_[h * T + t]);
          std::fill(row, row + first, 0.f);
          std::fill(row + t + 1, row + T, 0.f);
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(T), int(hs), int(T), 1.f, p.data(), int(T), doh,
                    int(q_dim_), 1.f, dv + koff, int(kv_dim_));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(T), int(T), int(hs), 1.f, doh, int(q_dim_),
                    v_.data() + koff, int(kv_dim_), 0.f, ds.data(), int(T));
        for (size_t t = 0; t < T; ++t) {
          float d = 0.f;
          for (size_t i = 0; i < hs; ++i) d += doh[t * q_dim_ + i] * att_[t * q_dim_ + h * hs + i];
          for (size_t j = 0; j < T; ++j) ds[t * T + j] = p[t * T + j] * (ds[t * T + j] - d) * inv_sqrt;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(T), int(hs), int(T), 1.f, ds.data(), int(T),
                    k_.data() + koff, int(kv_dim_), 0.f, dq + h * hs, int(q_dim_));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(T), int(hs), int(T), 1.f, ds.data(), int(T), qh,
                    int(q_dim_), 1.f, dk + koff, int(kv_dim_));
      }
    }
  });
}

void BlockGrad::backward(const BlockWeights& w, const float* dy, BlockLinearGrads& grads, float* dx, ThreadPool& pool) {
  if (!x_) fail("block training", "backward before forward");
  const model::LayerWeights& L = *w.vectors;
  const size_t T = tokens_, hs = size_t(hs_);
  // MLP: y = x1 + W2 (silu(g) ⊙ u), g = W1 xn2, u = W3 xn2.
  std::vector<float> dx1(dy, dy + T * dim_), dm(T * hid_), dxn2(T * dim_);
  gemm_weight_grad(dy, dim_, m_.data(), hid_, T, grads[6].data(), pool);
  gemm_input_grad(w.linear[6], dim_, hid_, dy, T, dm.data(), 0.f, pool);
  std::vector<float> dg(T * hid_), du(T * hid_);
  for (size_t i = 0; i < T * hid_; ++i) {
    const float sg = sigmoid(g_[i]);
    du[i] = dm[i] * g_[i] * sg;
    dg[i] = dm[i] * u_[i] * sg * (1.f + g_[i] * (1.f - sg));
  }
  gemm_weight_grad(dg.data(), hid_, xn2_.data(), dim_, T, grads[4].data(), pool);
  gemm_weight_grad(du.data(), hid_, xn2_.data(), dim_, T, grads[5].data(), pool);
  gemm_input_grad(w.linear[4], hid_, dim_, dg.data(), T, dxn2.data(), 0.f, pool);
  gemm_input_grad(w.linear[5], hid_, dim_, du.data(), T, dxn2.data(), 1.f, pool);
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t)
      rmsnorm_backward(&x1_[t * dim_], r2_[t], L.ffn_norm.data(), &dxn2[t * dim_], dim_, &dx1[t * dim_], true);
  });
  // Attention: x1 = x + Wo att.
  std::vector<float> datt(T * q_dim_), dq(T * q_dim_), dk(T * kv_dim_), dv(T * kv_dim_);
  gemm_weight_grad(dx1.data(), dim_, att_.data(), q_dim_, T, grads[3].data(), pool);
  gemm_input_grad(w.linear[3], dim_, q_dim_, dx1.data(), T, datt.data(), 0.f, pool);
  attention_backward(datt.data(), dq.data(), dk.data(), dv.data(), pool);
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      rope_rotate(&dq[t * q_dim_], q_dim_, hs_, int(t), inv_freq_.data(), -1.f);
      rope_rotate(&dk[t * kv_dim_], kv_dim_, hs_, int(t), inv_freq_.data(), -1.f);
    }
  });
  if (c_.qk_norm) {
    for (size_t i = 0; i < T * q_dim_ / hs; ++i)
      rmsnorm_backward(&q_pre_[i * hs], rq_[i], L.q_norm.data(), &dq[i * hs], hs, &dq[i * hs], false);
    for (size_t i = 0; i < T * kv_dim_ / hs; ++i)
      rmsnorm_backward(&k_pre_[i * hs], rk_[i], L.k_norm.data(), &dk[i * hs], hs, &dk[i * hs], false);
  }
  gemm_weight_grad(dq.data(), q_dim_, xn1_.data(), dim_, T, grads[0].data(), pool);
  gemm_weight_grad(dk.data(), kv_dim_, xn1_.data(), dim_, T, grads[1].data(), pool);
  gemm_weight_grad(dv.data(), kv_dim_, xn1_.data(), dim_, T, grads[2].data(), pool);
  if (!dx) return;
  std::vector<float> dxn1(T * dim_);
  gemm_input_grad(w.linear[0], q_dim_, dim_, dq.data(), T, dxn1.data(), 0.f, pool);
  gemm_input_grad(w.linear[1], kv_dim_, dim_, dk.data(), T, dxn1.data(), 1.f, pool);
  gemm_input_grad(w.linear[2], kv_dim_, dim_, dv.data(), T, dxn1.data(), 1.f, pool);
  std::copy(dx1.begin(), dx1.end(), dx);
  pool.parallel_for(T, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t)
      rmsnorm_backward(x_ + t * dim_, r1_[t], L.attn_norm.data(), &dxn1[t * dim_], dim_, dx + t * dim_, true);
  });
}

}  // namespace mixq::quant
