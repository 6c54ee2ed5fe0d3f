// ttscale/selection/detail/weibull_mixture.hpp: the two-component Weibull
// mixture behind select::rpc's Reasoning Pruning (internal; users include
// ttscale/selection/rpc.hpp).
//
// Zhou et al. 2025 ("RPC", Reasoning Pruning, Theorem 7) model the internal
// probabilities of the sampled reasoning paths as a mixture of two Weibull
// distributions, a high- and a low-probability mode:
//   f(x) = w f_W(x; k_1, l_1) + (1 - w) f_W(x; k_2, l_2),
//   f_W(x; k, l) = (k / l) (x / l)^(k-1) exp(-(x / l)^k),   x > 0,
// fitted by maximum likelihood with the mixing weight kept in [0.2, 0.8] (the
// bounds of their public implementation, WNJXYK/RPC compute_rpc.py); the
// component with the larger mean l Gamma(1 + 1/k) is the high one.
//
// Here the likelihood is maximised by EM. The E-step gives each point its
// responsibilities; the M-step is the weighted Weibull MLE of each component
// (the shape k solves the profile equation
//   g(k) = 1/k + sum r u / sum r - sum r x^k u / sum r x^k = 0,   u = log x,
// strictly decreasing in k, by Newton's method safeguarded by bisection on
// log k in [0.01, 1e4]; then l^k = sum r x^k / sum r) and the weight is the
// mean responsibility clamped to [0.2, 0.8], which maximises the expected
// log-likelihood over that interval (it is concave in w). Each EM step never
// lowers the likelihood; the loop stops when it gains less than 1e-10
// (relative) or after `max_iterations`. EM starts from a split at the median
// (upper half high), not from the implementation's fixed starting point,
// which belongs to its quasi-Newton optimiser.
//
// Everything is computed from u = log x in log space (x^k = exp(k u) shifted
// by the largest u), so probabilities like exp(-300) neither underflow nor
// lose the fit. The mixture is scale-equivariant (x -> c x maps the fit's
// scales l -> c l and leaves every membership probability unchanged), so
// callers may pass log x - max log x. The shape's floor 0.01 is the
// implementation's bound; its ceiling 1e4 bounds the likelihood when a
// component collapses onto equal values (which are then one point mass for
// every practical purpose).
//
// Complexity: O(n) per EM iteration times a few Newton steps per component.
#pragma once

#include <ttscale/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

struct weibull_component {
  double weight = 0.5;     ///< mixing weight
  double shape = 1.0;      ///< k
  double log_scale = 0.0;  ///< log l
};

struct weibull_mixture {
  weibull_component high;  ///< the component with the larger mean
  weibull_component low;
  double log_likelihood = 0.0;
  std::size_t iterations = 0;
};

inline constexpr double weibull_min_shape = 0.01;
inline constexpr double weibull_max_shape = 1e4;
inline constexpr double weibull_min_weight = 0.2;
inline constexpr double weibull_max_weight = 0.8;

/// log f_W(x; k, l) from u = log x.
inline double weibull_log_pdf(double u, double shape, double log_scale) noexcept {
  const double z = u - log_scale;  // log(x / l)
  return std::log(shape) - log_scale + (shape - 1.0) * z - std::exp(shape * z);
}

/// log of the mean l Gamma(1 + 1/k).
inline double weibull_log_mean(const weibull_component& c) noexcept {
  return c.log_scale + std::lgamma(1.0 + 1.0 / c.shape);
}

/// log(exp(a) + exp(b)), either may be -inf.
inline double log_add(double a, double b) noexcept {
  const double m = std::max(a, b);
  if (m == -std::numeric_limits<double>::infinity()) return m;
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

/// Weighted Weibull MLE of (k, log l) for points u with weights r (sum r > 0).
/// `shape` holds the starting point on entry (a warm start from the last EM step).
inline void fit_weibull_component(std::span<const double> u, std::span<const double> r, double& shape,
                                  double& log_scale) {
  double sum_r = 0.0, sum_ru = 0.0, u_max = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (r[i] <= 0.0) continue;
    sum_r += r[i];
    sum_ru += r[i] * u[i];
    u_max = std::max(u_max, u[i]);
  }
  const double mean_u = sum_ru / sum_r;
  // g(k) and g'(k); t_i = r_i exp(k (u_i - u_max)) keeps every term in [0, r_i].
  struct profile {
    double g, dg, log_sum_t;  // log_sum_t = log sum t_i
  };
  auto evaluate = [&](double k) {
    double st = 0.0, stu = 0.0, stuu = 0.0;
    for (std::size_t i = 0; i < u.size(); ++i) {
      if (r[i] <= 0.0) continue;
      const double d = u[i] - u_max;
      const double t = r[i] * std::exp(k * d);
      st += t;
      stu += t * d;
      stuu += t * d * d;
    }
    const double mean_d = stu / st;  // weighted mean of u - u_max under t
    const double var_d = std::max(0.0, stuu / st - mean_d * mean_d);
    return profile{1.0 / k + mean_u - (u_max + mean_d), -1.0 / (k * k) - var_d, std::log(st)};
  };
  double lo = std::log(weibull_min_shape), hi = std::log(weibull_max_shape);
  double y = std::clamp(std::log(shape), lo, hi);
  profile p = evaluate(std::exp(y));
  if (evaluate(std::exp(hi)).g >= 0.0) {  // equal values: the profile never turns; take the ceiling
    y = hi;
    p = evaluate(std::exp(y));
  } else if (evaluate(std::exp(lo)).g <= 0.0) {
    y = lo;
    p = evaluate(std::exp(y));
  } else {
    for (int it = 0; it < 100; ++it) {
      (p.g > 0.0 ? lo : hi) = y;  // g decreases: the root lies above y when g(y) > 0
      // Newton in y = log k: dg/dy = k g'(k).
      const double k = std::exp(y);
      double next = y - p.g / (k * p.dg);
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
      if (std::abs(next - y) < 1e-12 || hi - lo < 1e-12) {
        y = next;
        p = evaluate(std::exp(y));
        break;
      }
      y = next;
      p = evaluate(std::exp(y));
    }
  }
  shape = std::exp(y);
  // l^k = sum r x^k / sum r  =>  log l = (k u_max + log sum t - log sum r) / k.
  log_scale = u_max + (p.log_sum_t - std::log(sum_r)) / shape;
}

/// P(low component | u) under `m`.
inline double low_membership(const weibull_mixture& m, double u) noexcept {
  const double a = std::log(m.high.weight) + weibull_log_pdf(u, m.high.shape, m.high.log_scale);
  const double b = std::log(m.low.weight) + weibull_log_pdf(u, m.low.shape, m.low.log_scale);
  return std::exp(b - log_add(a, b));
}

/// Maximum-likelihood two-component Weibull mixture of x = exp(u) (see the
/// header comment). `u` holds at least two finite values.
inline weibull_mixture fit_weibull_mixture(std::span<const double> u, std::size_t max_iterations) {
  const std::size_t n = u.size();
  std::vector<double> r1(n, 0.0), r2(n, 0.0);  // responsibilities of components 1 and 2
  {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return u[a] > u[b]; });
    for (std::size_t j = 0; j < n; ++j) (j < (n + 1) / 2 ? r1 : r2)[order[j]] = 1.0;
  }
  weibull_component c1{0.5, 1.0, 0.0}, c2{0.5, 1.0, 0.0};
  double previous = -std::numeric_limits<double>::infinity(), ll = previous;
  std::size_t iteration = 0;
  while (iteration < max_iterations) {
    ++iteration;
    // M-step; a component that lost every point keeps its last parameters.
    double sum1 = 0.0;
    for (double v : r1) sum1 += v;
    const double sum2 = static_cast<double>(n) - sum1;
    if (sum1 > 1e-12) fit_weibull_component(u, r1, c1.shape, c1.log_scale);
    if (sum2 > 1e-12) fit_weibull_component(u, r2, c2.shape, c2.log_scale);
    c1.weight = std::clamp(sum1 / static_cast<double>(n), weibull_min_weight, weibull_max_weight);
    c2.weight = 1.0 - c1.weight;
    // E-step and the log-likelihood of the parameters just fitted.
    ll = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::log(c1.weight) + weibull_log_pdf(u[i], c1.shape, c1.log_scale);
      const double b = std::log(c2.weight) + weibull_log_pdf(u[i], c2.shape, c2.log_scale);
      const double total = log_add(a, b);
      ll += total;
      r1[i] = std::exp(a - total);
      r2[i] = 1.0 - r1[i];
    }
    if (ll - previous < 1e-10 * (1.0 + std::abs(ll))) break;
    previous = ll;
  }
  weibull_mixture out;
  const bool first_high = weibull_log_mean(c1) >= weibull_log_mean(c2);
  out.high = first_high ? c1 : c2;
  out.low = first_high ? c2 : c1;
  out.log_likelihood = ll;
  out.iterations = iteration;
  return out;
}

}  // namespace detail
TTSCALE_END_NAMESPACE
