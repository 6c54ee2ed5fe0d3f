// Shared helpers for the kernels tests: the list of (type, instruction set) cases compiled
// into the build, the switch that runs a case only where the CPU has its set, long double
// references and input generators with fixed seeds.
#pragma once

#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <tuple>
#include <vector>

namespace kt {

namespace kd = ttscale::kernels::detail;

template <class T, class Isa>
struct tc {
  using value_type = T;
  using isa = Isa;
  using ops = kd::ops<T, Isa>;
};

// Every instruction set compiled into this binary, float and double: scalar and the
// baseline (SSE2 on x86-64) always, and AVX2 and AVX-512 on x86-64 with GCC or Clang even
// without -march (run-time dispatch). KT_RUN_AT(isa) skips the sets the CPU lacks.
using isa_cases = std::tuple<tc<float, kd::isa_scalar>, tc<double, kd::isa_scalar>
#ifdef TTSCALE_KERNELS_HAS_SSE2
                             ,
                             tc<float, kd::isa_sse2>, tc<double, kd::isa_sse2>
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX2
                             ,
                             tc<float, kd::isa_avx2>, tc<double, kd::isa_avx2>
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX512
                             ,
                             tc<float, kd::isa_avx512>, tc<double, kd::isa_avx512>
#endif
#ifdef TTSCALE_KERNELS_HAS_NEON
                             ,
                             tc<float, kd::isa_neon>, tc<double, kd::isa_neon>
#endif
                             >;

template <class Isa>
constexpr ttscale::kernels::isa level_of() {
  using ttscale::kernels::isa;
  if constexpr (std::is_same_v<Isa, kd::isa_sse2>) return isa::sse2;
  else if constexpr (std::is_same_v<Isa, kd::isa_avx2>) return isa::avx2;
  else if constexpr (std::is_same_v<Isa, kd::isa_avx512>) return isa::avx512;
  else if constexpr (std::is_same_v<Isa, kd::isa_neon>) return isa::neon;
  else return isa::scalar;
}

// Whether this run tests `level`: the CPU has it and, when TTSCALE_ISA forces a level (CTest
// runs each kernels test once per level, tests/CMakeLists.txt), it is that level.
inline bool runs_at(ttscale::kernels::isa level) {
  if (!ttscale::kernels::isa_supported(level)) return false;
  const char* forced = std::getenv("TTSCALE_ISA");
  return forced == nullptr || *forced == '\0' || ttscale::kernels::isa_name(level) == forced;
}

// For one test case: the public kernels run at `level` too (restored at the end of the case).
class isa_scope {
 public:
  explicit isa_scope(ttscale::kernels::isa level) : previous_(ttscale::kernels::active_isa()) {
    ttscale::kernels::force_isa(level);
  }
  ~isa_scope() { ttscale::kernels::force_isa(previous_); }
  isa_scope(const isa_scope&) = delete;
  isa_scope& operator=(const isa_scope&) = delete;

 private:
  ttscale::kernels::isa previous_;
};

template <class T>
constexpr T eps = std::numeric_limits<T>::epsilon();
template <class T>
constexpr T inf = std::numeric_limits<T>::infinity();

inline long double lse_ref(std::span<const long double> x) {
  long double m = -std::numeric_limits<long double>::infinity();
  for (long double v : x) m = std::max(m, v);
  long double s = 0;
  for (long double v : x) s += std::exp(v - m);
  return m + std::log(s);
}

template <class T>
std::vector<long double> widen(std::span<const T> x, T scale = T(1)) {
  std::vector<long double> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = static_cast<long double>(x[i]) * static_cast<long double>(scale);
  return r;
}

// The input families every log-weight kernel is checked on. `kind` cycles through them.
template <class T>
std::vector<T> log_weights(std::size_t n, int kind, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<T> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double z = nd(g);
    switch (kind) {
      case 0: x[i] = static_cast<T>(10 * z); break;                          // typical spread
      case 1: x[i] = static_cast<T>(z * 1e30); break;                        // huge spread
      case 2: x[i] = T(3.25); break;                                         // all equal
      case 3: x[i] = i == n / 2 ? T(-7) : -inf<T>; break;                    // one finite among -inf
      case 4: x[i] = static_cast<T>(z * std::numeric_limits<T>::denorm_min() * 8); break;  // denormals
      case 5: x[i] = (g() % 3 == 0) ? -inf<T> : static_cast<T>(z - 1e4); break;  // -inf mixed, large offset
      case 6: x[i] = static_cast<T>(i) * T(0.5); break;                      // ascending: max moves every step
      default: x[i] = static_cast<T>(-1000 + 300 * z); break;                // exps far in the tails
    }
  }
  return x;
}
inline constexpr int n_kinds = 8;

// Lengths 0..67 (every tail for every width), then larger sizes.
inline std::vector<std::size_t> lengths() {
  std::vector<std::size_t> r;
  for (std::size_t n = 0; n <= 67; ++n) r.push_back(n);
  r.push_back(1000);
  r.push_back(4096 + 3);
  return r;
}

}  // namespace kt

// First line of a test case over instruction sets: returns (the case passes with a note)
// unless this run tests the set Isa; otherwise the public kernels run at Isa for the case.
#define KT_RUN_AT(Isa)                                                                        \
  if (!kt::runs_at(kt::level_of<Isa>())) {                                                    \
    WARN("instruction set " << ttscale::kernels::isa_name(kt::level_of<Isa>()) << " not run here"); \
    return;                                                                                   \
  }                                                                                           \
  const kt::isa_scope kt_isa_scope_(kt::level_of<Isa>())
