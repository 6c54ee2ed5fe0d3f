// ttscale/strategies/detail/adaptive_consistency_beta.hpp: the regularised
// incomplete beta function for integer arguments, for adaptive
// self-consistency's Beta stopping rule. Users never include this header.
//
// For positive integers a, b and x in [0, 1],
//   I_x(a, b) = P[Binomial(a + b - 1, x) >= a]
//             = sum_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^(a+b-1-j)
// (Abramowitz & Stegun 26.5.24 / 6.6.4), so no continued fraction is needed.
// Terms are formed in log space (lgamma), so none overflows; each term's
// relative error is about 1e-16 * log((a+b-1)!) — below 1e-12 for
// a + b <= 1000 (votes of a few hundred samples), 1e-9 for a + b <= 1e5 —
// and summing b positive terms adds at most b ulps. Cost O(b).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// I_x(a, b) for integers a, b >= 1; throws invalid_argument otherwise or for x outside [0, 1].
inline double regularized_incomplete_beta(std::uint64_t a, std::uint64_t b, double x) {
  if (a == 0 || b == 0)
    throw invalid_argument("regularized_incomplete_beta: a and b must be >= 1 (got a = " + std::to_string(a) +
                           ", b = " + std::to_string(b) + ")");
  if (!(x >= 0.0 && x <= 1.0))
    throw invalid_argument("regularized_incomplete_beta: x must be in [0, 1] (got " + detail::number_text(x) + ")");
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  const double n = static_cast<double>(a + b - 1);
  const double log_x = std::log(x), log_1mx = std::log1p(-x);
  const double log_n_factorial = std::lgamma(n + 1.0);
  auto log_term = [&](std::uint64_t j) {
    const double jd = static_cast<double>(j);
    return log_n_factorial - std::lgamma(jd + 1.0) - std::lgamma(n - jd + 1.0) + jd * log_x + (n - jd) * log_1mx;
  };
  // The upper tail j = a..n of Binomial(n, x).
  double sum = 0.0;
  for (std::uint64_t j = a + b - 1;; --j) {
    sum += std::exp(log_term(j));
    if (j == a) break;
  }
  return std::min(1.0, sum);
}

/// Adaptive-consistency's posterior probability that the leading answer (v1
/// votes) is the majority against the runner-up (v2 votes), with a uniform
/// prior on their two-way split: P = 1 - I_0.5(v1 + 1, v2 + 1)
/// (Aggarwal et al. 2023, sec. 3, "Beta stopping criterion").
inline double beta_majority_probability(std::uint64_t v1, std::uint64_t v2) {
  return 1.0 - regularized_incomplete_beta(v1 + 1, v2 + 1, 0.5);
}

}  // namespace detail
TTSCALE_END_NAMESPACE
