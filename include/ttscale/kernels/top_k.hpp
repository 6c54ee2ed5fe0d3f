// ttscale/kernels/top_k.hpp: argmax and the k largest elements, deterministic order.
//
// argmax: index of the largest value, ties to the LOWEST index. Vectorised: one SIMD pass
// for the maximum (and NaN check), then a SIMD search for its first occurrence.
// top_k: indices of the k = out.size() largest values, larger first, ties to the lower
// index (the order of a stable sort by decreasing value). A heap of k indices kept in
// `out` (no allocation); registers whose lanes are all <= the current k-th value are
// skipped with one compare, so random input costs ~N / width compares plus O(k log k log N)
// heap work. Complexity O(N + k log k) expected, O(N log k) worst case (ascending input).
//
// Errors: empty input (argmax) -> invalid_argument; NaN anywhere -> invalid_score naming
// it; out.size() > values.size() (top_k) -> size_mismatch. -inf and +inf are ordinary
// values. Exact (comparisons only).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/kernels/resample.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

template <class Ops, class T>
[[nodiscard]] inline std::size_t argmax(std::span<const T> x) {
  if (x.empty()) throw invalid_argument("argmax: values is empty");
  const T m = detail::max<Ops>(x);  // throws on NaN
  constexpr std::size_t w = Ops::width;
  const auto vm = Ops::set1(m);
  std::size_t i = 0;
  for (; x.size() >= w && i <= x.size() - w; i += w)
    if (Ops::any(Ops::eq(Ops::load(x.data() + i), vm))) break;
  for (; i < x.size(); ++i)
    if (x[i] == m) return i;
  return 0;  // unreachable: m is an element of x
}

template <class Ops, class T, class I>
inline void top_k(std::span<const T> x, std::span<I> out) {
  const std::size_t n = x.size(), k = out.size();
  if (k > n)
    throw size_mismatch("top_k: asked for " + std::to_string(k) + " indices of " + std::to_string(n) + " values");
  if (n > 0) (void)detail::max<Ops>(x);  // NaN check (NaN has no place in an order)
  if (k == 0) return;
  check_index_type<I>("top_k", n);
  // better(a, b): a ranks before b. With it as the heap order, the heap top is the worst kept.
  const auto better = [&](I a, I b) {
    const T va = x[static_cast<std::size_t>(a)], vb = x[static_cast<std::size_t>(b)];
    return va > vb || (va == vb && a < b);
  };
  for (std::size_t i = 0; i < k; ++i) out[i] = static_cast<I>(i);
  std::make_heap(out.begin(), out.end(), better);
  T threshold = x[static_cast<std::size_t>(out[0])];
  constexpr std::size_t w = Ops::width;
  std::size_t i = k;
  const auto consider = [&](std::size_t j) {
    // A later index needs a strictly larger value to beat an equal one.
    if (x[j] > threshold) {
      std::pop_heap(out.begin(), out.end(), better);
      out[k - 1] = static_cast<I>(j);
      std::push_heap(out.begin(), out.end(), better);
      threshold = x[static_cast<std::size_t>(out[0])];
    }
  };
  for (; n >= w && i <= n - w; i += w) {
    const auto v = Ops::load(x.data() + i);
    if (!Ops::any(Ops::lt(Ops::set1(threshold), v))) continue;
    for (std::size_t l = 0; l < w; ++l) consider(i + l);
  }
  for (; i < n; ++i) consider(i);
  std::sort_heap(out.begin(), out.end(), better);
}

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
  return detail::argmax<detail::native_ops<float>>(x);
}
[[nodiscard]] inline std::size_t argmax(std::span<const double> x) {
  return detail::argmax<detail::native_ops<double>>(x);
}

/// out = indices of the out.size() largest values, larger first, ties to the lower index.
template <weight_range R, index_range O>
inline void top_k(const R& values, O&& out) {
  using T = std::ranges::range_value_t<R>;
  detail::top_k<detail::native_ops<T>>(std::span<const T>(detail::as_span(values)), detail::as_span(out));
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
