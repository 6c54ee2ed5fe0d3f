// ttscale/kernels/top_k.hpp: argmax and the k largest elements, deterministic order.
//
// argmax: index of the largest value, ties to the LOWEST index. Vectorised: one SIMD pass
// for the maximum (and NaN check), then a SIMD search for its first occurrence.
// top_k: indices of the k = out.size() largest values, larger first, ties to the lower
// index (the order of a stable sort by decreasing value). No allocation. For k < N / 16 a
// heap of k indices kept in `out`; registers whose lanes are all <= the current k-th
// value are skipped with one compare, so random input costs ~N / width compares plus
// O(k log k log N) heap work: O(N + k log k) expected, O(N log k) worst case (ascending
// input). For k >= N / 16 (where the heap's comparisons mispredict on nearly every
// insertion) branch-free counting passes: the k-th largest value by a binary search on
// its bits (~log2 N + a few passes of N / width compares on distinct values, at most one
// per bit of the type), then the k kept ranked by counting (k^2 / width compares, k <= 256)
// or sorted (O(k log k)).
//
// Errors: empty input (argmax) -> invalid_argument; NaN anywhere -> invalid_score naming
// it; out.size() > values.size() (top_k) -> size_mismatch. -inf and +inf are ordinary
// values. Exact (comparisons only).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/kernels/resample.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/top_k_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// The scalar reference: one pass, ties to the lowest index.
template <class T>
[[nodiscard]] inline std::size_t reference_argmax(std::span<const T> x) {
  if (x.empty()) throw invalid_argument("argmax: values is empty");
  std::size_t best = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) throw invalid_score(index_name("argmax", "values", i) + " is NaN");
    if (x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace detail

/// Index of the largest value; ties go to the lowest index. Throws invalid_argument if
/// empty, invalid_score on NaN.
[[nodiscard]] inline std::size_t argmax(std::span<const float> x) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::argmax<Ops>(x); });
}
[[nodiscard]] inline std::size_t argmax(std::span<const double> x) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::argmax<Ops>(x); });
}

/// out = indices of the out.size() largest values, larger first, ties to the lower index.
template <weight_range R, index_range O>
inline void top_k(const R& values, O&& out) {
  using T = std::ranges::range_value_t<R>;
  detail::dispatch<T>([&]<class Ops>(std::type_identity<Ops>) { return detail::top_k<Ops>(std::span<const T>(detail::as_span(values)), detail::as_span(out)); });
}

/// Scalar references (allocating: a stable sort of all indices).
namespace scalar {
[[nodiscard]] inline std::size_t argmax(std::span<const float> x) { return kernels::detail::reference_argmax(x); }
[[nodiscard]] inline std::size_t argmax(std::span<const double> x) { return kernels::detail::reference_argmax(x); }

template <weight_range R, index_range O>
inline void top_k(const R& values, O&& out_r) {
  using T = std::ranges::range_value_t<R>;
  const auto x = std::span<const T>(kernels::detail::as_span(values));
  auto out = kernels::detail::as_span(out_r);
  if (out.size() > x.size())
    throw size_mismatch("top_k: asked for " + std::to_string(out.size()) + " indices of " + std::to_string(x.size()) +
                        " values");
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::isnan(x[i])) throw invalid_score(kernels::detail::index_name("top_k", "values", i) + " is NaN");
  std::vector<std::size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x[a] > x[b]; });
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::ranges::range_value_t<O>>(idx[i]);
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
