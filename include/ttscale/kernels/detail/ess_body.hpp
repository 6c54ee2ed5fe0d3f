// ttscale/kernels/detail/ess_body.hpp: the per-level body of kernels/ess.hpp (ess_pass, effective_sample_size, weight_entropy).
//
// Users never include this. kernels/ess.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/ess.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/ess.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline ess_state ess_pass(const T* x, std::size_t n) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  const reg zero = Ops::set1(T(0));
  reg m = minf, shift = zero;
  auto s1 = Ops::acc_zero(), s2 = Ops::acc_zero();
  auto bad = Ops::is_nan(zero);
  // A lane's max grew to mn (rare after the first few registers): rescale both sums to it.
  auto raise_max = [&](const reg mn) {
    if (Ops::any(Ops::neq(mn, m))) [[unlikely]] {
      const reg nshift = Ops::select(Ops::eq(mn, minf), zero, mn);
      const reg f = exp_reg<Ops>(Ops::sub(m, nshift));  // m = -inf: 0, never inf
      s1 = Ops::acc_scale(s1, f);
      s2 = Ops::acc_scale(Ops::acc_scale(s2, f), f);
      m = mn;
      shift = nshift;
    }
  };
  std::size_t i = 0;
  // Two registers per step: one max test, and each sum gets one widening to double for both,
  // the pair added in T first (e0 + e1, and e0^2 + e1^2 with one fused rounding): at most
  // one extra rounding of 1/2 ulp per sum, inside the documented bound. In float, e^2 < 2^-126
  // is subnormal or 0, an absolute loss below 2^-149 per term against a lane sum >= 1 (the
  // lane's maximum contributes exp(0)^2 = 1).
  for (; i < n - n % (2 * w); i += 2 * w) {
    const reg v0 = Ops::load(x + i), v1 = Ops::load(x + i + w);
    bad = Ops::mask_or(bad, Ops::mask_or(Ops::is_nan(v0), Ops::is_nan(v1)));
    raise_max(Ops::max(v1, Ops::max(v0, m)));
    const reg e0 = exp_reg<Ops>(Ops::sub(v0, shift));
    const reg e1 = exp_reg<Ops>(Ops::sub(v1, shift));
    s1 = Ops::acc_add(s1, Ops::add(e0, e1));
    s2 = Ops::acc_add(s2, Ops::fmadd(e1, e1, Ops::mul(e0, e0)));
  }
  for (; i < n - n % w; i += w) {
    const reg v = Ops::load(x + i);
    bad = Ops::mask_or(bad, Ops::is_nan(v));
    raise_max(Ops::max(v, m));
    const reg e = exp_reg<Ops>(Ops::sub(v, shift));
    s1 = Ops::acc_add(s1, e);
    s2 = Ops::acc_add_sq(s2, e);  // squared in double: e^2 would underflow in float
  }
  T ml[max_lanes];
  double l1[max_lanes], l2[max_lanes];
  Ops::store_lanes(m, ml);
  Ops::acc_store(s1, l1);
  Ops::acc_store(s2, l2);
  ess_state st;
  st.nan = Ops::any(bad);
  for (std::size_t l = 0; l < w; ++l) st = merge(st, ess_state{double(ml[l]), l1[l], l2[l], false});
  if constexpr (w > 1) {
    if (i < n) st = merge(st, ess_pass<typename Ops::tail, T>(x + i, n - i));
  }
  return st;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline double effective_sample_size(std::span<const T> x) {
  const ess_state st = ess_pass<Ops, T>(x.data(), x.size());
  if (st.nan || x.empty() || !(st.m > -std::numeric_limits<double>::infinity()) ||
      st.m == std::numeric_limits<double>::infinity())
    throw_bad_log_weights<T>("effective_sample_size", x);
  return st.s1 * st.s1 / st.s2;
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline double weight_entropy(std::span<const T> x) {
  const lse_state st = checked_lse<Ops, T>("weight_entropy", x);
  // log W_i = (x_i - m) - log s; -sum W log W = log s - sum W_i (x_i - m).
  const T m = static_cast<T>(st.m);
  const T inv_s = static_cast<T>(1.0 / st.s);
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg vm = Ops::set1(m), vinv = Ops::set1(inv_s), zero = Ops::set1(T(0));
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  auto acc = Ops::acc_zero();
  std::size_t i = 0;
  for (; i < x.size() - x.size() % w; i += w) {
    const reg v = Ops::load(x.data() + i);
    const reg d = Ops::sub(v, vm);
    const reg wgt = Ops::mul(exp_reg<Ops>(d), vinv);
    // 0 * -inf would be NaN; a zero weight contributes exactly 0.
    acc = Ops::acc_add(acc, Ops::select(Ops::eq(v, minf), zero, Ops::mul(wgt, d)));
  }
  double lanes[max_lanes];
  Ops::acc_store(acc, lanes);
  double sum = 0;
  for (std::size_t l = 0; l < w; ++l) sum += lanes[l];
  using S = typename Ops::tail;
  for (; i < x.size(); ++i)
    if (x[i] != -std::numeric_limits<T>::infinity()) {
      const T d = x[i] - m;
      sum += static_cast<double>(exp_reg<S>(d) * inv_s * d);
    }
  const double h = std::log(st.s) - sum;
  return h > 0 ? h : 0.0;  // round-off can give -1e-17 for a single surviving weight
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
