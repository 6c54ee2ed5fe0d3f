#include <ttscale/analysis/bootstrap.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace ttscale;

namespace {
/// P values, `ones` of them 1 and the rest 0, spread evenly.
std::vector<double> bernoulli_values(std::size_t problems, std::size_t ones) {
  std::vector<double> v(problems, 0.0);
  for (std::size_t i = 0; i < ones; ++i) v[i * problems / ones] = 1.0;
  return v;
}
constexpr double z975 = 1.959963984540054;  // standard normal 97.5% quantile
}  // namespace

TEST_CASE("uniform_below draws every value in [0, n) equally often", "[analysis][bootstrap]") {
  random_engine rng(7);
  constexpr std::size_t n = 7, draws = 70'000;
  std::vector<double> counts(n, 0.0);
  for (std::size_t d = 0; d < draws; ++d) {
    const std::uint64_t v = analysis::detail::uniform_below(rng, n);
    REQUIRE(v < n);
    counts[v] += 1;
  }
  double chi2 = 0;
  const double expected = static_cast<double>(draws) / n;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 27.86);  // chi-square, 6 degrees of freedom: 99.99th percentile
  CHECK(analysis::detail::uniform_below(rng, 1) == 0);
}

TEST_CASE("bootstrap_mean: estimate, containment and determinism", "[analysis][bootstrap]") {
  const std::vector<double> values = bernoulli_values(100, 30);
  const analysis::estimate_interval a = analysis::bootstrap_mean(values, {.seed = 11});
  CHECK(a.estimate == Approx(0.3).epsilon(1e-15));
  CHECK(a.confidence == 0.95);
  CHECK(a.low < a.estimate);
  CHECK(a.estimate < a.high);
  const analysis::estimate_interval again = analysis::bootstrap_mean(values, {.seed = 11});
  CHECK(again.low == a.low);
  CHECK(again.high == a.high);
  // Another seed, other endpoints (values off any grid, so quantiles cannot coincide by rounding).
  std::vector<double> spread(100);
  for (std::size_t i = 0; i < spread.size(); ++i) spread[i] = static_cast<double>(i * 37 % 101) / 101.0;
  const analysis::estimate_interval s11 = analysis::bootstrap_mean(spread, {.seed = 11});
  const analysis::estimate_interval s12 = analysis::bootstrap_mean(spread, {.seed = 12});
  CHECK(s11.low != s12.low);
  CHECK(s11.high != s12.high);
  // One problem: every resample is that problem.
  const std::vector<double> one{0.25};
  const analysis::estimate_interval single = analysis::bootstrap_mean(one);
  CHECK(single.estimate == 0.25);
  CHECK(single.low == 0.25);
  CHECK(single.high == 0.25);
}

TEST_CASE("bootstrap interval width follows the standard error and shrinks with more problems",
          "[analysis][bootstrap]") {
  // The bootstrap distribution of a mean of P values with a fraction p of ones
  // is Binomial(P, p)/P, close to normal here, so the 95% width is about
  // 2·1.96·sqrt(p(1-p)/P). With 1000 resamples each endpoint's own noise is
  // about 0.09 standard errors (sqrt(q(1-q)/B) / density at the quantile), so
  // the width is within 15% (5 of its standard deviations) of that.
  const auto width = [](std::size_t problems) {
    const analysis::estimate_interval e =
        analysis::bootstrap_mean(bernoulli_values(problems, problems * 3 / 10), {.seed = 5});
    return e.high - e.low;
  };
  const double narrow = width(1600), wide = width(100);
  CHECK(wide == Approx(2 * z975 * std::sqrt(0.21 / 100)).epsilon(0.15));
  CHECK(narrow == Approx(2 * z975 * std::sqrt(0.21 / 1600)).epsilon(0.15));
  CHECK(narrow < wide / 3);  // 16 times the problems: a quarter of the width
}

TEST_CASE("bootstrap 95% intervals cover the true mean about 95% of the time", "[analysis][bootstrap]") {
  // 400 data sets of 100 Bernoulli(0.3) problems: the number covering 0.3 is
  // Binomial(400, ~0.95), standard deviation 0.011; 4 of them either side. (The
  // percentile interval's known undercoverage at P = 100 is under 1%.)
  constexpr int sets = 400;
  random_engine data(2024);
  int covered = 0;
  for (int s = 0; s < sets; ++s) {
    std::vector<double> values(100);
    for (double& v : values) v = data.uniform() < 0.3 ? 1.0 : 0.0;
    const analysis::estimate_interval e =
        analysis::bootstrap_mean(values, {.resamples = 500, .seed = static_cast<std::uint64_t>(s)});
    if (e.low <= 0.3 && 0.3 <= e.high) ++covered;
  }
  const double rate = covered / static_cast<double>(sets), sd = std::sqrt(0.95 * 0.05 / sets);
  INFO("coverage " << rate);
  CHECK(rate >= 0.95 - 4 * sd);
  CHECK(rate <= 0.95 + 4 * sd);
}

TEST_CASE("bootstrap_column_means resamples every column with the same problem draws", "[analysis][bootstrap]") {
  // Column 1 is exactly twice column 0 (a power of two: every sum scales
  // exactly), so with shared draws its interval is exactly twice as well.
  std::vector<double> table;
  for (int p = 0; p < 50; ++p) {
    const double v = (p * 37 % 17) / 17.0;
    table.push_back(v);
    table.push_back(2 * v);
  }
  const auto columns = analysis::bootstrap_column_means(table, 2, {.resamples = 300, .confidence = 0.9, .seed = 1});
  REQUIRE(columns.size() == 2);
  CHECK(columns[1].estimate == 2 * columns[0].estimate);
  CHECK(columns[1].low == 2 * columns[0].low);
  CHECK(columns[1].high == 2 * columns[0].high);
  CHECK(columns[0].confidence == 0.9);
  // A narrower level gives a narrower interval from the same draws.
  const auto wider = analysis::bootstrap_column_means(table, 2, {.resamples = 300, .confidence = 0.99, .seed = 1});
  CHECK(wider[0].low <= columns[0].low);
  CHECK(wider[0].high >= columns[0].high);
}

TEST_CASE("bootstrap rejects what it cannot resample", "[analysis][bootstrap][errors]") {
  const std::vector<double> values{0.1, 0.2, 0.3};
  CHECK_THROWS_WITH(analysis::bootstrap_mean(std::vector<double>{}),
                    "analysis::bootstrap_mean: no values (need at least one problem)");
  CHECK_THROWS_WITH(analysis::bootstrap_mean(values, {.resamples = 0}),
                    "analysis::bootstrap_mean: options.resamples must be at least 1 (got 0)");
  CHECK_THROWS_WITH(analysis::bootstrap_mean(values, {.confidence = 0}),
                    "analysis::bootstrap_mean: options.confidence must be in (0, 1) (got 0)");
  CHECK_THROWS_WITH(analysis::bootstrap_mean(values, {.confidence = std::nan("")}),
                    "analysis::bootstrap_mean: options.confidence must be in (0, 1) (got nan)");
  const std::vector<double> bad{0.1, std::nan(""), 0.3, 0.4};
  CHECK_THROWS_WITH(analysis::bootstrap_column_means(bad, 2),
                    "analysis::bootstrap_column_means: the value of row 0, column 1 is nan (values must be finite)");
  CHECK_THROWS_WITH(analysis::bootstrap_column_means(values, 2),
                    "analysis::bootstrap_column_means: the table must hold a positive whole number of rows of 2 "
                    "columns (got 3 values)");
  CHECK_THROWS_WITH(analysis::bootstrap_column_means(values, 0),
                    "analysis::bootstrap_column_means: columns must be at least 1 (got 0)");
}
