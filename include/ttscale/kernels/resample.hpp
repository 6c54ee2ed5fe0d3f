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
//    power of two that brings S near 1 (`power-of-two rescaling`, detail/resample_cdf.hpp),
//    so the targets never lose bits to underflow. Given uniforms u_m, the index is
//        A_m = min{ j : u_m * S <= C_j },   C_j = w_0 + ... + w_j   (eq. 9.1 of the book),
//    exactly as particles' `inverse_cdf` (which assumes S = 1), with two round-off guards
//    that public implementations lack: a u_m with u_m * S > C_{N-1} (possible only through
//    rounding) gets the LAST index of positive weight (never N, never a zero weight), and
//    u_m = 0 gets the FIRST index of positive weight. So a zero weight (a -inf log-weight)
//    is never selected. C is accumulated in double in blocks of 8, in one fixed order shared
//    by every code path and instruction-set level: within a block the inclusive prefix in
//    Sklansky's order (pairs, quads, then the 8; the block total is the pairwise sum
//    ((w0+w1)+(w2+w3))+((w4+w5)+(w6+w7))), plus the running carry C_{b-1}, one serial add
//    per 8 weights (detail/resample_cdf.hpp). The order keeps C non-decreasing, and the
//    vectorised and scalar paths see bit-identical C and return bit-identical indices.
//  * `resample(scheme, log_weights, out, engine, workspace)`: draws the uniforms from any
//    std::uniform_random_bit_generator and takes (un-normalised) LOG-weights, the form a
//    particle filter holds; they are exponentiated (vectorised exp) into the workspace in
//    one pass that also forms the weights' summary (total, first/last positive index), so
//    the schemes read the weights once fewer; the indices equal those of the pure function
//    on the same weights and uniforms. Residual floors the weights once (not twice).
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
// spacings (vectorised log, log.hpp) and the merge's chain of dependent loads; for SSP by
// its one sequential chain (a step per particle).
//
// Layout: this header keeps the public surface (pure functions, scalar twins, scheme tags,
// workspace, `resample`); internals live in detail/resample_cdf.hpp (canonical CDF, weight
// summary, rescaling), detail/resample_uniforms.hpp (uniform checks, targets),
// detail/resample_merge.hpp (inverse-CDF merges), detail/resample_counts.hpp (count-based
// schemes, fill_run) and detail/resample_body.hpp (per-level register kernels).
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
#include <ttscale/kernels/detail/resample_cdf.hpp>
#include <ttscale/kernels/detail/resample_counts.hpp>
#include <ttscale/kernels/detail/resample_merge.hpp>
#include <ttscale/kernels/detail/resample_uniforms.hpp>
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
/// the counts need a workspace of N size_t and N doubles (`counts`, `residuals`); `counts`
/// is left holding the number of copies of each index.
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
