// ttscale/kernels/detail/log_weights_body.hpp: the per-level body of kernels/log_weights.hpp (block_max, exp_sum, lse_pass, max, logsumexp, log_normalize, softmax).
//
// Users never include this. kernels/log_weights.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/log_weights.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/log_weights.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// Largest element of x[0, n), -inf if none; +inf if the block holds a NaN or a +inf (the
// caller then rescans for the first bad index). Two registers per step so the two max
// chains run side by side. NaN lanes keep the max (Ops::max returns its second operand).
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline T block_max(const T* x, std::size_t n) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  reg m0 = Ops::set1(-std::numeric_limits<T>::infinity()), m1 = m0;
  auto bad = Ops::is_nan(m0);
  std::size_t i = 0;
  for (; i + 2 * w <= n; i += 2 * w) {
    const reg v0 = Ops::load(x + i), v1 = Ops::load(x + i + w);
    bad = Ops::mask_or(bad, Ops::mask_or(Ops::is_nan(v0), Ops::is_nan(v1)));
    m0 = Ops::max(v0, m0);
    m1 = Ops::max(v1, m1);
  }
  for (; i + w <= n; i += w) {
    const reg v = Ops::load(x + i);
    bad = Ops::mask_or(bad, Ops::is_nan(v));
    m0 = Ops::max(v, m0);
  }
  T r = Ops::hmax(Ops::max(m0, m1));
  bool nan = Ops::any(bad);
  for (; i < n; ++i) {
    nan = nan || std::isnan(x[i]);
    r = x[i] > r ? x[i] : r;
  }
  return nan ? std::numeric_limits<T>::infinity() : r;
}

// The exps of x[i] - shift over x[0, n) in whole registers, every x[i] <= shift (the
// running maximum, so exp_normal_reg needs no range test): two registers per step,
// prefetching the next block, as on_pair(e0, e1), then one as on_one(e). Returns the
// first index left to the caller's width-1 tail. The loop of the reductions that sum
// exps (exp_sum below, ess_body.hpp's exp_sums_ess); they differ only in what they add.
template <class Ops, class T, class Pair, class One> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::size_t for_each_shifted_exp(const T* x, std::size_t n, T shift, const T* next, std::size_t next_n,
                                        Pair&& on_pair, One&& on_one) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg sh = Ops::set1(shift);
  std::size_t i = 0;
  for (; i + 2 * w <= n; i += 2 * w) {
    prefetch_next(next, next_n, i);
    const reg e0 = exp_normal_reg<Ops>(Ops::sub(Ops::load(x + i), sh));
    const reg e1 = exp_normal_reg<Ops>(Ops::sub(Ops::load(x + i + w), sh));
    on_pair(e0, e1);
  }
  for (; i + w <= n; i += w) on_one(exp_normal_reg<Ops>(Ops::sub(Ops::load(x + i), sh)));
  return i;
}

// sum exp(x[i] - shift) over x[0, n), every x[i] <= shift. The pair is summed in T first
// (one extra rounding of 1/2 ulp, inside the documented bound) so each pair is widened to
// double once.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline double exp_sum(const T* x, std::size_t n, T shift, const T* next, std::size_t next_n) noexcept {
  using reg = typename Ops::reg;
  auto acc = Ops::acc_zero();
  std::size_t i = for_each_shifted_exp<Ops>(
      x, n, shift, next, next_n, [&](reg e0, reg e1) { acc = Ops::acc_add(acc, Ops::add(e0, e1)); },
      [&](reg e) { acc = Ops::acc_add(acc, e); });
  double s = 0;
  add_acc_lanes<Ops>(s, acc);
  using S = typename Ops::tail;
  for (; i < n; ++i) s += static_cast<double>(exp_normal_reg<S>(x[i] - shift));
  return s;
}

// Online logsumexp at block granularity: each block is read from memory once by its max
// pass and again from L1 by its exp pass, against the running maximum m; the running sums
// are rescaled once per block whose maximum is a new maximum (about log(N / block) times on
// random input): rescale(m_old, m_new), then sum(block, len, m, next block, its length).
// Every exp argument is <= 0, so the exp needs no range test. A block of only -inf is
// skipped: its weight is 0, and -inf - -inf never runs. Returns false (and stops) at a
// block holding a NaN or a +inf: the caller rescans for the first bad index.
template <class Ops, class T, class Rescale, class Sum> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline bool for_each_block(const T* x, std::size_t n, double& m, Rescale&& rescale, Sum&& sum) {
  for (std::size_t b = 0; b < n; b += reduce_block) {
    const std::size_t len = std::min(reduce_block, n - b);
    const T mb = block_max<Ops, T>(x + b, len);
    if (mb == std::numeric_limits<T>::infinity()) return false;
    if (mb == -std::numeric_limits<T>::infinity()) continue;
    if (double(mb) > m) {
      rescale(m, double(mb));
      m = double(mb);
    }
    sum(x + b, len, static_cast<T>(m), x + b + len, std::min(reduce_block, n - b - len));
  }
  return true;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline lse_state lse_pass(const T* x, std::size_t n) noexcept {
  lse_state st;
  st.nan = !for_each_block<Ops, T>(
      x, n, st.m,
      [&](double m_old, double m_new) { st.s *= std::exp(m_old - m_new); },  // 0 * 0 before the first weight
      [&](const T* p, std::size_t len, T shift, const T* next, std::size_t next_n) {
        st.s += exp_sum<Ops, T>(p, len, shift, next, next_n);
      });
  return st;
}

// Validated state: throws unless the log-weights define a distribution.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline lse_state checked_lse(const char* fn, std::span<const T> x) {
  const lse_state st = lse_pass<Ops, T>(x.data(), x.size());
  if (st.nan || x.empty() || !(st.m > -std::numeric_limits<double>::infinity()) ||
      st.m == std::numeric_limits<double>::infinity())
    throw_bad_log_weights<T>(fn, x);
  return st;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline T max(std::span<const T> x) {
  if (x.empty()) throw invalid_argument("max: values is empty");
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const std::size_t n = x.size();
  reg m = Ops::set1(-std::numeric_limits<T>::infinity());
  auto bad = Ops::is_nan(m);
  std::size_t i = 0;
  for (; i < n - n % w; i += w) {
    const reg v = Ops::load(x.data() + i);
    bad = Ops::mask_or(bad, Ops::is_nan(v));
    m = Ops::max(v, m);
  }
  T r = Ops::hmax(m);
  bool nan = Ops::any(bad);
  for (; i < n; ++i) {
    nan = nan || std::isnan(x[i]);
    r = x[i] > r ? x[i] : r;
  }
  if (nan)
    for (std::size_t j = 0; j < n; ++j)
      if (std::isnan(x[j])) throw invalid_score(index_name("max", "values", j) + " is NaN");
  return r;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline T logsumexp(std::span<const T> x) {
  const lse_state st = checked_lse<Ops, T>("logsumexp", x);
  return static_cast<T>(st.m + std::log(st.s));
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline T log_mean_exp(std::span<const T> x) {
  const lse_state st = checked_lse<Ops, T>("log_mean_exp", x);
  return static_cast<T>(st.m + (std::log(st.s) - std::log(static_cast<double>(x.size()))));
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline T log_normalize(std::span<const T> x, std::span<T> out) {
  check_same_size<T>("log_normalize", x.size(), out.size());
  const lse_state st = checked_lse<Ops, T>("log_normalize", x);
  // x - m is exact near the max (Sterbenz), so the largest weights lose nothing to m.
  const T m = static_cast<T>(st.m);
  const T ls = static_cast<T>(std::log(st.s));
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg vm = Ops::set1(m), vls = Ops::set1(ls);
  std::size_t i = 0;
  for (; i < x.size() - x.size() % w; i += w)
    Ops::store(out.data() + i, Ops::sub(Ops::sub(Ops::load(x.data() + i), vm), vls));
  for (; i < x.size(); ++i) out[i] = (x[i] - m) - ls;
  return static_cast<T>(st.m + std::log(st.s));
}

// out[i] = exp((x[i] - shift) * scale) for x[0, n), every x[i] <= shift; returns their sum.
// The full exp_reg: a weight in the subnormal range is an output here, not a negligible term.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline double exp_store_sum(const T* x, T* out, std::size_t n, T shift, T scale, const T* next,
                            std::size_t next_n) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg sh = Ops::set1(shift), sc = Ops::set1(scale);
  auto acc = Ops::acc_zero();
  std::size_t i = 0;
  for (; i + 2 * w <= n; i += 2 * w) {
    prefetch_next(next, next_n, i);
    const reg e0 = exp_reg<Ops>(Ops::mul(Ops::sub(Ops::load(x + i), sh), sc));
    const reg e1 = exp_reg<Ops>(Ops::mul(Ops::sub(Ops::load(x + i + w), sh), sc));
    Ops::store(out + i, e0);
    Ops::store(out + i + w, e1);
    acc = Ops::acc_add(acc, Ops::add(e0, e1));
  }
  for (; i + w <= n; i += w) {
    const reg e = exp_reg<Ops>(Ops::mul(Ops::sub(Ops::load(x + i), sh), sc));
    Ops::store(out + i, e);
    acc = Ops::acc_add(acc, e);
  }
  double s = 0;
  add_acc_lanes<Ops>(s, acc);
  using S = typename Ops::tail;
  for (; i < n; ++i) {
    out[i] = exp_reg<S>((x[i] - shift) * scale);
    s += static_cast<double>(out[i]);
  }
  return s;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void scale_span(T* out, std::size_t n, T f) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg vf = Ops::set1(f);
  std::size_t i = 0;
  for (; i + w <= n; i += w) Ops::store(out + i, Ops::mul(Ops::load(out + i), vf));
  for (; i < n; ++i) out[i] *= f;
}

// Two passes, one exp per element. Pass 1, per block: its maximum m_b (x read from memory),
// then out = exp((x - m_b) / T) from L1 and the block's sum, folded into the online sum S.
// Pass 2: out *= exp((m_b - M) / T) / S per block (M the global maximum). Measured against
// an online-sum pass followed by out = exp((x - M) / T) / S (one stream fewer, twice the
// exps): the exp, not memory, bounds both on this machine at N = 1e6, and in cache
// (bench/README-kernels.md, "Single-read reductions"). The block maxima stay on the stack:
// at most softmax_blocks blocks, longer than reduce_block when N > 512 reduce_block.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline T softmax(std::span<const T> x, std::span<T> out, T temperature) {
  check_same_size<T>("softmax", x.size(), out.size());
  const T scale = inverse_temperature("softmax", temperature);
  const std::size_t n = x.size();
  if (n == 0) throw_bad_log_weights<T>("softmax", x);
  constexpr std::size_t align = 2 * max_lanes;
  const std::size_t per_block = (n + softmax_blocks - 1) / softmax_blocks;
  const std::size_t blk = std::max(reduce_block, (per_block + align - 1) / align * align);
  T bmax[softmax_blocks];
  const double sc = static_cast<double>(scale);
  double m = -std::numeric_limits<double>::infinity(), s = 0;
  std::size_t k = 0;
  for (std::size_t b = 0; b < n; b += blk, ++k) {
    const std::size_t len = std::min(blk, n - b);
    const T mb = block_max<Ops, T>(x.data() + b, len);
    if (mb == std::numeric_limits<T>::infinity()) throw_bad_log_weights<T>("softmax", x);
    bmax[k] = mb;
    if (mb == -std::numeric_limits<T>::infinity()) {
      std::fill_n(out.data() + b, len, T(0));  // exp(-inf) = 0 exactly, without -inf - -inf
      continue;
    }
    const double sb = exp_store_sum<Ops, T>(x.data() + b, out.data() + b, len, mb, scale, x.data() + b + len,
                                            std::min(blk, n - b - len));
    // (m_b - M) is subtracted before scaling, as the elements are: no overflow for huge x.
    if (double(mb) > m) {
      s = s * std::exp((m - double(mb)) * sc) + sb;
      m = double(mb);
    } else {
      s += sb * std::exp((double(mb) - m) * sc);
    }
  }
  if (m == -std::numeric_limits<double>::infinity()) throw_bad_log_weights<T>("softmax", x);
  const double inv_s = 1.0 / s;
  // Last block first: the end of `out`, just written, is still in L2 (2 MB here).
  while (k-- > 0) {
    if (bmax[k] == -std::numeric_limits<T>::infinity()) continue;
    const std::size_t b = k * blk;
    const T f = static_cast<T>(std::exp((double(bmax[k]) - m) * sc) * inv_s);
    scale_span<Ops, T>(out.data() + b, std::min(blk, n - b), f);
  }
  return static_cast<T>(m * sc + std::log(s));
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
