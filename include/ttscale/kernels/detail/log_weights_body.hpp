// ttscale/kernels/detail/log_weights_body.hpp: the per-level body of kernels/log_weights.hpp (lse_pass, max, logsumexp, log_normalize, softmax).
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

// One-pass online logsumexp of x[i] * scale (scale > 0) over the registers of Ops.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline lse_state lse_pass(const T* x, std::size_t n, T scale) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  const reg zero = Ops::set1(T(0));
  const reg sc = Ops::set1(scale);
  reg m = minf, shift = zero;  // shift = m where finite, 0 where m = -inf (keeps exp(-inf - shift) = 0)
  auto acc = Ops::acc_zero();
  auto bad = Ops::is_nan(zero);
  std::size_t i = 0;
  // Two registers per step: one max test and one widening to double for both, the pair
  // summed in T first (one extra rounding of 1/2 ulp, inside the documented bound).
  for (; i < n - n % (2 * w); i += 2 * w) {
    const reg v0 = Ops::load(x + i), v1 = Ops::load(x + i + w);
    bad = Ops::mask_or(bad, Ops::mask_or(Ops::is_nan(v0), Ops::is_nan(v1)));
    const reg mn = Ops::max(v1, Ops::max(v0, m));  // NaN lanes keep m
    if (Ops::any(Ops::neq(mn, m))) [[unlikely]] {
      const reg nshift = Ops::select(Ops::eq(mn, minf), zero, mn);
      acc = Ops::acc_scale(acc, exp_reg<Ops>(Ops::mul(Ops::sub(m, nshift), sc)));  // m = -inf: 0, never inf
      m = mn;
      shift = nshift;
    }
    const reg e0 = exp_reg<Ops>(Ops::mul(Ops::sub(v0, shift), sc));
    const reg e1 = exp_reg<Ops>(Ops::mul(Ops::sub(v1, shift), sc));
    acc = Ops::acc_add(acc, Ops::add(e0, e1));
  }
  for (; i < n - n % w; i += w) {
    const reg v = Ops::load(x + i);
    bad = Ops::mask_or(bad, Ops::is_nan(v));
    const reg mn = Ops::max(v, m);
    if (Ops::any(Ops::neq(mn, m))) {
      const reg nshift = Ops::select(Ops::eq(mn, minf), zero, mn);
      acc = Ops::acc_scale(acc, exp_reg<Ops>(Ops::mul(Ops::sub(m, nshift), sc)));
      m = mn;
      shift = nshift;
    }
    acc = Ops::acc_add(acc, exp_reg<Ops>(Ops::mul(Ops::sub(v, shift), sc)));
  }
  T ml[max_lanes];
  double sl[max_lanes];
  Ops::store_lanes(m, ml);
  Ops::acc_store(acc, sl);
  lse_state st;
  st.nan = Ops::any(bad);
  for (std::size_t l = 0; l < w; ++l) st = merge(st, lse_state{double(ml[l]), sl[l], false}, double(scale));
  if constexpr (w > 1) {
    if (i < n) st = merge(st, lse_pass<typename Ops::tail, T>(x + i, n - i, scale), double(scale));
  }
  return st;
}

// Validated state: throws unless the log-weights define a distribution.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline lse_state checked_lse(const char* fn, std::span<const T> x, T scale = T(1)) {
  const lse_state st = lse_pass<Ops, T>(x.data(), x.size(), scale);
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

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline T softmax(std::span<const T> x, std::span<T> out, T temperature) {
  check_same_size<T>("softmax", x.size(), out.size());
  const T scale = inverse_temperature("softmax", temperature);
  const lse_state st = checked_lse<Ops, T>("softmax", x, scale);
  const T m = static_cast<T>(st.m);
  const T inv_s = static_cast<T>(1.0 / st.s);
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg vm = Ops::set1(m), vinv = Ops::set1(inv_s), vsc = Ops::set1(scale);
  std::size_t i = 0;
  for (; i < x.size() - x.size() % w; i += w) {
    const reg z = Ops::mul(Ops::sub(Ops::load(x.data() + i), vm), vsc);
    Ops::store(out.data() + i, Ops::mul(exp_reg<Ops>(z), vinv));
  }
  using S = typename Ops::tail;
  for (; i < x.size(); ++i) out[i] = exp_reg<S>((x[i] - m) * scale) * inv_s;
  return static_cast<T>(st.m * static_cast<double>(scale) + std::log(st.s));
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
