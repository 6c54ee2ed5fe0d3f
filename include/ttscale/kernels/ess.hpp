// ttscale/kernels/ess.hpp: effective sample size and entropy of normalised weights.
//
// effective_sample_size(lw) = 1 / sum_i W_i^2 = (sum w)^2 / sum w^2 with w = exp(lw - max),
// as particles' `essl` (Chopin & Papaspiliopoulos 2020, sec. 8.6). One pass: each lane keeps
// a running max and both sums in double, rescaled only when its max grows.
// weight_entropy(lw) = -sum_i W_i log W_i (natural log), in [0, log N]; the entropic
// criterion of entropy-based adaptive particle filters; exp(entropy) is the "perplexity",
// another effective sample size. Two passes (logsumexp, then the weighted sum).
// Complexity O(N), no allocation. Both return double for float and double input.
//
// Valid input and errors are those of logsumexp (log_weights.hpp): empty -> invalid_argument;
// NaN, +inf, all -inf -> invalid_score. -inf entries have weight exactly 0 (and contribute
// 0 * log 0 = 0 to the entropy).
// Accuracy (tests/kernels/ess_test.cpp, long double reference): ESS within
// (16 eps(T) + N 2^-52) relative; entropy within 16 eps(T) (1 + log N + sum_i W_i |log W_i|)
// + N 2^-50 absolute (the float path rounds each exp and each log-weight to float).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/kernels/log_weights.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

struct ess_state {
  double m = -std::numeric_limits<double>::infinity();
  double s1 = 0.0, s2 = 0.0;
  bool nan = false;
};

inline ess_state merge(ess_state a, ess_state b) noexcept {
  ess_state r;
  r.nan = a.nan || b.nan;
  r.m = std::max(a.m, b.m);
  if (r.m == -std::numeric_limits<double>::infinity()) return r;
  for (const ess_state* p : {&a, &b}) {
    if (p->s1 > 0) {
      const double f = std::exp(p->m - r.m);
      r.s1 += p->s1 * f;
      r.s2 += p->s2 * f * f;
    }
  }
  return r;
}

template <class Ops, class T>
inline ess_state ess_pass(const T* x, std::size_t n) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  const reg zero = Ops::set1(T(0));
  reg m = minf, shift = zero;
  auto s1 = Ops::acc_zero(), s2 = Ops::acc_zero();
  auto bad = Ops::is_nan(zero);
  // A lane's max grew to mn (rare after the first few registers): rescale both sums to it.
  auto raise_max = [&](const reg mn) {
    if (Ops::any(Ops::neq(mn, m))) [[unlikely]] {
      const reg nshift = Ops::select(Ops::eq(mn, minf), zero, mn);
      const reg f = exp_reg<Ops>(Ops::sub(m, nshift));  // m = -inf: 0, never inf
      s1 = Ops::acc_scale(s1, f);
      s2 = Ops::acc_scale(Ops::acc_scale(s2, f), f);
      m = mn;
      shift = nshift;
    }
  };
  std::size_t i = 0;
  // Two registers per step: one max test, and each sum gets one widening to double for both,
  // the pair added in T first (e0 + e1, and e0^2 + e1^2 with one fused rounding): at most
  // one extra rounding of 1/2 ulp per sum, inside the documented bound. In float, e^2 < 2^-126
  // is subnormal or 0, an absolute loss below 2^-149 per term against a lane sum >= 1 (the
  // lane's maximum contributes exp(0)^2 = 1).
  for (; i < n - n % (2 * w); i += 2 * w) {
    const reg v0 = Ops::load(x + i), v1 = Ops::load(x + i + w);
    bad = Ops::mask_or(bad, Ops::mask_or(Ops::is_nan(v0), Ops::is_nan(v1)));
    raise_max(Ops::max(v1, Ops::max(v0, m)));
    const reg e0 = exp_reg<Ops>(Ops::sub(v0, shift));
    const reg e1 = exp_reg<Ops>(Ops::sub(v1, shift));
    s1 = Ops::acc_add(s1, Ops::add(e0, e1));
    s2 = Ops::acc_add(s2, Ops::fmadd(e1, e1, Ops::mul(e0, e0)));
  }
  for (; i < n - n % w; i += w) {
    const reg v = Ops::load(x + i);
    bad = Ops::mask_or(bad, Ops::is_nan(v));
    raise_max(Ops::max(v, m));
    const reg e = exp_reg<Ops>(Ops::sub(v, shift));
    s1 = Ops::acc_add(s1, e);
    s2 = Ops::acc_add_sq(s2, e);  // squared in double: e^2 would underflow in float
  }
  T ml[max_lanes];
  double l1[max_lanes], l2[max_lanes];
  Ops::store_lanes(m, ml);
  Ops::acc_store(s1, l1);
  Ops::acc_store(s2, l2);
  ess_state st;
  st.nan = Ops::any(bad);
  for (std::size_t l = 0; l < w; ++l) st = merge(st, ess_state{double(ml[l]), l1[l], l2[l], false});
  if constexpr (w > 1) {
    if (i < n) st = merge(st, ess_pass<ops<T, isa_scalar>, T>(x + i, n - i));
  }
  return st;
}

template <class Ops, class T>
[[nodiscard]] inline double effective_sample_size(std::span<const T> x) {
  const ess_state st = ess_pass<Ops, T>(x.data(), x.size());
  if (st.nan || x.empty() || !(st.m > -std::numeric_limits<double>::infinity()) ||
      st.m == std::numeric_limits<double>::infinity())
    throw_bad_log_weights<T>("effective_sample_size", x);
  return st.s1 * st.s1 / st.s2;
}

template <class Ops, class T>
[[nodiscard]] inline double weight_entropy(std::span<const T> x) {
  const lse_state st = checked_lse<Ops, T>("weight_entropy", x);
  // log W_i = (x_i - m) - log s; -sum W log W = log s - sum W_i (x_i - m).
  const T m = static_cast<T>(st.m);
  const T inv_s = static_cast<T>(1.0 / st.s);
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg vm = Ops::set1(m), vinv = Ops::set1(inv_s), zero = Ops::set1(T(0));
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  auto acc = Ops::acc_zero();
  std::size_t i = 0;
  for (; i < x.size() - x.size() % w; i += w) {
    const reg v = Ops::load(x.data() + i);
    const reg d = Ops::sub(v, vm);
    const reg wgt = Ops::mul(exp_reg<Ops>(d), vinv);
    // 0 * -inf would be NaN; a zero weight contributes exactly 0.
    acc = Ops::acc_add(acc, Ops::select(Ops::eq(v, minf), zero, Ops::mul(wgt, d)));
  }
  double lanes[max_lanes];
  Ops::acc_store(acc, lanes);
  double sum = 0;
  for (std::size_t l = 0; l < w; ++l) sum += lanes[l];
  using S = ops<T, isa_scalar>;
  for (; i < x.size(); ++i)
    if (x[i] != -std::numeric_limits<T>::infinity()) {
      const T d = x[i] - m;
      sum += static_cast<double>(exp_reg<S>(d) * inv_s * d);
    }
  const double h = std::log(st.s) - sum;
  return h > 0 ? h : 0.0;  // round-off can give -1e-17 for a single surviving weight
}

// The scalar references (std::exp, sums in double, two passes).
template <class T>
[[nodiscard]] inline double reference_effective_sample_size(std::span<const T> lw) {
  const auto st = reference_lse("effective_sample_size", lw);
  const T m = static_cast<T>(st.m);
  double s1 = 0, s2 = 0;
  for (const T v : lw) {
    const double e = std::exp(v - m);
    s1 += e;
    s2 += e * e;
  }
  return s1 * s1 / s2;
}

template <class T>
[[nodiscard]] inline double reference_weight_entropy(std::span<const T> lw) {
  const auto st = reference_lse("weight_entropy", lw);
  const double lse = st.m + std::log(st.s);
  double h = 0;
  for (const T v : lw)
    if (v != -std::numeric_limits<T>::infinity()) {
      const double lwn = static_cast<double>(v) - lse;
      h -= std::exp(lwn) * lwn;
    }
  return h > 0 ? h : 0.0;
}

}  // namespace detail

/// 1 / sum W_i^2 of the weights W = exp(lw) / sum exp(lw): in [1, N]; N for equal weights,
/// 1 when one weight holds all the mass. Errors as logsumexp.
[[nodiscard]] inline double effective_sample_size(std::span<const float> lw) {
  return detail::effective_sample_size<detail::native_ops<float>>(lw);
}
[[nodiscard]] inline double effective_sample_size(std::span<const double> lw) {
  return detail::effective_sample_size<detail::native_ops<double>>(lw);
}

/// -sum W_i log W_i of the normalised weights (natural log), in [0, log N].
[[nodiscard]] inline double weight_entropy(std::span<const float> lw) {
  return detail::weight_entropy<detail::native_ops<float>>(lw);
}
[[nodiscard]] inline double weight_entropy(std::span<const double> lw) {
  return detail::weight_entropy<detail::native_ops<double>>(lw);
}

/// Scalar references (std::exp, sums in double, two passes).
namespace scalar {
[[nodiscard]] inline double effective_sample_size(std::span<const float> lw) {
  return kernels::detail::reference_effective_sample_size(lw);
}
[[nodiscard]] inline double effective_sample_size(std::span<const double> lw) {
  return kernels::detail::reference_effective_sample_size(lw);
}
[[nodiscard]] inline double weight_entropy(std::span<const float> lw) {
  return kernels::detail::reference_weight_entropy(lw);
}
[[nodiscard]] inline double weight_entropy(std::span<const double> lw) {
  return kernels::detail::reference_weight_entropy(lw);
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
