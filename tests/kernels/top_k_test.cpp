// Tests for ttscale/kernels/top_k.hpp: argmax and top_k on every instruction set, with
// heavy ties, against the stable-sort reference; bit-identical indices required.
#include <ttscale/kernels/top_k.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

TEMPLATE_LIST_TEST_CASE("argmax and top_k equal the stable-sort reference", "[top_k]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  std::mt19937_64 g(11);
  for (std::size_t n : kt::lengths()) {
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<T> x(n);
      for (auto& v : x) {
        switch (kind) {
          case 0: v = static_cast<T>(g() % 5); break;  // many ties
          case 1: v = static_cast<T>(std::normal_distribution<double>()(g)); break;
          case 2: v = (g() % 2) ? -kt::inf<T> : static_cast<T>(g() % 3); break;
          default: v = static_cast<T>(&v - x.data()); break;  // ascending: worst case for the heap
        }
      }
      INFO("n = " << n << ", kind = " << kind);
      if (n > 0) REQUIRE(kd::argmax<Ops, T>(x) == k::scalar::argmax(std::span<const T>(x)));
      // n / 4 and n / 8 keep a fraction as beam search does (the threshold path), 1 and 3 of
      // a large n the heap.
      for (std::size_t kk : {std::size_t(0), std::size_t(1), std::size_t(3), n / 8, n / 4, n / 2, n}) {
        if (kk > n) continue;
        std::vector<std::uint32_t> a(kk), b(kk);
        kd::top_k<Ops, T>(std::span<const T>(x), std::span<std::uint32_t>(a));
        k::scalar::top_k(x, b);
        REQUIRE(a == b);
      }
    }
  }
}

TEMPLATE_TEST_CASE("argmax and top_k: ties, infinities, errors", "[top_k]", float, double) {
  using T = TestType;
  const std::vector<T> x = {1, 5, 5, -kt::inf<T>, 5, 2};
  CHECK(k::argmax(x) == 1);
  std::vector<std::int32_t> out(4);
  k::top_k(x, out);
  CHECK(out == std::vector<std::int32_t>{1, 2, 4, 5});
  std::vector<std::size_t> all(6);
  k::top_k(x, all);
  CHECK(all == std::vector<std::size_t>{1, 2, 4, 5, 0, 3});
  const std::vector<T> minf(5, -kt::inf<T>);
  CHECK(k::argmax(minf) == 0);
  const std::vector<T> pinf = {1, kt::inf<T>, kt::inf<T>};
  CHECK(k::argmax(pinf) == 1);
  const std::vector<T> empty;
  CHECK_THROWS_AS(k::argmax(empty), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::scalar::argmax(empty), ttscale::invalid_argument);
  const std::vector<T> nan = {1, std::numeric_limits<T>::quiet_NaN()};
  CHECK_THROWS_AS(k::argmax(nan), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::scalar::argmax(nan), "argmax: values[1] is NaN");
  std::vector<int> one(1);
  CHECK_THROWS_AS(k::top_k(nan, one), ttscale::invalid_score);
  std::vector<int> too_many(7);
  CHECK_THROWS_AS(k::top_k(x, too_many), ttscale::size_mismatch);
  CHECK_THROWS_WITH(k::scalar::top_k(x, too_many), Catch::Contains("7") && Catch::Contains("6"));
  // -0 and +0 are equal values: ties to the lower index, on both paths.
  const std::vector<T> zeros = {T(0), T(-0.0), T(1), T(-0.0), T(0), T(-1)};
  std::vector<int> z4(4), z1(1);
  k::top_k(zeros, z4);
  CHECK(z4 == std::vector<int>{2, 0, 1, 3});
  std::vector<T> many_zeros(64, T(-0.0));
  many_zeros[40] = T(0);
  many_zeros[7] = T(2);
  k::top_k(many_zeros, z1);
  CHECK(z1 == std::vector<int>{7});
  std::vector<int> z16(16), z16_reference(16);
  k::top_k(many_zeros, z16);
  k::scalar::top_k(many_zeros, z16_reference);
  CHECK(z16 == z16_reference);
  std::vector<int> none;
  k::top_k(empty, none);  // k = 0 of nothing is fine
  // 1e6 elements, ties from a small alphabet
  std::mt19937 g(3);
  std::vector<T> big(1'000'000);
  for (auto& v : big) v = static_cast<T>(g() % 1000);
  std::vector<std::int32_t> a(100), b(100);
  k::top_k(big, a);
  k::scalar::top_k(big, b);
  CHECK(a == b);
  CHECK(k::argmax(big) == k::scalar::argmax(std::span<const T>(big)));
}
