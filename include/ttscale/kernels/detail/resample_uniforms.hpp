// ttscale/kernels/detail/resample_uniforms.hpp: the uniforms of kernels/resample.hpp: their checks and the targets t(m) = u_m S.
//
//
// Users never include this. Each scheme compares C_j with targets built from its uniforms
// (C&P 2020, sec. 9.4: sorted uniforms for multinomial, (m + U) / M for systematic,
// (m + V_m) / M for stratified); the functors below are the one definition every path of a
// scheme evaluates, so the fast and scalar paths compare the same doubles.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>

#include <cstddef>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

template <class T>
inline void check_unit(const char* fn, const char* what, std::size_t i, double u) {
  if (!(u >= 0.0 && u < 1.0))
    throw invalid_argument(index_name(fn, what, i) + " = " + value_text(u) + " is not in [0, 1)");
}

// One uniform per output (inverse_cdf, stratified): "<fn>: 3 <what> for 4 outputs".
inline void check_one_per_output(const char* fn, const char* what, std::size_t uniforms, std::size_t outputs) {
  if (uniforms != outputs)
    throw size_mismatch(std::string(fn) + ": " + std::to_string(uniforms) + " " + what + " for " +
                        std::to_string(outputs) + " outputs");
}

// check_unit over a span: one branch-free pass (vectorised), the message from the slow one.
template <class T>
inline void check_units(const char* fn, const char* what, std::span<const double> u) {
  bool ok = true;
  for (const double x : u) ok &= (x >= 0.0) & (x < 1.0);
  if (!ok)
    for (std::size_t i = 0; i < u.size(); ++i) check_unit<T>(fn, what, i, u[i]);
}

inline void check_sorted_uniforms(const char* fn, std::span<const double> u) {
  double prev = 0.0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (!(u[i] >= 0.0 && u[i] <= 1.0))
      throw invalid_argument(index_name(fn, "sorted_uniforms", i) + " = " + value_text(u[i]) +
                             " is not in [0, 1]");
    if (u[i] < prev)
      throw invalid_argument(index_name(fn, "sorted_uniforms", i) + " = " + value_text(u[i]) +
                             " is less than the previous uniform (must be sorted)");
    prev = u[i];
  }
}

// Uniform targets t(m) = u_m * S.
struct sorted_targets {
  const double* u;
  double s;
  double operator()(std::size_t m) const noexcept { return u[m] * s; }
};
// Systematic: t(m) = (m + U) * (S / M).
struct systematic_targets {
  double u, step;
  double operator()(std::size_t m) const noexcept { return (static_cast<double>(m) + u) * step; }
};
// Stratified: t(m) = (m + V_m) * (S / M).
struct stratified_targets {
  const double* v;
  double step;
  double operator()(std::size_t m) const noexcept { return (static_cast<double>(m) + v[m]) * step; }
};

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
