// ttscale/kernels/exp.hpp: a vectorised exponential over spans (per register for the
// kernels that fuse it into their own passes: detail::exp_reg).
//
// Method (Cody & Waite range reduction, as in Cephes `expf`/`exp`): write
// x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2, evaluate exp(r) by a
// polynomial and scale by 2^n. ln2 is split in two (c1 + c2) so n * c1 is exact. The
// scale 2^n is one factor when every lane's result is normal; otherwise it is applied as
// two factors 2^(n - n/2) * 2^(n/2), both normal numbers, so results in the subnormal
// range are rounded once, like std::exp, instead of flushed.
//   float : degree-6 near-minimax polynomial (relative error 3.8e-9 on |r| <= ln2/2).
//   double: degree-11 near-minimax polynomial (relative error 1.3e-17).
// (Coefficients: weighted least squares at Chebyshev nodes in 50-digit arithmetic, then
// rounded to T; one degree less than needed would cost ~1 ulp.) When every lane of a
// register has a normal result (or is -inf), 2^n is applied by an integer add to the
// exponent field and no clamp or NaN fix-up runs: one predictable branch per register.
// double at the AVX-512 level (and its width-1 tail): a table-driven reduction instead,
// x = (16k + j) ln2/16 + r with |r| <= ln2/32, 2^(j/16) from a 16-entry table held in two
// registers (one permute per register, no gather) with a tail term for its rounding error
// (as in Tang's table-driven exp, ACM TOMS 1989), a degree-6 near-minimax polynomial
// (relative error 1.2e-17) and 2^k applied by VSCALEFPD (tools/exp_table_coefficients.py
// derives the table and the coefficients). Levels may differ from each other by an ulp.
//
// Accuracy (tested in tests/kernels/exp_test.cpp against std::exp, itself < 1 ulp):
//   float : <= 2 ulp over [-87.3, 88.7] on every 97th float plus all edge values; in the
//           subnormal range [-103.97, -87.3] within 2 units of the subnormal spacing.
//   double: <= 2 ulp over [-745.13, 709.78] on 2e6 points (grid + random), subnormals
//           included as for float; measured worst 1.04 ulp without the table (float: 1.00
//           ulp), 0.64 ulp with it (0.79 units of the subnormal spacing below 2^-1022).
// Special values: exp(-inf) = 0 exactly, and every input whose true exp is below half the
// smallest subnormal gives +0; inputs above ln(max) give +inf; NaN gives NaN.
// No -ffast-math needed: the rounding trick (x + 1.5 * 2^p - 1.5 * 2^p) only assumes
// IEEE round-to-nearest, the default floating-point environment.
// Cost: float 9 multiply-adds per register, double 14 (AVX-512: 9 and two permutes); no
// gather, no division.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/exp_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

template <class T>
inline void check_same_size(const char* fn, std::size_t in, std::size_t out) {
  if (in != out)
    throw size_mismatch(std::string(fn) + ": output has " + std::to_string(out) +
                        " elements but input has " + std::to_string(in));
}

// The scalar reference: out[i] = std::exp(in[i]).
template <class T>
inline void reference_exp(std::span<const T> in, std::span<T> out) {
  check_same_size<T>("exp", in.size(), out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = std::exp(in[i]);
}

}  // namespace detail

/// out[i] = exp(in[i]) (vectorised; accuracy above). Throws size_mismatch if the spans
/// differ in size. `in` and `out` may alias exactly (in place).
inline void exp(std::span<const float> in, std::span<float> out) {
  detail::check_same_size<float>("exp", in.size(), out.size());
  detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::exp_span<Ops, float>(in, out); });
}
inline void exp(std::span<const double> in, std::span<double> out) {
  detail::check_same_size<double>("exp", in.size(), out.size());
  detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::exp_span<Ops, double>(in, out); });
}

namespace scalar {
/// Scalar reference: out[i] = std::exp(in[i]).
inline void exp(std::span<const float> in, std::span<float> out) { kernels::detail::reference_exp<float>(in, out); }
inline void exp(std::span<const double> in, std::span<double> out) { kernels::detail::reference_exp<double>(in, out); }
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
