// ttscale/kernels/resample.hpp: resampling schemes for particle filters and SMC.
//
// Multinomial, stratified, systematic, residual and SSP resampling, following the
// inverse-CDF definitions of Chopin & Papaspiliopoulos (2020, "An Introduction to
// Sequential Monte Carlo", ch. 9) and nchopin/particles `resampling.py`; SSP is the
// Srinivasan sampling process of Gerber, Chopin & Whiteley (2019, "Negative association,
// ordering and convergence of resampling methods", Ann. Statist. 47(4), Alg. 3).
//
// Two layers:
//  * Pure functions of (weights, uniforms) -> M indices in ascending order. `weights` are
//    non-negative finite numbers (float or double) with a positive sum S; they need not sum
//    to exactly 1: the definitions are applied to W / S. Any such S works, a subnormal one or
//    one that overflows a double included: the weights are first multiplied by an exact
//    power of two that brings S near 1 (`power-of-two rescaling` below), so the targets
//    never lose bits to underflow. Given uniforms u_m, the index is
//        A_m = min{ j : u_m * S <= C_j },   C_j = w_0 + ... + w_j   (eq. 9.1 of the book),
//    exactly as particles' `inverse_cdf` (which assumes S = 1), with two round-off guards
//    that public implementations lack: a u_m with u_m * S > C_{N-1} (possible only through
//    rounding) gets the LAST index of positive weight (never N, never a zero weight), and
//    u_m = 0 gets the FIRST index of positive weight. So a zero weight (a -inf log-weight)
//    is never selected. C is accumulated in double, in blocks of 4 with a fixed association
//    ((w0+w1)+(w2+w3) for the block total) shared by every code path, so the vectorised and
//    scalar paths see bit-identical C and return bit-identical indices.
//  * `resample(scheme, log_weights, out, engine, workspace)`: draws the uniforms from any
//    std::uniform_random_bit_generator and takes (un-normalised) LOG-weights, the form a
//    particle filter holds; they are exponentiated (vectorised exp) into the workspace.
//
// Complexity: O(N + M) for every scheme, including multinomial, whose sorted uniforms come
// from exponential spacings (`uniform_spacings`, C&P sec. 9.4) instead of an O(M log M)
// sort. Systematic and stratified use a count-based fast path: for each j the number
// F_j of u_m with u_m * S <= C_j is computed from a closed-form guess corrected with the
// exact predicate (vectorised for systematic), and out[F_{j-1}, F_j) = j is filled run by
// run, avoiding the data-dependent branch of the merge. The merge itself (the definition)
// is the scalar twin, `scalar::systematic_resample` etc.; inverse_cdf (multinomial, any
// sorted uniforms) runs the same merge branch-free in 4 interleaved segments
// (`merge_inverse_cdf_branchless`); the tests require identical indices.
// No allocation except in `resample_workspace` growth and the overloads that say so.
// Performance (bench/kernels_numeric_bench.cpp, bench/README-kernels.md): dominated by the
// O(N) CDF and count passes and, for multinomial, by the M + 1 draws and logarithms of the
// spacings (vectorised log, log.hpp) and the merge's chain of dependent loads.
//
// Errors: empty weights -> invalid_argument; a weight that is negative, NaN or infinite ->
// invalid_score naming it; all weights 0 -> invalid_score; uniforms of the wrong count ->
// size_mismatch; uniforms outside [0, 1), NaN or unsorted where sorted ones are required ->
// invalid_argument naming the first bad one; N - 1 not representable in the index type ->
// invalid_argument.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/kernels/log.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// A contiguous range of float or double (weights, log-weights).
template <class R>
concept weight_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    (std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, float> ||
     std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, double>);

/// A contiguous, writable range of integers (resampled indices). std::int32_t or
/// std::uint32_t halve the write traffic of std::size_t.
template <class R>
concept index_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    std::integral<std::ranges::range_value_t<R>> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

namespace detail {

template <class R>
auto as_span(R&& r) {
  return std::span(std::ranges::data(r), std::ranges::size(r));
}

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

// ---- scalar twin: the merge of the definition -------------------------------------
// A_m = max(first, min{j : t(m) <= C_j}), or `last` when no such j (round-off only).
template <class T, class I, class Target>
inline void merge_inverse_cdf(std::span<const T> w, const weight_summary& ws, std::size_t m_count, Target t,
                              I* out) noexcept {
  cdf_cursor<T> cur(w.data(), w.size(), ws.scale);
  const std::size_t n = w.size();
  std::size_t j = ws.first;
  double cj = cur.at(j);
  for (std::size_t m = 0; m < m_count; ++m) {
    const double tm = t(m);
    while (cj < tm && j + 1 < n) cj = cur.at(++j);
    out[m] = static_cast<I>(cj < tm ? ws.last : j);
  }
}

// ---- fast merge: branch-free, 4 interleaved segments ------------------------------------
// The same merge as merge_inverse_cdf, as a loop over the N + M events of the two sorted
// sequences: each step compares C_j with t(m) = u_m S and advances exactly one of j and m by
// the outcome (no data-dependent branch, which mispredicts about once per particle on even
// weights); out[m] = j is stored at every step and the last store for each m is the answer.
// One such loop is a chain of dependent loads (~13 cycles a step), so the events are split
// into 4 segments at block boundaries of j (equal shares of N + M steps), each segment's
// first m found by binary search with the same predicate, and the 4 loops are interleaved.
// C comes in chunks with the canonical association (carries at the split points from one
// pre-pass), so every C_j, hence every index, equals the scalar twin's.
template <class T>
struct merge_segment {
  static constexpr std::size_t chunk = 512;
  std::size_t base = 0, jj = 0, jend = 0, jstop = 0;  // C chunk at base; j = base + jj < jstop
  std::size_t m = 0, mend = 0;
  std::size_t len = 0;
  double carry = 0.0;  // C_{base - 1}
  double scale = 1.0;  // weight_summary::scale
  alignas(64) double cbuf[chunk];
  void fill(const T* w, std::size_t n) noexcept {
    len = std::min(chunk, (jstop - base + 3) & ~std::size_t(3));
    (void)cdf_run(w, n, base, len, carry, scale, cbuf);
    jend = std::min(base + len, jstop) - base;
  }
  // Moves to the next chunk once j has passed this one; false when the segment is finished.
  bool next(const T* w, std::size_t n) noexcept {
    if (m >= mend) return false;
    if (jj < jend) return true;
    if (base + jj >= jstop) return false;
    carry = cbuf[len - 1];
    base += len;
    jj = 0;
    fill(w, n);
    return true;
  }
  template <class I>
  void step(const double* u, double s, I* out) noexcept {
    const bool adv = cbuf[jj] < u[m] * s;
    out[m] = static_cast<I>(base + jj);
    jj += static_cast<std::size_t>(adv);
    m += static_cast<std::size_t>(!adv);
  }
};

template <class T, class I>
inline void merge_inverse_cdf_branchless(std::span<const T> w, const weight_summary& ws, std::size_t m_count,
                                         const double* u, double s, I* out) noexcept {
  constexpr std::size_t K = 4;
  const std::size_t n = w.size();
  merge_segment<T> seg[K];  // 16 KB of chunk buffers on the stack, no allocation
  // Split points: multiples of 4 after `first`, where j + M C_j / S crosses k (N + M) / K.
  std::size_t split[K + 1];
  double carry_at[K + 1];
  const std::size_t b0 = ws.first & ~std::size_t(3);
  split[0] = b0;
  carry_at[0] = 0.0;
  std::size_t k = 1;
  {
    const double steps = static_cast<double>(n - b0) + static_cast<double>(m_count);
    const double per_mass = static_cast<double>(m_count) / s;
    double carry = 0.0;
    double target = steps / K;
    for (std::size_t q = b0; q + 4 <= n && k < K; q += 4) {
      const double sc = ws.scale;
      const double p1 = static_cast<double>(w[q]) * sc + static_cast<double>(w[q + 1]) * sc;
      carry = carry + (p1 + (static_cast<double>(w[q + 2]) * sc + static_cast<double>(w[q + 3]) * sc));
      if (static_cast<double>(q + 4 - b0) + carry * per_mass >= target && q + 4 < n) {
        split[k] = q + 4;
        carry_at[k] = carry;
        ++k;
        target = steps * static_cast<double>(k) / K;
      }
    }
  }
  const std::size_t used = k;
  split[used] = n;
  // First m of each segment: #{m : u_m S <= C_{split - 1}}, by the merge's own predicate.
  std::size_t mstart[K + 1];
  mstart[0] = 0;
  for (std::size_t q = 1; q < used; ++q) {
    const double c = carry_at[q];
    std::size_t lo = mstart[q - 1], hi = m_count;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (u[mid] * s <= c) lo = mid + 1; else hi = mid;
    }
    mstart[q] = lo;
  }
  mstart[used] = m_count;
  for (std::size_t q = 0; q < used; ++q) {
    auto& g = seg[q];
    g.base = split[q];
    g.jstop = split[q + 1];
    g.carry = carry_at[q];
    g.scale = ws.scale;
    g.m = mstart[q];
    g.mend = mstart[q + 1];
    g.fill(w.data(), n);
    g.jj = q == 0 ? ws.first - b0 : 0;
  }
  if (used == K) {
    for (;;) {
      bool all_ready = true;
      for (std::size_t q = 0; q < K; ++q) all_ready = all_ready && seg[q].m < seg[q].mend && seg[q].jj < seg[q].jend;
      if (!all_ready) {
        bool any = false;
        for (std::size_t q = 0; q < K; ++q) any = seg[q].next(w.data(), n) || any;
        if (!any) break;
        all_ready = true;
        for (std::size_t q = 0; q < K; ++q) all_ready = all_ready && seg[q].m < seg[q].mend && seg[q].jj < seg[q].jend;
        if (!all_ready) break;  // one segment is finished: the others end below, one by one
      }
      std::size_t room = std::numeric_limits<std::size_t>::max();
      for (std::size_t q = 0; q < K; ++q)
        room = std::min(room, std::min(seg[q].mend - seg[q].m, seg[q].jend - seg[q].jj));
      // Each step consumes one unit of either budget, so `room` steps are always safe.
      // Locals, so the four states live in registers (out may alias nothing we read).
      std::size_t j0 = seg[0].jj, j1 = seg[1].jj, j2 = seg[2].jj, j3 = seg[3].jj;
      std::size_t m0 = seg[0].m, m1 = seg[1].m, m2 = seg[2].m, m3 = seg[3].m;
      const double *c0 = seg[0].cbuf, *c1 = seg[1].cbuf, *c2 = seg[2].cbuf, *c3 = seg[3].cbuf;
      const std::size_t o0 = seg[0].base, o1 = seg[1].base, o2 = seg[2].base, o3 = seg[3].base;
      for (std::size_t r = 0; r < room; ++r) {
        const bool a0 = c0[j0] < u[m0] * s;
        const bool a1 = c1[j1] < u[m1] * s;
        const bool a2 = c2[j2] < u[m2] * s;
        const bool a3 = c3[j3] < u[m3] * s;
        out[m0] = static_cast<I>(o0 + j0);
        out[m1] = static_cast<I>(o1 + j1);
        out[m2] = static_cast<I>(o2 + j2);
        out[m3] = static_cast<I>(o3 + j3);
        j0 += static_cast<std::size_t>(a0);
        j1 += static_cast<std::size_t>(a1);
        j2 += static_cast<std::size_t>(a2);
        j3 += static_cast<std::size_t>(a3);
        m0 += static_cast<std::size_t>(!a0);
        m1 += static_cast<std::size_t>(!a1);
        m2 += static_cast<std::size_t>(!a2);
        m3 += static_cast<std::size_t>(!a3);
      }
      seg[0].jj = j0, seg[1].jj = j1, seg[2].jj = j2, seg[3].jj = j3;
      seg[0].m = m0, seg[1].m = m1, seg[2].m = m2, seg[3].m = m3;
    }
  }
  for (std::size_t q = 0; q < used; ++q) {
    auto& g = seg[q];
    while (g.next(w.data(), n))
      while (g.m < g.mend && g.jj < g.jend) g.step(u, s, out);
    // Only the last segment can run out of j: t(m) > C_{N-1} (round-off) -> last index.
    for (; g.m < g.mend; ++g.m) out[g.m] = static_cast<I>(ws.last);
  }
}

// ---- fast path: counts per j, filled run by run -------------------------------------
// out[F_{j-1}, F_j) = j with F_j = #{m : t(m) <= C_j}; `count(c, previous)` returns F.
template <class I>
inline void fill_run(I* out, std::size_t from, std::size_t to, I j, std::size_t m_count) noexcept {
  // Writing 8 copies unconditionally covers runs of 0..8 (nearly all of them) without a
  // data-dependent branch, which would mispredict on every irregular count; what lies past
  // this run is overwritten by the next runs (written in ascending j) or by the final fill.
  // A plain loop: inlined into a level's body, GCC stores the 8 copies as one or two vectors
  // of that level (one ymm store of int32 in the AVX2 and AVX-512 bodies; intrinsics here
  // would be pinned to the baseline's SSE2).
  if (m_count >= 8 && from <= m_count - 8) {
    for (std::size_t q = 0; q < 8; ++q) out[from + q] = j;
    for (std::size_t p = from + 8; p < to; ++p) out[p] = j;
  } else {
    for (std::size_t p = from; p < to; ++p) out[p] = j;
  }
}

template <class T, class I, class Count>
inline void count_inverse_cdf(std::span<const T> w, const weight_summary& ws, std::size_t m_count, Count count,
                              I* out) noexcept {
  const std::size_t n = w.size();
  std::size_t f_prev = 0;
  // Blocks of 4 from the block holding `first` (earlier weights are 0 and C stays 0).
  std::size_t base = ws.first & ~std::size_t(3);
  double carry = 0.0, c[4];
  for (; base < n && f_prev < m_count; base += 4) {
    cdf4_at(w.data(), n, base, carry, ws.scale, c);
    carry = c[3];
    const std::size_t k0 = base < ws.first ? ws.first - base : 0;
    const std::size_t k1 = std::min<std::size_t>(4, n - base);
    for (std::size_t k = k0; k < k1; ++k) {
      const std::size_t f = count(c[k], f_prev);
      fill_run(out, f_prev, f, static_cast<I>(base + k), m_count);
      f_prev = f;
    }
  }
  for (std::size_t p = f_prev; p < m_count; ++p) out[p] = static_cast<I>(ws.last);
}

// Exact count #{m < M : t(m) <= c} for a non-decreasing t, from a guess k.
template <class Target>
inline std::size_t correct_count(std::size_t k, double c, std::size_t m_count, Target t) noexcept {
  if (k < m_count && t(k) <= c) {
    ++k;
    while (k < m_count && t(k) <= c) ++k;
  } else {
    while (k > 0 && t(k - 1) > c) --k;
  }
  return k;
}

inline std::size_t guess_count(double e, std::size_t m_count) noexcept {
  // e estimates the count; clamped before the cast, so no UB for any double.
  if (!(e > 0)) return 0;
  if (e >= static_cast<double>(m_count)) return m_count;
  return static_cast<std::size_t>(static_cast<std::int64_t>(e));  // signed: one instruction
}

template <class T>
inline void check_unit(const char* fn, const char* what, std::size_t i, double u) {
  if (!(u >= 0.0 && u < 1.0))
    throw invalid_argument(index_name(fn, what, i) + " = " + value_text(u) + " is not in [0, 1)");
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

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/resample_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// Each scheme in two parts: the entry validates the weights (summarize_weights) and the
// `_summarized` part takes a summary from the caller, so `resample` passes the one its fused
// exp pass made and the weights are read once fewer.
template <bool Fast, class T, class I>
inline void inverse_cdf_summarized(std::span<const T> w, const weight_summary& ws, std::span<const double> su,
                                   std::span<I> out) {
  check_index_type<I>("inverse_cdf", w.size());
  check_sorted_uniforms("inverse_cdf", su);
  // Uniform spacings give M ~ N targets with gaps too irregular for a closed-form count,
  // so both paths merge, O(N + M): the fast path branch-free, the twin as the definition.
  if constexpr (Fast) {
    merge_inverse_cdf_branchless(w, ws, out.size(), su.data(), ws.total, out.data());
  } else {
    merge_inverse_cdf(w, ws, out.size(), sorted_targets{su.data(), ws.total}, out.data());
  }
}

template <bool Fast, class T, class I>
inline void inverse_cdf(std::span<const T> w, std::span<const double> su, std::span<I> out) {
  if (su.size() != out.size())
    throw size_mismatch("inverse_cdf: " + std::to_string(su.size()) + " sorted_uniforms for " +
                        std::to_string(out.size()) + " outputs");
  inverse_cdf_summarized<Fast>(w, summarize_weights("inverse_cdf", w), su, out);
}

template <bool Fast, class T, class I>
inline void systematic_summarized(std::span<const T> w, const weight_summary& ws, double u, std::span<I> out) {
  check_index_type<I>("systematic_resample", w.size());
  check_unit<T>("systematic_resample", "u", 0, u);
  const std::size_t m_count = out.size();
  if (m_count == 0) return;
  const systematic_targets t{u, ws.total / static_cast<double>(m_count)};
  if constexpr (Fast) {
    if (m_count < (std::size_t(1) << 50)) {
      dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { systematic_counts<Ops>(w, ws, m_count, u, out.data()); });
      return;
    }
    const double inv_step = static_cast<double>(m_count) / ws.total;
    count_inverse_cdf(w, ws, m_count,
                      [&](double c, std::size_t) {
                        // #{m : m + u <= c / step} = floor(c / step - u) + 1
                        return correct_count(guess_count(c * inv_step - u + 1.0, m_count), c, m_count, t);
                      },
                      out.data());
  } else {
    merge_inverse_cdf(w, ws, m_count, t, out.data());
  }
}

template <bool Fast, class T, class I>
inline void systematic(std::span<const T> w, double u, std::span<I> out) {
  systematic_summarized<Fast>(w, summarize_weights("systematic_resample", w), u, out);
}

template <bool Fast, class T, class I>
inline void stratified_summarized(std::span<const T> w, const weight_summary& ws, std::span<const double> v,
                                  std::span<I> out) {
  check_index_type<I>("stratified_resample", w.size());
  check_units<T>("stratified_resample", "uniforms", v);
  const std::size_t m_count = out.size();
  if (m_count == 0) return;
  const stratified_targets t{v.data(), ws.total / static_cast<double>(m_count)};
  if constexpr (Fast) {
    const double inv_step = static_cast<double>(m_count) / ws.total;
    count_inverse_cdf(w, ws, m_count,
                      [&](double c, std::size_t) {
                        // every m < floor(c / step) counts; m = floor(c / step) may
                        std::size_t k = guess_count(c * inv_step, m_count);
                        // one branch-free step first: it is taken about half the time
                        k += static_cast<std::size_t>(k < m_count && t(k) <= c);
                        return correct_count(k, c, m_count, t);
                      },
                      out.data());
  } else {
    merge_inverse_cdf(w, ws, m_count, t, out.data());
  }
}

template <bool Fast, class T, class I>
inline void stratified(std::span<const T> w, std::span<const double> v, std::span<I> out) {
  if (v.size() != out.size())
    throw size_mismatch("stratified_resample: " + std::to_string(v.size()) + " uniforms for " +
                        std::to_string(out.size()) + " outputs");
  stratified_summarized<Fast>(w, summarize_weights("stratified_resample", w), v, out);
}

// Floor counts of M W_j / S; the residual weights go to `res` (size N). Returns R.
template <class T>
inline std::size_t residual_counts(const char* fn, std::span<const T> w, std::size_t m_count, const weight_summary& ws,
                                   std::size_t* counts, double* res) {
  // M w_j / S as (scale w_j) (M / S): exact scaling first, as the CDF walks do.
  const double per_mass = static_cast<double>(m_count) / ws.total;
  std::size_t sum = 0, j = 0;
  if (m_count < (std::size_t(1) << 50))
    j = dispatch<double>([&]<class Ops>(std::type_identity<Ops>) {
      return residual_floors_at<Ops>(w, ws.scale, per_mass, counts, res, sum);
    });
  for (; j < w.size(); ++j) {
    const double mw = static_cast<double>(w[j]) * ws.scale * per_mass;
    const double fl = std::floor(mw);
    const std::size_t cnt = static_cast<std::size_t>(fl);
    if (counts) counts[j] = cnt;
    if (res) res[j] = mw - fl;
    sum += cnt;
  }
  // M W_j / S can round up across an integer, so the floors may exceed M by a few
  // (never seen in tests; kept for safety): take them back from the last indices.
  if (sum > m_count) {
    if (!counts) throw invalid_argument(std::string(fn) + ": round-off made the integer parts exceed M");
    for (std::size_t q = w.size(); q-- > 0 && sum > m_count;)
      while (counts[q] > 0 && sum > m_count) {
        --counts[q];
        --sum;
      }
  }
  return m_count - sum;
}


// Residual resampling in two steps, so that `resample` draws R uniforms in between and the
// weights are summarised and floored once (residual_draws + residual_resample did it twice).
// Validates the workspace and computes counts and residuals; returns R.
template <class T, class I>
inline std::size_t residual_prepare(std::span<const T> w, const weight_summary& ws, std::span<I> out,
                                    std::span<std::size_t> counts, std::span<double> residuals) {
  check_index_type<I>("residual_resample", w.size());
  if (counts.size() != w.size() || residuals.size() != w.size())
    throw size_mismatch("residual_resample: counts and residuals must have " + std::to_string(w.size()) +
                        " elements (got " + std::to_string(counts.size()) + " and " +
                        std::to_string(residuals.size()) + ")");
  return residual_counts("residual_resample", w, out.size(), ws, counts.data(), residuals.data());
}

// The R multinomial draws on the residuals, added to the counts (hence `counts` is
// modified), then every count expanded in ascending order by fill_run: no data-dependent
// branch per index, where merging the sorted draws with the counts took two.
template <class I>
inline void residual_finish(std::span<std::size_t> counts, std::span<const double> residuals, std::size_t r,
                            std::span<const double> sorted_uniforms, std::span<I> out) {
  const std::size_t m_count = out.size();
  if (sorted_uniforms.size() != r)
    throw size_mismatch("residual_resample: needs " + std::to_string(r) + " sorted_uniforms (residual_draws), got " +
                        std::to_string(sorted_uniforms.size()));
  if (r > 0) inverse_cdf<true>(residuals, sorted_uniforms, out.subspan(m_count - r));
  for (std::size_t rp = m_count - r; rp < m_count; ++rp) ++counts[static_cast<std::size_t>(out[rp])];
  std::size_t wp = 0;
  for (std::size_t j = 0; j < counts.size() && wp < m_count; ++j) {
    const std::size_t to = std::min(m_count, wp + counts[j]);
    fill_run(out.data(), wp, to, static_cast<I>(j), m_count);
    wp = to;
  }
}

template <class T, class I>
inline void ssp_summarized(std::span<const T> w, const weight_summary& ws, std::span<const double> uniforms,
                           std::span<I> out, std::span<std::size_t> counts, std::span<double> xi) {
  check_index_type<I>("ssp_resample", w.size());
  const std::size_t n = w.size();
  if (uniforms.size() != n - 1)
    throw size_mismatch("ssp_resample: needs " + std::to_string(n - 1) + " uniforms, got " +
                        std::to_string(uniforms.size()));
  if (counts.size() != n || xi.size() != n)
    throw size_mismatch("ssp_resample: counts and xi must have " + std::to_string(n) + " elements");
  check_units<T>("ssp_resample", "uniforms", uniforms);
  const std::size_t m_count = out.size();
  std::size_t survivor = 0;
  std::size_t total = m_count - residual_counts("ssp_resample", w, m_count, ws, counts.data(), xi.data());
  // Pair the two unresolved fractional parts i and j; move mass between them so one of
  // them becomes 0 or 1 (resolved), keeping E[count] = M W exactly. Alg. 3 is one chain:
  // each step depends on the survivor of the last. The pair's values live in registers
  // (the survivor's is never stored back: only counts are read after the loop), which
  // takes the store-to-load round trip out of the chain. GCC compiles the two coin flips
  // as branches; mask selects instead measured slower (24 vs 20.5 ns per particle, N = 1e6:
  // a predicted branch cuts the chain, a select waits for it).
  if (n > 1) {
    std::size_t i = 0, j = 1;
    double xi_i = xi[0], xi_j = xi[1];
    for (std::size_t k = 0; k + 1 < n; ++k) {
      const double delta_i = std::min(xi_j, 1.0 - xi_i);  // increase i, decrease j
      const double delta_j = std::min(xi_i, 1.0 - xi_j);
      // u < delta_i / sum as u * sum < delta_i: no division in the chain (and sum = 0, where
      // delta_i = 0, needs no case). The two round differently only for a u within an ulp
      // of the threshold: the same distribution; a given uniform stream may differ from
      // particles' in such a tie, about once in 2^50 steps.
      const double sum = delta_i + delta_j;
      const bool swap = uniforms[k] * sum < delta_i;
      const std::size_t i2 = swap ? j : i, j2 = swap ? i : j;
      const double a = swap ? xi_j : xi_i, b = swap ? xi_i : xi_j;
      const double d = swap ? delta_j : delta_i;
      const bool j_empties = b < 1.0 - a;  // else i reaches 1: one more child
      counts[i2] += static_cast<std::size_t>(!j_empties);
      total += static_cast<std::size_t>(!j_empties);
      const double kept = j_empties ? a + d : b - d;  // the survivor's new fractional part
      const double fresh = xi[std::min(k + 2, n - 1)];  // (unused after the last step)
      i = j_empties ? i2 : k + 2;
      j = j_empties ? k + 2 : j2;
      xi_i = j_empties ? kept : fresh;
      xi_j = j_empties ? fresh : kept;
    }
    survivor = i < n ? i : j;
  }
  // The survivor holds a fractional part of ~0 or ~1; hand it the missing child, if any
  // (it should have positive weight; the last positive index otherwise).
  if (total < m_count) counts[w[survivor] > 0 ? survivor : ws.last] += m_count - total;
  // Counts to indices, run by run: fill_run's fixed 8 stores, as the count paths do.
  std::size_t wp = 0;
  for (std::size_t q = 0; q < n && wp < m_count; ++q) {
    const std::size_t to = std::min(m_count, wp + counts[q]);
    fill_run(out.data(), wp, to, static_cast<I>(q), m_count);
    wp = to;
  }
}

}  // namespace detail

// =================================================================== pure functions

/// Multinomial resampling from M sorted uniforms in [0, 1] (one index per uniform): the
/// inverse-CDF definition above, O(N + M). `out.size()` must equal `sorted_uniforms.size()`.
/// Feed it `uniform_spacings` output to get multinomial resampling.
template <weight_range W, index_range O>
inline void inverse_cdf(const W& weights, std::span<const double> sorted_uniforms, O&& out) {
  detail::inverse_cdf<true>(std::span<const std::ranges::range_value_t<W>>(detail::as_span(weights)), sorted_uniforms,
                            detail::as_span(out));
}
/// Same as inverse_cdf (multinomial resampling given its sorted uniforms).
template <weight_range W, index_range O>
inline void multinomial_resample(const W& weights, std::span<const double> sorted_uniforms, O&& out) {
  inverse_cdf(weights, sorted_uniforms, std::forward<O>(out));
}

/// Systematic resampling: u_m = (m + u) / M, one u in [0, 1) for all M outputs; each index
/// gets floor(M W_j) or floor(M W_j) + 1 copies. Targets are computed as (m + u) * (S / M).
/// Example: W = {0.1, 0.2, 0.3, 0.4}, u = 0.5, M = 4 -> u_m = .125 .375 .625 .875 -> {1, 2, 3, 3}.
template <weight_range W, index_range O>
inline void systematic_resample(const W& weights, double u, O&& out) {
  detail::systematic<true>(std::span<const std::ranges::range_value_t<W>>(detail::as_span(weights)), u,
                           detail::as_span(out));
}

/// Stratified resampling: u_m = (m + v_m) / M with M independent v_m in [0, 1) (unsorted;
/// `uniforms.size()` must equal `out.size()`).
template <weight_range W, index_range O>
inline void stratified_resample(const W& weights, std::span<const double> uniforms, O&& out) {
  detail::stratified<true>(std::span<const std::ranges::range_value_t<W>>(detail::as_span(weights)), uniforms,
                           detail::as_span(out));
}

/// Number R of random draws residual resampling of M outputs needs: M - sum_j floor(M W_j).
template <weight_range W>
[[nodiscard]] inline std::size_t residual_draws(const W& weights, std::size_t m) {
  const auto w = std::span<const std::ranges::range_value_t<W>>(detail::as_span(weights));
  const auto ws = detail::summarize_weights("residual_draws", w);
  return detail::residual_counts("residual_draws", w, m, ws, nullptr, nullptr);
}

/// Residual resampling: floor(M W_j) deterministic copies of j, then R = residual_draws(W, M)
/// multinomial draws on the residuals M W_j - floor(M W_j), given R sorted uniforms
/// (`sorted_uniforms.size()` must be R). Output in ascending order. Uses `out` as scratch;
/// the counts need a workspace of N size_t and N doubles (`counts`, `residuals`).
template <weight_range W, index_range O>
inline void residual_resample(const W& weights, std::span<const double> sorted_uniforms, O&& out_r,
                              std::span<std::size_t> counts, std::span<double> residuals) {
  using T = std::ranges::range_value_t<W>;
  const auto w = std::span<const T>(detail::as_span(weights));
  auto out = detail::as_span(out_r);
  const auto ws = detail::summarize_weights("residual_resample", w);
  const std::size_t r = detail::residual_prepare(w, ws, out, counts, residuals);
  detail::residual_finish(counts, std::span<const double>(residuals), r, sorted_uniforms, out);
}

/// SSP resampling (Gerber, Chopin & Whiteley 2019, Alg. 3 as in particles' `ssp`): each j
/// gets floor(M W_j) or floor(M W_j) + 1 copies, negatively associated, consistent. Needs
/// N - 1 uniforms in [0, 1) (`uniforms.size()` must be N - 1; none when N = 1) and a
/// workspace of N size_t counts and N doubles. Output in ascending order. O(N + M).
template <weight_range W, index_range O>
inline void ssp_resample(const W& weights, std::span<const double> uniforms, O&& out_r, std::span<std::size_t> counts,
                         std::span<double> xi) {
  using T = std::ranges::range_value_t<W>;
  const auto w = std::span<const T>(detail::as_span(weights));
  detail::ssp_summarized(w, detail::summarize_weights("ssp_resample", w), uniforms, detail::as_span(out_r), counts, xi);
}

/// Scalar twins of the count-based paths (the merge of the definition), bit-identical outputs.
namespace scalar {
template <weight_range W, index_range O>
inline void systematic_resample(const W& weights, double u, O&& out) {
  kernels::detail::systematic<false>(std::span<const std::ranges::range_value_t<W>>(kernels::detail::as_span(weights)),
                                     u, kernels::detail::as_span(out));
}
template <weight_range W, index_range O>
inline void stratified_resample(const W& weights, std::span<const double> uniforms, O&& out) {
  kernels::detail::stratified<false>(std::span<const std::ranges::range_value_t<W>>(kernels::detail::as_span(weights)),
                                     uniforms, kernels::detail::as_span(out));
}
template <weight_range W, index_range O>
inline void inverse_cdf(const W& weights, std::span<const double> sorted_uniforms, O&& out) {
  kernels::detail::inverse_cdf<false>(std::span<const std::ranges::range_value_t<W>>(kernels::detail::as_span(weights)),
                                      sorted_uniforms, kernels::detail::as_span(out));
}
}  // namespace scalar

// =================================================================== randomness

/// A uniform double in [0, 1) with 53 random bits: ttscale::uniform01 (random.hpp), the one
/// definition random_engine::uniform() also uses.
using ttscale::uniform01;

/// M sorted uniforms in (0, 1) in O(M), by exponential spacings (C&P sec. 9.4, particles'
/// `uniform_spacings`): u_m = (E_0 + ... + E_m) / (E_0 + ... + E_M) with E iid Exp(1).
/// The M + 1 draws are made in order (the same stream as one draw at a time) in blocks of
/// 256, whose logarithms are taken by the vectorised kernels::log (log.hpp, <= 2 ulp).
template <std::uniform_random_bit_generator G>
inline void uniform_spacings(G& g, std::span<double> out) {
  detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { detail::uniform_spacings_at<Ops>(g, out); });
}

/// Scheme tags for `resample`.
struct multinomial_t {};
struct stratified_t {};
struct systematic_t {};
struct residual_t {};
struct ssp_t {};
inline constexpr multinomial_t multinomial{};
inline constexpr stratified_t stratified{};
inline constexpr systematic_t systematic{};
inline constexpr residual_t residual{};
inline constexpr ssp_t ssp{};

template <class S>
concept resampling_scheme = std::same_as<S, multinomial_t> || std::same_as<S, stratified_t> ||
    std::same_as<S, systematic_t> || std::same_as<S, residual_t> || std::same_as<S, ssp_t>;

/// Reusable buffers for `resample`: grown on first use (the only allocation), reused after.
struct resample_workspace {
  std::vector<double> weights;
  std::vector<double> uniforms;
  std::vector<double> residuals;
  std::vector<std::size_t> counts;
};

namespace detail {
// w_j = exp(lw_j - max lw) into a double buffer, and their summary (exp_shifted_at fuses
// the two): equal bit for bit to summarize_weights of the buffer.
template <class T>
inline weight_summary exp_shifted(std::span<const T> lw, std::vector<double>& out) {
  // Validation needs only the maximum: NaN anywhere, a +inf maximum or a -inf one (all
  // weights zero) are the log-weight errors.
  if (lw.empty()) throw_bad_log_weights<T>("resample", lw);
  T m;
  try {
    m = kernels::max(lw);
  } catch (const invalid_score&) {
    throw_bad_log_weights<T>("resample", lw);
  }
  if (std::isinf(m)) throw_bad_log_weights<T>("resample", lw);
  out.resize(lw.size());
  const weight_summary ws =
      dispatch<T>([&]<class Ops>(std::type_identity<Ops>) { return exp_shifted_at<Ops>(lw, m, out.data()); });
  // A total in [1, N] needs no rescaling; anything else (no case known) takes the general path.
  if (ws.first < lw.size() && ws.total >= 1.0 && ws.total <= sum_rescale_above) return ws;
  return summarize_weights("resample", std::span<const double>(out));
}
}  // namespace detail

/// Resample M = out.size() indices (ascending) from N un-normalised LOG-weights with the
/// given scheme, drawing uniforms from `g`. Allocation only when `ws` grows.
/// Example: kernels::resample(kernels::systematic, log_w, std::span(ancestors), rng, ws);
template <resampling_scheme Scheme, weight_range L, index_range O, std::uniform_random_bit_generator G>
inline void resample(Scheme, const L& log_weights, O&& out_r, G& g, resample_workspace& ws) {
  using T = std::ranges::range_value_t<L>;
  const auto lw = std::span<const T>(detail::as_span(log_weights));
  auto out = detail::as_span(out_r);
  const detail::weight_summary sum = detail::exp_shifted<T>(lw, ws.weights);
  const std::span<const double> w(ws.weights);
  const std::size_t m = out.size();
  if constexpr (std::same_as<Scheme, systematic_t>) {
    detail::systematic_summarized<true>(w, sum, uniform01(g), out);
  } else if constexpr (std::same_as<Scheme, stratified_t>) {
    ws.uniforms.resize(m);
    for (double& u : ws.uniforms) u = uniform01(g);
    detail::stratified_summarized<true>(w, sum, std::span<const double>(ws.uniforms), out);
  } else if constexpr (std::same_as<Scheme, multinomial_t>) {
    ws.uniforms.resize(m);
    uniform_spacings(g, std::span<double>(ws.uniforms));
    detail::inverse_cdf_summarized<true>(w, sum, std::span<const double>(ws.uniforms), out);
  } else if constexpr (std::same_as<Scheme, residual_t>) {
    ws.counts.resize(w.size());
    ws.residuals.resize(w.size());
    const std::size_t r = detail::residual_prepare(w, sum, out, std::span<std::size_t>(ws.counts),
                                                   std::span<double>(ws.residuals));
    ws.uniforms.resize(r);
    uniform_spacings(g, std::span<double>(ws.uniforms));
    detail::residual_finish(std::span<std::size_t>(ws.counts), std::span<const double>(ws.residuals), r,
                            std::span<const double>(ws.uniforms), out);
  } else {
    ws.counts.resize(w.size());
    ws.residuals.resize(w.size());
    ws.uniforms.resize(w.size() - 1);
    for (double& u : ws.uniforms) u = uniform01(g);
    detail::ssp_summarized(w, sum, std::span<const double>(ws.uniforms), out, std::span<std::size_t>(ws.counts),
                           std::span<double>(ws.residuals));
  }
}

/// As above with a temporary workspace (allocates on every call).
template <resampling_scheme Scheme, weight_range L, index_range O, std::uniform_random_bit_generator G>
inline void resample(Scheme scheme, const L& log_weights, O&& out, G& g) {
  resample_workspace ws;
  resample(scheme, log_weights, std::forward<O>(out), g, ws);
}

}  // namespace kernels
TTSCALE_END_NAMESPACE
