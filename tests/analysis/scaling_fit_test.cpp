#include <ttscale/analysis/scaling_fit.hpp>
#include <ttscale/random.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace ttscale;
using analysis::coverage_law_fit;
using analysis::error_law_fit;

namespace {

// The ground truths the fits must recover.
constexpr double true_a = -2.5, true_b = 0.4;                               // c(k) = exp(a k^-b)
constexpr double true_floor = 0.1, true_scale = 2.0, true_alpha = 0.5;      // e(C) = e_inf + A C^-alpha
constexpr double coverage_noise = 0.005, error_noise = 0.002;               // Gaussian sd
constexpr int repeats = 50;

double coverage_at(double k) { return std::exp(true_a * std::pow(k, -true_b)); }
double error_at(double compute) { return true_floor + true_scale * std::pow(compute, -true_alpha); }

// k = 2^(i/2), i = 0..16: 17 budgets from 1 to 256 (c from 0.08 to 0.76).
std::vector<double> sample_budgets() {
  std::vector<double> k;
  for (int i = 0; i <= 16; ++i) k.push_back(std::pow(2.0, i / 2.0));
  return k;
}
// C = 10^(i/4), i = 0..16: 17 budgets from 1 to 1e4 (e from 2.1 to 0.12).
std::vector<double> compute_budgets() {
  std::vector<double> c;
  for (int i = 0; i <= 16; ++i) c.push_back(std::pow(10.0, i / 4.0));
  return c;
}

template <class Law>
std::vector<double> noisy(const std::vector<double>& x, Law law, double sd, std::uint64_t seed) {
  random_engine engine(seed);
  std::normal_distribution<double> noise(0.0, sd);
  std::vector<double> y;
  for (double xi : x) y.push_back(law(xi) + noise(engine));
  return y;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double sample_sd(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

TEST_CASE("fit_coverage_law recovers a noiseless law exactly", "[analysis][scaling_fit]") {
  const std::vector<double> k = sample_budgets();
  std::vector<double> c;
  for (double ki : k) c.push_back(coverage_at(ki));
  const coverage_law_fit fit = analysis::fit_coverage_law(k, c);
  CHECK(fit.converged);
  CHECK(std::abs(fit.a - true_a) < 1e-8);
  CHECK(std::abs(fit.b - true_b) < 1e-8);
  CHECK(fit.r_squared == Approx(1).margin(1e-12));
  CHECK(fit.rmse < 1e-10);
  REQUIRE(fit.residuals.size() == k.size());
  for (double r : fit.residuals) CHECK(std::abs(r) < 1e-10);
  CHECK(fit.predict(1000) == Approx(coverage_at(1000)).epsilon(1e-8));
  CHECK(std::isnan(fit.predict(0)));
  CHECK(std::isnan(fit.predict(-1)));
  const auto params = fit.parameters();
  CHECK(params[0].name == "a");
  CHECK(params[0].value == fit.a);
  CHECK(params[1].name == "b");
  CHECK(params[1].standard_error == fit.b_standard_error);
}

TEST_CASE("fit_coverage_law recovers a, b from noisy coverage; its standard errors match the spread",
          "[analysis][scaling_fit]") {
  // Gaussian noise of sd 0.005 on each of 17 coverage values. Each estimate
  // must lie within 4 of its own standard errors of the truth (a normal
  // deviate beyond 4 sd has probability 6e-5), and within a stated absolute
  // tolerance of 0.08 for a and 0.013 for b (4 sd at this noise: the spread
  // over these seeds is sd(a) = 0.020, sd(b) = 0.0033).
  // Over 50 seeds the mean standard error must match the sample sd of the
  // estimates within a factor of 2: the sample sd of 50 normal draws has a
  // relative sd of 1/sqrt(98) = 0.1, so a factor of 2 is ~5 of its sd away.
  const std::vector<double> k = sample_budgets();
  std::vector<double> a, b, a_se, b_se;
  for (int seed = 0; seed < repeats; ++seed) {
    const coverage_law_fit fit = analysis::fit_coverage_law(k, noisy(k, coverage_at, coverage_noise, 1000 + seed));
    CAPTURE(seed, fit.a, fit.b, fit.a_standard_error, fit.b_standard_error);
    REQUIRE(fit.converged);
    REQUIRE(std::isfinite(fit.a_standard_error));
    REQUIRE(std::isfinite(fit.b_standard_error));
    CHECK(std::abs(fit.a - true_a) <= 4 * fit.a_standard_error);
    CHECK(std::abs(fit.b - true_b) <= 4 * fit.b_standard_error);
    CHECK(std::abs(fit.a - true_a) < 0.08);
    CHECK(std::abs(fit.b - true_b) < 0.013);
    CHECK(fit.r_squared > 0.99);
    CHECK(fit.rmse < 2 * coverage_noise);
    a.push_back(fit.a), b.push_back(fit.b), a_se.push_back(fit.a_standard_error), b_se.push_back(fit.b_standard_error);
  }
  CAPTURE(sample_sd(a), mean(a_se), sample_sd(b), mean(b_se));
  CHECK(mean(a_se) / sample_sd(a) > 0.5);
  CHECK(mean(a_se) / sample_sd(a) < 2.0);
  CHECK(mean(b_se) / sample_sd(b) > 0.5);
  CHECK(mean(b_se) / sample_sd(b) < 2.0);
}

TEST_CASE("fit_error_law recovers a noiseless law exactly", "[analysis][scaling_fit]") {
  const std::vector<double> compute = compute_budgets();
  std::vector<double> e;
  for (double c : compute) e.push_back(error_at(c));
  const error_law_fit fit = analysis::fit_error_law(compute, e);
  CHECK(fit.converged);
  CHECK(std::abs(fit.irreducible_error - true_floor) < 1e-8);
  CHECK(std::abs(fit.scale - true_scale) < 1e-8);
  CHECK(std::abs(fit.exponent - true_alpha) < 1e-8);
  CHECK(fit.r_squared == Approx(1).margin(1e-12));
  CHECK(fit.predict(1e6) == Approx(error_at(1e6)).epsilon(1e-8));
  const auto params = fit.parameters();
  CHECK(params[0].name == "e_inf");
  CHECK(params[1].name == "A");
  CHECK(params[2].name == "alpha");
}

TEST_CASE("fit_error_law recovers e_inf, A, alpha from noisy error; its standard errors match the spread",
          "[analysis][scaling_fit]") {
  // Gaussian noise of sd 0.002 on 17 errors; bounds as for the coverage law:
  // 4 of the fit's own standard errors; stated absolute tolerances of 4 sd
  // at this noise (spread over these seeds: sd 0.00094 for e_inf, 0.0017 for
  // A, 0.00095 for alpha); mean standard error within a factor of 2 of the
  // spread over 50 seeds.
  const std::vector<double> compute = compute_budgets();
  std::vector<double> floor_estimates, scales, alphas, floor_se, scale_se, alpha_se;
  for (int seed = 0; seed < repeats; ++seed) {
    const error_law_fit fit = analysis::fit_error_law(compute, noisy(compute, error_at, error_noise, 2000 + seed));
    CAPTURE(seed, fit.irreducible_error, fit.scale, fit.exponent, fit.irreducible_error_standard_error,
            fit.scale_standard_error, fit.exponent_standard_error);
    REQUIRE(fit.converged);
    CHECK(fit.irreducible_error >= 0);
    CHECK(std::abs(fit.irreducible_error - true_floor) <= 4 * fit.irreducible_error_standard_error);
    CHECK(std::abs(fit.scale - true_scale) <= 4 * fit.scale_standard_error);
    CHECK(std::abs(fit.exponent - true_alpha) <= 4 * fit.exponent_standard_error);
    CHECK(std::abs(fit.irreducible_error - true_floor) < 0.004);
    CHECK(std::abs(fit.scale - true_scale) < 0.007);
    CHECK(std::abs(fit.exponent - true_alpha) < 0.004);
    floor_estimates.push_back(fit.irreducible_error), scales.push_back(fit.scale), alphas.push_back(fit.exponent);
    floor_se.push_back(fit.irreducible_error_standard_error), scale_se.push_back(fit.scale_standard_error);
    alpha_se.push_back(fit.exponent_standard_error);
  }
  CAPTURE(sample_sd(floor_estimates), mean(floor_se), sample_sd(scales), mean(scale_se), sample_sd(alphas),
          mean(alpha_se));
  for (const double ratio : {mean(floor_se) / sample_sd(floor_estimates), mean(scale_se) / sample_sd(scales),
                             mean(alpha_se) / sample_sd(alphas)}) {
    CHECK(ratio > 0.5);
    CHECK(ratio < 2.0);
  }
}

TEST_CASE("fit_error_law keeps the floor in [0, min error)", "[analysis][scaling_fit]") {
  const std::vector<double> compute = compute_budgets();
  SECTION("no floor in the data: e_inf goes to 0, not below") {
    std::vector<double> e;
    for (double c : compute) e.push_back(true_scale * std::pow(c, -true_alpha));
    const error_law_fit fit = analysis::fit_error_law(compute, e);
    CHECK(fit.irreducible_error >= 0);
    CHECK(fit.irreducible_error < 1e-4);
    CHECK(fit.predict(1e6) == Approx(true_scale * 1e-3).margin(1e-4));
  }
  SECTION("noise below the floor: e_inf stays under every observed error") {
    std::vector<double> e;
    for (double c : compute) e.push_back(error_at(c));
    e.back() = 0.09;  // below the true floor of 0.1
    const error_law_fit fit = analysis::fit_error_law(compute, e);
    CHECK(fit.irreducible_error >= 0);
    CHECK(fit.irreducible_error < 0.09);
  }
  SECTION("an observed error of 0 holds the floor at 0, with no standard error") {
    std::vector<double> e;
    for (double c : compute) e.push_back(true_scale * std::pow(c, -true_alpha));
    e.back() = 0;
    const error_law_fit fit = analysis::fit_error_law(compute, e);
    CHECK(fit.irreducible_error == 0);
    CHECK(std::isnan(fit.irreducible_error_standard_error));
    CHECK(std::isfinite(fit.scale_standard_error));
    CHECK(fit.exponent == Approx(true_alpha).margin(0.05));
  }
}

TEST_CASE("fit_coverage_law takes coverage 0 and 1 and zero weights", "[analysis][scaling_fit]") {
  const std::vector<double> k = sample_budgets();
  std::vector<double> c;
  for (double ki : k) c.push_back(coverage_at(ki));
  SECTION("0 and 1 are measurements: fitted, not used for the start") {
    std::vector<double> edges = c;
    edges.front() = 0, edges.back() = 1;
    const coverage_law_fit fit = analysis::fit_coverage_law(k, edges);
    CHECK(fit.converged);
    CHECK(std::isfinite(fit.a));
    CHECK(std::isfinite(fit.b));
    CHECK(fit.residuals.front() == Approx(0 - fit.predict(k.front())));
  }
  SECTION("a zero weight leaves an outlier out of the fit but keeps its residual") {
    std::vector<double> outlier = c;
    outlier[5] = 0.9;
    std::vector<double> weights(k.size(), 1.0);
    weights[5] = 0;
    const coverage_law_fit fit = analysis::fit_coverage_law(k, outlier, weights);
    CHECK(std::abs(fit.a - true_a) < 1e-8);
    CHECK(std::abs(fit.b - true_b) < 1e-8);
    CHECK(fit.residuals[5] == Approx(0.9 - coverage_at(k[5])).epsilon(1e-8));
    CHECK(fit.rmse < 1e-10);  // over the points with positive weight
  }
  SECTION("every coverage 1: a = 0, and b is not identifiable") {
    const coverage_law_fit fit = analysis::fit_coverage_law(std::vector<double>{1, 2, 4}, std::vector<double>{1, 1, 1});
    CHECK(fit.converged);
    CHECK(std::abs(fit.a) < 1e-12);
    CHECK(std::isnan(fit.b_standard_error));
    CHECK(fit.predict(100) == Approx(1));
  }
  SECTION("two points, two parameters: an exact fit without standard errors") {
    const std::vector<double> two_k{1, 4}, two_c{coverage_at(1), coverage_at(4)};
    const coverage_law_fit fit = analysis::fit_coverage_law(two_k, two_c);
    CHECK(fit.a == Approx(true_a).epsilon(1e-8));
    CHECK(fit.b == Approx(true_b).epsilon(1e-8));
    CHECK(std::isnan(fit.a_standard_error));
    CHECK(std::isnan(fit.b_standard_error));
  }
}

TEST_CASE("fit_coverage_law_and_predict: fitted on k <= 16, it predicts k = 64 and 256", "[analysis][scaling_fit]") {
  const std::vector<double> k{1, 2, 4, 8, 16, 32, 64, 128, 256};
  SECTION("noiseless: prediction error below 1e-6") {
    std::vector<double> c;
    for (double ki : k) c.push_back(coverage_at(ki));
    const auto held = analysis::fit_coverage_law_and_predict(k, c, 16);
    CHECK(held.fit.converged);
    CHECK(held.fit.residuals.size() == 5);
    CHECK(held.largest_fitted_x == 16);
    REQUIRE(held.predictions.size() == 2);
    CHECK(held.predictions[0].multiple == 4);
    CHECK(held.predictions[0].check.x == 64);
    CHECK(held.predictions[1].multiple == 16);
    CHECK(held.predictions[1].check.x == 256);
    for (const auto& p : held.predictions) {
      CHECK(p.check.observed == coverage_at(p.check.x));
      CHECK(p.check.absolute_error < 1e-6);
      CHECK(p.check.relative_error < 1e-6);
      CHECK(p.check.absolute_error == std::abs(p.check.predicted - p.check.observed));
    }
  }
  SECTION("noisy: prediction error within its propagated bound") {
    // The bound: 4 standard errors of each parameter pushed through
    // |dc/da| and |dc/db| at the held-out k (a linear, worst-sign bound), plus
    // 4 sd of the observation's own noise.
    for (int seed = 0; seed < repeats; ++seed) {
      const std::vector<double> c = noisy(k, coverage_at, coverage_noise, 3000 + seed);
      const auto held = analysis::fit_coverage_law_and_predict(k, c, 16);
      REQUIRE(held.predictions.size() == 2);
      for (const auto& p : held.predictions) {
        const double x = p.check.x, power = std::pow(x, -held.fit.b), predicted = p.check.predicted;
        const double dc_da = predicted * power, dc_db = -predicted * held.fit.a * power * std::log(x);
        const double bound = 4 * (std::abs(dc_da) * held.fit.a_standard_error +
                                  std::abs(dc_db) * held.fit.b_standard_error + coverage_noise);
        CAPTURE(seed, x, p.check.absolute_error, bound);
        CHECK(p.check.absolute_error <= bound);
        // Stated: within 0.05 coverage at 4× and 16× (worst over these seeds: 0.022).
        CHECK(p.check.absolute_error < 0.05);
      }
    }
  }
  SECTION("the nearest measured budget stands in for an unmeasured multiple") {
    const std::vector<double> sparse_k{1, 2, 4, 8, 16, 30, 100};
    std::vector<double> c;
    for (double ki : sparse_k) c.push_back(coverage_at(ki));
    const auto held = analysis::fit_coverage_law_and_predict(sparse_k, c, 16);
    REQUIRE(held.predictions.size() == 2);
    CHECK(held.predictions[0].check.x == 100);  // |log(100/64)| < |log(30/64)|
    CHECK(held.predictions[1].check.x == 100);  // the largest measured, nearest to 256
    CHECK(held.predictions[0].check.absolute_error < 1e-6);
  }
  SECTION("repeated measurements at the held-out budget are averaged") {
    const std::vector<double> rk{1, 2, 4, 8, 16, 64, 64};
    std::vector<double> c;
    for (double ki : rk) c.push_back(coverage_at(ki));
    c[5] -= 0.01, c[6] += 0.03;
    const auto held = analysis::fit_coverage_law_and_predict(rk, c, 16, analysis::default_prediction_multiples);
    REQUIRE(held.predictions.size() == 2);
    CHECK(held.predictions[0].check.observed == Approx(coverage_at(64) + 0.01));
  }
  SECTION("nothing beyond the cut-off: no predictions") {
    const auto held = analysis::fit_coverage_law_and_predict(std::vector<double>{1, 2, 4},
                                                             std::vector<double>{0.1, 0.2, 0.3}, 16);
    CHECK(held.predictions.empty());
  }
}

TEST_CASE("fit_error_law_and_predict: fitted on C <= 100, it predicts C = 400 and 1600", "[analysis][scaling_fit]") {
  const std::vector<double> compute{1, 2, 5, 10, 20, 50, 100, 400, 1600};
  std::vector<double> e;
  for (double c : compute) e.push_back(error_at(c));
  const auto held = analysis::fit_error_law_and_predict(compute, e, 100);
  CHECK(held.largest_fitted_x == 100);
  REQUIRE(held.predictions.size() == 2);
  CHECK(held.predictions[0].check.x == 400);
  CHECK(held.predictions[1].check.x == 1600);
  for (const auto& p : held.predictions) CHECK(p.check.absolute_error < 1e-6);
}

TEST_CASE("check_predictions compares any law with observations", "[analysis][scaling_fit]") {
  struct constant_law {
    double value;
    double predict(double) const { return value; }
  };
  static_assert(analysis::fitted_law<constant_law>);
  static_assert(analysis::fitted_law<coverage_law_fit>);
  static_assert(analysis::fitted_law<error_law_fit>);
  const std::vector<double> x{1, 2, 3}, y{0.5, 0.4, 0};
  const auto checks = analysis::check_predictions(constant_law{0.4}, x, y);
  REQUIRE(checks.size() == 3);
  CHECK(checks[0].absolute_error == Approx(0.1));
  CHECK(checks[0].relative_error == Approx(0.2));
  CHECK(checks[1].absolute_error == 0);
  CHECK(checks[1].relative_error == 0);
  CHECK(checks[2].relative_error == std::numeric_limits<double>::infinity());
  const std::vector<double> one{1}, zero{0};
  CHECK(analysis::check_predictions(constant_law{0}, one, zero)[0].relative_error == 0);
  CHECK_THROWS_WITH(analysis::check_predictions(constant_law{0}, x, std::vector<double>{1}),
                    Catch::Contains("check_predictions: 3 x values and 1 y values"));
  const std::vector<double> not_finite{std::nan("")};
  CHECK_THROWS_WITH(analysis::check_predictions(constant_law{0}, not_finite, one),
                    Catch::Contains("point 0 (nan, 1) is not finite"));
}

TEST_CASE("scaling-law fits reject bad inputs with clear errors", "[analysis][scaling_fit][errors]") {
  using V = std::vector<double>;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // sizes differ
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 0.2}),
                    Catch::Contains("fit_coverage_law: 3 k values and 2 coverage values"));
  CHECK_THROWS_WITH(analysis::fit_error_law(V{1, 2, 4}, V{0.1, 0.2, 0.3}, V{1, 1}),
                    Catch::Contains("fit_error_law: 2 weights for 3 points"));
  // fewer points than parameters; too few distinct x
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{4}, V{0.5}),
                    Catch::Contains("fit_coverage_law: the law has 2 parameters but the points with positive weight "
                                    "have 1 distinct k values"));
  CHECK_THROWS_WITH(analysis::fit_error_law(V{1, 2}, V{0.5, 0.4}), Catch::Contains("the law has 3 parameters"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{4, 4, 4}, V{0.5, 0.6, 0.55}), Catch::Contains("1 distinct k values"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 0.2, 0.3}, V{1, 0, 0}),
                    Catch::Contains("1 distinct k values"));
  CHECK_THROWS_AS(analysis::fit_coverage_law(V{}, V{}), invalid_argument);
  // non-positive or non-finite x
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 0, 4}, V{0.1, 0.2, 0.3}),
                    Catch::Contains("fit_coverage_law: k[1] is 0; it must be positive and finite"));
  CHECK_THROWS_WITH(analysis::fit_error_law(V{1, -2, 4}, V{0.3, 0.2, 0.1}), Catch::Contains("compute[1] is -2"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, nan, 4}, V{0.1, 0.2, 0.3}), Catch::Contains("k[1] is nan"));
  CHECK_THROWS_AS(analysis::fit_coverage_law(V{1, std::numeric_limits<double>::infinity()}, V{0.1, 0.2}),
                  invalid_argument);
  // coverage outside [0, 1], NaN; negative error
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 1.5, 0.3}),
                    Catch::Contains("fit_coverage_law: coverage[1] is 1.5; it must be in [0, 1]"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{-0.1, 0.2, 0.3}), Catch::Contains("coverage[0] is -0.1"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 0.2, nan}), Catch::Contains("coverage[2] is nan"));
  CHECK_THROWS_WITH(analysis::fit_error_law(V{1, 2, 4}, V{0.3, -0.2, 0.1}),
                    Catch::Contains("fit_error_law: error[1] is -0.2; it must be non-negative and finite"));
  CHECK_THROWS_WITH(analysis::fit_error_law(V{1, 2, 4}, V{0.3, nan, 0.1}), Catch::Contains("error[1] is nan"));
  // weights
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 0.2, 0.3}, V{1, -1, 1}),
                    Catch::Contains("fit_coverage_law: weights[1] is -1; weights must be finite and non-negative"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law(V{1, 2, 4}, V{0.1, 0.2, 0.3}, V{1, nan, 1}),
                    Catch::Contains("weights[1] is nan"));
  // held-out helpers
  const V k{1, 2, 4, 8, 16, 64}, c{0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  CHECK_THROWS_WITH(analysis::fit_coverage_law_and_predict(k, c, 0),
                    Catch::Contains("fit_coverage_law_and_predict: fit_up_to is 0; it must be positive and finite"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law_and_predict(k, c, nan), Catch::Contains("fit_up_to is nan"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law_and_predict(k, c, 16, V{4, 1}),
                    Catch::Contains("multiples[1] is 1; a prediction multiple must be above 1"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law_and_predict(k, c, 1.5),
                    Catch::Contains("fit_coverage_law_and_predict: the law has 2 parameters but the points at k <= "
                                    "fit_up_to (1.5) with positive weight have 1 distinct k values"));
  CHECK_THROWS_WITH(analysis::fit_coverage_law_and_predict(k, V{0.1, 0.2, 0.3, 0.4, 0.5, 1.2}, 16),
                    Catch::Contains("coverage[5] is 1.2"));  // held-out points are checked too
  CHECK_THROWS_WITH(analysis::fit_error_law_and_predict(V{1, 2, 4, 8}, V{0.4, 0.3, 0.2, 0.1}, 2),
                    Catch::Contains("fit_error_law_and_predict: the law has 3 parameters"));
}
