// ttscale/analysis/pass_at_k.hpp: unbiased pass@k and coverage curves.
//
// pass@k is the probability that at least one of k samples is correct. From n
// samples of which c are correct, the unbiased estimator is (eq. 1, Chen et al.
// 2021, "Evaluating Large Language Models Trained on Code")
//
//   pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i),
//
// the product being the paper's numerically stable form (their Figure 3). The
// binomials overflow long before n = 10,000, and 1 - prod loses every digit
// when the product is close to 1, so this takes the shorter of the two
// equivalent products (c factors, or the k factors of
// prod_{i=0}^{k-1} (1 - c / (n - i))) as a sum of logarithms and returns
// -expm1(sum): each factor is log1p(-a/b) when a/b < 1/2 (where log1p keeps
// the digits log(1 - x) would lose) and log((b - a)/b) otherwise.
//
// Coverage at k (Brown et al. 2024, "Large Language Monkeys") is the mean of
// pass@k over problems; coverage_curve adds a percentile-bootstrap interval
// over problems (bootstrap.hpp). pass_at_k is O(min(c, k)); a curve is
// O(problems · ks · (min(c, k) + resamples)).
#pragma once

#include <ttscale/analysis/bootstrap.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

namespace detail {
/// log(1 - a/b) for integers 0 < a < b.
inline double log_one_minus_ratio(std::uint64_t a, std::uint64_t b) noexcept {
  const double x = static_cast<double>(a) / static_cast<double>(b);
  // Near 1, 1 - x would be rounded before the log; (b - a)/b is one rounding.
  return x < 0.5 ? std::log1p(-x) : std::log(static_cast<double>(b - a) / static_cast<double>(b));
}
}  // namespace detail

/// The unbiased pass@k estimate from n samples of which c are correct:
/// 1 - C(n-c, k)/C(n, k) (eq. 1, Chen et al. 2021). Exactly 1 when n - c < k
/// (every k-subset holds a correct sample), exactly 0 when c = 0, and the
/// correctly rounded c·k/n when c = 1 or k = 1.
///
/// Error: each of the min(c, k) logarithms is within about one rounding, so
/// the relative error of the result is at most about (min(c, k) + 3)·2^-52
/// (derived; the tests measure it against exact rationals for n <= 20 and
/// against closed forms at n = 10,000). Counts are converted to double, so they
/// are exact up to 2^53. Never NaN or infinite.
///
/// Throws invalid_argument unless c <= n and 1 <= k <= n.
[[nodiscard]] inline double pass_at_k(std::uint64_t n, std::uint64_t c, std::uint64_t k) {
  if (c > n)
    throw invalid_argument("analysis::pass_at_k: c must be at most n (got c " + std::to_string(c) + ", n " +
                           std::to_string(n) + ")");
  if (k < 1 || k > n)
    throw invalid_argument("analysis::pass_at_k: k must be in [1, n] (got k " + std::to_string(k) + ", n " +
                           std::to_string(n) + ")");
  if (n - c < k) return 1.0;
  if (c == 0) return 0.0;
  // One factor: the result is c/n (k = 1) or k/n (c = 1); dividing directly
  // rounds once, so pass@1 is exactly the sample accuracy as a double.
  if (c == 1 || k == 1) return static_cast<double>(c * k) / static_cast<double>(n);
  // log of the probability that a random k-subset misses every correct sample.
  double log_miss = 0;
  if (c <= k) {
    for (std::uint64_t i = n - c + 1; i <= n; ++i) log_miss += detail::log_one_minus_ratio(k, i);
  } else {
    for (std::uint64_t i = 0; i < k; ++i) log_miss += detail::log_one_minus_ratio(c, n - i);
  }
  return -std::expm1(log_miss);
}

/// One problem's sample counts: `correct` of `samples` were right.
struct problem_tally {
  std::uint64_t samples = 0;
  std::uint64_t correct = 0;
};

/// Coverage (mean pass@k over problems) at one k, with its interval.
struct coverage_point {
  std::uint64_t k = 0;
  estimate_interval coverage{};
};

/// Coverage at each k in `ks` (in the order given): the mean over problems of
/// pass_at_k(samples_i, correct_i, k), with a percentile-bootstrap interval
/// over problems (bootstrap.hpp; every k resampled with the same problem
/// draws, so the curve's intervals describe the same resampled problem sets).
///
/// Every problem must have at least k samples for every k asked: a problem
/// with fewer is an error, not skipped, because skipping would change the
/// problem set from one k to the next (the curve could then fall as k grows,
/// and would lean on the problems that happened to get more samples).
///
/// Throws invalid_argument for no problems, a problem with correct > samples,
/// k = 0, a problem with fewer than k samples, or bad options.
[[nodiscard]] inline std::vector<coverage_point> coverage_curve(std::span<const problem_tally> problems,
                                                                std::span<const std::uint64_t> ks,
                                                                const bootstrap_options& options = {}) {
  constexpr const char* where = "analysis::coverage_curve";
  detail::check_bootstrap_options(options, where);
  if (problems.empty()) throw invalid_argument(std::string(where) + ": no problems (need at least one)");
  std::uint64_t fewest = problems.front().samples;
  std::size_t fewest_at = 0;
  for (std::size_t p = 0; p < problems.size(); ++p) {
    if (problems[p].correct > problems[p].samples)
      throw invalid_argument(std::string(where) + ": problem " + std::to_string(p) + " has " +
                             std::to_string(problems[p].correct) + " correct of " +
                             std::to_string(problems[p].samples) + " samples");
    if (problems[p].samples < fewest) fewest = problems[p].samples, fewest_at = p;
  }
  for (std::uint64_t k : ks) {
    ttscale::detail::require_at_least(where, "k", k, 1);
    if (k > fewest)
      throw invalid_argument(std::string(where) + ": problem " + std::to_string(fewest_at) + " has " +
                             std::to_string(fewest) + " samples, fewer than k " + std::to_string(k) +
                             " (every problem needs at least k samples)");
  }
  if (ks.empty()) return {};

  std::vector<double> table(problems.size() * ks.size());
  for (std::size_t p = 0; p < problems.size(); ++p)
    for (std::size_t j = 0; j < ks.size(); ++j)
      table[p * ks.size() + j] = pass_at_k(problems[p].samples, problems[p].correct, ks[j]);
  const std::vector<estimate_interval> intervals = detail::bootstrap_columns(table, ks.size(), options, where);
  std::vector<coverage_point> out(ks.size());
  for (std::size_t j = 0; j < ks.size(); ++j) out[j] = {ks[j], intervals[j]};
  return out;
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
