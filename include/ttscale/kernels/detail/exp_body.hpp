// ttscale/kernels/detail/exp_body.hpp: the per-level body of kernels/exp.hpp (exp_reg, exp_span).
//
// Users never include this. kernels/exp.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/exp.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/exp.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

// exp(r) for |r| <= ln2/2 (plus a little), as 1 + r + r^2 q(r).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg exp_poly(typename Ops::reg r) noexcept {
  using T = typename Ops::value_type;
  typename Ops::reg q;
  if constexpr (sizeof(T) == 4) {
    // Degree 6: near-minimax fit of (e^r - 1 - r) / r^2 (relative error of e^r 3.8e-9,
    // 0.06 half-ulp, with the coefficients rounded to float).
    q = Ops::set1(1.375138177536428e-3f);
    q = Ops::fmadd(q, r, Ops::set1(8.36892332881689e-3f));
    q = Ops::fmadd(q, r, Ops::set1(4.166953265666962e-2f));
    q = Ops::fmadd(q, r, Ops::set1(1.66665181517601e-1f));
    q = Ops::fmadd(q, r, Ops::set1(4.9999988079071045e-1f));
  } else {
    // Degree 11: near-minimax fit (relative error 1.3e-17, 0.11 half-ulp).
    q = Ops::set1(2.5024639266311035e-08);
    q = Ops::fmadd(q, r, Ops::set1(2.7631140150201755e-07));
    q = Ops::fmadd(q, r, Ops::set1(2.7557507361975543e-06));
    q = Ops::fmadd(q, r, Ops::set1(2.4801490307638598e-05));
    q = Ops::fmadd(q, r, Ops::set1(1.9841269596971038e-04));
    q = Ops::fmadd(q, r, Ops::set1(1.3888888946713305e-03));
    q = Ops::fmadd(q, r, Ops::set1(8.333333333451529e-03));
    q = Ops::fmadd(q, r, Ops::set1(4.16666666665162e-02));
    q = Ops::fmadd(q, r, Ops::set1(1.6666666666666483e-01));
    q = Ops::fmadd(q, r, Ops::set1(5.000000000000012e-01));
  }
  const typename Ops::reg p = Ops::fmadd(q, Ops::mul(r, r), r);  // r + r^2 q(r): keeps the leading 1 exact below
  return Ops::add(p, Ops::set1(T(1)));
}

// Range reduction of the table-free exp: returns r and sets t = n + magic (n an integer).
// Cody-Waite: x = n ln2 + r, |r| <= ln2/2, ln2 split in two (c1 + c2) so n c1 is exact.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg exp_reduce(typename Ops::reg xc, typename Ops::reg& t) noexcept {
  using C = exp_constants<typename Ops::value_type>;
  using reg = typename Ops::reg;
  const reg magic = Ops::set1(C::magic);
  t = Ops::fmadd(xc, Ops::set1(C::log2e), magic);
  const reg n = Ops::sub(t, magic);
  return Ops::fmadd(n, Ops::set1(-C::c2), Ops::fmadd(n, Ops::set1(-C::c1), xc));
}

// exp(x) for x in [lo, hi] (the caller clamps), any result: the table path (has_exp_table).
// x = n ln2/16 + r with n = 16k + j, |r| <= ln2/32: n step_hi is exact in the FMA and so is
// x - n step_hi (both are multiples of step_hi's ulp and r is small). With hi + tail the
// table's 2^(j/16), exp(x) = 2^k hi (1 + tail + r + r^2 q(r)) to 2^-58 (the dropped tail
// (e^r - 1) term); 2^k is applied by VSCALEFPD (a 2^floor(n/16)), which rounds a subnormal
// result once and gives 0 and inf at the ends (exp_reg's general path needs no split).
// q has degree 4 (e^r degree 6): near-minimax (Lawson's algorithm, see
// tools/exp_table_coefficients.py), relative error 1.2e-17 with the coefficients rounded to
// double (0.11 half-ulp); r + r^2 q is evaluated as r (1 + r q) (Horner down to the 1, whose
// rounding is scaled by r < 2^-5). 15 operations per register against 19 with exp_poly.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg exp_table(typename Ops::reg xc) noexcept {
  using C = exp_table_constants;
  using reg = typename Ops::reg;
  const reg magic = Ops::set1(exp_constants<double>::magic);
  const reg t = Ops::fmadd(xc, Ops::set1(C::inv_step), magic);
  const reg n = Ops::sub(t, magic);
  const reg r = Ops::fmadd(n, Ops::set1(-C::step_lo), Ops::fmadd(n, Ops::set1(-C::step_hi), xc));
  reg tail;
  const reg hi = Ops::exp_table_lookup(t, tail);
  reg q = Ops::set1(1.3889128990571408e-3);
  q = Ops::fmadd(q, r, Ops::set1(8.333471924487646e-3));
  q = Ops::fmadd(q, r, Ops::set1(4.1666666659656494e-2));
  q = Ops::fmadd(q, r, Ops::set1(1.666666666441782e-1));
  q = Ops::fmadd(q, r, Ops::set1(5.000000000000006e-1));
  q = Ops::fmadd(q, r, Ops::set1(1.0));
  const reg e = Ops::fmadd(r, q, tail);
  return Ops::scalef(Ops::fmadd(hi, e, hi), Ops::mul(n, Ops::set1(0.0625)));
}

// exp(x) for x <= normal_hi or -inf (never NaN), results below the normal range (x <
// normal_lo: exp(x) < 2^-1021 for double, 2^-124 for float) flushed to 0: exp_reg's common
// path, without its range test. The reductions call it directly on x - max <= 0, where a
// flushed value is a term of a sum whose largest term is 1 (a relative change below
// N 2^-1021); their blocks know the range from the block maximum. Flushing also keeps
// subnormal numbers out of the arithmetic (a -inf lane would otherwise make one): on x86
// each subnormal result costs a microcode assist of ~100 cycles.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg exp_normal_reg(typename Ops::reg x) noexcept {
  using T = typename Ops::value_type;
  using reg = typename Ops::reg;
  const reg nlo = Ops::set1(exp_constants<T>::normal_lo);
  const reg xc = Ops::max(x, nlo);
  reg y;
  if constexpr (has_exp_table<Ops>) {
    y = exp_table<Ops>(xc);
  } else {
    reg t;
    const reg r = exp_reduce<Ops>(xc, t);  // sets t: a statement of its own, before t is read
    y = Ops::mul_pow2_from_magic(exp_poly<Ops>(r), t);
  }
  return Ops::select(Ops::le(nlo, x), y, Ops::set1(T(0)));
}

// exp of one register, for kernels that fuse it into their own pass (softmax, ...).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
[[nodiscard]] inline typename Ops::reg exp_reg(typename Ops::reg x) noexcept {
  using T = typename Ops::value_type;
  using C = exp_constants<T>;
  using reg = typename Ops::reg;
  const reg minf = Ops::set1(-std::numeric_limits<T>::infinity());
  // Common case, one branch per register: every lane's result is normal (n in [-125, 127]
  // for float) or the lane is -inf (result +0). Comparisons are ordered, so NaN goes to the
  // general path. Here no clamp above, no NaN select and no subnormal; -inf lanes are
  // computed at normal_lo and zeroed.
  const reg nlo = Ops::set1(C::normal_lo);
  const auto in_lo = Ops::le(nlo, x);
  if (Ops::all(Ops::mask_and(Ops::le(x, Ops::set1(C::normal_hi)), Ops::mask_or(in_lo, Ops::eq(x, minf))))) [[likely]]
    return exp_normal_reg<Ops>(x);
  // General path. Clamping keeps n within [-1076, 1025] (double): the scalings stay finite.
  const reg xc = Ops::min(Ops::max(x, Ops::set1(C::lo)), Ops::set1(C::hi));
  reg y;
  if constexpr (has_exp_table<Ops>) {
    y = exp_table<Ops>(xc);  // VSCALEFPD rounds subnormal results once, gives 0 and inf
  } else {
    // n = n1 + n2 with n1 = round(n / 2): both 2^n1 and 2^n2 are normal numbers, and a lane
    // with a normal result gets the common path's bits.
    const reg magic = Ops::set1(C::magic);
    reg t;
    const reg p = exp_poly<Ops>(exp_reduce<Ops>(xc, t));
    const reg n = Ops::sub(t, magic);  // t set by the statement above
    const reg t1 = Ops::fmadd(n, Ops::set1(T(0.5)), magic);
    const reg n1 = Ops::sub(t1, magic);
    const reg t2 = Ops::add(Ops::sub(n, n1), magic);
    y = Ops::mul(Ops::mul(p, Ops::pow2_from_magic(t1)), Ops::pow2_from_magic(t2));
    y = Ops::select(Ops::lt(x, Ops::set1(C::zero_below)), Ops::set1(T(0)), y);
  }
  return Ops::select(Ops::is_nan(x), x, y);
}

// s += each lane of the double accumulator a, in lane order: the epilogue of the reductions
// that sum exps (log_weights_body.hpp, ess_body.hpp) before their width-1 tails.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void add_acc_lanes(double& s, typename Ops::acc a) noexcept {
  double lanes[max_lanes];
  Ops::acc_store(a, lanes);
  for (std::size_t l = 0; l < Ops::width; ++l) s += lanes[l];
}

template <class Ops, class T> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void exp_span(std::span<const T> in, std::span<T> out) noexcept {
  const std::size_t n = in.size();
  constexpr std::size_t w = Ops::width;
  std::size_t i = 0;
  for (; i < n - n % w; i += w) Ops::store(out.data() + i, exp_reg<Ops>(Ops::load(in.data() + i)));
  using S = typename Ops::tail;
  for (; i < n; ++i) out[i] = exp_reg<S>(in[i]);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
