// ttscale/kernels/log_weights.hpp: reductions and normalisation of log-weights.
//
// max, logsumexp, log_mean_exp, log_normalize and softmax (= exp_normalize, with a
// temperature), as in nchopin/particles resampling.py (log_sum_exp, log_mean_exp,
// exp_and_normalise). Weights live in log space; a -inf log-weight is a weight of exactly 0.
//
// The vectorised logsumexp reads memory ONCE: an online logsumexp at block granularity
// (blocks of 1024 elements, 8 KB of double, that stay in L1): a block's maximum is taken
// first, then its terms exp(x - m) against the running maximum m, from L1; the running sum
// (double) is rescaled by exp(m_old - m_new) once per block that raises the maximum. The
// next block is prefetched while a block's exps run, so memory and arithmetic overlap: the
// exp, not memory, is then the cost (bench/README-kernels.md, "Single-read reductions").
// Every exp argument is <= 0, which saves the exp's range test; terms below the normal
// range (exp(x - m) < 2^-1021, float 2^-124) are left out of the sums, a relative change
// below N 2^-1021. log_normalize adds one writing pass. softmax writes exp(x - m_b) with
// each block's own maximum in its first pass and scales each block by exp(m_b - M) / S in
// the second: one exp per element instead of two.
// Complexity: O(N) time, O(1) extra space (softmax: 512 block maxima on the stack), no
// allocation.
//
// Errors (checked by every function, vectorised or scalar):
//   empty input                         -> ttscale::invalid_argument
//   any NaN, any +inf, all -inf         -> ttscale::invalid_score, naming the first bad index
// (max only rejects empty input and NaN: -inf and +inf maxima are meaningful.)
//
// Accuracy (tests/kernels/log_weights_test.cpp, against a long double reference):
//   logsumexp, log_mean_exp: |error| <= 4 eps(T) * max(1, |result|) + N * 2^-50.
//   log_normalize: out[i] within 4 eps(T) * (1 + |out[i]| + log N) of x[i] - lse, plus the
//                  sum's N 2^-50 at large N.
//   softmax: each out[i] within (16 + 2|z_i|) eps(T) relative of the exact value, where
//            z_i = x[i] / temperature - max (the rounding of z_i is amplified by exp), plus
//            4 subnormal spacings absolute; the outputs sum to 1 within (N + 8) eps(T).
//   The double sums add a relative error of at most ~N 2^-53 (observed ~1e-13 at N = 1e6).
// Ties and order: results do not depend on which of several equal maxima is met first.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/exp.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// Cold path: find the first offending element and throw the documented error.
template <class T>
[[noreturn]] inline void throw_bad_log_weights(const char* fn, std::span<const T> x) {
  if (x.empty()) throw invalid_argument(std::string(fn) + ": log_weights is empty");
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) throw invalid_score(index_name(fn, "log_weights", i) + " is NaN");
    if (x[i] == std::numeric_limits<T>::infinity())
      throw invalid_score(index_name(fn, "log_weights", i) + " is +inf");
  }
  throw invalid_score(std::string(fn) + ": all " + std::to_string(x.size()) +
                      " log_weights are -inf (no normalisation exists)");
}

// A partial logsumexp of x * scale: the result is m * scale + log(s), m the RAW maximum;
// m = -inf means "no weight yet". Terms are exp((x - m) * scale): subtract first, then
// scale, so no compiler may contract x * scale - m into an FMA whose unrounded product
// would differ from the rounded one the maximum was taken on (x = 1e30 would give
// exp(1e23) = inf instead of exp(0) = 1).
struct lse_state {
  double m = -std::numeric_limits<double>::infinity();
  double s = 0.0;
  bool nan = false;  // a NaN or a +inf was met (the pass stops there)
};

// Elements per block of the single-read reductions: 8 KB of double (4 KB of float), so a
// block read from memory by its max pass is still in L1 for its exp pass.
inline constexpr std::size_t reduce_block = 1024;
// softmax keeps each block's maximum on the stack for its second pass: at most this many
// blocks (4 KB of double), longer ones beyond N = 512 Ki (2048 elements, 16 KB, at N = 1e6).
inline constexpr std::size_t softmax_blocks = 512;

// Asks for element i of the next block (if it has one) while this block's exps run from
// L1, so that block's max pass reads from cache: memory and arithmetic overlap instead of
// taking turns (nothing else touches memory during the exp pass, so the hardware
// prefetchers stay idle). A hint only; no effect on results.
template <class T>
inline void prefetch_next(const T* next, std::size_t next_n, std::size_t i) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  if (i < next_n) __builtin_prefetch(next + i);
#else
  (void)next, (void)next_n, (void)i;
#endif
}

template <class T>
inline T inverse_temperature(const char* fn, T temperature) {
  if (!(temperature > 0) || std::isinf(temperature))
    throw invalid_argument(std::string(fn) + ": temperature must be positive and finite (got " +
                           value_text(temperature) + ")");
  return T(1) / temperature;
}

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/log_weights_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// Largest element. Throws invalid_argument if empty, invalid_score on NaN. -inf and +inf
/// are returned as they are. Exact.
[[nodiscard]] inline float max(std::span<const float> x) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::max<Ops>(x); });
}
[[nodiscard]] inline double max(std::span<const double> x) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::max<Ops>(x); });
}

/// log(sum_i exp(x[i])), one pass, no overflow for any finite input (e.g. +-1e30).
[[nodiscard]] inline float logsumexp(std::span<const float> x) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::logsumexp<Ops>(x); });
}
[[nodiscard]] inline double logsumexp(std::span<const double> x) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::logsumexp<Ops>(x); });
}

/// log((1/N) sum_i exp(x[i])): the log of the mean weight (the particle filter's
/// log-likelihood increment).
[[nodiscard]] inline float log_mean_exp(std::span<const float> x) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_mean_exp<Ops>(x); });
}
[[nodiscard]] inline double log_mean_exp(std::span<const double> x) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_mean_exp<Ops>(x); });
}

/// out[i] = x[i] - logsumexp(x): normalised log-weights (logsumexp(out) = 0). Returns the
/// logsumexp. `out` may alias `x` exactly. -inf stays -inf.
inline float log_normalize(std::span<const float> x, std::span<float> out) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_normalize<Ops>(x, out); });
}
inline double log_normalize(std::span<const double> x, std::span<double> out) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_normalize<Ops>(x, out); });
}

/// out[i] = exp(x[i] / temperature) / sum_j exp(x[j] / temperature): normalised weights
/// (particles' exp_and_normalise when temperature = 1), computed as exp((x - max) / T)
/// normalised. Returns logsumexp(x / temperature) (which may overflow to inf for
/// |max| / temperature beyond the range of T; the weights never do).
/// A -inf input gives exactly 0. Throws invalid_argument unless 0 < temperature < inf.
inline float softmax(std::span<const float> x, std::span<float> out, float temperature = 1.0f) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::softmax<Ops>(x, out, temperature); });
}
inline double softmax(std::span<const double> x, std::span<double> out, double temperature = 1.0) {
  return detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::softmax<Ops>(x, out, temperature); });
}
/// Another name for softmax, as in particles.
inline float exp_normalize(std::span<const float> x, std::span<float> out, float temperature = 1.0f) {
  return softmax(x, out, temperature);
}
inline double exp_normalize(std::span<const double> x, std::span<double> out, double temperature = 1.0) {
  return softmax(x, out, temperature);
}

namespace detail {
// The scalar references: two passes, std::exp in T, sums in double; the same errors.
template <class T>
inline T reference_max(std::span<const T> x) {
  if (x.empty()) throw invalid_argument("max: values is empty");
  T r = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) throw invalid_score(index_name("max", "values", i) + " is NaN");
    r = std::max(r, x[i]);
  }
  return r;
}
// Returns (max, sum exp((x - max) * scale)) after validation.
template <class T>
inline lse_state reference_lse(const char* fn, std::span<const T> x, T scale = T(1)) {
  T m = -std::numeric_limits<T>::infinity();
  bool bad = x.empty();
  for (const T v : x) {
    bad = bad || std::isnan(v) || v == std::numeric_limits<T>::infinity();
    if (v > m) m = v;
  }
  if (bad || m == -std::numeric_limits<T>::infinity()) throw_bad_log_weights<T>(fn, x);
  double s = 0;
  for (const T v : x) s += static_cast<double>(std::exp((v - m) * scale));
  return {double(m), s, false};
}
template <class T>
[[nodiscard]] inline T reference_logsumexp(std::span<const T> x) {
  const auto st = reference_lse("logsumexp", x);
  return static_cast<T>(st.m + std::log(st.s));
}
template <class T>
[[nodiscard]] inline T reference_log_mean_exp(std::span<const T> x) {
  const auto st = reference_lse("log_mean_exp", x);
  return static_cast<T>(st.m + std::log(st.s) - std::log(double(x.size())));
}
template <class T>
inline T reference_log_normalize(std::span<const T> x, std::span<T> out) {
  check_same_size<T>("log_normalize", x.size(), out.size());
  const auto st = reference_lse("log_normalize", x);
  const T m = static_cast<T>(st.m), ls = static_cast<T>(std::log(st.s));
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - m) - ls;
  return static_cast<T>(st.m + std::log(st.s));
}
template <class T>
inline T reference_softmax(std::span<const T> x, std::span<T> out, T temperature) {
  check_same_size<T>("softmax", x.size(), out.size());
  const T scale = inverse_temperature("softmax", temperature);
  const auto st = reference_lse("softmax", x, scale);
  const T m = static_cast<T>(st.m);
  const double inv_s = 1.0 / st.s;
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = static_cast<T>(std::exp((x[i] - m) * scale) * inv_s);
  return static_cast<T>(st.m * static_cast<double>(scale) + std::log(st.s));
}
}  // namespace detail

/// Scalar references: two passes, std::exp in T, sums in double. Same errors.
namespace scalar {
[[nodiscard]] inline float max(std::span<const float> x) { return kernels::detail::reference_max(x); }
[[nodiscard]] inline double max(std::span<const double> x) { return kernels::detail::reference_max(x); }
[[nodiscard]] inline float logsumexp(std::span<const float> x) { return kernels::detail::reference_logsumexp(x); }
[[nodiscard]] inline double logsumexp(std::span<const double> x) { return kernels::detail::reference_logsumexp(x); }
[[nodiscard]] inline float log_mean_exp(std::span<const float> x) { return kernels::detail::reference_log_mean_exp(x); }
[[nodiscard]] inline double log_mean_exp(std::span<const double> x) {
  return kernels::detail::reference_log_mean_exp(x);
}
inline float log_normalize(std::span<const float> x, std::span<float> out) {
  return kernels::detail::reference_log_normalize(x, out);
}
inline double log_normalize(std::span<const double> x, std::span<double> out) {
  return kernels::detail::reference_log_normalize(x, out);
}
inline float softmax(std::span<const float> x, std::span<float> out, float temperature = 1.0f) {
  return kernels::detail::reference_softmax(x, out, temperature);
}
inline double softmax(std::span<const double> x, std::span<double> out, double temperature = 1.0) {
  return kernels::detail::reference_softmax(x, out, temperature);
}
inline float exp_normalize(std::span<const float> x, std::span<float> out, float temperature = 1.0f) {
  return kernels::detail::reference_softmax(x, out, temperature);
}
inline double exp_normalize(std::span<const double> x, std::span<double> out, double temperature = 1.0) {
  return kernels::detail::reference_softmax(x, out, temperature);
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
