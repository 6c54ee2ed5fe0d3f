// ttscale/kernels/log.hpp: a vectorised natural logarithm over spans (per register for the
// kernels that fuse it into their own passes: detail::log_reg).
//
// Method (fdlibm / Sun `__ieee754_log`, branch-free): x = 2^k m with m in [sqrt(1/2), sqrt(2))
// taken from the bits (k = (bits(x) - bits(sqrt(1/2))) >> mantissa bits), f = m - 1 (exact),
// s = f / (2 + f) and
//     log(x) = k ln2_hi - ((f^2/2 - (s (f^2/2 + R(s^2)) + k ln2_lo)) - f),
// R a degree-7 polynomial in s^2 (fdlibm's Lg1..Lg7, |s| <= 0.172). ln2 is split in two so
// k ln2_hi is exact. One division per register, no table, no gather.
//
// Accuracy (tests/kernels/log_test.cpp, against long double std::log):
//   float : <= 2 ulp over all positive finite floats, subnormals included (tested on a
//           strided sample of the bit patterns); measured worst 0.75 ulp on every 13th float.
//   double: <= 2 ulp over (0, DBL_MAX], subnormals included (tested on random bit patterns,
//           i.e. log-uniform, plus uniform [0.5, 2]); measured worst 0.74 ulp on 4e6 points.
// Special values, as std::log: log(+0) = log(-0) = -inf, log(+inf) = +inf, log(x < 0) = NaN
// (log(-inf) = NaN), NaN gives NaN, log(1) = +0 exactly.
// No -ffast-math needed. Cost per register: ~15 multiply-adds and one division.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/exp.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

template <class T>
struct log_constants;
template <>
struct log_constants<float> {
  static constexpr float ln2_hi = 6.9313812256e-01f;  // 0x3f317180
  static constexpr float ln2_lo = 9.0580006145e-06f;
  static constexpr float lg[7] = {6.6666668653e-01f, 4.0000000596e-01f, 2.8571429849e-01f, 2.2222198546e-01f,
                                  1.8183572590e-01f, 1.5313838422e-01f, 1.4798198640e-01f};
  static constexpr float subnormal_scale = 33554432.0f;  // 2^25
  static constexpr float subnormal_k = 25.0f;
};
template <>
struct log_constants<double> {
  static constexpr double ln2_hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr double lg[7] = {6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
                                   2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
                                   1.479819860511658591e-01};
  static constexpr double subnormal_scale = 18014398509481984.0;  // 2^54
  static constexpr double subnormal_k = 54.0;
};

// log of x = 2^(k - kadj) m for positive normal x (kadj: the subnormal pre-scaling).
template <class Ops>
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
template <class Ops>
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

template <class Ops, class T>
inline void log_span(std::span<const T> in, std::span<T> out) noexcept {
  const std::size_t n = in.size();
  constexpr std::size_t w = Ops::width;
  std::size_t i = 0;
  for (; i < n - n % w; i += w) Ops::store(out.data() + i, log_reg<Ops>(Ops::load(in.data() + i)));
  using S = ops<T, isa_scalar>;
  for (; i < n; ++i) out[i] = log_reg<S>(in[i]);
}

// The scalar reference: out[i] = std::log(in[i]).
template <class T>
inline void reference_log(std::span<const T> in, std::span<T> out) {
  check_same_size<T>("log", in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = std::log(in[i]);
}

}  // namespace detail

/// out[i] = log(in[i]) (natural log, vectorised; accuracy above). Throws size_mismatch if
/// the spans differ in size. `in` and `out` may alias exactly (in place).
inline void log(std::span<const float> in, std::span<float> out) {
  detail::check_same_size<float>("log", in.size(), out.size());
  detail::log_span<detail::native_ops<float>, float>(in, out);
}
inline void log(std::span<const double> in, std::span<double> out) {
  detail::check_same_size<double>("log", in.size(), out.size());
  detail::log_span<detail::native_ops<double>, double>(in, out);
}

namespace scalar {
/// Scalar reference: out[i] = std::log(in[i]).
inline void log(std::span<const float> in, std::span<float> out) { kernels::detail::reference_log<float>(in, out); }
inline void log(std::span<const double> in, std::span<double> out) { kernels::detail::reference_log<double>(in, out); }
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
