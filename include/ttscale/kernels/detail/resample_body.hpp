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

// One block of 8 weights in the registers of Ops (8 / width of them): Sklansky's prefix
// (block_prefix, resample_cdf.hpp) in place. A step of distance D below the width moves
// lanes within each register (sklansky_step); at or above it, whole registers add the
// broadcast last lane of the register ending the lower half of their group. Either way
// each lane adds the same two values as block_prefix, so p is bit-identical at every level.
template <class Ops, std::size_t D> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void sklansky_regs(typename Ops::reg* v) noexcept {
  constexpr std::size_t w = Ops::width;
  if constexpr (D < w) {
    for (std::size_t r = 0; r < cdf_block / w; ++r) v[r] = Ops::template sklansky_step<D>(v[r]);
  } else {
    // registers whose lanes have bit D set; their source has it clear, so in place is safe
    for (std::size_t r = 0; r < cdf_block / w; ++r)
      if ((r * w) & D) v[r] = Ops::add(v[r], Ops::broadcast_last(v[((r * w) & ~(2 * D - 1)) / w + D / w - 1]));
  }
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void block_prefix_regs(const T* w, std::size_t n, std::size_t base, double scale,
                              typename Ops::reg* v) noexcept {
  constexpr std::size_t vw = Ops::width;
  bool loaded = false;
  if constexpr (std::is_same_v<T, double>) {
    if (base + cdf_block <= n) {
      for (std::size_t r = 0; r < cdf_block / vw; ++r) v[r] = Ops::load(w + base + r * vw);
      loaded = true;
    }
  }
  if (!loaded) {  // a float block or the last, short one: through a zero-padded lane buffer
    alignas(64) double x[cdf_block];
    load_block(w, n, base, 1.0, x);
    for (std::size_t r = 0; r < cdf_block / vw; ++r) v[r] = Ops::load(x + r * vw);
  }
  if (scale != 1.0) {
    const auto vs = Ops::set1(scale);
    for (std::size_t r = 0; r < cdf_block / vw; ++r) {
      v[r] = Ops::mul(v[r], vs);
      TTSCALE_KERNELS_OPAQUE(v[r]);  // rounded on its own, as scaled_weight
    }
  }
  sklansky_regs<Ops, 1>(v);
  sklansky_regs<Ops, 2>(v);
  sklansky_regs<Ops, 4>(v);
}

// cdf_block_at (resample_cdf.hpp) on the registers of Ops: what systematic_counts computes
// per block, stored; the tests hold it to cdf_block_at bit for bit at every level.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void cdf_block_at_level(const T* w, std::size_t n, std::size_t base, double carry, double scale,
                               double* c) noexcept {
  typename Ops::reg v[cdf_block / Ops::width];
  block_prefix_regs<Ops>(w, n, base, scale, v);
  const auto vc = Ops::set1(carry);
  for (std::size_t r = 0; r < cdf_block / Ops::width; ++r) Ops::store(c + r * Ops::width, Ops::add(vc, v[r]));
}

// weight_total (resample_cdf.hpp) on the registers of Ops, for double weights: the same
// total bit for bit (each block's total is the last lane of Sklansky's prefix, p_7, the
// pairwise sum block_total adds; then one carry add per block, in every lane) and the same
// `bad`. A mask accumulates !(w >= 0) over the whole blocks; the short last block goes
// through the scalar weight_tail_total, as in weight_total.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline double weight_total_at(std::span<const double> w, bool& bad) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t vw = Ops::width;
  constexpr std::size_t regs = cdf_block / vw;
  const std::size_t n = w.size();
  const reg zero = Ops::set1(0.0);
  auto neg = Ops::lt(zero, zero);  // no lane set
  reg carry = zero;
  std::size_t j = 0;
  for (; j + cdf_block <= n; j += cdf_block) {
    reg v[regs];
    for (std::size_t r = 0; r < regs; ++r) {
      v[r] = Ops::load(w.data() + j + r * vw);
      neg = Ops::mask_or(neg, Ops::mask_or(Ops::lt(v[r], zero), Ops::is_nan(v[r])));
    }
    sklansky_regs<Ops, 1>(v);
    sklansky_regs<Ops, 2>(v);
    sklansky_regs<Ops, 4>(v);
    carry = Ops::add(carry, Ops::broadcast_last(v[regs - 1]));
  }
  bad |= Ops::any(neg);
  alignas(64) double lane[max_lanes];
  Ops::store(lane, carry);
  return j < n ? weight_tail_total(w, j, lane[0], bad) : lane[0];
}

// Systematic fast path, vectorised: C is formed in registers, a block of 8 at a time in the
// canonical order (C = carry + p, the carry a broadcast register, so the only serial
// dependency is one add per 8 weights), and at once F_j = #{m : (m + u) * step <= C_j} for a
// register of j at a time: a floor guess, one corrective step each way with the exact
// predicate, and a re-check that sends any lane still off (impossible for M < 2^50, kept as
// a proof) to the scalar correction. Counts stay in double: exact integers below 2^53.
template <class Ops, class T, class I> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void systematic_counts(std::span<const T> w, const weight_summary& ws, std::size_t m_count, double u,
                              I* out) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t vw = Ops::width;
  constexpr std::size_t regs = cdf_block / vw;
  // A multiple of 8: the counts of a chunk are expanded to indices after it is counted.
  constexpr std::size_t chunk = 512;
  const std::size_t n = w.size();
  const double step = ws.total / static_cast<double>(m_count);
  const double inv_step = static_cast<double>(m_count) / ws.total;
  const systematic_targets t{u, step};
  const reg vinv = Ops::set1(inv_step), vb = Ops::set1(1.0 - u), vu = Ops::set1(u), vstep = Ops::set1(step);
  const reg zero = Ops::set1(0.0), one = Ops::set1(1.0), vm = Ops::set1(static_cast<double>(m_count));
  const reg magic = Ops::set1(exp_constants<double>::magic);
  alignas(64) double fbuf[chunk];
  alignas(64) double clane[max_lanes];
  std::size_t f_prev = 0;
  std::size_t base = ws.first & ~(cdf_block - 1);
  reg carry = zero;
  while (base < n && f_prev < m_count) {
    const std::size_t len = std::min(chunk, (n - base + cdf_block - 1) & ~(cdf_block - 1));
    for (std::size_t b = 0; b < len; b += cdf_block) {
      reg v[regs];
      block_prefix_regs<Ops>(w.data(), n, base + b, ws.scale, v);
      const reg total = Ops::broadcast_last(v[regs - 1]);
      for (std::size_t r = 0; r < regs; ++r) {
        const reg c = Ops::add(carry, v[r]);
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
        const auto bad_dn =
            Ops::mask_and(Ops::lt(zero, k), Ops::lt(c, Ops::mul(Ops::add(Ops::sub(k, one), vu), vstep)));
        double* f = fbuf + b + r * vw;
        Ops::store(f, k);
        if (Ops::any(Ops::mask_or(bad_up, bad_dn))) [[unlikely]] {
          Ops::store(clane, c);
          for (std::size_t l = 0; l < vw; ++l)
            f[l] = static_cast<double>(correct_count(static_cast<std::size_t>(f[l]), clane[l], m_count, t));
        }
      }
      // C_7 of this block, in every lane: carry + p_7 is the add block_prefix's last lane does
      carry = Ops::add(carry, total);
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
// (exp_shifted, kernels/resample.hpp): each chunk of exponentials is summed in the canonical order
// (block totals, resample_cdf.hpp) while it is still in L1, so `resample` reads the weights once fewer than exp followed by
// summarize_weights. The log-weights were validated by the max pass, so the weights need
// no check: they lie in [0, 1] with one of them exp(0) = 1, hence a total in [1, N] and no
// rescaling (the caller falls back to summarize_weights if that ever fails). The summary
// equals summarize_weights(out) bit for bit: the same blocks of 8, the same order.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline weight_summary exp_shifted_at(std::span<const T> lw, T m, double* out) noexcept {
  constexpr std::size_t w = Ops::width;
  constexpr std::size_t chunk = 256;  // a multiple of 8 and of every width: tails stay where they were
  using S = typename Ops::tail;
  const std::size_t n = lw.size();
  const std::size_t vec_end = n - n % w;
  const auto vm = Ops::set1(m);
  T tmp[max_lanes];
  double carry = 0.0;
  std::size_t first_block = n, last_block = n;  // starts of the first and last block of 8 with a positive weight
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
    for (; b + cdf_block <= end; b += cdf_block) {
      const double s8 = block_total(out + b);
      carry = carry + s8;
      // positive weights are >= 0 and so is their sum: s8 > 0 iff the block holds one
      first_block = (first_block == n && s8 > 0) ? b : first_block;
      last_block = s8 > 0 ? b : last_block;
    }
    if (b < end) {
      double t[cdf_block];
      load_block(out, end, b, 1.0, t);
      const double s8 = block_total(t);
      carry = carry + s8;
      first_block = (first_block == n && s8 > 0) ? b : first_block;
      last_block = s8 > 0 ? b : last_block;
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
