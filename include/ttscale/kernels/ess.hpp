// ttscale/kernels/ess.hpp: effective sample size and entropy of normalised weights.
//
// effective_sample_size(lw) = 1 / sum_i W_i^2 = (sum w)^2 / sum w^2 with w = exp(lw - max),
// as particles' `essl` (Chopin & Papaspiliopoulos 2020, sec. 8.6). One read of memory: the
// block-wise online logsumexp of log_weights.hpp with both sums in double, rescaled (by f
// and f^2) once per block that raises the maximum.
// weight_entropy(lw) = -sum_i W_i log W_i (natural log), in [0, log N]; the entropic
// criterion of entropy-based adaptive particle filters; exp(entropy) is the "perplexity",
// another effective sample size. One read, one exp per element: the same blocks, with
// sum w (x - m) rescaled alongside sum w.
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
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/kernels/log_weights.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// sum w and sum w^2 with w = exp(x - m), m the running maximum; nan: a NaN or +inf was met.
struct ess_state {
  double m = -std::numeric_limits<double>::infinity();
  double s1 = 0.0, s2 = 0.0;
  bool nan = false;
};

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/ess_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

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
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::effective_sample_size<Ops>(lw); });
}
[[nodiscard]] inline double effective_sample_size(std::span<const double> lw) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::effective_sample_size<Ops>(lw); });
}

/// -sum W_i log W_i of the normalised weights (natural log), in [0, log N].
[[nodiscard]] inline double weight_entropy(std::span<const float> lw) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::weight_entropy<Ops>(lw); });
}
[[nodiscard]] inline double weight_entropy(std::span<const double> lw) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::weight_entropy<Ops>(lw); });
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
