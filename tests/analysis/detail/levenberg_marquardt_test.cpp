#include <ttscale/analysis/detail/levenberg_marquardt.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace ttscale;
using analysis::detail::levenberg_marquardt;
using analysis::detail::lm_stop;

namespace {

// Rosenbrock's valley as least squares: r = (10 (y − x^2), 1 − x), minimum 0 at
// (1, 1), reached from the classic start (−1.2, 1) only by following the
// curved valley — the standard hard case for a damped Gauss–Newton method.
Eigen::VectorXd rosenbrock(const Eigen::VectorXd& p) { return Eigen::Vector2d(10 * (p[1] - p[0] * p[0]), 1 - p[0]); }
Eigen::MatrixXd rosenbrock_jacobian(const Eigen::VectorXd& p) {
  Eigen::Matrix2d j;
  j << -20 * p[0], 10, -1, 0;
  return j;
}

// y = 3 exp(−0.7 t) + 0.5 at t = 0..9, fitted by (A, k, c) from (1, 0.1, 0).
struct decay {
  std::vector<double> t, y;
  decay() {
    for (int i = 0; i < 10; ++i) t.push_back(i), y.push_back(3 * std::exp(-0.7 * i) + 0.5);
  }
  Eigen::VectorXd residuals(const Eigen::VectorXd& p) const {
    Eigen::VectorXd r(static_cast<Eigen::Index>(t.size()));
    for (std::size_t i = 0; i < t.size(); ++i)
      r[static_cast<Eigen::Index>(i)] = p[0] * std::exp(-p[1] * t[i]) + p[2] - y[i];
    return r;
  }
  Eigen::MatrixXd jacobian(const Eigen::VectorXd& p) const {
    Eigen::MatrixXd j(static_cast<Eigen::Index>(t.size()), 3);
    for (std::size_t i = 0; i < t.size(); ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      j(row, 0) = std::exp(-p[1] * t[i]);
      j(row, 1) = -p[0] * t[i] * std::exp(-p[1] * t[i]);
      j(row, 2) = 1;
    }
    return j;
  }
};

// A straight line with fixed "noise" (not random: the test needs only a
// non-zero residual), for closed-form comparisons.
const std::vector<double> line_x{0, 1, 2, 3, 4, 5, 6, 7};
const std::vector<double> line_y{1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 12.7, 15.3};

Eigen::VectorXd line_residuals(const Eigen::VectorXd& p) {
  Eigen::VectorXd r(8);
  for (int i = 0; i < 8; ++i) r[i] = p[0] + p[1] * line_x[i] - line_y[i];
  return r;
}
Eigen::MatrixXd line_jacobian(const Eigen::VectorXd&) {
  Eigen::MatrixXd j(8, 2);
  for (int i = 0; i < 8; ++i) j.row(i) << 1, line_x[i];
  return j;
}

struct ordinary_least_squares {
  double intercept, slope, intercept_se, slope_se;
};
// Textbook OLS: slope = Sxy/Sxx, se(slope) = sqrt(s^2/Sxx),
// se(intercept) = sqrt(s^2 (1/n + mean_x^2/Sxx)), s^2 = SSR/(n − 2).
ordinary_least_squares ols(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  const double slope = sxy / sxx, intercept = my - slope * mx;
  double ssr = 0;
  for (std::size_t i = 0; i < x.size(); ++i) ssr += std::pow(y[i] - intercept - slope * x[i], 2);
  const double s2 = ssr / (n - 2);
  return {intercept, slope, std::sqrt(s2 * (1 / n + mx * mx / sxx)), std::sqrt(s2 / sxx)};
}

}  // namespace

TEST_CASE("levenberg_marquardt solves Rosenbrock's valley to 1e-8", "[analysis][levenberg_marquardt]") {
  SECTION("analytic Jacobian") {
    const auto fit = levenberg_marquardt(rosenbrock, rosenbrock_jacobian, Eigen::Vector2d(-1.2, 1));
    CHECK(fit.converged);
    CHECK(std::abs(fit.parameters[0] - 1) < 1e-8);
    CHECK(std::abs(fit.parameters[1] - 1) < 1e-8);
    CHECK(fit.cost < 1e-16);
    CHECK(fit.iterations < 100);
  }
  SECTION("forward differences") {
    const auto fit = levenberg_marquardt(rosenbrock, Eigen::Vector2d(-1.2, 1));
    CHECK(fit.converged);
    CHECK(std::abs(fit.parameters[0] - 1) < 1e-8);
    CHECK(std::abs(fit.parameters[1] - 1) < 1e-8);
  }
  SECTION("an iteration limit stops it, not converged") {
    const auto fit = levenberg_marquardt(rosenbrock, rosenbrock_jacobian, Eigen::Vector2d(-1.2, 1), {},
                                         {.max_iterations = 2});
    CHECK_FALSE(fit.converged);
    CHECK(fit.stop == lm_stop::max_iterations);
    CHECK(fit.iterations == 2);
  }
}

TEST_CASE("levenberg_marquardt fits an exponential decay to 1e-8", "[analysis][levenberg_marquardt]") {
  const decay d;
  auto r = [&](const Eigen::VectorXd& p) { return d.residuals(p); };
  auto j = [&](const Eigen::VectorXd& p) { return d.jacobian(p); };
  for (const bool analytic : {true, false}) {
    CAPTURE(analytic);
    const auto fit = analytic ? levenberg_marquardt(r, j, Eigen::Vector3d(1, 0.1, 0))
                              : levenberg_marquardt(r, Eigen::Vector3d(1, 0.1, 0));
    CHECK(fit.converged);
    CHECK(std::abs(fit.parameters[0] - 3) < 1e-8);
    CHECK(std::abs(fit.parameters[1] - 0.7) < 1e-8);
    CHECK(std::abs(fit.parameters[2] - 0.5) < 1e-8);
    // A perfect fit has zero residual variance, so zero standard errors.
    CHECK(fit.standard_errors.maxCoeff() < 1e-7);
  }
}

TEST_CASE("levenberg_marquardt standard errors match ordinary least squares", "[analysis][levenberg_marquardt]") {
  const ordinary_least_squares want = ols(line_x, line_y);
  const auto fit = levenberg_marquardt(line_residuals, line_jacobian, Eigen::Vector2d(0, 0));
  REQUIRE(fit.converged);
  CHECK(fit.parameters[0] == Approx(want.intercept).epsilon(1e-9));
  CHECK(fit.parameters[1] == Approx(want.slope).epsilon(1e-9));
  CHECK(fit.standard_errors[0] == Approx(want.intercept_se).epsilon(1e-9));
  CHECK(fit.standard_errors[1] == Approx(want.slope_se).epsilon(1e-9));
  // Forward differences carry a rounding error of about sqrt(eps)·|r|/|J| in
  // each Jacobian entry (1e-7 here), which moves the optimum they find by as
  // much: half the digits, as documented.
  const auto fd = levenberg_marquardt(line_residuals, Eigen::Vector2d(0, 0));
  REQUIRE(fd.converged);
  CHECK(fd.parameters[0] == Approx(want.intercept).epsilon(1e-6));
  CHECK(fd.parameters[1] == Approx(want.slope).epsilon(1e-6));
  CHECK(fd.standard_errors[0] == Approx(want.intercept_se).epsilon(1e-6));
  CHECK(fd.standard_errors[1] == Approx(want.slope_se).epsilon(1e-6));
}

TEST_CASE("levenberg_marquardt weights: zero leaves a point out, and an integer weight repeats it",
          "[analysis][levenberg_marquardt]") {
  std::vector<double> weights(8, 1.0);
  weights[3] = 0;
  const auto fit = levenberg_marquardt(line_residuals, line_jacobian, Eigen::Vector2d(0, 0), weights);
  std::vector<double> x = line_x, y = line_y;
  x.erase(x.begin() + 3), y.erase(y.begin() + 3);
  const ordinary_least_squares want = ols(x, y);
  CHECK(fit.parameters[0] == Approx(want.intercept).epsilon(1e-9));
  CHECK(fit.parameters[1] == Approx(want.slope).epsilon(1e-9));
  // m_eff = 7 points with positive weight: sigma^2 = SSR/(7 − 2), as OLS on 7 points.
  CHECK(fit.standard_errors[1] == Approx(want.slope_se).epsilon(1e-9));
  CHECK(fit.residuals.size() == 8);  // the left-out point still has its residual

  weights.assign(8, 1.0);
  weights[5] = 2;
  x = line_x, y = line_y;
  x.push_back(line_x[5]), y.push_back(line_y[5]);
  const auto doubled = levenberg_marquardt(line_residuals, line_jacobian, Eigen::Vector2d(0, 0), weights);
  const ordinary_least_squares repeated = ols(x, y);
  CHECK(doubled.parameters[0] == Approx(repeated.intercept).epsilon(1e-9));
  CHECK(doubled.parameters[1] == Approx(repeated.slope).epsilon(1e-9));
}

TEST_CASE("levenberg_marquardt: singular J^T J gives NaN standard errors for what the data cannot identify",
          "[analysis][levenberg_marquardt]") {
  // y ≈ (p0 + p1) x + p2: only p0 + p1 is determined, so J has two equal
  // columns. p2 (the intercept) is still identifiable and keeps the OLS error.
  auto r = [](const Eigen::VectorXd& p) {
    Eigen::VectorXd out(8);
    for (int i = 0; i < 8; ++i) out[i] = (p[0] + p[1]) * line_x[i] + p[2] - line_y[i];
    return out;
  };
  auto j = [](const Eigen::VectorXd&) {
    Eigen::MatrixXd out(8, 3);
    for (int i = 0; i < 8; ++i) out.row(i) << line_x[i], line_x[i], 1;
    return out;
  };
  const ordinary_least_squares want = ols(line_x, line_y);
  for (const Eigen::Vector3d& start : {Eigen::Vector3d(0, 0, 0), Eigen::Vector3d(5, -7, 1)}) {
    const auto fit = levenberg_marquardt(r, j, start);
    CHECK(fit.converged);
    CHECK(fit.parameters[0] + fit.parameters[1] == Approx(want.slope).epsilon(1e-9));
    CHECK(fit.parameters[2] == Approx(want.intercept).epsilon(1e-9));
    CHECK(std::isnan(fit.standard_errors[0]));
    CHECK(std::isnan(fit.standard_errors[1]));
    // sigma^2 uses m − p = 8 − 3 degrees of freedom here, OLS uses 8 − 2.
    CHECK(fit.standard_errors[2] == Approx(want.intercept_se * std::sqrt(6.0 / 5.0)).epsilon(1e-9));
  }
  // An all-zero Jacobian: nothing is identifiable.
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(3, 2);
  const Eigen::VectorXd some = Eigen::Vector3d(1, 2, 3);
  const Eigen::VectorXd se = analysis::detail::least_squares_standard_errors(zero, some);
  CHECK(std::isnan(se[0]));
  CHECK(std::isnan(se[1]));
}

TEST_CASE("levenberg_marquardt: no degrees of freedom gives NaN standard errors", "[analysis][levenberg_marquardt]") {
  // Two points, two parameters: an exact fit with m − p = 0.
  auto r = [](const Eigen::VectorXd& p) { return Eigen::Vector2d(p[0] + p[1] * 1 - 3, p[0] + p[1] * 2 - 5); };
  const auto fit = levenberg_marquardt(r, Eigen::Vector2d(0, 0));
  CHECK(fit.converged);
  CHECK(fit.parameters[0] == Approx(1).epsilon(1e-9));
  CHECK(fit.parameters[1] == Approx(2).epsilon(1e-9));
  CHECK(std::isnan(fit.standard_errors[0]));
  CHECK(std::isnan(fit.standard_errors[1]));
}

TEST_CASE("levenberg_marquardt rejects a step into NaN and still converges", "[analysis][levenberg_marquardt]") {
  // r = sqrt(p) − 0.1 from p = 4: the Gauss–Newton step lands at p < 0, where
  // sqrt is NaN; the damping must grow until the step stays in the domain.
  auto r = [](const Eigen::VectorXd& p) { return Eigen::VectorXd::Constant(1, std::sqrt(p[0]) - 0.1); };
  auto j = [](const Eigen::VectorXd& p) { return Eigen::MatrixXd::Constant(1, 1, 0.5 / std::sqrt(p[0])); };
  const auto fit = levenberg_marquardt(r, j, Eigen::VectorXd::Constant(1, 4.0));
  CHECK(fit.converged);
  CHECK(fit.parameters[0] == Approx(0.01).epsilon(1e-9));
}

TEST_CASE("levenberg_marquardt rejects bad inputs with clear errors", "[analysis][levenberg_marquardt][errors]") {
  const Eigen::Vector2d start(0, 0);
  CHECK_THROWS_WITH(levenberg_marquardt(line_residuals, start, std::vector<double>(3, 1.0)),
                    Catch::Contains("levenberg_marquardt: 3 weights for 8 residuals"));
  std::vector<double> weights(8, 1.0);
  weights[2] = -1;
  CHECK_THROWS_WITH(levenberg_marquardt(line_residuals, start, weights),
                    Catch::Contains("weight 2 is -1") && Catch::Contains("finite and non-negative"));
  weights[2] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(levenberg_marquardt(line_residuals, start, weights), invalid_argument);
  CHECK_THROWS_WITH(levenberg_marquardt(line_residuals, Eigen::VectorXd()), Catch::Contains("no parameters"));
  CHECK_THROWS_WITH(levenberg_marquardt(line_residuals, Eigen::Vector2d(std::nan(""), 0)),
                    Catch::Contains("initial parameters are not finite"));
  auto nan_residuals = [](const Eigen::VectorXd&) { return Eigen::VectorXd::Constant(2, std::nan("")); };
  CHECK_THROWS_WITH(levenberg_marquardt(nan_residuals, start), Catch::Contains("residuals at the initial parameters"));
  auto wrong_jacobian = [](const Eigen::VectorXd&) { return Eigen::MatrixXd::Zero(3, 2); };
  CHECK_THROWS_WITH(levenberg_marquardt(line_residuals, wrong_jacobian, start),
                    Catch::Contains("Jacobian is 3 × 2; expected 8 × 2"));
}
