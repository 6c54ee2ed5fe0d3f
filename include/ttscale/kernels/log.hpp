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
#include <ttscale/kernels/dispatch.hpp>
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

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/log_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

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
  detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_span<Ops, float>(in, out); });
}
inline void log(std::span<const double> in, std::span<double> out) {
  detail::check_same_size<double>("log", in.size(), out.size());
  detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { return detail::log_span<Ops, double>(in, out); });
}

namespace scalar {
/// Scalar reference: out[i] = std::log(in[i]).
inline void log(std::span<const float> in, std::span<float> out) { kernels::detail::reference_log<float>(in, out); }
inline void log(std::span<const double> in, std::span<double> out) { kernels::detail::reference_log<double>(in, out); }
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
