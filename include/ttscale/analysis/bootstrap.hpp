// ttscale/analysis/bootstrap.hpp: means over problems with percentile-bootstrap intervals.
//
// Every curve in a sweep (coverage at k, best-of-k, majority-of-k) is a mean
// over problems of a per-problem estimate, and its uncertainty comes mostly
// from which problems were drawn. The percentile bootstrap (Efron & Tibshirani
// 1993, "An Introduction to the Bootstrap", ch. 13) resamples the problems with
// replacement, recomputes the mean, and reports the (1 - confidence)/2 and
// (1 + confidence)/2 quantiles of those means. Each column of a table is
// resampled with the same problem draws, so the intervals along one curve
// describe the same resampled problem sets.
//
// Randomness comes only from `bootstrap_options::seed` (a ttscale::random_engine
// with its own index draw, not std::uniform_int_distribution, whose output
// differs between standard libraries), so the same inputs and seed give the
// same interval on every platform. O(resamples · problems · columns) time,
// O(resamples) extra memory.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// A point estimate with a confidence interval [low, high] at level `confidence`.
struct estimate_interval {
  double estimate = 0;
  double low = 0;
  double high = 0;
  double confidence = 0;  ///< e.g. 0.95
};

struct bootstrap_options {
  std::uint64_t resamples = 1000;  ///< bootstrap replicates (>= 1)
  double confidence = 0.95;        ///< interval level, in (0, 1)
  std::uint64_t seed = 0;          ///< the only source of randomness
};

namespace detail {

/// The high and low 64-bit halves of a·b (portable: four 32-bit products).
constexpr void multiply_wide(std::uint64_t a, std::uint64_t b, std::uint64_t& high, std::uint64_t& low) noexcept {
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
  const std::uint64_t middle = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
  low = (middle << 32) | (p0 & 0xffffffffu);
  high = p3 + (p1 >> 32) + (p2 >> 32) + (middle >> 32);
}

/// A uniform integer in [0, n) for n >= 1: exact (rejection removes the bias)
/// and the same on every platform, unlike std::uniform_int_distribution.
/// Lemire's multiply-and-reject (ACM TOMACS 2019), because a 64-bit division
/// per draw would dominate resampling: it divides only in the rare case
/// (probability < n / 2^64) that the low half falls below n.
constexpr std::uint64_t uniform_below(random_engine& rng, std::uint64_t n) noexcept {
  std::uint64_t high = 0, low = 0;
  multiply_wide(rng(), n, high, low);
  if (low < n) {
    const std::uint64_t threshold = (std::uint64_t{0} - n) % n;  // 2^64 mod n
    while (low < threshold) multiply_wide(rng(), n, high, low);
  }
  return high;
}

/// The q-quantile of sorted values by linear interpolation between order
/// statistics (Hyndman & Fan 1996, definition 7: position q·(m - 1)).
inline double sorted_quantile(std::span<const double> sorted, double q) noexcept {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

inline void check_bootstrap_options(const bootstrap_options& o, const char* where) {
  ttscale::detail::require_at_least(where, "options.resamples", o.resamples, 1);
  if (!(o.confidence > 0 && o.confidence < 1))
    throw invalid_argument(std::string(where) + ": options.confidence must be in (0, 1) (got " +
                           ttscale::detail::number_text(o.confidence) + ")");
}

/// bootstrap_column_means, with errors naming `where` (the public function
/// the caller called).
inline std::vector<estimate_interval> bootstrap_columns(std::span<const double> table, std::size_t columns,
                                                        const bootstrap_options& options, const char* where) {
  check_bootstrap_options(options, where);
  ttscale::detail::require_at_least(where, "columns", columns, 1);
  if (table.empty() || table.size() % columns != 0)
    throw invalid_argument(std::string(where) + ": the table must hold a positive whole number of rows of " +
                           std::to_string(columns) + " columns (got " + std::to_string(table.size()) + " values)");
  const std::size_t rows = table.size() / columns;
  for (std::size_t i = 0; i < table.size(); ++i)
    if (!std::isfinite(table[i]))
      throw invalid_argument(std::string(where) + ": the value of row " + std::to_string(i / columns) +
                             ", column " + std::to_string(i % columns) + " is " +
                             ttscale::detail::number_text(table[i]) + " (values must be finite)");

  const double lower_q = (1 - options.confidence) / 2, upper_q = (1 + options.confidence) / 2;
  std::vector<estimate_interval> out(columns);
  std::vector<double> replicates(options.resamples);
  for (std::size_t col = 0; col < columns; ++col) {
    double sum = 0;
    for (std::size_t r = 0; r < rows; ++r) sum += table[r * columns + col];
    out[col].estimate = sum / static_cast<double>(rows);
    out[col].confidence = options.confidence;
    // Re-seeding per column replays the same row draws for every column.
    random_engine rng(options.seed);
    for (double& replicate : replicates) {
      double resampled = 0;
      for (std::size_t r = 0; r < rows; ++r) resampled += table[uniform_below(rng, rows) * columns + col];
      replicate = resampled / static_cast<double>(rows);
    }
    std::sort(replicates.begin(), replicates.end());
    out[col].low = sorted_quantile(replicates, lower_q);
    out[col].high = sorted_quantile(replicates, upper_q);
  }
  return out;
}

}  // namespace detail

/// Column means of `table` (row-major: one row per problem, `columns` values
/// per row), each with its percentile-bootstrap interval over rows. Every
/// column is resampled with the same row draws. The estimate is the plain mean
/// of the rows given; the percentile interval is not forced to contain it
/// (for a mean of bounded values it does unless the data are extremely skewed).
/// One row gives the zero-width interval [mean, mean].
///
/// Throws invalid_argument for zero columns, an empty table, a size that is
/// not a multiple of `columns`, a non-finite value, or bad options.
[[nodiscard]] inline std::vector<estimate_interval> bootstrap_column_means(std::span<const double> table,
                                                                           std::size_t columns,
                                                                           const bootstrap_options& options = {}) {
  return detail::bootstrap_columns(table, columns, options, "analysis::bootstrap_column_means");
}

/// The mean of one value per problem with its percentile-bootstrap interval
/// (bootstrap_column_means with one column).
[[nodiscard]] inline estimate_interval bootstrap_mean(std::span<const double> per_problem,
                                                      const bootstrap_options& options = {}) {
  if (per_problem.empty()) throw invalid_argument("analysis::bootstrap_mean: no values (need at least one problem)");
  return detail::bootstrap_columns(per_problem, 1, options, "analysis::bootstrap_mean").front();
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
