// ttscale/kernels/detail/resample_cdf.hpp: the canonical CDF of kernels/resample.hpp, the weight summary and power-of-two rescaling.
//
//
// Users never include this. Every resampling path (the scalar twin merge, the branch-free
// merge, the count paths, the summary total and the fused exp pass of resample_body.hpp)
// sums the weights in blocks of 4 with the one association of cdf4, so all of them see the
// same C_j bit for bit and return identical indices. summarize_weights validates the weights
// and finds their total, first and last positive index in one pass (C&P 2020, ch. 9: the
// inverse-CDF definition needs C and S; first/last are the round-off guards).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// ---- canonical CDF --------------------------------------------------------------
// Prefix sums of w[4] with one fixed association; C_k = carry + p_k.
inline void cdf4(double carry, double w0, double w1, double w2, double w3, double* c) noexcept {
  const double p1 = w0 + w1;
  c[0] = carry + w0;
  c[1] = carry + p1;
  c[2] = carry + (p1 + w2);
  c[3] = carry + (p1 + (w2 + w3));
}

/// cdf4 of the 4 weights scale * w[base, base + 4) after `carry`, zeros past n: the one
/// block step every CDF walk shares, so all paths sum in the same order.
template <class T>
inline void cdf4_at(const T* w, std::size_t n, std::size_t base, double carry, double scale, double* c) noexcept {
  if (base + 4 <= n) {
    cdf4(carry, static_cast<double>(w[base]) * scale, static_cast<double>(w[base + 1]) * scale,
         static_cast<double>(w[base + 2]) * scale, static_cast<double>(w[base + 3]) * scale, c);
  } else {
    double t[4] = {0, 0, 0, 0};
    for (std::size_t k = 0; base + k < n; ++k) t[k] = static_cast<double>(w[base + k]) * scale;
    cdf4(carry, t[0], t[1], t[2], t[3], c);
  }
}

// C at base, base + 1, ..., base + len - 1 (len a multiple of 4, base a block start) into c
// after `carry`, zeros past n: cdf4_at over a run of blocks, the form the chunked walks use.
// Returns the last C. The common scale = 1 skips the multiplications (w * 1 = w exactly).
template <class T>
inline double cdf_run(const T* w, std::size_t n, std::size_t base, std::size_t len, double carry, double scale,
                      double* c) noexcept {
  std::size_t b = 0;
  const std::size_t full = n > base ? std::min(len, (n - base) & ~std::size_t(3)) : 0;
  if (scale == 1.0) {
    for (; b < full; b += 4) {
      const T* x = w + base + b;
      cdf4(carry, static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2]),
           static_cast<double>(x[3]), c + b);
      carry = c[b + 3];
    }
  }
  for (; b < len; b += 4) {
    cdf4_at(w, n, base + b, carry, scale, c + b);
    carry = c[b + 3];
  }
  return carry;
}

// ---- power-of-two rescaling ---------------------------------------------------------
// Targets u S, steps S / M and counts M w / S are formed in double at the scale of the
// weights. When S is tiny they fall among the subnormals and keep only the bits above
// 2^-1074: four weights of 4.9e-324 (S = 2^-1072) resampled with u = 0.5 to {0, 1, 1, 3},
// and M / S overflowed. When the sum overflows, S is +inf. So every weight is multiplied by
// a power of two `scale` that brings S into [1, 2) (at worst [2^-51, 2^66): scale stays a
// normal double, 2^-1022 to 2^1023, so FTZ/DAZ modes cannot zero it). Scaling up is exact:
// no product overflows (each weight is <= S), and every canonical sum then equals scale
// times the unscaled one (a sum below 2^-1022 is exact in both, one above is rounded to 53
// bits in both), so the scaled total costs no extra pass. Scaling down is exact for every
// weight that stays normal; a weight below 2^-1022 / scale (a share of S below 2^-1000)
// may lose bits or become 0 (its index keeps counting as positive weight for first/last).
// The total is then recomputed from the scaled weights, one extra pass taken only for
// S > 2^960. S in [1, 2^960] is left alone (scale = 1), so common input is unchanged.
inline constexpr double sum_rescale_above = 0x1p960;

template <class T>
inline double scaled_total(const T* w, std::size_t n, double scale) noexcept {
  double carry = 0.0, c[4];
  for (std::size_t base = 0; base < n; base += 4) {
    cdf4_at(w, n, base, carry, scale, c);
    carry = c[3];
  }
  return carry;
}

struct weight_summary {
  double total;          // C_{N-1} of the scaled weights, with the canonical association
  std::size_t first;     // first index of positive weight
  std::size_t last;      // last index of positive weight
  double scale = 1.0;    // the power of two every weight is multiplied by (see above)
};

template <class T>
[[noreturn]] inline void throw_bad_weights(const char* fn, std::span<const T> w) {
  if (w.empty()) throw invalid_argument(std::string(fn) + ": weights is empty");
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!(w[i] >= 0) || std::isinf(w[i]))
      throw invalid_score(index_name(fn, "weights", i) + " is " + value_text(w[i]) +
                          " (weights must be finite and >= 0)");
  for (std::size_t i = 0; i < w.size(); ++i)
    if (w[i] > 0)  // unreachable below 2^64 weights: the sum is rescaled by 2^-1022
      throw invalid_score(std::string(fn) + ": the sum of the " + std::to_string(w.size()) +
                          " weights overflows a double even after scaling them by 2^-1022");
  throw invalid_score(std::string(fn) + ": all " + std::to_string(w.size()) + " weights are 0");
}

// The power of two that brings a canonical total in (0, 1) into [1, 2); multiplies `total`
// by it (exact, and equal to the canonical sum of the scaled weights: see above).
inline double scale_up(double& total) noexcept {
  const double scale = std::ldexp(1.0, std::min(-std::ilogb(total), 1023));
  total *= scale;
  return scale;
}

// First and last index of positive weight, searched in [lo, n) and (.., hi + 4) ∩ [0, n):
// the fused pass knows the first and last 4-block holding one and passes their starts.
template <class T>
inline void first_last_positive(const T* w, std::size_t lo, std::size_t n, std::size_t& first, std::size_t& last,
                                std::size_t hi = std::numeric_limits<std::size_t>::max()) noexcept {
  for (std::size_t i = lo; i < n; ++i)
    if (w[i] > 0) {
      first = i;
      break;
    }
  const std::size_t end = hi < n ? std::min(n, hi + 4) : n;
  for (std::size_t i = end; i-- > 0;)
    if (w[i] > 0) {
      last = i;
      break;
    }
}

// One pass: validate and compute the canonical total, the scale and first/last positive
// index (a second pass only when the sum exceeds 2^960 or overflows).
template <class T>
inline weight_summary summarize_weights(const char* fn, std::span<const T> w) {
  const std::size_t n = w.size();
  double carry = 0.0;
  bool bad = n == 0;
  std::size_t first = n, last = 0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double a = w[j], b = w[j + 1], c = w[j + 2], d = w[j + 3];
    // !(x >= 0) catches NaN and negatives; +inf makes the total inf (checked below).
    bad |= !((a >= 0) & (b >= 0) & (c >= 0) & (d >= 0));
    const double p1 = a + b;
    carry = carry + (p1 + (c + d));
  }
  if (j < n) {
    double t[4] = {0, 0, 0, 0};
    for (std::size_t k = 0; j + k < n; ++k) {
      t[k] = w[j + k];
      bad |= !(t[k] >= 0) | ((t[k] - t[k]) != 0);
    }
    carry = carry + ((t[0] + t[1]) + (t[2] + t[3]));
  }
  if (bad || !(carry > 0)) throw_bad_weights<T>(fn, w);
  double scale = 1.0;
  if (carry < 1.0) {
    scale = scale_up(carry);
  } else if (carry > sum_rescale_above) {
    if (std::isinf(carry)) {
      // +inf: an infinite weight, or finite weights whose sum overflows (< 2^1088 for
      // N < 2^64, so 2^-1022 brings it below 2^66).
      for (std::size_t i = 0; i < n; ++i)
        if (std::isinf(w[i])) throw_bad_weights<T>(fn, w);
      scale = 0x1p-1022;
    } else {
      scale = std::ldexp(1.0, std::max(-std::ilogb(carry), -1022));
    }
    carry = scaled_total(w.data(), n, scale);
    if (!(carry <= std::numeric_limits<double>::max())) throw_bad_weights<T>(fn, w);
  }
  first_last_positive(w.data(), 0, n, first, last);
  return {carry, first, last, scale};
}

// Walks C_0, C_1, ... block by block with the canonical association.
template <class T>
struct cdf_cursor {
  const T* w;
  std::size_t n;
  double scale;
  std::size_t base = 0;
  double carry = 0.0;
  double c[4] = {0, 0, 0, 0};
  cdf_cursor(const T* w_, std::size_t n_, double scale_) noexcept : w(w_), n(n_), scale(scale_) { load(); }
  void load() noexcept { cdf4_at(w, n, base, carry, scale, c); }
  // C_j for j >= the previous j (monotone access).
  double at(std::size_t j) noexcept {
    while (j >= base + 4) {
      carry = c[3];
      base += 4;
      load();
    }
    return c[j - base];
  }
};

template <class I>
inline void check_index_type(const char* fn, std::size_t n) {
  if (n - 1 > static_cast<std::size_t>(std::numeric_limits<I>::max()))
    throw invalid_argument(std::string(fn) + ": " + std::to_string(n) +
                           " weights do not fit the output index type");
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
