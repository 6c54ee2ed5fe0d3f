#include <ttscale/kernels/apportion.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using namespace ttscale;

namespace {
std::vector<std::size_t> apportioned(const std::vector<double>& w, std::size_t total) {
  std::vector<std::size_t> counts(w.size(), 99);
  kernels::apportion(w, total, counts);
  return counts;
}
}  // namespace

TEST_CASE("apportion: floors of the quotas plus the largest remainders, ties to the lowest index",
          "[kernels][apportion]") {
  // quotas 1.5, 1.5, 0.5, 0.5: floors 1, 1, 0, 0; two units left, four equal remainders.
  CHECK(apportioned({3, 3, 1, 1}, 4) == std::vector<std::size_t>{2, 2, 0, 0});
  // quotas 3.5, 2.1, 1.4 (weights 5, 3, 2 of 7): floors 3, 2, 1; remainders .5, .1, .4.
  CHECK(apportioned({5, 3, 2}, 7) == std::vector<std::size_t>{4, 2, 1});
  // Exact quotas: no remainder handling.
  CHECK(apportioned({1, 2, 1}, 8) == std::vector<std::size_t>{2, 4, 2});
  // Unnormalised weights are fine; a single item gets everything.
  CHECK(apportioned({1e-300}, 5) == std::vector<std::size_t>{5});
  // Zero weights never get a unit, even when units are left over.
  CHECK(apportioned({0, 1, 0, 1}, 3) == std::vector<std::size_t>{0, 2, 0, 1});
  CHECK(apportioned({1, 1, 1}, 0) == std::vector<std::size_t>{0, 0, 0});
  CHECK(apportioned({}, 0).empty());
}

TEST_CASE("apportion: the counts always sum to the total and stay within 1 of their quotas",
          "[kernels][apportion]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int trial = 0; trial < 2000; ++trial) {
    const std::size_t n = 1 + rng() % 40;
    const std::size_t total = rng() % 200;
    std::vector<double> w(n);
    for (double& x : w) x = rng() % 5 == 0 ? 0.0 : std::exp(10 * u(rng) - 5);  // log-uniform, some zeros
    w[rng() % n] = 1.0;                                                        // at least one positive
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    const auto c = apportioned(w, total);
    CHECK(std::accumulate(c.begin(), c.end(), std::size_t{0}) == total);
    for (std::size_t i = 0; i < n; ++i) {
      const double quota = static_cast<double>(total) * w[i] / sum;
      CHECK(std::abs(static_cast<double>(c[i]) - quota) < 1.0 + 1e-9);
      if (w[i] == 0.0) CHECK(c[i] == 0);
    }
  }
  // Quotas a hair from integers: thirds of 3 (each quota 1 up to rounding).
  CHECK(apportioned({1.0 / 3, 1.0 / 3, 1.0 / 3}, 3) == std::vector<std::size_t>{1, 1, 1});
  CHECK(apportioned({0.1, 0.2, 0.7}, 10) == std::vector<std::size_t>{1, 2, 7});
}

TEST_CASE("apportion: bad input is an invalid_argument naming the index and the value", "[kernels][apportion]") {
  std::vector<std::size_t> counts(2);
  CHECK_THROWS_WITH(kernels::apportion(std::vector<double>{1, -0.5}, 3, counts),
                    Catch::Contains("kernels::apportion: weights[1] is -0.5"));
  CHECK_THROWS_WITH(kernels::apportion(std::vector<double>{std::numeric_limits<double>::quiet_NaN(), 1}, 3, counts),
                    Catch::Contains("weights[0] is nan"));
  CHECK_THROWS_WITH(kernels::apportion(std::vector<double>{1, std::numeric_limits<double>::infinity()}, 3, counts),
                    Catch::Contains("weights[1] is inf"));
  CHECK_THROWS_WITH(kernels::apportion(std::vector<double>{0, 0}, 3, counts),
                    Catch::Contains("no positive weight"));
  CHECK_THROWS_AS(kernels::apportion(std::vector<double>{1, 1, 1}, 3, counts), invalid_argument);
  CHECK_NOTHROW(kernels::apportion(std::vector<double>{0, 0}, 0, counts));
}
