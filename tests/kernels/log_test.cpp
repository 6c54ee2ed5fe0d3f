// Tests for ttscale/kernels/log.hpp: the ulp bound against long double std::log on a strided
// sample of every positive float / random double bit patterns, special values in every lane
// position (fast and general paths), and the span API on every instruction set.
#include <ttscale/kernels/log.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

namespace {

template <class T>
double ulp_error(T got, long double exact) {
  const T rounded = static_cast<T>(exact);
  if (std::isinf(rounded)) return got == rounded ? 0.0 : 1e9;
  const T a = std::fabs(rounded);
  const T up = std::nextafter(a, std::numeric_limits<T>::infinity());
  const long double spacing = static_cast<long double>(up) - static_cast<long double>(a);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / spacing);
}

template <class Ops, class T>
double worst_ulp(const std::vector<T>& xs, T& where) {
  std::vector<T> out(xs.size());
  kd::log_span<Ops, T>(xs, out);
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double e = ulp_error<T>(out[i], std::log(static_cast<long double>(xs[i])));
    if (e > worst) {
      worst = e;
      where = xs[i];
    }
  }
  return worst;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("log is within 2 ulp of the exact value on (0, max]", "[log]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  std::vector<T> xs;
  if constexpr (sizeof(T) == 4) {
#ifdef NDEBUG
    const std::uint32_t stride = kt::level_of<typename TestType::isa>() == ttscale::kernels::best_isa() ? 397 : 3989;
#else
    const std::uint32_t stride = 99991;
#endif
    for (std::uint64_t b = 1; b < 0x7f800000ull; b += stride) xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
  } else {
#ifdef NDEBUG
    const int n = 1'000'000;
#else
    const int n = 40'000;
#endif
    std::mt19937_64 g(5);
    for (int i = 0; i < n; ++i) xs.push_back(std::bit_cast<double>(g() % 0x7ff0000000000000ull + 1));
    std::uniform_real_distribution<double> u(0.5, 2.0);
    for (int i = 0; i < n / 4; ++i) xs.push_back(u(g));
  }
  // Edges: powers of two, around sqrt(2) and 1, the smallest and largest values.
  using L = std::numeric_limits<T>;
  for (int e = L::min_exponent - L::digits; e < L::max_exponent; ++e) xs.push_back(std::ldexp(T(1), e));
  for (T c : {T(1), std::sqrt(T(2)), std::sqrt(T(0.5)), L::min(), L::denorm_min(), L::max()}) {
    T x = c;
    for (int i = 0; i < 32; ++i) x = std::nextafter(x, T(0));
    for (int i = 0; i < 64 && x < L::infinity(); ++i, x = std::nextafter(x, L::infinity())) xs.push_back(x);
  }
  T at = 0;
  const double w = worst_ulp<Ops, T>(xs, at);
  INFO("worst at x = " << at << " : " << w << " ulp");
  REQUIRE(w <= 2.0);
}

TEMPLATE_LIST_TEST_CASE("log special values in every lane mix", "[log]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  using L = std::numeric_limits<T>;
  const T nan = L::quiet_NaN();
  const T pool[] = {T(2.5), T(1), T(1e-3), L::max(), L::min(), T(0), T(-0.0), L::infinity(), -L::infinity(),
                    nan, T(-1), L::denorm_min(), T(3) * L::denorm_min()};
  std::mt19937_64 g(3);
  for (int rep = 0; rep < 2000; ++rep) {
    T in[kd::max_lanes], out[kd::max_lanes];
    for (std::size_t l = 0; l < Ops::width; ++l) in[l] = pool[g() % (rep < 500 ? 5 : std::size(pool))];
    // One register: log_span over exactly one width runs log_reg once, no tail.
    kd::log_span<Ops, T>(std::span<const T>(in, Ops::width), std::span<T>(out, Ops::width));
    for (std::size_t l = 0; l < Ops::width; ++l) {
      const T x = in[l];
      INFO("x = " << x);
      if (std::isnan(x) || x < 0) {
        REQUIRE(std::isnan(out[l]));
      } else if (x == 0) {
        REQUIRE(out[l] == -L::infinity());
      } else if (x == L::infinity()) {
        REQUIRE(out[l] == L::infinity());
      } else if (x == 1) {
        REQUIRE(out[l] == T(0));
        REQUIRE(!std::signbit(out[l]));
      } else {
        REQUIRE(ulp_error<T>(out[l], std::log(static_cast<long double>(x))) <= 2.0);
      }
    }
  }
}

TEMPLATE_TEST_CASE("log span API: every length, in place, size mismatch, scalar twin", "[log]", float, double) {
  for (std::size_t n : kt::lengths()) {
    std::vector<TestType> x(n);
    std::mt19937_64 g(n);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& v : x) v = static_cast<TestType>(1.0 - u(g));  // (0, 1]: the spacings' use
    std::vector<TestType> a(n), b(n);
    k::log(x, a);
    k::scalar::log(x, b);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(ulp_error<TestType>(a[i], std::log(static_cast<long double>(x[i]))) <= 2.0);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(std::fabs(a[i] - b[i]) <= 4 * std::numeric_limits<TestType>::epsilon() * std::fabs(b[i]));
    k::log(x, x);
    CHECK(x == a);
  }
  std::vector<TestType> x(3), y(4);
  CHECK_THROWS_AS(k::log(x, y), ttscale::size_mismatch);
  CHECK_THROWS_AS(k::scalar::log(x, y), ttscale::size_mismatch);
}
