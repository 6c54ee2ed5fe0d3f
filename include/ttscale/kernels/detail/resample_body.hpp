// ttscale/kernels/detail/resample_body.hpp: the per-level body of kernels/resample.hpp (systematic_counts, exp_shifted_at, residual_floors_at, uniform_spacings_at).
//
// Users never include this. detail/resample_counts.hpp includes it once per instruction-set
// level through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/resample.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/resample.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// Systematic fast path, vectorised: C is produced in chunks (canonical association),
// then F_j = #{m : (m + u) * step <= C_j} for a register of j at a time: a floor guess,
// one corrective step each way with the exact predicate, and a re-check that sends any
// lane still off (impossible for M < 2^50, kept as a proof) to the scalar correction.
// Counts stay in double: exact integers below 2^53.
template <class Ops, class T, class I> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void systematic_counts(std::span<const T> w, const weight_summary& ws, std::size_t m_count, double u,
                              I* out) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t vw = Ops::width;
  // A multiple of 4 and of every width; large enough that the scalar stores of C have
  // retired before the vector loads read them (a load spanning several in-flight stores
  // cannot be forwarded and stalls).
  constexpr std::size_t chunk = 512;
  const std::size_t n = w.size();
  const double step = ws.total / static_cast<double>(m_count);
  const double inv_step = static_cast<double>(m_count) / ws.total;
  const systematic_targets t{u, step};
  const reg vinv = Ops::set1(inv_step), vb = Ops::set1(1.0 - u), vu = Ops::set1(u), vstep = Ops::set1(step);
  const reg zero = Ops::set1(0.0), one = Ops::set1(1.0), vm = Ops::set1(static_cast<double>(m_count));
  const reg magic = Ops::set1(exp_constants<double>::magic);
  alignas(64) double cbuf[chunk];
  alignas(64) double fbuf[chunk];
  std::size_t f_prev = 0;
  std::size_t base = ws.first & ~std::size_t(3);
  double carry = 0.0;
  while (base < n && f_prev < m_count) {
    const std::size_t len = std::min(chunk, (n - base + 3) & ~std::size_t(3));
    carry = cdf_run(w.data(), n, base, len, carry, ws.scale, cbuf);
    for (std::size_t q = 0; q < len; q += vw) {
      const reg c = Ops::load(cbuf + q);
      // guess floor(c / step - u) + 1, clamped to [0, M]
      const reg e = Ops::min(Ops::max(Ops::fmadd(c, vinv, vb), zero), vm);
      reg k = Ops::sub(Ops::add(e, magic), magic);
      k = Ops::sub(k, Ops::select(Ops::lt(e, k), one, zero));
      // t(k) = (k + u) * step, exactly as systematic_targets computes it
      const auto up = Ops::mask_and(Ops::lt(k, vm), Ops::le(Ops::mul(Ops::add(k, vu), vstep), c));
      k = Ops::add(k, Ops::select(up, one, zero));
      const reg km1 = Ops::sub(k, one);
      const auto dn = Ops::mask_and(Ops::lt(zero, k), Ops::lt(c, Ops::mul(Ops::add(km1, vu), vstep)));
      k = Ops::select(dn, km1, k);
      const auto bad_up = Ops::mask_and(Ops::lt(k, vm), Ops::le(Ops::mul(Ops::add(k, vu), vstep), c));
      const auto bad_dn = Ops::mask_and(Ops::lt(zero, k), Ops::lt(c, Ops::mul(Ops::add(Ops::sub(k, one), vu), vstep)));
      Ops::store(fbuf + q, k);
      if (Ops::any(Ops::mask_or(bad_up, bad_dn))) [[unlikely]] {
        for (std::size_t l = 0; l < vw; ++l)
          fbuf[q + l] = static_cast<double>(
              correct_count(static_cast<std::size_t>(fbuf[q + l]), cbuf[q + l], m_count, t));
      }
    }
    const std::size_t k0 = base < ws.first ? ws.first - base : 0;
    const std::size_t k1 = std::min(len, n - base);
    for (std::size_t q = k0; q < k1; ++q) {
      const auto f = static_cast<std::size_t>(static_cast<std::int64_t>(fbuf[q]));
      fill_run(out, f_prev, f, static_cast<I>(base + q), m_count);
      f_prev = f;
    }
    base += len;
  }
  for (std::size_t p = f_prev; p < m_count; ++p) out[p] = static_cast<I>(ws.last);
}

// w_j = exp(lw_j - m) into out[0, N) on the registers of Ops, fused with the weight summary
// (exp_shifted, kernels/resample.hpp): each chunk of exponentials is summed with the canonical association
// while it is still in L1, so `resample` reads the weights once fewer than exp followed by
// summarize_weights. The log-weights were validated by the max pass, so the weights need
// no check: they lie in [0, 1] with one of them exp(0) = 1, hence a total in [1, N] and no
// rescaling (the caller falls back to summarize_weights if that ever fails). The summary
// equals summarize_weights(out) bit for bit: the same blocks of 4, the same association.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline weight_summary exp_shifted_at(std::span<const T> lw, T m, double* out) noexcept {
  constexpr std::size_t w = Ops::width;
  constexpr std::size_t chunk = 256;  // a multiple of 4 and of every width: tails stay where they were
  using S = typename Ops::tail;
  const std::size_t n = lw.size();
  const std::size_t vec_end = n - n % w;
  const auto vm = Ops::set1(m);
  T tmp[max_lanes];
  double carry = 0.0;
  std::size_t first_block = n, last_block = n;  // starts of the first and last 4-block with a positive weight
  for (std::size_t base = 0; base < n; base += chunk) {
    const std::size_t end = std::min(n, base + chunk);
    std::size_t i = base;
    for (; i < std::min(end, vec_end); i += w) {
      const auto e = exp_reg<Ops>(Ops::sub(Ops::load(lw.data() + i), vm));
      if constexpr (std::is_same_v<T, double>) {
        Ops::store(out + i, e);
      } else {
        Ops::store(tmp, e);
        for (std::size_t l = 0; l < w; ++l) out[i + l] = static_cast<double>(tmp[l]);
      }
    }
    for (; i < end; ++i) out[i] = static_cast<double>(exp_reg<S>(lw[i] - m));
    std::size_t b = base;
    for (; b + 4 <= end; b += 4) {
      const double s4 = (out[b] + out[b + 1]) + (out[b + 2] + out[b + 3]);
      carry = carry + s4;
      // positive weights are >= 0 and so is their sum: s4 > 0 iff the block holds one
      first_block = (first_block == n && s4 > 0) ? b : first_block;
      last_block = s4 > 0 ? b : last_block;
    }
    if (b < end) {
      double t[4] = {0, 0, 0, 0};
      for (std::size_t k = 0; b + k < end; ++k) t[k] = out[b + k];
      const double s4 = (t[0] + t[1]) + (t[2] + t[3]);
      carry = carry + s4;
      first_block = (first_block == n && s4 > 0) ? b : first_block;
      last_block = s4 > 0 ? b : last_block;
    }
  }
  weight_summary ws{carry, n, 0, 1.0};
  if (first_block < n) first_last_positive(out, first_block, n, ws.first, ws.last, last_block);
  return ws;
}

// residual_counts' floors of M w_j / S over the whole vectors of w (the caller takes the
// tail): mw = (scale w_j) (M / S) rounded as the scalar loop rounds it, floored by the
// magic-number round (exact for 0 <= mw < 2^51; the caller keeps M < 2^50) corrected by
// one, residual mw - floor (exact: Sterbenz). mw also feeds a comparison, so no compiler
// may fuse its product into the subtraction (an FMA would not round it first). Returns
// the number of weights done; adds the floors to `sum`.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::size_t residual_floors_at(std::span<const T> w, double scale, double per_mass, std::size_t* counts,
                                      double* res, std::size_t& sum) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t vw = Ops::width;
  const reg vs = Ops::set1(scale), vp = Ops::set1(per_mass), magic = Ops::set1(exp_constants<double>::magic);
  const reg zero = Ops::set1(0.0), one = Ops::set1(1.0);
  alignas(64) double x[max_lanes], fl[max_lanes];
  const std::size_t n = w.size() - w.size() % vw;
  std::size_t total = 0;
  for (std::size_t j = 0; j < n; j += vw) {
    reg v;
    if constexpr (std::is_same_v<T, double>) {
      v = Ops::load(w.data() + j);
    } else {
      for (std::size_t l = 0; l < vw; ++l) x[l] = static_cast<double>(w[j + l]);
      v = Ops::load(x);
    }
    const reg mw = Ops::mul(Ops::mul(v, vs), vp);
    reg k = Ops::sub(Ops::add(mw, magic), magic);
    k = Ops::sub(k, Ops::select(Ops::lt(mw, k), one, zero));
    if (res) Ops::store(res + j, Ops::sub(mw, k));
    Ops::store(fl, k);
    for (std::size_t l = 0; l < vw; ++l) {
      const auto c = static_cast<std::size_t>(static_cast<std::int64_t>(fl[l]));
      if (counts) counts[j + l] = c;
      total += c;
    }
  }
  sum += total;
  return n;
}

// uniform_spacings (kernels/resample.hpp) on the registers of Ops.
template <class Ops, class G> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void uniform_spacings_at(G& g, std::span<double> out) {
  constexpr std::size_t block = 256;
  double buf[block];
  const std::size_t m = out.size();
  double z = 0.0, total = 0.0;
  for (std::size_t i = 0; i <= m; i += block) {
    const std::size_t len = std::min(block, m + 1 - i);
    // 1 - U is exact for U = k 2^-53 and lies in (0, 1]: the log is finite and <= 0.
    for (std::size_t q = 0; q < len; ++q) buf[q] = 1.0 - uniform01(g);
    log_span<Ops, double>(std::span<const double>(buf, len), std::span<double>(buf, len));
    const std::size_t outs = std::min(len, m - i);
    for (std::size_t q = 0; q < outs; ++q) {
      z -= buf[q];
      out[i + q] = z;
    }
    if (outs < len) total = z - buf[outs];
  }
  const double inv = 1.0 / total;
  for (double& u : out) u = std::min(u * inv, 1.0);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
