// ttscale/kernels/detail/resample_cdf.hpp: the canonical CDF of kernels/resample.hpp, the weight summary and power-of-two rescaling.
//
//
// Users never include this. Every resampling path (the scalar twin merge, the branch-free
// merge, the count paths, the summary total and the fused exp pass of resample_body.hpp)
// sums the weights in blocks of 8 in the one order of block_prefix, so all of them see the
// same C_j bit for bit and return identical indices. summarize_weights validates the weights
// and finds their total, first and last positive index in one pass (C&P 2020, ch. 9: the
// inverse-CDF definition needs C and S; first/last are the round-off guards).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>
#include <ttscale/kernels/detail/simd.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// ---- canonical CDF --------------------------------------------------------------
// C is summed in blocks of 8: C_{b+i} = carry + p_i, p the inclusive prefix of the block's
// weights in Sklansky's order (pairs, then quads, then the 8: a log-depth tree), carry =
// C_{b-1} (0 before the first block). The one serial dependency is the carry add, one per
// 8 weights, and a register of 8 (or 2 of 4, 4 of 2) computes p with lane moves
// (detail/simd.hpp, sklansky_step), so every level follows this order and sees the same C
// bit for bit. Sklansky's order keeps C non-decreasing, which the merges and the counts
// need (C&P 2020, sec. 9.3: A_m = min{j : u_m S <= C_j} assumes a monotone CDF): each
// lane of an upper half adds one value (the lower half's total) to a non-decreasing prefix
// of its own half, and rounding is monotone; the block total p_7 is the pairwise sum.
// (A Kogge-Stone / Hillis-Steele order, p_i = p'_i + p'_{i-d}, is as fast but is not
// monotone: p_2 = (w1 + w2) + w0 can round above p_3 = (w2 + w3) + (w0 + w1) when w3 = 0.)
inline constexpr std::size_t cdf_block = 8;

// Inclusive prefix p of x[0, 8) in Sklansky's order. The vector forms (resample_body.hpp)
// add the same pairs in the same lanes.
inline void block_prefix(const double* x, double* p) noexcept {
  const double s01 = x[0] + x[1], s23 = x[2] + x[3], s45 = x[4] + x[5], s67 = x[6] + x[7];
  const double s03 = s01 + s23;
  p[0] = x[0];
  p[1] = s01;
  p[2] = s01 + x[2];
  p[3] = s03;
  p[4] = s03 + x[4];
  p[5] = s03 + s45;
  p[6] = s03 + (s45 + x[6]);
  p[7] = s03 + (s45 + s67);
}

// p_7 of block_prefix alone: the pairwise sum of the 8.
inline double block_total(const double* x) noexcept {
  return ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
}

// A weight times the power-of-two scale, rounded on its own at every level: when scaling
// down makes the product subnormal it is inexact, and an FMA of it into the following add
// (GCC contracts wherever the target has FMA) would give other bits than a level without.
// GCC 12 does not contract these paths even without the barrier (the scale-down test
// passes either way, default and -march=native builds); it guards other compilers and
// inlining decisions, at the cost of nothing when scale = 1 (the products are skipped).
inline double scaled_weight(double x, double scale) noexcept {
  double p = x * scale;
  TTSCALE_KERNELS_OPAQUE(p);
  return p;
}

// The 8 weights scale * w[base, base + 8) into x, zeros past n (zeros leave every prefix
// and the total unchanged, so a short last block sums as if it ended at n).
template <class T>
inline void load_block(const T* w, std::size_t n, std::size_t base, double scale, double* x) noexcept {
  const std::size_t len = std::min(cdf_block, n - base);
  if (scale == 1.0) {
    for (std::size_t k = 0; k < len; ++k) x[k] = static_cast<double>(w[base + k]);
  } else {
    for (std::size_t k = 0; k < len; ++k) x[k] = scaled_weight(static_cast<double>(w[base + k]), scale);
  }
  for (std::size_t k = len; k < cdf_block; ++k) x[k] = 0.0;
}

/// C at base, ..., base + 7 (base a block start, base < n) after `carry` into c: the one
/// block step every scalar CDF walk shares.
template <class T>
inline void cdf_block_at(const T* w, std::size_t n, std::size_t base, double carry, double scale, double* c) noexcept {
  double x[cdf_block], p[cdf_block];
  if (base + cdf_block <= n && scale == 1.0) {  // the common case: no copy loop of unknown length
    for (std::size_t k = 0; k < cdf_block; ++k) x[k] = static_cast<double>(w[base + k]);
  } else {
    load_block(w, n, base, scale, x);
  }
  block_prefix(x, p);
  for (std::size_t k = 0; k < cdf_block; ++k) c[k] = carry + p[k];
}

// C at base, base + 1, ..., base + len - 1 (len a multiple of 8, base a block start) into c
// after `carry`, zeros past n: cdf_block_at over a run of blocks, the form the chunked walks
// use. Returns the last C.
template <class T>
inline double cdf_run(const T* w, std::size_t n, std::size_t base, std::size_t len, double carry, double scale,
                      double* c) noexcept {
  for (std::size_t b = 0; b < len; b += cdf_block) {
    if (base + b < n) {
      cdf_block_at(w, n, base + b, carry, scale, c + b);
    } else {
      for (std::size_t k = 0; k < cdf_block; ++k) c[b + k] = carry;
    }
    carry = c[b + cdf_block - 1];
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
  double carry = 0.0, x[cdf_block];
  for (std::size_t base = 0; base < n; base += cdf_block) {
    load_block(w, n, base, scale, x);
    carry = carry + block_total(x);
  }
  return carry;
}

struct weight_summary {
  double total;          // C_{N-1} of the scaled weights, in the canonical order
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

// First and last index of positive weight, searched in [lo, n) and (.., hi + 8) ∩ [0, n):
// the fused pass knows the first and last block of 8 holding one and passes their starts.
template <class T>
inline void first_last_positive(const T* w, std::size_t lo, std::size_t n, std::size_t& first, std::size_t& last,
                                std::size_t hi = std::numeric_limits<std::size_t>::max()) noexcept {
  for (std::size_t i = lo; i < n; ++i)
    if (w[i] > 0) {
      first = i;
      break;
    }
  const std::size_t end = hi < n ? std::min(n, hi + cdf_block) : n;
  for (std::size_t i = end; i-- > 0;)
    if (w[i] > 0) {
      last = i;
      break;
    }
}

// The weights after the last whole block of 8, from j: checked and added to `carry`.
template <class T>
inline double weight_tail_total(std::span<const T> w, std::size_t j, double carry, bool& bad) noexcept {
  const std::size_t n = w.size();
  double t[cdf_block];
  for (std::size_t k = 0; j + k < n; ++k) bad |= !(w[j + k] >= 0) | ((w[j + k] - w[j + k]) != 0);
  load_block(w.data(), n, j, 1.0, t);
  return carry + block_total(t);
}

// The validating pass of summarize_weights: the canonical total C_{N-1} (blocks of 8, each
// block's total the pairwise sum, one carry add per block); `bad` set by a negative or NaN
// weight, or an infinite one in the last, short block (an infinite weight elsewhere makes
// the total inf, which finish_summary checks). summarize_weights_at (resample_body.hpp)
// computes the same two per level; the tests hold them equal bit for bit.
template <class T>
inline double weight_total(std::span<const T> w, bool& bad) noexcept {
  const std::size_t n = w.size();
  double carry = 0.0;
  std::size_t j = 0;
  for (; j + cdf_block <= n; j += cdf_block) {
    const T* x = w.data() + j;
    // !(x >= 0) catches NaN and negatives; +inf makes the total inf (checked below).
    bool ok = true;
    for (std::size_t k = 0; k < cdf_block; ++k) ok &= x[k] >= 0;
    bad |= !ok;
    const double s01 = static_cast<double>(x[0]) + static_cast<double>(x[1]);
    const double s23 = static_cast<double>(x[2]) + static_cast<double>(x[3]);
    const double s45 = static_cast<double>(x[4]) + static_cast<double>(x[5]);
    const double s67 = static_cast<double>(x[6]) + static_cast<double>(x[7]);
    carry = carry + ((s01 + s23) + (s45 + s67));  // block_total
  }
  if (j < n) carry = weight_tail_total(w, j, carry, bad);
  return carry;
}

// The rest of summarize_weights from weight_total's result: throws on bad weights, finds
// the scale (a second pass only when the sum exceeds 2^960 or overflows) and first/last.
template <class T>
inline weight_summary finish_summary(const char* fn, std::span<const T> w, double carry, bool bad) {
  const std::size_t n = w.size();
  std::size_t first = n, last = 0;
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

// One pass: validate and compute the canonical total, the scale and first/last positive
// index. The scalar twin of summarize_weights_fast (resample_counts.hpp).
template <class T>
inline weight_summary summarize_weights(const char* fn, std::span<const T> w) {
  bool bad = w.empty();
  const double total = weight_total(w, bad);
  return finish_summary(fn, w, total, bad);
}

// Walks C_0, C_1, ... block by block in the canonical order.
template <class T>
struct cdf_cursor {
  const T* w;
  std::size_t n;
  double scale;
  std::size_t base = 0;
  double carry = 0.0;
  double c[cdf_block] = {};
  cdf_cursor(const T* w_, std::size_t n_, double scale_) noexcept : w(w_), n(n_), scale(scale_) { load(); }
  void load() noexcept { cdf_block_at(w, n, base, carry, scale, c); }
  // C_j for j >= the previous j (monotone access).
  double at(std::size_t j) noexcept {
    while (j >= base + cdf_block) {
      carry = c[cdf_block - 1];
      base += cdf_block;
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
