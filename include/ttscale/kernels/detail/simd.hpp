// ttscale/kernels/detail/simd.hpp: the thin register layer every kernel is written against.
//
// Users never include this. Each instruction set is a small struct of static functions
// over one register type (`ops<T, isa>`); kernels are templates over that struct, so the
// same source runs at width 1 (`isa_scalar`, plain C++, also used for loop tails), SSE2,
// AVX2+FMA, AVX-512F or NEON, and tests can instantiate every set the compiler targets.
// Which sets exist: the compiler's target macros (-march) decide the baseline; with GCC or
// Clang on x86-64 the AVX2+FMA and AVX-512 layers are compiled as well, inside target
// regions (TTSCALE_KERNELS_BEGIN_AVX2 ... END), and dispatch.hpp picks one per process.
// Kernel bodies are compiled once per level (detail/foreach_level.hpp): every function a
// level runs carries that level's target, so the register layer inlines into it.
// Semantics shared by every set (the scalar set defines them):
//   max(a, b) = a > b ? a : b  -- returns b when either is NaN (x86 MAXPS semantics), so a
//                                 running max never becomes NaN; NaN is detected separately.
//   fmadd(a, b, c) = a * b + c -- fused where the set has FMA, two roundings otherwise.
// Lane moves of the double sets, for the blocked prefix sum of kernels/resample.hpp:
//   broadcast_last(v)          -- every lane = the highest lane of v.
//   sklansky_step<D>(v)        -- (D < width, a power of two) lane i with bit D of i set adds the
//                                 last lane of the lower half of its 2D-lane group, lane
//                                 (i & ~(2D - 1)) + D - 1; the other lanes are unchanged.
//                                 Steps D = 1, 2, 4, ... form Sklansky's prefix sum in place.
#pragma once

#include <ttscale/config.hpp>

#include <bit>
#include <concepts>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#if defined(__SSE2__) || defined(_M_X64)
#define TTSCALE_KERNELS_HAS_SSE2 1
#endif
#if defined(__AVX2__) && defined(__FMA__)
#define TTSCALE_KERNELS_STATIC_AVX2 1  // the compiler's baseline already has the set
#endif
#if defined(__AVX512F__)
#define TTSCALE_KERNELS_STATIC_AVX512 1
#endif
// Run-time dispatch: GCC and Clang on x86-64 compile the wider sets beside the baseline
// with target attributes. Define TTSCALE_KERNELS_NO_DISPATCH to build only what -march
// enables (the wider paths then need -march, as before).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(TTSCALE_KERNELS_NO_DISPATCH)
#define TTSCALE_KERNELS_DISPATCH 1
#endif
#if defined(TTSCALE_KERNELS_STATIC_AVX2) || defined(TTSCALE_KERNELS_DISPATCH)
#define TTSCALE_KERNELS_HAS_AVX2 1
#endif
// A static build: the compiler's own flags (-march=native on an AVX-512 machine,
// -march=x86-64-v4, ...) enable every feature of the widest level, so the kernels call it
// directly, with no run-time choice (dispatch.hpp). TTSCALE_KERNELS_RUNTIME_DISPATCH keeps
// the run-time choice (force_isa, TTSCALE_ISA) in such a build.
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__AVX2__) && defined(__FMA__) &&      \
    defined(__BMI__) && defined(__BMI2__) && defined(__POPCNT__) && !defined(TTSCALE_KERNELS_RUNTIME_DISPATCH)
#define TTSCALE_KERNELS_STATIC_LEVEL 1
#endif
#if defined(TTSCALE_KERNELS_STATIC_AVX512) || defined(TTSCALE_KERNELS_DISPATCH)
#define TTSCALE_KERNELS_HAS_AVX512 1
#endif
// The target regions. The AVX2 level is x86-64-v3's vector and bit-manipulation core, the
// AVX-512 level x86-64-v4's (F, CD, BW, DQ, VL) on top of it, so that scalar code inside a
// kernel gets the instructions a -march build would use; dispatch.hpp checks every feature
// named here. The AVX-512 set includes the AVX2 one, so AVX2-level helpers (the fused
// width-1 tail) inline into AVX-512 bodies. Clang applies the attribute with
// `#pragma clang attribute`, GCC with its target pragma; both reach lambdas and member
// functions defined in the region.
#define TTSCALE_KERNELS_AVX2_FEATURES "avx2,fma,bmi,bmi2,popcnt"
#define TTSCALE_KERNELS_AVX512_FEATURES TTSCALE_KERNELS_AVX2_FEATURES ",avx512f,avx512cd,avx512bw,avx512dq,avx512vl"
#if defined(TTSCALE_KERNELS_DISPATCH) && defined(__clang__)
#define TTSCALE_KERNELS_PRAGMA(x) _Pragma(#x)
#define TTSCALE_KERNELS_BEGIN_TARGET(features) \
  TTSCALE_KERNELS_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define TTSCALE_KERNELS_END_TARGET _Pragma("clang attribute pop")
#elif defined(TTSCALE_KERNELS_DISPATCH)
#define TTSCALE_KERNELS_PRAGMA(x) _Pragma(#x)
#define TTSCALE_KERNELS_BEGIN_TARGET(features) _Pragma("GCC push_options") TTSCALE_KERNELS_PRAGMA(GCC target(features))
#define TTSCALE_KERNELS_END_TARGET _Pragma("GCC pop_options")
#else
#define TTSCALE_KERNELS_BEGIN_TARGET(features)
#define TTSCALE_KERNELS_END_TARGET
#endif
#define TTSCALE_KERNELS_BEGIN_AVX2 TTSCALE_KERNELS_BEGIN_TARGET(TTSCALE_KERNELS_AVX2_FEATURES)
#define TTSCALE_KERNELS_BEGIN_AVX512 TTSCALE_KERNELS_BEGIN_TARGET(TTSCALE_KERNELS_AVX512_FEATURES)
// Compile time: <immintrin.h> declares every x86 extension (47k lines with GCC 12); a
// build without the wider sets (TTSCALE_KERNELS_NO_DISPATCH, no -march) needs just
// <emmintrin.h> (5k lines).
#if defined(TTSCALE_KERNELS_HAS_AVX2) || defined(TTSCALE_KERNELS_HAS_AVX512) || defined(_MSC_VER)
// GCC 12's avx512fintrin.h initialises its "undefined" vectors from themselves
// (__m512 __Y = __Y;), which -Wmaybe-uninitialized reports at every inlined
// use (dozens per kernel TU under -march=native -Wall). The pragma is scoped to
// the header's text, so users' own code keeps the warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#elif defined(TTSCALE_KERNELS_HAS_SSE2)
#include <emmintrin.h>
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define TTSCALE_KERNELS_HAS_NEON 1
#endif

// A value the optimiser must treat as unknown: an empty asm that "changes" it in place.
// GCC contracts a * b + c into an FMA wherever the target has one (-ffp-contract=fast, the
// default of gnu++ modes), also across statements and through the vector intrinsics, which
// it implements as plain vector arithmetic; an FMA adds the unrounded product. A product
// passed through it stays a rounding of its own at every level (resample_cdf.hpp's scaled
// weights). MSVC contracts only under /fp:contract, Clang (fp-contract=on) only within one
// expression.
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define TTSCALE_KERNELS_OPAQUE(v) __asm__("" : "+x"(v))
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
#define TTSCALE_KERNELS_OPAQUE(v) __asm__("" : "+w"(v))
#else
#define TTSCALE_KERNELS_OPAQUE(v) ((void)0)
#endif

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

struct isa_scalar {};
struct isa_sse2 {};
struct isa_avx2 {};
struct isa_avx512 {};
struct isa_neon {};
struct isa_scalar_fma {};  // width 1 with a fused multiply-add: the tail of the FMA sets
struct isa_scalar_avx512 {};  // width 1 of the AVX-512 level: the tail of its double set (exp table)

// Levels: the code of one level is compiled with one target (detail/foreach_level.hpp).
// `Ops::level` says where a register set's kernels live; `Ops::tail` is the width-1 set
// that runs its loop tails (fused where the set's fmadd is, so a tail element equals the
// same element computed in a register).
struct level_baseline {};
struct level_avx2 {};
struct level_avx512 {};

// A kernel body template of the level being compiled (used in the bodies only).
#define TTSCALE_KERNELS_AT_LEVEL(Ops) requires std::same_as<typename Ops::level, TTSCALE_KERNELS_LEVEL>

template <class T, class Isa>
struct ops;

// The integer type with T's width, used to build 2^n from exponent bits.
template <class T>
using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

// Constants of the exponential shared by every set (see exp.hpp for the derivation).
template <class T>
struct exp_constants;
template <>
struct exp_constants<float> {
  static constexpr float log2e = 1.44269504088896341f;
  // Cody-Waite split of ln 2: c1 has 9 significant bits, so n * c1 is exact for |n| < 2^15.
  static constexpr float c1 = 0.693359375f;
  static constexpr float c2 = -2.12194440e-4f;
  static constexpr float lo = -104.0f;         // exp(lo) rounds to 0; inputs are clamped here
  static constexpr float zero_below = -103.98f;  // exp(x) < 2^-150 (rounds to 0) below this
  static constexpr float hi = 88.8f;           // exp(hi) overflows; clamping keeps 2^n finite
  static constexpr float normal_lo = -86.0f;   // inside [normal_lo, normal_hi] n is in [-125, 127]
  static constexpr float normal_hi = 87.0f;
  static constexpr float magic = 12582912.0f;  // 1.5 * 2^23: x + magic rounds x to an integer
  static constexpr std::uint32_t bias = 127;
  static constexpr int mant_bits = 23;
};
template <>
struct exp_constants<double> {
  static constexpr double log2e = 1.44269504088896340736;
  // c1 has 16 significant bits, so n * c1 is exact for |n| < 2^37.
  static constexpr double c1 = 6.93145751953125e-1;
  static constexpr double c2 = 1.42860682030941723212e-6;
  static constexpr double lo = -746.0;
  static constexpr double zero_below = -745.2;  // exp(x) < 2^-1075 below this
  static constexpr double hi = 710.0;
  static constexpr double normal_lo = -707.0;  // inside [normal_lo, normal_hi] n is in [-1021, 1023]
  static constexpr double normal_hi = 708.0;
  static constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr std::uint64_t bias = 1023;
  static constexpr int mant_bits = 52;
};

// The table-driven double exp of the AVX-512 level (exp_body.hpp; derived and checked by
// tools/exp_table_coefficients.py): x = (16k + j) ln2/16 + r, |r| <= ln2/32, and
// exp(x) = 2^k 2^(j/16) e^r. A 16-entry table is two zmm registers, looked up with one
// permute per register (no gather). hi[j] is 2^(j/16) rounded to double and tail[j] its
// relative rounding error (2^(j/16) - hi) / hi rounded: the table's own rounding (up to 1/2
// ulp) is added back in the polynomial, so it never reaches the result.
struct exp_table_constants {
  static constexpr double inv_step = 23.083120654223414;      // 16 / ln2
  static constexpr double step_hi = 0.04332169878499658;      // ln2 / 16 rounded: x - n step_hi is exact
  static constexpr double step_lo = 1.4494042586539372e-18;   // ln2 / 16 - step_hi
  alignas(64) static constexpr double hi[16] = {
      1.0, 1.0442737824274138, 1.0905077326652577, 1.1387886347566916,
      1.189207115002721, 1.241857812073484, 1.2968395546510096, 1.3542555469368927,
      1.4142135623730951, 1.4768261459394993, 1.5422108254079407, 1.6104903319492543,
      1.681792830507429, 1.7562521603732995, 1.8340080864093424, 1.9152065613971474};
  alignas(64) static constexpr double tail[16] = {
      0.0, 8.189317638195515e-17, -2.7939114859515733e-17, 7.826573258636076e-17,
      3.3484623336251524e-17, 3.750854201303127e-17, 1.9572585293112036e-17, 5.68648095791174e-17,
      -6.835808657661922e-17, -2.3591094770850053e-17, 5.1548301170786783e-17, 1.5341410053603723e-17,
      4.875160526227062e-17, 1.685487290628973e-17, 1.790126907604513e-17, -5.545065618639427e-17};
};
// A register set with the exp table (the AVX-512 double set and its width-1 tail); the others
// keep the table-free Cody-Waite exp.
template <class Ops>
concept has_exp_table = requires(typename Ops::reg t) {
  Ops::exp_table_lookup(t, t);
  Ops::scalef(t, t);
};

// ---------------------------------------------------------------- scalar (width 1)
template <class T>
struct ops<T, isa_scalar> {
  using value_type = T;
  using level = level_baseline;
  using tail = ops<T, isa_scalar>;
  using reg = T;
  using mask = bool;
  static constexpr std::size_t width = 1;
  static reg load(const T* p) noexcept { return *p; }
  static void store(T* p, reg v) noexcept { *p = v; }
  static reg set1(T v) noexcept { return v; }
  static reg add(reg a, reg b) noexcept { return a + b; }
  static reg sub(reg a, reg b) noexcept { return a - b; }
  static reg mul(reg a, reg b) noexcept { return a * b; }
  static reg div(reg a, reg b) noexcept { return a / b; }
  static reg broadcast_last(reg v) noexcept { return v; }  // width 1: no lane moves
  static reg fmadd(reg a, reg b, reg c) noexcept {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
    return std::fma(a, b, c);  // one instruction here; keeps the width-1 path equal to SIMD
#else
    return a * b + c;
#endif
  }
  static reg max(reg a, reg b) noexcept { return a > b ? a : b; }
  static reg min(reg a, reg b) noexcept { return a < b ? a : b; }
  static mask lt(reg a, reg b) noexcept { return a < b; }
  static mask le(reg a, reg b) noexcept { return a <= b; }
  static mask eq(reg a, reg b) noexcept { return a == b; }
  static mask neq(reg a, reg b) noexcept { return a != b; }
  static mask is_nan(reg a) noexcept { return a != a; }
  static mask mask_or(mask a, mask b) noexcept { return a || b; }
  static mask mask_and(mask a, mask b) noexcept { return a && b; }
  static bool any(mask m) noexcept { return m; }
  static bool all(mask m) noexcept { return m; }
  static reg select(mask m, reg a, reg b) noexcept { return m ? a : b; }
  // 2^n where t = n + magic (n an integer held in t's low mantissa bits).
  static reg pow2_from_magic(reg t) noexcept {
    using U = bits_t<T>;
    const U b = std::bit_cast<U>(t);
    return std::bit_cast<T>(static_cast<U>((b + exp_constants<T>::bias) << exp_constants<T>::mant_bits));
  }
  // p * 2^n by adding n to p's exponent field (t as above); exact only when the product is
  // a normal number, which callers guarantee. Bits of the magic constant shift out.
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    using U = bits_t<T>;
    return std::bit_cast<T>(static_cast<U>(std::bit_cast<U>(p) + (std::bit_cast<U>(t) << exp_constants<T>::mant_bits)));
  }
  // log_split(x, k): for a positive normal x, returns m = x 2^-k in [sqrt(1/2), sqrt(2)) and
  // sets k (an integer, as T). Bits: k = (bits(x) - bits(sqrt(1/2))) >> mant_bits.
  static reg log_split(reg x, reg& k) noexcept {
    using U = bits_t<T>;
    using I = std::make_signed_t<U>;
    constexpr U c = sizeof(T) == 4 ? U(0x3f3504f3u) : U(0x3fe6a09e667f3bcdull);
    const U ix = std::bit_cast<U>(x);
    const U tmp = ix - c;
    k = static_cast<T>(static_cast<I>(tmp) >> exp_constants<T>::mant_bits);
    return std::bit_cast<T>(static_cast<U>(ix - (tmp & (~U(0) << exp_constants<T>::mant_bits))));
  }
  static T hmax(reg v) noexcept { return v; }
  static void store_lanes(reg v, T* out) noexcept { *out = v; }

  // Double accumulator (float reductions are accumulated in double).
  using acc = double;
  static acc acc_zero() noexcept { return 0.0; }
  static acc acc_add(acc a, reg v) noexcept { return a + static_cast<double>(v); }
  static acc acc_add_sq(acc a, reg v) noexcept {
    const double d = v;
    return a + d * d;
  }
  static acc acc_scale(acc a, reg s) noexcept { return a * static_cast<double>(s); }
  static void acc_store(acc a, double* out) noexcept { *out = a; }
};

#ifdef TTSCALE_KERNELS_HAS_SSE2
// ---------------------------------------------------------------- SSE2 (x86-64 baseline)
template <>
struct ops<float, isa_sse2> {
  using value_type = float;
  using level = level_baseline;
  using tail = ops<float, isa_scalar>;
  using reg = __m128;
  using mask = __m128;
  static constexpr std::size_t width = 4;
  static reg load(const float* p) noexcept { return _mm_loadu_ps(p); }
  static void store(float* p, reg v) noexcept { _mm_storeu_ps(p, v); }
  static reg set1(float v) noexcept { return _mm_set1_ps(v); }
  static reg add(reg a, reg b) noexcept { return _mm_add_ps(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm_sub_ps(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm_mul_ps(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static reg max(reg a, reg b) noexcept { return _mm_max_ps(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm_min_ps(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm_cmplt_ps(a, b); }
  static mask le(reg a, reg b) noexcept { return _mm_cmple_ps(a, b); }
  static mask eq(reg a, reg b) noexcept { return _mm_cmpeq_ps(a, b); }
  static mask neq(reg a, reg b) noexcept { return _mm_cmpneq_ps(a, b); }
  static mask is_nan(reg a) noexcept { return _mm_cmpunord_ps(a, a); }
  static mask mask_or(mask a, mask b) noexcept { return _mm_or_ps(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return _mm_and_ps(a, b); }
  static bool any(mask m) noexcept { return _mm_movemask_ps(m) != 0; }
  static bool all(mask m) noexcept { return _mm_movemask_ps(m) == 0xF; }
  static reg select(mask m, reg a, reg b) noexcept {
    return _mm_or_ps(_mm_and_ps(m, a), _mm_andnot_ps(m, b));
  }
  static reg pow2_from_magic(reg t) noexcept {
    const __m128i b = _mm_add_epi32(_mm_castps_si128(t), _mm_set1_epi32(127));
    return _mm_castsi128_ps(_mm_slli_epi32(b, 23));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(p), _mm_slli_epi32(_mm_castps_si128(t), 23)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    const __m128i ix = _mm_castps_si128(x);
    const __m128i tmp = _mm_sub_epi32(ix, _mm_set1_epi32(0x3f3504f3));
    k = _mm_cvtepi32_ps(_mm_srai_epi32(tmp, 23));
    return _mm_castsi128_ps(_mm_sub_epi32(ix, _mm_and_si128(tmp, _mm_set1_epi32(static_cast<int>(0xff800000u)))));
  }
  static float hmax(reg v) noexcept {
    v = _mm_max_ps(v, _mm_movehl_ps(v, v));
    v = _mm_max_ss(v, _mm_shuffle_ps(v, v, 1));
    return _mm_cvtss_f32(v);
  }
  static void store_lanes(reg v, float* out) noexcept { _mm_storeu_ps(out, v); }
  struct acc {
    __m128d lo, hi;
  };
  static acc acc_zero() noexcept { return {_mm_setzero_pd(), _mm_setzero_pd()}; }
  static acc acc_add(acc a, reg v) noexcept {
    return {_mm_add_pd(a.lo, _mm_cvtps_pd(v)), _mm_add_pd(a.hi, _mm_cvtps_pd(_mm_movehl_ps(v, v)))};
  }
  static acc acc_add_sq(acc a, reg v) noexcept {
    const __m128d l = _mm_cvtps_pd(v), h = _mm_cvtps_pd(_mm_movehl_ps(v, v));
    return {_mm_add_pd(a.lo, _mm_mul_pd(l, l)), _mm_add_pd(a.hi, _mm_mul_pd(h, h))};
  }
  static acc acc_scale(acc a, reg s) noexcept {
    return {_mm_mul_pd(a.lo, _mm_cvtps_pd(s)), _mm_mul_pd(a.hi, _mm_cvtps_pd(_mm_movehl_ps(s, s)))};
  }
  static void acc_store(acc a, double* out) noexcept {
    _mm_storeu_pd(out, a.lo);
    _mm_storeu_pd(out + 2, a.hi);
  }
};

template <>
struct ops<double, isa_sse2> {
  using value_type = double;
  using level = level_baseline;
  using tail = ops<double, isa_scalar>;
  using reg = __m128d;
  using mask = __m128d;
  static constexpr std::size_t width = 2;
  static reg load(const double* p) noexcept { return _mm_loadu_pd(p); }
  static void store(double* p, reg v) noexcept { _mm_storeu_pd(p, v); }
  static reg set1(double v) noexcept { return _mm_set1_pd(v); }
  static reg add(reg a, reg b) noexcept { return _mm_add_pd(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm_sub_pd(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm_mul_pd(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm_div_pd(a, b); }
  static reg broadcast_last(reg v) noexcept { return _mm_unpackhi_pd(v, v); }
  template <std::size_t D>
    requires(D == 1)
  static reg sklansky_step(reg v) noexcept {
    return _mm_move_sd(_mm_add_pd(v, _mm_unpacklo_pd(v, v)), v);  // (v0, v1 + v0)
  }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm_add_pd(_mm_mul_pd(a, b), c); }
  static reg max(reg a, reg b) noexcept { return _mm_max_pd(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm_min_pd(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm_cmplt_pd(a, b); }
  static mask le(reg a, reg b) noexcept { return _mm_cmple_pd(a, b); }
  static mask eq(reg a, reg b) noexcept { return _mm_cmpeq_pd(a, b); }
  static mask neq(reg a, reg b) noexcept { return _mm_cmpneq_pd(a, b); }
  static mask is_nan(reg a) noexcept { return _mm_cmpunord_pd(a, a); }
  static mask mask_or(mask a, mask b) noexcept { return _mm_or_pd(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return _mm_and_pd(a, b); }
  static bool any(mask m) noexcept { return _mm_movemask_pd(m) != 0; }
  static bool all(mask m) noexcept { return _mm_movemask_pd(m) == 0x3; }
  static reg select(mask m, reg a, reg b) noexcept {
    return _mm_or_pd(_mm_and_pd(m, a), _mm_andnot_pd(m, b));
  }
  static reg pow2_from_magic(reg t) noexcept {
    const __m128i b = _mm_add_epi64(_mm_castpd_si128(t), _mm_set1_epi64x(1023));
    return _mm_castsi128_pd(_mm_slli_epi64(b, 52));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm_castsi128_pd(_mm_add_epi64(_mm_castpd_si128(p), _mm_slli_epi64(_mm_castpd_si128(t), 52)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    // No 64-bit arithmetic shift or int64->double conversion: k + 2048 is shifted down
    // logically and turned into a double through the mantissa of 2^52.
    const __m128i ix = _mm_castpd_si128(x);
    const __m128i tmp = _mm_sub_epi64(ix, _mm_set1_epi64x(0x3fe6a09e667f3bcdll));
    const __m128i kb = _mm_srli_epi64(_mm_add_epi64(tmp, _mm_set1_epi64x(static_cast<long long>(2048ull << 52))), 52);
    k = _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(kb, _mm_set1_epi64x(0x4330000000000000ll))), _mm_set1_pd(4503599627372544.0));
    return _mm_castsi128_pd(_mm_sub_epi64(ix, _mm_and_si128(tmp, _mm_set1_epi64x(static_cast<long long>(0xfff0000000000000ull)))));
  }
  static double hmax(reg v) noexcept { return _mm_cvtsd_f64(_mm_max_sd(v, _mm_unpackhi_pd(v, v))); }
  static void store_lanes(reg v, double* out) noexcept { _mm_storeu_pd(out, v); }
  using acc = __m128d;
  static acc acc_zero() noexcept { return _mm_setzero_pd(); }
  static acc acc_add(acc a, reg v) noexcept { return _mm_add_pd(a, v); }
  static acc acc_add_sq(acc a, reg v) noexcept { return _mm_add_pd(a, _mm_mul_pd(v, v)); }
  static acc acc_scale(acc a, reg s) noexcept { return _mm_mul_pd(a, s); }
  static void acc_store(acc a, double* out) noexcept { _mm_storeu_pd(out, a); }
};
#endif  // SSE2

#ifdef TTSCALE_KERNELS_HAS_AVX2
// ---------------------------------------------------------------- AVX2 + FMA
TTSCALE_KERNELS_BEGIN_AVX2
// Width 1 with std::fma (one instruction here): the loop tails of the FMA sets.
template <class T>
struct ops<T, isa_scalar_fma> : ops<T, isa_scalar> {
  using level = level_avx2;
  using tail = ops<T, isa_scalar_fma>;
  static T fmadd(T a, T b, T c) noexcept { return std::fma(a, b, c); }
};

template <>
struct ops<float, isa_avx2> {
  using value_type = float;
  using level = level_avx2;
  using tail = ops<float, isa_scalar_fma>;
  using reg = __m256;
  using mask = __m256;
  static constexpr std::size_t width = 8;
  static reg load(const float* p) noexcept { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) noexcept { _mm256_storeu_ps(p, v); }
  static reg set1(float v) noexcept { return _mm256_set1_ps(v); }
  static reg add(reg a, reg b) noexcept { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm256_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm256_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) noexcept { return _mm256_max_ps(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm256_min_ps(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) noexcept { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static mask eq(reg a, reg b) noexcept { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static mask neq(reg a, reg b) noexcept { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
  static mask is_nan(reg a) noexcept { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static mask mask_or(mask a, mask b) noexcept { return _mm256_or_ps(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return _mm256_and_ps(a, b); }
  static bool any(mask m) noexcept { return _mm256_movemask_ps(m) != 0; }
  static bool all(mask m) noexcept { return _mm256_movemask_ps(m) == 0xFF; }
  static reg select(mask m, reg a, reg b) noexcept { return _mm256_blendv_ps(b, a, m); }
  static reg pow2_from_magic(reg t) noexcept {
    const __m256i b = _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(b, 23));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(t), 23)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    const __m256i ix = _mm256_castps_si256(x);
    const __m256i tmp = _mm256_sub_epi32(ix, _mm256_set1_epi32(0x3f3504f3));
    k = _mm256_cvtepi32_ps(_mm256_srai_epi32(tmp, 23));
    return _mm256_castsi256_ps(_mm256_sub_epi32(ix, _mm256_and_si256(tmp, _mm256_set1_epi32(static_cast<int>(0xff800000u)))));
  }
  static float hmax(reg v) noexcept {
    return ops<float, isa_sse2>::hmax(_mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
  }
  static void store_lanes(reg v, float* out) noexcept { _mm256_storeu_ps(out, v); }
  struct acc {
    __m256d lo, hi;
  };
  static __m256d lo_pd(reg v) noexcept { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
  static __m256d hi_pd(reg v) noexcept { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
  static acc acc_zero() noexcept { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static acc acc_add(acc a, reg v) noexcept {
    return {_mm256_add_pd(a.lo, lo_pd(v)), _mm256_add_pd(a.hi, hi_pd(v))};
  }
  static acc acc_add_sq(acc a, reg v) noexcept {
    const __m256d l = lo_pd(v), h = hi_pd(v);
    return {_mm256_fmadd_pd(l, l, a.lo), _mm256_fmadd_pd(h, h, a.hi)};
  }
  static acc acc_scale(acc a, reg s) noexcept {
    return {_mm256_mul_pd(a.lo, lo_pd(s)), _mm256_mul_pd(a.hi, hi_pd(s))};
  }
  static void acc_store(acc a, double* out) noexcept {
    _mm256_storeu_pd(out, a.lo);
    _mm256_storeu_pd(out + 4, a.hi);
  }
};

template <>
struct ops<double, isa_avx2> {
  using value_type = double;
  using level = level_avx2;
  using tail = ops<double, isa_scalar_fma>;
  using reg = __m256d;
  using mask = __m256d;
  static constexpr std::size_t width = 4;
  static reg load(const double* p) noexcept { return _mm256_loadu_pd(p); }
  static void store(double* p, reg v) noexcept { _mm256_storeu_pd(p, v); }
  static reg set1(double v) noexcept { return _mm256_set1_pd(v); }
  static reg add(reg a, reg b) noexcept { return _mm256_add_pd(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm256_sub_pd(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm256_mul_pd(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm256_div_pd(a, b); }
  static reg broadcast_last(reg v) noexcept { return _mm256_permute4x64_pd(v, 0xFF); }
  template <std::size_t D>
    requires(D == 1 || D == 2)
  static reg sklansky_step(reg v) noexcept {
    if constexpr (D == 1) {
      return _mm256_blend_pd(v, _mm256_add_pd(v, _mm256_movedup_pd(v)), 0b1010);  // lanes 1, 3
    } else {
      return _mm256_blend_pd(v, _mm256_add_pd(v, _mm256_permute4x64_pd(v, 0x55)), 0b1100);  // lanes 2, 3 + v1
    }
  }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm256_fmadd_pd(a, b, c); }
  static reg max(reg a, reg b) noexcept { return _mm256_max_pd(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm256_min_pd(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) noexcept { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  static mask eq(reg a, reg b) noexcept { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static mask neq(reg a, reg b) noexcept { return _mm256_cmp_pd(a, b, _CMP_NEQ_UQ); }
  static mask is_nan(reg a) noexcept { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
  static mask mask_or(mask a, mask b) noexcept { return _mm256_or_pd(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return _mm256_and_pd(a, b); }
  static bool any(mask m) noexcept { return _mm256_movemask_pd(m) != 0; }
  static bool all(mask m) noexcept { return _mm256_movemask_pd(m) == 0xF; }
  static reg select(mask m, reg a, reg b) noexcept { return _mm256_blendv_pd(b, a, m); }
  static reg pow2_from_magic(reg t) noexcept {
    const __m256i b = _mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(b, 52));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(_mm256_castpd_si256(t), 52)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    // No 64-bit arithmetic shift or int64->double conversion: k + 2048 is shifted down
    // logically and turned into a double through the mantissa of 2^52.
    const __m256i ix = _mm256_castpd_si256(x);
    const __m256i tmp = _mm256_sub_epi64(ix, _mm256_set1_epi64x(0x3fe6a09e667f3bcdll));
    const __m256i kb = _mm256_srli_epi64(_mm256_add_epi64(tmp, _mm256_set1_epi64x(static_cast<long long>(2048ull << 52))), 52);
    k = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(kb, _mm256_set1_epi64x(0x4330000000000000ll))), _mm256_set1_pd(4503599627372544.0));
    return _mm256_castsi256_pd(_mm256_sub_epi64(ix, _mm256_and_si256(tmp, _mm256_set1_epi64x(static_cast<long long>(0xfff0000000000000ull)))));
  }
  static double hmax(reg v) noexcept {
    return ops<double, isa_sse2>::hmax(_mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1)));
  }
  static void store_lanes(reg v, double* out) noexcept { _mm256_storeu_pd(out, v); }
  using acc = __m256d;
  static acc acc_zero() noexcept { return _mm256_setzero_pd(); }
  static acc acc_add(acc a, reg v) noexcept { return _mm256_add_pd(a, v); }
  static acc acc_add_sq(acc a, reg v) noexcept { return _mm256_fmadd_pd(v, v, a); }
  static acc acc_scale(acc a, reg s) noexcept { return _mm256_mul_pd(a, s); }
  static void acc_store(acc a, double* out) noexcept { _mm256_storeu_pd(out, a); }
};
TTSCALE_KERNELS_END_TARGET
#endif  // AVX2

#ifdef TTSCALE_KERNELS_HAS_AVX512
// ---------------------------------------------------------------- AVX-512F
TTSCALE_KERNELS_BEGIN_AVX512
// The loop tails of ops<double, isa_avx512>: width 1 with std::fma and the same exp table, so a
// tail element equals the same element computed in a register (its exp differs from the
// AVX2 level's by an ulp or so).
template <>
struct ops<double, isa_scalar_avx512> : ops<double, isa_scalar_fma> {
  using level = level_avx512;
  using tail = ops<double, isa_scalar_avx512>;
  // hi[j] and tail[j] for t = n + magic, j = n mod 16 (the low 4 bits of t).
  static double exp_table_lookup(double t, double& tail_out) noexcept {
    const std::uint64_t j = std::bit_cast<std::uint64_t>(t) & 15;
    tail_out = exp_table_constants::tail[j];
    return exp_table_constants::hi[j];
  }
  // a 2^floor(b), rounded once (VSCALEFSD, as the register set's VSCALEFPD).
  static double scalef(double a, double b) noexcept {
    return _mm_cvtsd_f64(_mm_scalef_sd(_mm_set_sd(a), _mm_set_sd(b)));
  }
};

// Compile-checked in every x86-64 build (kernels_avx512_compile_check); the tests run it
// in builds that target AVX-512 (-march=native on an AVX-512 host).
template <>
struct ops<float, isa_avx512> {
  using value_type = float;
  using level = level_avx512;
  using tail = ops<float, isa_scalar_fma>;
  using reg = __m512;
  using mask = __mmask16;
  static constexpr std::size_t width = 16;
  static reg load(const float* p) noexcept { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) noexcept { _mm512_storeu_ps(p, v); }
  static reg set1(float v) noexcept { return _mm512_set1_ps(v); }
  static reg add(reg a, reg b) noexcept { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm512_div_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm512_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) noexcept { return _mm512_max_ps(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm512_min_ps(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) noexcept { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static mask eq(reg a, reg b) noexcept { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static mask neq(reg a, reg b) noexcept { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
  static mask is_nan(reg a) noexcept { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static mask mask_or(mask a, mask b) noexcept { return static_cast<mask>(a | b); }
  static mask mask_and(mask a, mask b) noexcept { return static_cast<mask>(a & b); }
  static bool any(mask m) noexcept { return m != 0; }
  static bool all(mask m) noexcept { return m == static_cast<mask>(~mask(0)); }
  static reg select(mask m, reg a, reg b) noexcept { return _mm512_mask_blend_ps(m, b, a); }
  static reg pow2_from_magic(reg t) noexcept {
    const __m512i b = _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(b, 23));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    const __m512i ix = _mm512_castps_si512(x);
    const __m512i tmp = _mm512_sub_epi32(ix, _mm512_set1_epi32(0x3f3504f3));
    k = _mm512_cvtepi32_ps(_mm512_srai_epi32(tmp, 23));
    return _mm512_castsi512_ps(_mm512_sub_epi32(ix, _mm512_and_si512(tmp, _mm512_set1_epi32(static_cast<int>(0xff800000u)))));
  }
  static float hmax(reg v) noexcept { return _mm512_reduce_max_ps(v); }
  static void store_lanes(reg v, float* out) noexcept { _mm512_storeu_ps(out, v); }
  struct acc {
    __m512d lo, hi;
  };
  static __m512d lo_pd(reg v) noexcept { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
  static __m512d hi_pd(reg v) noexcept {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
  static acc acc_zero() noexcept { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static acc acc_add(acc a, reg v) noexcept {
    return {_mm512_add_pd(a.lo, lo_pd(v)), _mm512_add_pd(a.hi, hi_pd(v))};
  }
  static acc acc_add_sq(acc a, reg v) noexcept {
    const __m512d l = lo_pd(v), h = hi_pd(v);
    return {_mm512_fmadd_pd(l, l, a.lo), _mm512_fmadd_pd(h, h, a.hi)};
  }
  static acc acc_scale(acc a, reg s) noexcept {
    return {_mm512_mul_pd(a.lo, lo_pd(s)), _mm512_mul_pd(a.hi, hi_pd(s))};
  }
  static void acc_store(acc a, double* out) noexcept {
    _mm512_storeu_pd(out, a.lo);
    _mm512_storeu_pd(out + 8, a.hi);
  }
};

template <>
struct ops<double, isa_avx512> {
  using value_type = double;
  using level = level_avx512;
  using tail = ops<double, isa_scalar_avx512>;
  using reg = __m512d;
  using mask = __mmask8;
  static constexpr std::size_t width = 8;
  static reg load(const double* p) noexcept { return _mm512_loadu_pd(p); }
  static void store(double* p, reg v) noexcept { _mm512_storeu_pd(p, v); }
  static reg set1(double v) noexcept { return _mm512_set1_pd(v); }
  static reg add(reg a, reg b) noexcept { return _mm512_add_pd(a, b); }
  static reg sub(reg a, reg b) noexcept { return _mm512_sub_pd(a, b); }
  static reg mul(reg a, reg b) noexcept { return _mm512_mul_pd(a, b); }
  static reg div(reg a, reg b) noexcept { return _mm512_div_pd(a, b); }
  // The masked forms with v as the source: GCC 12's unmasked ones pass _mm512_undefined_pd,
  // which -Wuninitialized reports in every user's -Wall build.
  static reg broadcast_last(reg v) noexcept { return _mm512_mask_permutexvar_pd(v, 0xFF, _mm512_set1_epi64(7), v); }
  template <std::size_t D>
    requires(D == 1 || D == 2 || D == 4)
  static reg sklansky_step(reg v) noexcept {
    if constexpr (D == 1) {
      return _mm512_mask_add_pd(v, 0xAA, v, _mm512_mask_movedup_pd(v, 0xAA, v));  // odd lanes + the even one below
    } else if constexpr (D == 2) {
      return _mm512_mask_add_pd(v, 0xCC, v, _mm512_mask_permutex_pd(v, 0xCC, v, 0x55));  // lanes 2, 3 + v1; 6, 7 + v5
    } else {
      return _mm512_mask_add_pd(v, 0xF0, v, _mm512_mask_permutexvar_pd(v, 0xF0, _mm512_set1_epi64(3), v));  // lanes 4-7 + v3
    }
  }
  static reg fmadd(reg a, reg b, reg c) noexcept { return _mm512_fmadd_pd(a, b, c); }
  static reg max(reg a, reg b) noexcept { return _mm512_max_pd(a, b); }
  static reg min(reg a, reg b) noexcept { return _mm512_min_pd(a, b); }
  static mask lt(reg a, reg b) noexcept { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static mask le(reg a, reg b) noexcept { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  static mask eq(reg a, reg b) noexcept { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static mask neq(reg a, reg b) noexcept { return _mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
  static mask is_nan(reg a) noexcept { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
  static mask mask_or(mask a, mask b) noexcept { return static_cast<mask>(a | b); }
  static mask mask_and(mask a, mask b) noexcept { return static_cast<mask>(a & b); }
  static bool any(mask m) noexcept { return m != 0; }
  static bool all(mask m) noexcept { return m == static_cast<mask>(~mask(0)); }
  static reg select(mask m, reg a, reg b) noexcept { return _mm512_mask_blend_pd(m, b, a); }
  static reg pow2_from_magic(reg t) noexcept {
    const __m512i b = _mm512_add_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64(1023));
    return _mm512_castsi512_pd(_mm512_slli_epi64(b, 52));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(p), _mm512_slli_epi64(_mm512_castpd_si512(t), 52)));
  }
  // exp_table_lookup and scalef as in ops<double, isa_scalar_avx512>: VPERMT2PD reads the low
  // 4 bits of each index lane, j, so t's bits index the two-register table as they are.
  static reg exp_table_lookup(reg t, reg& tail_out) noexcept {
    const __m512i j = _mm512_castpd_si512(t);
    tail_out = _mm512_permutex2var_pd(_mm512_load_pd(exp_table_constants::tail), j,
                                      _mm512_load_pd(exp_table_constants::tail + 8));
    return _mm512_permutex2var_pd(_mm512_load_pd(exp_table_constants::hi), j, _mm512_load_pd(exp_table_constants::hi + 8));
  }
  static reg scalef(reg a, reg b) noexcept { return _mm512_mask_scalef_pd(a, 0xFF, a, b); }  // masked: see broadcast_last
  static reg log_split(reg x, reg& k) noexcept {
    // No 64-bit arithmetic shift or int64->double conversion: k + 2048 is shifted down
    // logically and turned into a double through the mantissa of 2^52.
    const __m512i ix = _mm512_castpd_si512(x);
    const __m512i tmp = _mm512_sub_epi64(ix, _mm512_set1_epi64(0x3fe6a09e667f3bcdll));
    const __m512i kb = _mm512_srli_epi64(_mm512_add_epi64(tmp, _mm512_set1_epi64(static_cast<long long>(2048ull << 52))), 52);
    k = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(kb, _mm512_set1_epi64(0x4330000000000000ll))), _mm512_set1_pd(4503599627372544.0));
    return _mm512_castsi512_pd(_mm512_sub_epi64(ix, _mm512_and_si512(tmp, _mm512_set1_epi64(static_cast<long long>(0xfff0000000000000ull)))));
  }
  static double hmax(reg v) noexcept { return _mm512_reduce_max_pd(v); }
  static void store_lanes(reg v, double* out) noexcept { _mm512_storeu_pd(out, v); }
  using acc = __m512d;
  static acc acc_zero() noexcept { return _mm512_setzero_pd(); }
  static acc acc_add(acc a, reg v) noexcept { return _mm512_add_pd(a, v); }
  static acc acc_add_sq(acc a, reg v) noexcept { return _mm512_fmadd_pd(v, v, a); }
  static acc acc_scale(acc a, reg s) noexcept { return _mm512_mul_pd(a, s); }
  static void acc_store(acc a, double* out) noexcept { _mm512_storeu_pd(out, a); }
};
TTSCALE_KERNELS_END_TARGET
#endif  // AVX512

#ifdef TTSCALE_KERNELS_HAS_NEON
// ---------------------------------------------------------------- NEON (AArch64)
// Written against the ACLE; compile-checked with clang --target=aarch64 but not run here.
template <>
struct ops<float, isa_neon> {
  using value_type = float;
  using level = level_baseline;
  using tail = ops<float, isa_scalar>;
  using reg = float32x4_t;
  using mask = uint32x4_t;
  static constexpr std::size_t width = 4;
  static reg load(const float* p) noexcept { return vld1q_f32(p); }
  static void store(float* p, reg v) noexcept { vst1q_f32(p, v); }
  static reg set1(float v) noexcept { return vdupq_n_f32(v); }
  static reg add(reg a, reg b) noexcept { return vaddq_f32(a, b); }
  static reg sub(reg a, reg b) noexcept { return vsubq_f32(a, b); }
  static reg mul(reg a, reg b) noexcept { return vmulq_f32(a, b); }
  static reg div(reg a, reg b) noexcept { return vdivq_f32(a, b); }
  static reg fmadd(reg a, reg b, reg c) noexcept { return vfmaq_f32(c, a, b); }
  static reg max(reg a, reg b) noexcept { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static reg min(reg a, reg b) noexcept { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static mask lt(reg a, reg b) noexcept { return vcltq_f32(a, b); }
  static mask le(reg a, reg b) noexcept { return vcleq_f32(a, b); }
  static mask eq(reg a, reg b) noexcept { return vceqq_f32(a, b); }
  static mask neq(reg a, reg b) noexcept { return vmvnq_u32(vceqq_f32(a, b)); }
  static mask is_nan(reg a) noexcept { return vmvnq_u32(vceqq_f32(a, a)); }
  static mask mask_or(mask a, mask b) noexcept { return vorrq_u32(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return vandq_u32(a, b); }
  static bool any(mask m) noexcept { return vmaxvq_u32(m) != 0; }
  static bool all(mask m) noexcept { return vminvq_u32(m) != 0; }
  static reg select(mask m, reg a, reg b) noexcept { return vbslq_f32(m, a, b); }
  static reg pow2_from_magic(reg t) noexcept {
    const uint32x4_t b = vaddq_u32(vreinterpretq_u32_f32(t), vdupq_n_u32(127));
    return vreinterpretq_f32_u32(vshlq_n_u32(b, 23));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return vreinterpretq_f32_u32(vaddq_u32(vreinterpretq_u32_f32(p), vshlq_n_u32(vreinterpretq_u32_f32(t), 23)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    const uint32x4_t ix = vreinterpretq_u32_f32(x);
    const uint32x4_t tmp = vsubq_u32(ix, vdupq_n_u32(0x3f3504f3u));
    k = vcvtq_f32_s32(vshrq_n_s32(vreinterpretq_s32_u32(tmp), 23));
    return vreinterpretq_f32_u32(vsubq_u32(ix, vandq_u32(tmp, vdupq_n_u32(0xff800000u))));
  }
  static float hmax(reg v) noexcept { return vmaxvq_f32(v); }
  static void store_lanes(reg v, float* out) noexcept { vst1q_f32(out, v); }
  struct acc {
    float64x2_t lo, hi;
  };
  static acc acc_zero() noexcept { return {vdupq_n_f64(0.0), vdupq_n_f64(0.0)}; }
  static acc acc_add(acc a, reg v) noexcept {
    return {vaddq_f64(a.lo, vcvt_f64_f32(vget_low_f32(v))), vaddq_f64(a.hi, vcvt_high_f64_f32(v))};
  }
  static acc acc_add_sq(acc a, reg v) noexcept {
    const float64x2_t l = vcvt_f64_f32(vget_low_f32(v)), h = vcvt_high_f64_f32(v);
    return {vfmaq_f64(a.lo, l, l), vfmaq_f64(a.hi, h, h)};
  }
  static acc acc_scale(acc a, reg s) noexcept {
    return {vmulq_f64(a.lo, vcvt_f64_f32(vget_low_f32(s))), vmulq_f64(a.hi, vcvt_high_f64_f32(s))};
  }
  static void acc_store(acc a, double* out) noexcept {
    vst1q_f64(out, a.lo);
    vst1q_f64(out + 2, a.hi);
  }
};

template <>
struct ops<double, isa_neon> {
  using value_type = double;
  using level = level_baseline;
  using tail = ops<double, isa_scalar>;
  using reg = float64x2_t;
  using mask = uint64x2_t;
  static constexpr std::size_t width = 2;
  static reg load(const double* p) noexcept { return vld1q_f64(p); }
  static void store(double* p, reg v) noexcept { vst1q_f64(p, v); }
  static reg set1(double v) noexcept { return vdupq_n_f64(v); }
  static reg add(reg a, reg b) noexcept { return vaddq_f64(a, b); }
  static reg sub(reg a, reg b) noexcept { return vsubq_f64(a, b); }
  static reg mul(reg a, reg b) noexcept { return vmulq_f64(a, b); }
  static reg div(reg a, reg b) noexcept { return vdivq_f64(a, b); }
  static reg broadcast_last(reg v) noexcept { return vdupq_laneq_f64(v, 1); }
  template <std::size_t D>
    requires(D == 1)
  static reg sklansky_step(reg v) noexcept {
    return vcopyq_laneq_f64(v, 1, vaddq_f64(v, vdupq_laneq_f64(v, 0)), 1);  // (v0, v1 + v0)
  }
  static reg fmadd(reg a, reg b, reg c) noexcept { return vfmaq_f64(c, a, b); }
  static reg max(reg a, reg b) noexcept { return vbslq_f64(vcgtq_f64(a, b), a, b); }
  static reg min(reg a, reg b) noexcept { return vbslq_f64(vcltq_f64(a, b), a, b); }
  static mask lt(reg a, reg b) noexcept { return vcltq_f64(a, b); }
  static mask le(reg a, reg b) noexcept { return vcleq_f64(a, b); }
  static mask eq(reg a, reg b) noexcept { return vceqq_f64(a, b); }
  static mask neq(reg a, reg b) noexcept {
    return vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(vceqq_f64(a, b))));
  }
  static mask is_nan(reg a) noexcept { return neq(a, a); }
  static mask mask_or(mask a, mask b) noexcept { return vorrq_u64(a, b); }
  static mask mask_and(mask a, mask b) noexcept { return vandq_u64(a, b); }
  static bool any(mask m) noexcept { return vmaxvq_u32(vreinterpretq_u32_u64(m)) != 0; }
  static bool all(mask m) noexcept { return vminvq_u32(vreinterpretq_u32_u64(m)) != 0; }
  static reg select(mask m, reg a, reg b) noexcept { return vbslq_f64(m, a, b); }
  static reg pow2_from_magic(reg t) noexcept {
    const uint64x2_t b = vaddq_u64(vreinterpretq_u64_f64(t), vdupq_n_u64(1023));
    return vreinterpretq_f64_u64(vshlq_n_u64(b, 52));
  }
  static reg mul_pow2_from_magic(reg p, reg t) noexcept {
    return vreinterpretq_f64_u64(vaddq_u64(vreinterpretq_u64_f64(p), vshlq_n_u64(vreinterpretq_u64_f64(t), 52)));
  }
  static reg log_split(reg x, reg& k) noexcept {
    const uint64x2_t ix = vreinterpretq_u64_f64(x);
    const uint64x2_t tmp = vsubq_u64(ix, vdupq_n_u64(0x3fe6a09e667f3bcdull));
    k = vcvtq_f64_s64(vshrq_n_s64(vreinterpretq_s64_u64(tmp), 52));
    return vreinterpretq_f64_u64(vsubq_u64(ix, vandq_u64(tmp, vdupq_n_u64(0xfff0000000000000ull))));
  }
  static double hmax(reg v) noexcept { return vmaxvq_f64(v); }
  static void store_lanes(reg v, double* out) noexcept { vst1q_f64(out, v); }
  using acc = float64x2_t;
  static acc acc_zero() noexcept { return vdupq_n_f64(0.0); }
  static acc acc_add(acc a, reg v) noexcept { return vaddq_f64(a, v); }
  static acc acc_add_sq(acc a, reg v) noexcept { return vfmaq_f64(a, v, v); }
  static acc acc_scale(acc a, reg s) noexcept { return vmulq_f64(a, s); }
  static void acc_store(acc a, double* out) noexcept { vst1q_f64(out, a); }
};
#endif  // NEON

// The widest set the compiler's baseline (-march) targets, usable from any code without a
// target region. Kernels do not use it: they dispatch (dispatch.hpp).
#if defined(TTSCALE_KERNELS_STATIC_AVX512)
using isa_native = isa_avx512;
#elif defined(TTSCALE_KERNELS_STATIC_AVX2)
using isa_native = isa_avx2;
#elif defined(TTSCALE_KERNELS_HAS_NEON)
using isa_native = isa_neon;
#elif defined(TTSCALE_KERNELS_HAS_SSE2)
using isa_native = isa_sse2;
#else
using isa_native = isa_scalar;
#endif

template <class T>
using native_ops = ops<T, isa_native>;

// Largest width of any set, for stack lane buffers.
inline constexpr std::size_t max_lanes = 16;

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE
