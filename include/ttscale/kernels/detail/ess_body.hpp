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

// sum e and sum e^2, e = exp(x[i] - shift), over x[0, n), every x[i] <= shift. Two registers
// per step, each sum widened to double once per pair (e0 + e1, and e0^2 + e1^2 with one fused
// rounding): at most one extra rounding of 1/2 ulp per sum, inside the documented bound. In
// float, e^2 < 2^-126 is subnormal or 0, an absolute loss below 2^-149 per term against a
// sum >= 1 (the maximum contributes exp(0)^2 = 1); the tail squares in double.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void exp_sums_ess(const T* x, std::size_t n, T shift, const T* next, std::size_t next_n, double& s1,
                         double& s2) noexcept {
  using reg = typename Ops::reg;
  auto a1 = Ops::acc_zero(), a2 = Ops::acc_zero();
  std::size_t i = for_each_shifted_exp<Ops>(
      x, n, shift, next, next_n,
      [&](reg e0, reg e1) {
        a1 = Ops::acc_add(a1, Ops::add(e0, e1));
        a2 = Ops::acc_add(a2, Ops::fmadd(e1, e1, Ops::mul(e0, e0)));
      },
      [&](reg e) {
        a1 = Ops::acc_add(a1, e);
        a2 = Ops::acc_add_sq(a2, e);
      });
  add_acc_lanes<Ops>(s1, a1);
  add_acc_lanes<Ops>(s2, a2);
  using S = typename Ops::tail;
  for (; i < n; ++i) {
    const double e = static_cast<double>(exp_normal_reg<S>(x[i] - shift));
    s1 += e;
    s2 += e * e;
  }
}

// The online logsumexp's blocks (lse_pass, log_weights_body.hpp) with both sums: a new
// maximum rescales sum w by f = exp(m_old - m_new) and sum w^2 by f^2.
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline ess_state ess_pass(const T* x, std::size_t n) noexcept {
  ess_state st;
  st.nan = !for_each_block<Ops, T>(
      x, n, st.m,
      [&](double m_old, double m_new) {
        const double f = std::exp(m_old - m_new);  // 0 before the first weight
        st.s1 *= f;
        st.s2 *= f * f;
      },
      [&](const T* p, std::size_t len, T shift, const T* next, std::size_t next_n) {
        double s1 = 0, s2 = 0;  // the block's sums first: smaller terms meet smaller sums
        exp_sums_ess<Ops, T>(p, len, shift, next, next_n, s1, s2);
        st.s1 += s1;
        st.s2 += s2;
      });
  return st;
}

// sum e and sum e (x - shift) over x[0, n) (e = exp(x[i] - shift), every x[i] <= shift); a
// -inf element adds 0 to both (0 * -inf would be NaN).
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void exp_sums_entropy(const T* x, std::size_t n, T shift, const T* next, std::size_t next_n, double& s,
                             double& t) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg sh = Ops::set1(shift), zero = Ops::set1(T(0));
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  auto as = Ops::acc_zero(), at = Ops::acc_zero();
  std::size_t i = 0;
  for (; i + w <= n; i += w) {
    prefetch_next(next, next_n, i);
    const reg v = Ops::load(x + i);
    const reg d = Ops::sub(v, sh);
    const reg e = exp_normal_reg<Ops>(d);
    as = Ops::acc_add(as, e);
    at = Ops::acc_add(at, Ops::select(Ops::eq(v, minf), zero, Ops::mul(e, d)));
  }
  add_acc_lanes<Ops>(s, as);
  add_acc_lanes<Ops>(t, at);
  using S = typename Ops::tail;
  // A pointer loop: on the index form, GCC 12 at -O3 reports a false "iteration invokes
  // undefined behavior" (-Waggressive-loop-optimizations) in the -mavx512f build
  // (tests/kernels/isa_compile_check.cpp, float SSE2 instantiation).
  for (const T* p = x + i; p != x + n; ++p)
    if (*p != -std::numeric_limits<T>::infinity()) {
      const T d = *p - shift;
      const T e = exp_normal_reg<S>(d);
      s += static_cast<double>(e);
      t += static_cast<double>(e * d);
    }
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline double effective_sample_size(std::span<const T> x) {
  const ess_state st = ess_pass<Ops, T>(x.data(), x.size());
  if (st.nan || x.empty() || !(st.m > -std::numeric_limits<double>::infinity()) ||
      st.m == std::numeric_limits<double>::infinity())
    throw_bad_log_weights<T>("effective_sample_size", x);
  return st.s1 * st.s1 / st.s2;
}

// One read of memory, one exp per element: with S = sum w and U = sum w (x - m) against the
// running maximum m (all terms of U <= 0: no cancellation), -sum W log W = log S - U / S. A new
// maximum m' rescales S by f = exp(m - m') and U to f (U + S (m - m')), since
// x - m' = (x - m) + (m - m').
template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline double weight_entropy(std::span<const T> x) {
  double m = -std::numeric_limits<double>::infinity(), s = 0, u = 0;
  const bool ok = for_each_block<Ops, T>(
      x.data(), x.size(), m,
      [&](double m_old, double m_new) {
        if (s > 0) {  // before the first weight m_old - m_new = -inf, and 0 * -inf is NaN
          const double f = std::exp(m_old - m_new);
          u = f * (u + s * (m_old - m_new));
          s *= f;
        }
      },
      [&](const T* p, std::size_t len, T shift, const T* next, std::size_t next_n) {
        exp_sums_entropy<Ops, T>(p, len, shift, next, next_n, s, u);
      });
  if (!ok) throw_bad_log_weights<T>("weight_entropy", x);
  if (!(m > -std::numeric_limits<double>::infinity())) throw_bad_log_weights<T>("weight_entropy", x);
  const double h = std::log(s) - u / s;
  return h > 0 ? h : 0.0;  // round-off can give -1e-17 for a single surviving weight
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
