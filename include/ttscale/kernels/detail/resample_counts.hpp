// ttscale/kernels/detail/resample_counts.hpp: the count-based schemes of kernels/resample.hpp (systematic, stratified, residual, SSP).
//
//
// Users never include this. Systematic and stratified count F_j = #{m : t(m) <= C_j} per j
// and fill out[F_{j-1}, F_j) = j run by run; residual floors M W_j and draws the rest by the
// merge (C&P 2020, sec. 9.6); SSP pairs fractional parts (Gerber, Chopin & Whiteley 2019,
// Alg. 3). The per-level bodies (detail/resample_body.hpp: the vectorised systematic counts
// and residual floors, and the fused exp pass and spacings resample() uses) are compiled
// here, once per instruction-set level. O(N + M) each.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/resample_cdf.hpp>
#include <ttscale/kernels/detail/resample_merge.hpp>
#include <ttscale/kernels/detail/resample_uniforms.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/kernels/log.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

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
  // Blocks of 8 from the block holding `first` (earlier weights are 0 and C stays 0).
  std::size_t base = ws.first & ~(cdf_block - 1);
  double carry = 0.0, c[cdf_block];
  for (; base < n && f_prev < m_count; base += cdf_block) {
    cdf_block_at(w.data(), n, base, carry, ws.scale, c);
    carry = c[cdf_block - 1];
    const std::size_t k0 = base < ws.first ? ws.first - base : 0;
    const std::size_t k1 = std::min(cdf_block, n - base);
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

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/resample_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// summarize_weights with the validating pass on the registers of the best level for double
// weights (weight_total_at); other types take the scalar pass. Bit for bit the same summary,
// and the same exceptions: finish_summary throws from the scalar checks either way.
template <class T>
inline weight_summary summarize_weights_fast(const char* fn, std::span<const T> w) {
  if constexpr (std::is_same_v<T, double>) {
    bool bad = w.empty();
    const double total =
        dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return weight_total_at<Ops>(w, bad); });
    return finish_summary(fn, w, total, bad);
  } else {
    return summarize_weights(fn, w);
  }
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
  const auto ws = Fast ? summarize_weights_fast("systematic_resample", w) : summarize_weights("systematic_resample", w);
  systematic_summarized<Fast>(w, ws, u, out);
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
  check_one_per_output("stratified_resample", "uniforms", v.size(), out.size());
  const auto ws = Fast ? summarize_weights_fast("stratified_resample", w) : summarize_weights("stratified_resample", w);
  stratified_summarized<Fast>(w, ws, v, out);
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

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
