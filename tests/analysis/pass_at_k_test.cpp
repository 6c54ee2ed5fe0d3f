#include <ttscale/analysis/pass_at_k.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using namespace ttscale;
using analysis::pass_at_k;

namespace {
double relative_error(double got, double want) { return std::abs(got - want) / std::abs(want); }
}  // namespace

TEST_CASE("pass_at_k matches hand-computed values", "[analysis][pass_at_k]") {
  CHECK(pass_at_k(4, 1, 1) == 0.25);
  CHECK(pass_at_k(4, 2, 2) == Approx(5.0 / 6).epsilon(1e-15));       // 1 - C(2,2)/C(4,2) = 1 - 1/6
  CHECK(pass_at_k(10, 3, 3) == Approx(85.0 / 120).epsilon(1e-15));    // 1 - C(7,3)/C(10,3) = 1 - 35/120
  CHECK(pass_at_k(10, 3, 5) == Approx(1 - 21.0 / 252).epsilon(1e-15)); // 1 - C(7,5)/C(10,5)
  CHECK(pass_at_k(100, 1, 10) == 0.1);  // c = 1 or k = 1: c·k/n, rounded once
  CHECK(pass_at_k(100, 37, 1) == 0.37);
  CHECK(pass_at_k(5, 0, 3) == 0.0);  // no correct sample: exactly 0
  CHECK(pass_at_k(5, 5, 1) == 1.0);
  CHECK(pass_at_k(5, 3, 3) == 1.0);  // n - c = 2 < k: every 3-subset holds a correct sample
  CHECK(pass_at_k(1, 1, 1) == 1.0);
  CHECK(pass_at_k(1, 0, 1) == 0.0);
}

TEST_CASE("pass_at_k equals the exact binomial ratio for every n <= 20", "[analysis][pass_at_k]") {
  // Pascal's triangle in integers: C(20, 10) = 184756, so every difference and
  // ratio below is exact in double up to the final division's one rounding.
  std::uint64_t binomial[21][21] = {};
  for (int n = 0; n <= 20; ++n) {
    binomial[n][0] = 1;
    for (int k = 1; k <= n; ++k) binomial[n][k] = binomial[n - 1][k - 1] + binomial[n - 1][k];
  }
  double worst = 0;
  for (std::uint64_t n = 1; n <= 20; ++n)
    for (std::uint64_t c = 0; c <= n; ++c)
      for (std::uint64_t k = 1; k <= n; ++k) {
        const std::uint64_t all = binomial[n][k], missing = binomial[n - c][k];  // C(m, k) = 0 for k > m
        const double want = static_cast<double>(all - missing) / static_cast<double>(all);
        const double got = pass_at_k(n, c, k);
        INFO("n " << n << ", c " << c << ", k " << k);
        if (want == 0) {
          CHECK(got == 0.0);
          continue;
        }
        // The documented bound, plus half an ulp for the reference's own rounding.
        const double bound = static_cast<double>(std::min(c, k) + 3) * DBL_EPSILON + DBL_EPSILON / 2;
        CHECK(relative_error(got, want) <= bound);
        worst = std::max(worst, relative_error(got, want));
      }
  WARN("pass_at_k, n <= 20: largest relative error " << worst);
}

TEST_CASE("pass_at_k is stable at n = 10,000", "[analysis][pass_at_k][stability]") {
  constexpr std::uint64_t n = 10'000;
  SECTION("c = 1 gives k / n for every k") {
    double worst = 0;
    for (std::uint64_t k = 1; k <= n; ++k) {
      const double want = static_cast<double>(k) / static_cast<double>(n);
      worst = std::max(worst, relative_error(pass_at_k(n, 1, k), want));
    }
    CHECK(worst == 0);  // one factor: exactly k / n
  }
  SECTION("c = 2 matches the closed form in integers for every k") {
    // 1 - C(n-2, k)/C(n, k) = 1 - (n-k)(n-k-1) / (n(n-1)), exact in 64-bit integers.
    double worst = 0;
    for (std::uint64_t k = 1; k <= n; ++k) {
      const std::uint64_t all = n * (n - 1), missing = k < n ? (n - k) * (n - k - 1) : 0;
      const double want = static_cast<double>(all - missing) / static_cast<double>(all);
      worst = std::max(worst, relative_error(pass_at_k(n, 2, k), want));
    }
    CHECK(worst <= 1e-12);
    WARN("pass_at_k, n = 10,000, c = 2: largest relative error " << worst);
  }
  SECTION("c = 5000, k = 100 against a long-double product") {
    long double miss = 1;
    for (std::uint64_t i = 0; i < 100; ++i) miss *= static_cast<long double>(n - 5000 - i) / (n - i);
    CHECK(std::abs(pass_at_k(n, 5000, 100) - static_cast<double>(1 - miss)) <= 1e-12);
  }
  SECTION("a grid of c and k against a long-double product, relative to 1 - pass@k and to pass@k") {
    // Reference: the shorter exact-ratio product in long double (64-bit
    // mantissa: at most 5000 factors, so well under 1e-15 relative).
    REQUIRE(std::numeric_limits<long double>::digits >= 64);
    const std::uint64_t values[] = {1, 2, 7, 50, 300, 1000, 5000, 9990, 9999, 10'000};
    double worst = 0;
    for (std::uint64_t c : values)
      for (std::uint64_t k : values) {
        long double miss = 1;
        if (n - c < k) miss = 0;
        else if (c <= k)
          for (std::uint64_t i = n - c + 1; i <= n; ++i) miss *= static_cast<long double>(i - k) / i;
        else
          for (std::uint64_t i = 0; i < k; ++i) miss *= static_cast<long double>(n - c - i) / (n - i);
        const double got = pass_at_k(n, c, k);
        INFO("c " << c << ", k " << k << ": got " << got << ", reference miss " << static_cast<double>(miss));
        CHECK(std::isfinite(got));
        CHECK(relative_error(got, static_cast<double>(1 - miss)) <= 1e-12);
        worst = std::max(worst, relative_error(got, static_cast<double>(1 - miss)));
      }
    WARN("pass_at_k, n = 10,000 grid: largest relative error " << worst);
  }
  SECTION("finite, in [0, 1] and non-decreasing in k everywhere") {
    for (std::uint64_t c = 0; c <= n; c += (c < 20 ? 1 : 499)) {
      double previous = 0;
      for (std::uint64_t k = 1; k <= n; k += (k < 50 ? 1 : 97)) {
        const double p = pass_at_k(n, c, k);
        INFO("c " << c << ", k " << k << ": " << p);
        REQUIRE(std::isfinite(p));
        REQUIRE(p >= 0.0);
        REQUIRE(p <= 1.0);
        REQUIRE(p >= previous);
        previous = p;
      }
    }
  }
  SECTION("beyond 10,000: n = 10^7") {
    CHECK(relative_error(pass_at_k(10'000'000, 1, 3), 3e-7) <= 1e-12);
    const double p = pass_at_k(10'000'000, 1'000'000, 1'000'000);
    CHECK(std::isfinite(p));
    CHECK(p == 1.0);  // miss probability about 0.9^1e6: underflows, as it should
  }
}

TEST_CASE("pass_at_k rejects counts that cannot be", "[analysis][pass_at_k][errors]") {
  CHECK_THROWS_AS(pass_at_k(4, 5, 1), invalid_argument);
  CHECK_THROWS_WITH(pass_at_k(4, 5, 1), "analysis::pass_at_k: c must be at most n (got c 5, n 4)");
  CHECK_THROWS_WITH(pass_at_k(4, 1, 5), "analysis::pass_at_k: k must be in [1, n] (got k 5, n 4)");
  CHECK_THROWS_WITH(pass_at_k(4, 1, 0), "analysis::pass_at_k: k must be in [1, n] (got k 0, n 4)");
  CHECK_THROWS_WITH(pass_at_k(0, 0, 1), "analysis::pass_at_k: k must be in [1, n] (got k 1, n 0)");
}

TEST_CASE("coverage_curve averages pass@k over problems with a bootstrap interval", "[analysis][coverage]") {
  std::vector<analysis::problem_tally> problems;
  for (std::uint64_t p = 0; p < 40; ++p) problems.push_back({64, (p * 7) % 11});  // 0..10 correct of 64
  const std::vector<std::uint64_t> ks{1, 2, 4, 8, 16, 32, 64};
  const auto curve = analysis::coverage_curve(problems, ks, {.resamples = 500, .seed = 3});
  REQUIRE(curve.size() == ks.size());
  for (std::size_t j = 0; j < ks.size(); ++j) {
    double mean = 0;
    for (const auto& t : problems) mean += pass_at_k(t.samples, t.correct, ks[j]);
    mean /= static_cast<double>(problems.size());
    INFO("k " << ks[j]);
    CHECK(curve[j].k == ks[j]);
    CHECK(curve[j].coverage.estimate == Approx(mean).epsilon(1e-15));
    CHECK(curve[j].coverage.confidence == 0.95);
    CHECK(curve[j].coverage.low <= curve[j].coverage.estimate);
    CHECK(curve[j].coverage.estimate <= curve[j].coverage.high);
    CHECK(curve[j].coverage.low < curve[j].coverage.high);
    if (j > 0) {
      // pass@k rises with k for every problem, and every k is resampled with
      // the same problem draws, so each replicate, hence each quantile, rises.
      CHECK(curve[j].coverage.estimate >= curve[j - 1].coverage.estimate);
      CHECK(curve[j].coverage.low >= curve[j - 1].coverage.low);
      CHECK(curve[j].coverage.high >= curve[j - 1].coverage.high);
    }
  }
  // Deterministic: the same seed gives the same curve; another seed, other endpoints.
  const auto again = analysis::coverage_curve(problems, ks, {.resamples = 500, .seed = 3});
  const auto other = analysis::coverage_curve(problems, ks, {.resamples = 500, .seed = 4});
  bool any_differs = false;
  for (std::size_t j = 0; j < ks.size(); ++j) {
    CHECK(again[j].coverage.low == curve[j].coverage.low);
    CHECK(again[j].coverage.high == curve[j].coverage.high);
    any_differs = any_differs || other[j].coverage.low != curve[j].coverage.low;
  }
  CHECK(any_differs);
  // Identical problems: every resample is the same, so the interval has no width.
  const std::vector<analysis::problem_tally> same(10, {8, 3});
  const std::vector<std::uint64_t> k2{2};
  const auto flat = analysis::coverage_curve(same, k2);
  CHECK(flat[0].coverage.low == flat[0].coverage.estimate);
  CHECK(flat[0].coverage.high == flat[0].coverage.estimate);
  CHECK(analysis::coverage_curve(same, std::span<const std::uint64_t>{}).empty());
}

TEST_CASE("coverage_curve rejects problems it cannot estimate", "[analysis][coverage][errors]") {
  const std::vector<analysis::problem_tally> problems{{16, 2}, {16, 0}, {8, 1}, {16, 16}};
  const std::vector<std::uint64_t> ks{1, 16};
  CHECK_THROWS_WITH(analysis::coverage_curve(problems, ks),
                    "analysis::coverage_curve: problem 2 has 8 samples, fewer than k 16 (every problem needs at "
                    "least k samples)");
  const std::vector<std::uint64_t> zero{0};
  CHECK_THROWS_WITH(analysis::coverage_curve(problems, zero), "analysis::coverage_curve: k must be at least 1 (got 0)");
  const std::vector<analysis::problem_tally> impossible{{4, 1}, {4, 5}};
  const std::vector<std::uint64_t> one{1};
  CHECK_THROWS_WITH(analysis::coverage_curve(impossible, one),
                    "analysis::coverage_curve: problem 1 has 5 correct of 4 samples");
  CHECK_THROWS_WITH(analysis::coverage_curve({}, one), "analysis::coverage_curve: no problems (need at least one)");
  CHECK_THROWS_WITH(analysis::coverage_curve(problems, one, {.confidence = 1.0}),
                    "analysis::coverage_curve: options.confidence must be in (0, 1) (got 1)");
  CHECK_THROWS_AS(analysis::coverage_curve(problems, one, {.resamples = 0}), invalid_argument);
}
