// ttscale/kernels/detail/resample_merge.hpp: the inverse-CDF merges of kernels/resample.hpp (multinomial, any sorted uniforms).
//
//
// Users never include this. merge_inverse_cdf is the definition (eq. 9.1 of C&P 2020, as
// particles' `inverse_cdf`), the scalar twin of every scheme; merge_inverse_cdf_branchless
// is the fast path of inverse_cdf, the same merge in 4 interleaved branch-free segments.
// Both walk the canonical CDF (resample_cdf.hpp), so they return identical indices. O(N + M).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/resample_cdf.hpp>
#include <ttscale/kernels/detail/resample_uniforms.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

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
// into 4 segments at block boundaries (of 8) of j (equal shares of N + M steps), each segment's
// first m found by binary search with the same predicate, and the 4 loops are interleaved.
// C comes in chunks in the canonical order (carries at the split points from one
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
    len = std::min(chunk, (jstop - base + cdf_block - 1) & ~(cdf_block - 1));
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
  // Split points: block starts (multiples of 8) after `first`, where j + M C_j / S crosses
  // k (N + M) / K; the carry there is C_{split - 1}, summed block by block as cdf_run does.
  std::size_t split[K + 1];
  double carry_at[K + 1];
  const std::size_t b0 = ws.first & ~(cdf_block - 1);
  split[0] = b0;
  carry_at[0] = 0.0;
  std::size_t k = 1;
  {
    const double steps = static_cast<double>(n - b0) + static_cast<double>(m_count);
    const double per_mass = static_cast<double>(m_count) / s;
    double carry = 0.0, x[cdf_block];
    double target = steps / K;
    for (std::size_t q = b0; q + cdf_block < n && k < K; q += cdf_block) {
      load_block(w.data(), n, q, ws.scale, x);
      carry = carry + block_total(x);
      if (static_cast<double>(q + cdf_block - b0) + carry * per_mass >= target) {
        split[k] = q + cdf_block;
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
  check_one_per_output("inverse_cdf", "sorted_uniforms", su.size(), out.size());
  inverse_cdf_summarized<Fast>(w, summarize_weights("inverse_cdf", w), su, out);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
