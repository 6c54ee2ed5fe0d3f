// ttscale/kernels/apportion.hpp: exact apportionment of an integer total by
// weights (the largest-remainder method).
//
// counts[i] = floor(total * w_i / W) + (1 for the r items with the largest
// remainders total * w_i / W - floor(...)), W = sum of w, r = total - sum of
// the floors; so the counts sum to `total` exactly and each differs from its
// quota total * w_i / W by less than 1 (Hamilton's method, the "largest
// remainder" rule of proportional representation). REBASE (Wu et al. 2024,
// "Inference Scaling Laws", sec. 4.2) splits the remaining sample budget over
// the frontier as W_j = Round(W * softmax(R / T_b)_j); rounding each share
// independently can spend more or less than the budget, this never does.
// Deterministic: no randomness (a random apportionment is a resampling,
// kernels/resample.hpp).
//
// Ties: among equal remainders the lowest index gets the extra unit first.
// A weight of 0 gets 0 (never an extra unit: its remainder is 0, and a
// positive-weight item always ranks before it when units are left).
// Floating point: the quotas are computed in double as total * (w_i / W);
// should rounding make the floors sum above `total` (possible only when a
// quota is within a few ulps of an integer), the surplus is taken back from
// the items with the smallest remainders, so the sum is exact whatever the
// rounding.
//
// Errors (ttscale::invalid_argument, naming the function, the index and the value):
//   counts.size() != weights.size(); a negative, NaN or infinite weight;
//   total > 0 with no positive weight. Empty weights with total == 0 is fine.
// Complexity: O(n log n) in the worst case (sorting the remainders of at most
// n items), O(n) extra space; one pass when the quotas are integers.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// Splits `total` into counts[i] proportional to weights[i] (largest
/// remainder; see the header comment). Throws invalid_argument as documented.
inline void apportion(std::span<const double> weights, std::size_t total, std::span<std::size_t> counts) {
  constexpr const char* fn = "kernels::apportion";
  if (counts.size() != weights.size())
    throw invalid_argument(std::string(fn) + ": counts has " + std::to_string(counts.size()) + " entries for " +
                           std::to_string(weights.size()) + " weights");
  double sum = 0.0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] >= 0.0) || !std::isfinite(weights[i]))
      throw invalid_argument(detail::index_name(fn, "weights", i) + " is " + detail::value_text(weights[i]) +
                             " (weights must be finite and >= 0)");
    sum += weights[i];
  }
  std::fill(counts.begin(), counts.end(), std::size_t{0});
  if (total == 0) return;
  if (!(sum > 0.0))
    throw invalid_argument(std::string(fn) + ": no positive weight among " + std::to_string(weights.size()) +
                           " to apportion " + std::to_string(total) + " over");
  const double quota_scale = static_cast<double>(total);
  std::vector<double> remainder(weights.size());
  std::size_t assigned = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double quota = quota_scale * (weights[i] / sum);
    const double whole = std::floor(quota);
    counts[i] = static_cast<std::size_t>(whole);
    remainder[i] = weights[i] > 0.0 ? quota - whole : -1.0;  // a zero weight never gets a unit
    assigned += counts[i];
  }
  if (assigned == total) return;
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Largest remainder first, ties to the lowest index.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  if (assigned < total) {
    // At most n - 1 units are left (each floor lost less than 1); with
    // rounding, cycle until none is (never more than once round in practice).
    for (std::size_t k = 0; assigned < total; k = (k + 1) % order.size())
      if (weights[order[k]] > 0.0) {
        ++counts[order[k]];
        ++assigned;
      }
  } else {
    // Rounding put the floors above the total: take units back, smallest remainder first.
    std::size_t k = order.size();
    while (assigned > total) {
      k = (k == 0 ? order.size() : k) - 1;
      if (counts[order[k]] > 0) {
        --counts[order[k]];
        --assigned;
      }
    }
  }
}

}  // namespace kernels
TTSCALE_END_NAMESPACE
