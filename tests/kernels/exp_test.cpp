// Tests for ttscale/kernels/exp.hpp: the ulp bound against std::exp on a dense sample of
// every float / double in range, special values, and the span API on every instruction set.
#include <ttscale/kernels/exp.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

namespace {

// |got - exact| in units of the spacing of T at the correctly rounded result (subnormal
// spacing for subnormal results).
template <class T>
double ulp_error(T got, long double exact) {
  const T rounded = static_cast<T>(exact);
  if (std::isinf(rounded)) return std::isinf(got) ? 0.0 : 1e9;
  T a = std::fabs(rounded);
  const T up = std::nextafter(a, std::numeric_limits<T>::infinity());
  const long double spacing = static_cast<long double>(up) - static_cast<long double>(a);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / spacing);
}

template <class Ops, class T>
double worst_ulp(const std::vector<T>& xs, T& where) {
  std::vector<T> out(xs.size());
  kd::exp_span<Ops, T>(xs, out);
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const long double exact = std::exp(static_cast<long double>(xs[i]));
    const double e = ulp_error<T>(out[i], exact);
    if (e > worst) {
      worst = e;
      where = xs[i];
    }
  }
  return worst;
}

template <class T>
std::vector<T> edge_values() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {T(0), T(-0.0), T(1), T(-1), L::min(), -L::min(), L::denorm_min(), -L::denorm_min(),
                      T(0.5), T(-0.5), std::log(T(2)) / 2, -std::log(T(2)) / 2};
  const T lo = sizeof(T) == 4 ? T(-103.97) : T(-745.13);
  const T sub = sizeof(T) == 4 ? T(-87.336) : T(-708.39);
  const T hi = sizeof(T) == 4 ? T(88.7228) : T(709.782);
  for (T c : {lo, sub, hi}) {
    T x = c;
    for (int i = 0; i < 64; ++i) x = std::nextafter(x, -L::infinity());
    for (int i = 0; i < 128; ++i, x = std::nextafter(x, L::infinity())) v.push_back(x);
  }
  // Around every integer multiple of ln 2 / 2, where the reduction switches n.
  for (int n = -300; n <= 300; ++n) {
    const T x = static_cast<T>(n * 0.34657359027997264);
    if (x > lo && x < hi) {
      v.push_back(x);
      v.push_back(std::nextafter(x, L::infinity()));
      v.push_back(std::nextafter(x, -L::infinity()));
    }
  }
  return v;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("exp is within 2 ulp of the exact value on a dense sample", "[exp]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  std::vector<T> xs;
  if constexpr (sizeof(T) == 4) {
    // Every 97th float (every 997th off the native set, to keep Debug+ASan fast) whose exp
    // is neither 0 nor overflowing: [-103.97, 88.72], subnormal results included.
#ifdef NDEBUG
    const std::uint32_t stride = kt::level_of<typename TestType::isa>() == ttscale::kernels::best_isa() ? 97 : 997;
#else
    const std::uint32_t stride = 9973;
#endif
    xs.reserve(1u << 22);
    for (std::uint64_t b = 0; b <= 0xFFFFFFFFull; b += stride) {
      const float x = std::bit_cast<float>(static_cast<std::uint32_t>(b));
      if (x >= -103.97f && x <= 88.72f) xs.push_back(x);
      if (xs.size() == xs.capacity()) {
        T at = 0;
        const double w = worst_ulp<Ops, T>(xs, at);
        INFO("x = " << at);
        REQUIRE(w <= 2.0);
        xs.clear();
      }
    }
  } else {
#ifdef NDEBUG
    const int n = 2'000'000;
#else
    const int n = 200'000;
#endif
    std::mt19937_64 g(7);
    std::uniform_real_distribution<double> u(-745.13, 709.78);
    for (int i = 0; i < n / 2; ++i) xs.push_back(-745.13 + (709.78 + 745.13) * i / (n / 2));
    for (int i = 0; i < n / 2; ++i) xs.push_back(u(g));
    for (int i = 0; i < 20000; ++i) xs.push_back(std::ldexp(u(g), -static_cast<int>(g() % 60)));
  }
  for (T e : edge_values<T>()) xs.push_back(e);
  T at = 0;
  const double w = worst_ulp<Ops, T>(xs, at);
  INFO("worst at x = " << at << " : " << w << " ulp");
  REQUIRE(w <= 2.0);
}

TEMPLATE_LIST_TEST_CASE("exp special values", "[exp]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> in = {-kt::inf<T>, kt::inf<T>, nan, T(0), T(-0.0), T(-1e30), T(1e30), T(-200000), T(1000),
                       std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max(), T(-104), T(-746)};
  std::vector<T> out(in.size());
  kd::exp_span<Ops, T>(in, out);
  CHECK(out[0] == T(0));
  CHECK(!std::signbit(out[0]));
  CHECK(out[1] == kt::inf<T>);
  CHECK(std::isnan(out[2]));
  CHECK(out[3] == T(1));
  CHECK(out[4] == T(1));
  CHECK(out[5] == T(0));
  CHECK(out[6] == kt::inf<T>);
  CHECK(out[7] == T(0));
  CHECK(out[8] == kt::inf<T>);
  CHECK(out[9] == T(0));
  CHECK(out[10] == kt::inf<T>);
  if constexpr (sizeof(T) == 4) CHECK(out[11] == T(0));
  CHECK(out[12] == T(0));
}

TEMPLATE_TEST_CASE("exp span API: every length, in place, size mismatch", "[exp]", float, double) {
  for (std::size_t n : kt::lengths()) {
    auto x = kt::log_weights<TestType>(n, 0, n);
    for (auto& v : x) v = v / 4;
    std::vector<TestType> a(n), b(n);
    k::exp(x, a);
    k::scalar::exp(x, b);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(ulp_error<TestType>(a[i], std::exp((long double)x[i])) <= 2.0);
    k::exp(x, x);  // in place
    CHECK(x == a);
  }
  std::vector<TestType> x(3), y(4);
  CHECK_THROWS_AS(k::exp(x, y), ttscale::size_mismatch);
  CHECK_THROWS_WITH(k::scalar::exp(x, y), Catch::Contains("exp") && Catch::Contains("4") && Catch::Contains("3"));
}

TEMPLATE_TEST_CASE("exp_reg on the native register", "[exp]", float, double) {
  using V = kd::native_ops<TestType>;
  TestType in[kd::max_lanes], out[kd::max_lanes];
  for (std::size_t l = 0; l < V::width; ++l) in[l] = static_cast<TestType>(l) - TestType(3);
  V::store(out, kd::exp_reg<V>(V::load(in)));
  for (std::size_t l = 0; l < V::width; ++l) CHECK(ulp_error<TestType>(out[l], std::exp((long double)in[l])) <= 2.0);
}

TEMPLATE_LIST_TEST_CASE("exp: registers mixing -inf, NaN, tiny, huge and normal lanes", "[exp]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  // The fast path (every lane normal or -inf) and the general path must agree lane by lane
  // with the width-1 path, whatever the neighbours of a lane are.
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  using S = typename Ops::tail;  // the set's own width-1 path (fused where Ops is)
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T pool[] = {-kt::inf<T>, T(-0.5), T(3), T(-80), T(80), nan, T(-100), T(-700), T(1e30), T(-1e30), T(0)};
  std::mt19937_64 g(11);
  for (int rep = 0; rep < 2000; ++rep) {
    T in[kd::max_lanes], out[kd::max_lanes];
    for (std::size_t l = 0; l < Ops::width; ++l) in[l] = pool[g() % (rep < 1000 ? 5 : std::size(pool))];
    // One register: exp_span over exactly one width runs exp_reg once, no tail.
    kd::exp_span<Ops, T>(std::span<const T>(in, Ops::width), std::span<T>(out, Ops::width));
    for (std::size_t l = 0; l < Ops::width; ++l) {
      T ref;
      kd::exp_span<S, T>(std::span<const T>(in + l, 1), std::span<T>(&ref, 1));
      if (std::isnan(in[l])) {
        REQUIRE(std::isnan(out[l]));
      } else {
        INFO("x = " << in[l]);
        REQUIRE(std::bit_cast<kd::bits_t<T>>(out[l]) == std::bit_cast<kd::bits_t<T>>(ref));
        REQUIRE(ulp_error<T>(out[l], std::exp(static_cast<long double>(in[l]))) <= 2.0);
      }
    }
  }
}
