// ttscale/kernels/exp.hpp: a vectorised exponential, per register and over spans.
//
// Method (Cody & Waite range reduction, as in Cephes `expf`/`exp`): write
// x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2, evaluate exp(r) by a
// polynomial and scale by 2^n. ln2 is split in two (c1 + c2) so n * c1 is exact. The
// scale 2^n is one factor when every lane's result is normal; otherwise it is applied as
// two factors 2^(n - n/2) * 2^(n/2), both normal numbers, so results in the subnormal
// range are rounded once, like std::exp, instead of flushed.
//   float : degree-7 Cephes minimax polynomial.
//   double: degree-13 Taylor polynomial (truncation error < 5e-18 relative on |r| <= ln2/2).
//
// Accuracy (tested in tests/kernels/exp_test.cpp against std::exp, itself < 1 ulp):
//   float : <= 2 ulp over [-87.3, 88.7] on every 97th float plus all edge values; in the
//           subnormal range [-103.97, -87.3] within 2 units of the subnormal spacing.
//   double: <= 2 ulp over [-745.13, 709.78] on 2e6 points (grid + random), subnormals
//           included as for float; measured worst 0.98 ulp (float: 1.00 ulp).
// Special values: exp(-inf) = 0 exactly, and every input whose true exp is below half the
// smallest subnormal gives +0; inputs above ln(max) give +inf; NaN gives NaN.
// No -ffast-math needed: the rounding trick (x + 1.5 * 2^p - 1.5 * 2^p) only assumes
// IEEE round-to-nearest, the default floating-point environment.
// Cost: float ~12 flops per register, double ~20; no table, no gather, no division.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// exp of one register. Exposed (as kernels::exp_reg) so kernels can fuse it into a pass.
template <class Ops>
[[nodiscard]] inline typename Ops::reg exp_reg(typename Ops::reg x) noexcept {
  using T = typename Ops::value_type;
  using C = exp_constants<T>;
  using reg = typename Ops::reg;
  // Clamping keeps n within [-1076, 1025] (double) so both halves of 2^n stay normal.
  const reg xc = Ops::min(Ops::max(x, Ops::set1(C::lo)), Ops::set1(C::hi));
  const reg magic = Ops::set1(C::magic);
  const reg t = Ops::fmadd(xc, Ops::set1(C::log2e), magic);
  const reg n = Ops::sub(t, magic);
  reg r = Ops::fmadd(n, Ops::set1(-C::c1), xc);
  r = Ops::fmadd(n, Ops::set1(-C::c2), r);
  reg p;
  if constexpr (sizeof(T) == 4) {
    p = Ops::set1(1.9875691500e-4f);
    p = Ops::fmadd(p, r, Ops::set1(1.3981999507e-3f));
    p = Ops::fmadd(p, r, Ops::set1(8.3334519073e-3f));
    p = Ops::fmadd(p, r, Ops::set1(4.1665795894e-2f));
    p = Ops::fmadd(p, r, Ops::set1(1.6666665459e-1f));
    p = Ops::fmadd(p, r, Ops::set1(5.0000001201e-1f));
    p = Ops::fmadd(p, Ops::mul(r, r), r);  // r + r^2 q(r): keeps the leading 1 exact below
    p = Ops::add(p, Ops::set1(1.0f));
  } else {
    p = Ops::set1(1.0 / 6227020800.0);  // 1/13!
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 479001600.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 39916800.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 3628800.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 362880.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 40320.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 5040.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 720.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 120.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 24.0));
    p = Ops::fmadd(p, r, Ops::set1(1.0 / 6.0));
    p = Ops::fmadd(p, r, Ops::set1(0.5));
    p = Ops::fmadd(p, Ops::mul(r, r), r);
    p = Ops::add(p, Ops::set1(1.0));
  }
  // Common case: every result normal, one scale factor 2^n (n in [-125, 127]).
  if (!Ops::any(Ops::mask_or(Ops::lt(x, Ops::set1(C::normal_lo)), Ops::lt(Ops::set1(C::normal_hi), x)))) {
    const reg y = Ops::mul(p, Ops::pow2_from_magic(t));
    return Ops::select(Ops::is_nan(x), x, y);
  }
  // n = n1 + n2 with n1 = round(n / 2): both 2^n1 and 2^n2 are normal numbers.
  const reg t1 = Ops::fmadd(n, Ops::set1(T(0.5)), magic);
  const reg n1 = Ops::sub(t1, magic);
  const reg t2 = Ops::add(Ops::sub(n, n1), magic);
  reg y = Ops::mul(Ops::mul(p, Ops::pow2_from_magic(t1)), Ops::pow2_from_magic(t2));
  y = Ops::select(Ops::lt(x, Ops::set1(C::zero_below)), Ops::set1(T(0)), y);
  return Ops::select(Ops::is_nan(x), x, y);
}

template <class Ops, class T>
inline void exp_span(std::span<const T> in, std::span<T> out) noexcept {
  const std::size_t n = in.size();
  constexpr std::size_t w = Ops::width;
  std::size_t i = 0;
  for (; i < n - n % w; i += w) Ops::store(out.data() + i, exp_reg<Ops>(Ops::load(in.data() + i)));
  using S = ops<T, isa_scalar>;
  for (; i < n; ++i) out[i] = exp_reg<S>(in[i]);
}

template <class T>
inline void check_same_size(const char* fn, std::size_t in, std::size_t out) {
  if (in != out)
    throw size_mismatch(std::string(fn) + ": output has " + std::to_string(out) +
                        " elements but input has " + std::to_string(in));
}

}  // namespace detail

/// The register type, width and per-register exp of the widest instruction set the
/// compiler targets, for callers fusing exp into their own loops:
///   using V = kernels::native<float>;
///   V::reg e = kernels::exp_reg<float>(V::load(p));
template <class T>
using native = detail::native_ops<T>;

/// exp of every lane of one native register; accuracy as documented above.
template <class T>
[[nodiscard]] inline typename native<T>::reg exp_reg(typename native<T>::reg x) noexcept {
  return detail::exp_reg<native<T>>(x);
}

/// out[i] = exp(in[i]) (vectorised; accuracy above). Throws size_mismatch if the spans
/// differ in size. `in` and `out` may alias exactly (in place).
inline void exp(std::span<const float> in, std::span<float> out) {
  detail::check_same_size<float>("exp", in.size(), out.size());
  detail::exp_span<native<float>, float>(in, out);
}
inline void exp(std::span<const double> in, std::span<double> out) {
  detail::check_same_size<double>("exp", in.size(), out.size());
  detail::exp_span<native<double>, double>(in, out);
}

namespace scalar {
/// Scalar reference: out[i] = std::exp(in[i]).
template <class T>
inline void exp_impl(std::span<const T> in, std::span<T> out) {
  kernels::detail::check_same_size<T>("exp", in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = std::exp(in[i]);
}
inline void exp(std::span<const float> in, std::span<float> out) { exp_impl<float>(in, out); }
inline void exp(std::span<const double> in, std::span<double> out) { exp_impl<double>(in, out); }
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
