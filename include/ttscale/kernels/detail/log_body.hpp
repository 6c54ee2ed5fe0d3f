// ttscale/kernels/detail/log_body.hpp: the per-level body of kernels/log.hpp (log_reg, log_span).
//
// Users never include this. kernels/log.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/log.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/log.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// log of x = 2^(k - kadj) m for positive normal x (kadj: the subnormal pre-scaling).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg log_core(typename Ops::reg x, typename Ops::reg kadj) noexcept {
  using T = typename Ops::value_type;
  using C = log_constants<T>;
  using reg = typename Ops::reg;
  reg k;
  const reg m = Ops::log_split(x, k);
  k = Ops::sub(k, kadj);
  const reg f = Ops::sub(m, Ops::set1(T(1)));
  const reg s = Ops::div(f, Ops::add(f, Ops::set1(T(2))));
  const reg z = Ops::mul(s, s);
  const reg w = Ops::mul(z, z);
  const reg t1 = Ops::mul(w, Ops::fmadd(w, Ops::fmadd(w, Ops::set1(C::lg[5]), Ops::set1(C::lg[3])), Ops::set1(C::lg[1])));
  const reg t2 = Ops::mul(
      z, Ops::fmadd(w, Ops::fmadd(w, Ops::fmadd(w, Ops::set1(C::lg[6]), Ops::set1(C::lg[4])), Ops::set1(C::lg[2])),
                    Ops::set1(C::lg[0])));
  const reg r = Ops::add(t2, t1);
  const reg hfsq = Ops::mul(Ops::mul(Ops::set1(T(0.5)), f), f);
  // k ln2_hi - ((hfsq - (s (hfsq + R) + k ln2_lo)) - f)
  const reg inner = Ops::fmadd(s, Ops::add(hfsq, r), Ops::mul(k, Ops::set1(C::ln2_lo)));
  const reg lo = Ops::sub(Ops::sub(hfsq, inner), f);
  return Ops::sub(Ops::mul(k, Ops::set1(C::ln2_hi)), lo);
}

// log of one register, for kernels that fuse it into their own pass (uniform_spacings).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg log_reg(typename Ops::reg x) noexcept {
  using T = typename Ops::value_type;
  using L = std::numeric_limits<T>;
  using C = log_constants<T>;
  using reg = typename Ops::reg;
  const reg mn = Ops::set1(L::min()), mx = Ops::set1(L::max()), zero = Ops::set1(T(0));
  // Common case, one predictable branch per register: every lane positive, normal, finite
  // (ordered comparisons: NaN goes to the general path).
  if (Ops::all(Ops::mask_and(Ops::le(mn, x), Ops::le(x, mx)))) [[likely]] return log_core<Ops>(x, zero);
  // General path: subnormals are scaled into the normal range first; lanes without a finite
  // logarithm are computed on 1 and replaced.
  const auto sub = Ops::mask_and(Ops::lt(zero, x), Ops::lt(x, mn));
  reg xs = Ops::select(sub, Ops::mul(x, Ops::set1(C::subnormal_scale)), x);
  const auto finite = Ops::mask_and(Ops::le(mn, xs), Ops::le(xs, mx));
  xs = Ops::select(finite, xs, Ops::set1(T(1)));
  reg y = log_core<Ops>(xs, Ops::select(sub, Ops::set1(C::subnormal_k), zero));
  y = Ops::select(Ops::eq(x, Ops::set1(L::infinity())), x, y);
  y = Ops::select(Ops::eq(x, zero), Ops::set1(-L::infinity()), y);
  y = Ops::select(Ops::lt(x, zero), Ops::set1(L::quiet_NaN()), y);
  return Ops::select(Ops::is_nan(x), x, y);
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void log_span(std::span<const T> in, std::span<T> out) noexcept {
  const std::size_t n = in.size();
  constexpr std::size_t w = Ops::width;
  std::size_t i = 0;
  for (; i < n - n % w; i += w) Ops::store(out.data() + i, log_reg<Ops>(Ops::load(in.data() + i)));
  using S = typename Ops::tail;
  for (; i < n; ++i) out[i] = log_reg<S>(in[i]);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
