// ttscale/analysis/scaling_fit.hpp: fitted scaling laws that predict.
//
// Two laws, each fitted by weighted nonlinear least squares on the scale the
// data were measured on (Levenberg–Marquardt, detail/levenberg_marquardt.hpp),
// with standard errors, residuals, R² and RMSE:
//   - coverage against samples, the exponentiated power law of Brown et al.
//     2024 ("Large Language Monkeys: Scaling Inference Compute with Repeated
//     Sampling", §3): c(k) ≈ exp(a·k^(−b)) with a < 0, i.e. −log c(k) is a
//     power law in k (the form Schaeffer et al. 2025, "How Do Large Language
//     Monkeys Get Their Power (Laws)?", study);
//   - error against compute, a power law with an irreducible floor:
//     e(C) = e_inf + A·C^(−alpha), with 0 <= e_inf < min observed error.
// A law is worth fitting when it predicts budgets it was not fitted on, so
// fit_*_and_predict fit on the points with x <= a cut-off and report the
// error of the prediction at 4× and 16× the largest fitted x, the practice of
// Choshen, Zhang & Andreas 2024 ("A Hitchhiker's Guide to Scaling Law
// Estimation": judge a fit by its extrapolation error, not its in-sample R²).
//
// Cost: O(iterations · m · p^2) for m points and p <= 3 parameters; a fit of
// a few hundred points takes well under a millisecond.
//
// Needs Eigen 3.3 or later (the only ttscale header set that does): link the
// CMake target ttscale::scaling_fit, or ttscale::ttscale plus Eigen3::Eigen.
#pragma once

#include <ttscale/analysis/detail/levenberg_marquardt.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// One fitted parameter, for printing "name = value ± standard_error".
struct fit_parameter {
  std::string_view name;
  double value = std::numeric_limits<double>::quiet_NaN();
  /// Asymptotic standard error from sigma^2 (J^T W J)^+ at the optimum. NaN
  /// when the data cannot identify the parameter (e.g. b when every coverage
  /// is 1), when there are no degrees of freedom (as many points as
  /// parameters), or when the parameter was not estimated.
  double standard_error = std::numeric_limits<double>::quiet_NaN();
};

/// c(k) = exp(a·k^(−b)), fitted to coverage in [0, 1] against samples k > 0.
struct coverage_law_fit {
  double a = std::numeric_limits<double>::quiet_NaN();  ///< log c(1); negative for coverage below 1
  double b = std::numeric_limits<double>::quiet_NaN();  ///< decay exponent of −log c; positive when coverage rises
  double a_standard_error = std::numeric_limits<double>::quiet_NaN();
  double b_standard_error = std::numeric_limits<double>::quiet_NaN();
  /// observed − fitted coverage, one per input point in input order
  /// (zero-weight points included).
  std::vector<double> residuals{};
  /// 1 − SSR/SST on the coverage scale, weighted; NaN when every fitted
  /// coverage is equal (SST = 0).
  double r_squared = std::numeric_limits<double>::quiet_NaN();
  /// sqrt(sum w r^2 / sum w) on the coverage scale.
  double rmse = std::numeric_limits<double>::quiet_NaN();
  bool converged = false;  ///< false: the parameters are the best found in the iteration limit
  int iterations = 0;      ///< accepted Levenberg–Marquardt steps

  /// The law's coverage at k samples; NaN for k <= 0 or NaN.
  [[nodiscard]] double predict(double k) const noexcept {
    if (!(k > 0)) return std::numeric_limits<double>::quiet_NaN();
    return std::exp(a * std::pow(k, -b));
  }
  [[nodiscard]] std::array<fit_parameter, 2> parameters() const noexcept {
    return {fit_parameter{"a", a, a_standard_error}, fit_parameter{"b", b, b_standard_error}};
  }
};

/// e(C) = e_inf + A·C^(−alpha), fitted to errors >= 0 against compute C > 0.
struct error_law_fit {
  double irreducible_error = std::numeric_limits<double>::quiet_NaN();  ///< e_inf, in [0, min observed error)
  double scale = std::numeric_limits<double>::quiet_NaN();              ///< A > 0
  double exponent = std::numeric_limits<double>::quiet_NaN();           ///< alpha; positive when error falls
  double irreducible_error_standard_error = std::numeric_limits<double>::quiet_NaN();
  double scale_standard_error = std::numeric_limits<double>::quiet_NaN();
  double exponent_standard_error = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> residuals{};  ///< observed − fitted error, one per input point in input order
  double r_squared = std::numeric_limits<double>::quiet_NaN();  ///< weighted, on the error scale
  double rmse = std::numeric_limits<double>::quiet_NaN();       ///< sqrt(sum w r^2 / sum w)
  bool converged = false;
  int iterations = 0;

  /// The law's error at compute C; NaN for C <= 0 or NaN.
  [[nodiscard]] double predict(double compute) const noexcept {
    if (!(compute > 0)) return std::numeric_limits<double>::quiet_NaN();
    return irreducible_error + scale * std::pow(compute, -exponent);
  }
  [[nodiscard]] std::array<fit_parameter, 3> parameters() const noexcept {
    return {fit_parameter{"e_inf", irreducible_error, irreducible_error_standard_error},
            fit_parameter{"A", scale, scale_standard_error},
            fit_parameter{"alpha", exponent, exponent_standard_error}};
  }
};

/// Anything that predicts a value at x: both fits, or a caller's own law.
template <class Law>
concept fitted_law = requires(const Law& law, double x) {
  { law.predict(x) } -> std::convertible_to<double>;
};

/// A prediction against a measurement the law was not fitted on.
struct prediction_check {
  double x = 0;          ///< the held-out budget (samples, compute)
  double predicted = 0;  ///< law.predict(x)
  double observed = 0;
  double absolute_error = 0;  ///< |predicted − observed|
  /// absolute_error / |observed|; +inf when observed is 0 and predicted is not, 0 when both are.
  double relative_error = 0;
};

/// One held-out prediction of fit_*_and_predict.
struct held_out_prediction {
  double multiple = 0;  ///< the multiple of largest_fitted_x asked for (4, 16)
  /// At the measured x nearest to multiple · largest_fitted_x on a log scale
  /// (so check.x / largest_fitted_x may differ from `multiple` when that
  /// budget was not measured), with `observed` the mean of the measurements
  /// at that x.
  prediction_check check{};
};

/// A law fitted on the points with x <= a cut-off, and its predictions beyond.
template <class Fit>
struct held_out_fit {
  Fit fit{};                   ///< residuals cover the fitted points only, in input order
  double largest_fitted_x = 0;  ///< the largest x with positive weight among the fitted points
  /// One per requested multiple, in order; none for a multiple when no point
  /// lies beyond the cut-off.
  std::vector<held_out_prediction> predictions{};
};

/// The prediction multiples of Choshen et al.'s practice: 4× and 16×.
inline constexpr std::array<double, 2> default_prediction_multiples{4.0, 16.0};

namespace detail {

inline constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

inline double weight_at(std::span<const double> weights, std::size_t i) { return weights.empty() ? 1.0 : weights[i]; }

/// Checks the shapes and values every fit shares; `valid_y` names the
/// accepted range of y in its message.
template <class ValidY>
void check_points(std::string_view who, std::string_view x_name, std::string_view y_name, std::span<const double> xs,
                  std::span<const double> ys, std::span<const double> weights, std::size_t parameters,
                  ValidY valid_y, std::string_view y_range, std::string_view which_points = "the points") {
  const std::string f(who);
  if (xs.size() != ys.size())
    throw invalid_argument(f + ": " + std::to_string(xs.size()) + " " + std::string(x_name) + " values and " +
                           std::to_string(ys.size()) + " " + std::string(y_name) + " values");
  if (!weights.empty() && weights.size() != xs.size())
    throw invalid_argument(f + ": " + std::to_string(weights.size()) + " weights for " + std::to_string(xs.size()) +
                           " points");
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!(xs[i] > 0) || !std::isfinite(xs[i]))
      throw invalid_argument(f + ": " + std::string(x_name) + "[" + std::to_string(i) + "] is " +
                             ttscale::detail::number_text(xs[i]) + "; it must be positive and finite");
    if (!valid_y(ys[i]))
      throw invalid_argument(f + ": " + std::string(y_name) + "[" + std::to_string(i) + "] is " +
                             ttscale::detail::number_text(ys[i]) + "; it must be " + std::string(y_range));
    if (!weights.empty() && (!(weights[i] >= 0) || !std::isfinite(weights[i])))
      throw invalid_argument(f + ": weights[" + std::to_string(i) + "] is " + ttscale::detail::number_text(weights[i]) +
                             "; weights must be finite and non-negative");
  }
  // The law is identifiable only from as many distinct x as it has parameters.
  std::vector<double> distinct;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (weight_at(weights, i) > 0) distinct.push_back(xs[i]);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() < parameters)
    throw invalid_argument(f + ": the law has " + std::to_string(parameters) + " parameters but " +
                           std::string(which_points) + " with positive weight have " + std::to_string(distinct.size()) +
                           " distinct " + std::string(x_name) + " values");
}

/// Weighted least-squares line y = intercept + slope·x; false when the x are
/// all equal (or fewer than two points).
inline bool fit_line(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                     double& intercept, double& slope) {
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sw += w[i], sx += w[i] * x[i], sy += w[i] * y[i];
  if (!(sw > 0)) return false;
  const double mx = sx / sw, my = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    sxx += w[i] * (x[i] - mx) * (x[i] - mx), sxy += w[i] * (x[i] - mx) * (y[i] - my);
  if (!(sxx > 0)) return false;
  slope = sxy / sxx;
  intercept = my - slope * mx;
  return std::isfinite(slope) && std::isfinite(intercept);
}

/// Residuals, R² and RMSE of a fitted law, on the scale of y.
template <class Fit>
void fill_quality(Fit& fit, std::span<const double> xs, std::span<const double> ys, std::span<const double> weights) {
  fit.residuals.resize(xs.size());
  double sw = 0, swy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) sw += weight_at(weights, i), swy += weight_at(weights, i) * ys[i];
  const double mean = swy / sw;
  double ssr = 0, sst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    fit.residuals[i] = ys[i] - fit.predict(xs[i]);
    ssr += weight_at(weights, i) * fit.residuals[i] * fit.residuals[i];
    sst += weight_at(weights, i) * (ys[i] - mean) * (ys[i] - mean);
  }
  fit.r_squared = sst > 0 ? 1 - ssr / sst : not_a_number;
  fit.rmse = std::sqrt(ssr / sw);
}

inline coverage_law_fit fit_coverage_law(std::string_view who, std::span<const double> k,
                                         std::span<const double> coverage, std::span<const double> weights,
                                         std::string_view which_points = "the points") {
  check_points(who, "k", "coverage", k, coverage, weights, 2, [](double c) { return c >= 0 && c <= 1; }, "in [0, 1]",
               which_points);
  const std::size_t m = k.size();
  // Start from the straight line log(−log c) = log(−a) − b·log k. Points with
  // c = 1 (−log c = 0) or c = 0 (−log c = inf) have no logarithm and are left
  // out of this start only; the fit itself uses every point.
  std::vector<double> lx, ly, lw;
  for (std::size_t i = 0; i < m; ++i)
    if (coverage[i] > 0 && coverage[i] < 1 && weight_at(weights, i) > 0) {
      lx.push_back(std::log(k[i]));
      ly.push_back(std::log(-std::log(coverage[i])));
      lw.push_back(weight_at(weights, i));
    }
  double a0 = -1, b0 = 0.5, intercept = 0, slope = 0;
  if (fit_line(lx, ly, lw, intercept, slope)) {
    a0 = -std::exp(intercept), b0 = -slope;
  } else if (!lx.empty()) {  // one usable k: keep b0, put the curve through that point
    a0 = -std::exp(ly[0] + b0 * lx[0]);
  }
  if (!std::isfinite(a0) || a0 == 0) a0 = -1;

  auto residuals = [&](const Eigen::VectorXd& p) {
    Eigen::VectorXd r(static_cast<Eigen::Index>(m));
    for (std::size_t i = 0; i < m; ++i)
      r[static_cast<Eigen::Index>(i)] = std::exp(p[0] * std::pow(k[i], -p[1])) - coverage[i];
    return r;
  };
  auto jacobian = [&](const Eigen::VectorXd& p) {
    Eigen::MatrixXd j(static_cast<Eigen::Index>(m), 2);
    for (std::size_t i = 0; i < m; ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      const double power = std::pow(k[i], -p[1]), c = std::exp(p[0] * power);
      j(row, 0) = c * power;
      j(row, 1) = -c * p[0] * power * std::log(k[i]);
    }
    return j;
  };
  const analysis::detail::lm_result lm =
      analysis::detail::levenberg_marquardt(residuals, jacobian, Eigen::Vector2d(a0, b0), weights);
  coverage_law_fit out;
  out.a = lm.parameters[0], out.b = lm.parameters[1];
  out.a_standard_error = lm.standard_errors[0], out.b_standard_error = lm.standard_errors[1];
  out.converged = lm.converged, out.iterations = lm.iterations;
  fill_quality(out, k, coverage, weights);
  return out;
}

/// The logistic function, without overflow for large |u|.
inline double logistic(double u) {
  if (u >= 0) return 1 / (1 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1 + e);
}

inline error_law_fit fit_error_law(std::string_view who, std::span<const double> compute,
                                   std::span<const double> error, std::span<const double> weights,
                                   std::string_view which_points = "the points") {
  check_points(who, "compute", "error", compute, error, weights, 3,
               [](double e) { return e >= 0 && std::isfinite(e); }, "non-negative and finite", which_points);
  const std::size_t m = compute.size();
  double floor_bound = std::numeric_limits<double>::infinity();  // min error over the fitted points
  for (std::size_t i = 0; i < m; ++i)
    if (weight_at(weights, i) > 0) floor_bound = std::min(floor_bound, error[i]);
  // e_inf = floor_bound · logistic(u) keeps the floor in (0, floor_bound) for
  // every real u, so the unconstrained solver can never put it below 0 or at
  // or above an observed error (where e − e_inf would be <= 0 and A·C^(−alpha)
  // could not reach it). A = exp(v) keeps the scale positive. When some error
  // is 0 the interval is empty: e_inf is held at 0 and not estimated.
  const bool free_floor = floor_bound > 0;

  // Start: for a grid of floors, the straight line log(e − e_inf) = log A −
  // alpha·log C, keeping the floor whose line has the smallest squared error
  // on the error scale. Points with e = e_inf (only e = 0) are left out of
  // the start.
  double u0 = 0, v0 = 0, alpha0 = 0.5, best = std::numeric_limits<double>::infinity();
  static constexpr double fractions[] = {0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99};
  for (double fraction : fractions) {
    const double trial_floor = free_floor ? fraction * floor_bound : 0.0;
    std::vector<double> lx, ly, lw;
    for (std::size_t i = 0; i < m; ++i)
      if (error[i] > trial_floor && weight_at(weights, i) > 0) {
        lx.push_back(std::log(compute[i]));
        ly.push_back(std::log(error[i] - trial_floor));
        lw.push_back(weight_at(weights, i));
      }
    double intercept = 0, slope = 0;
    if (!fit_line(lx, ly, lw, intercept, slope)) continue;
    double ssr = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double r = trial_floor + std::exp(intercept + slope * std::log(compute[i])) - error[i];
      ssr += weight_at(weights, i) * r * r;
    }
    if (ssr < best) best = ssr, u0 = std::log(fraction / (1 - fraction)), v0 = intercept, alpha0 = -slope;
    if (!free_floor) break;
  }

  auto floor_at = [&](double u) { return free_floor ? floor_bound * logistic(u) : 0.0; };
  // Parameters: (u, v, alpha), or (v, alpha) with the floor held at 0.
  const Eigen::Index v_at = free_floor ? 1 : 0, alpha_at = v_at + 1;
  auto residuals = [&](const Eigen::VectorXd& p) {
    const double e_inf = free_floor ? floor_at(p[0]) : 0.0, scale = std::exp(p[v_at]);
    Eigen::VectorXd r(static_cast<Eigen::Index>(m));
    for (std::size_t i = 0; i < m; ++i)
      r[static_cast<Eigen::Index>(i)] = e_inf + scale * std::pow(compute[i], -p[alpha_at]) - error[i];
    return r;
  };
  auto jacobian = [&](const Eigen::VectorXd& p) {
    const double scale = std::exp(p[v_at]);
    Eigen::MatrixXd j(static_cast<Eigen::Index>(m), alpha_at + 1);
    for (std::size_t i = 0; i < m; ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      const double term = scale * std::pow(compute[i], -p[alpha_at]);
      if (free_floor) {
        const double s = logistic(p[0]);
        j(row, 0) = floor_bound * s * (1 - s);
      }
      j(row, v_at) = term;
      j(row, alpha_at) = -term * std::log(compute[i]);
    }
    return j;
  };
  Eigen::VectorXd start(alpha_at + 1);
  if (free_floor) start[0] = u0;
  start[v_at] = v0, start[alpha_at] = alpha0;
  const analysis::detail::lm_result lm = analysis::detail::levenberg_marquardt(residuals, jacobian, start, weights);

  error_law_fit out;
  out.irreducible_error = free_floor ? floor_at(lm.parameters[0]) : 0.0;
  out.scale = std::exp(lm.parameters[v_at]);
  out.exponent = lm.parameters[alpha_at];
  out.converged = lm.converged, out.iterations = lm.iterations;
  // Standard errors in the law's own parameters (e_inf, A, alpha), from the
  // Jacobian there: the delta method through the logistic would report ~0
  // for a floor pressed against a bound, which is the transform's flatness,
  // not certainty.
  Eigen::MatrixXd natural(static_cast<Eigen::Index>(m), alpha_at + 1);
  for (std::size_t i = 0; i < m; ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    const double power = std::pow(compute[i], -out.exponent);
    if (free_floor) natural(row, 0) = 1;
    natural(row, v_at) = power;
    natural(row, alpha_at) = -out.scale * power * std::log(compute[i]);
  }
  const Eigen::VectorXd se = analysis::detail::least_squares_standard_errors(natural, lm.residuals, weights);
  out.irreducible_error_standard_error = free_floor ? se[0] : not_a_number;
  out.scale_standard_error = se[v_at];
  out.exponent_standard_error = se[alpha_at];
  fill_quality(out, compute, error, weights);
  return out;
}

inline prediction_check check_one(double x, double predicted, double observed) {
  prediction_check c{x, predicted, observed, std::abs(predicted - observed), 0};
  c.relative_error = observed != 0 ? c.absolute_error / std::abs(observed)
                     : c.absolute_error == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return c;
}

template <class Fit, class FitFunction, class ValidY>
held_out_fit<Fit> fit_and_predict(std::string_view who, std::string_view x_name, std::string_view y_name,
                                  ValidY valid_y, std::string_view y_range,
                                  FitFunction fit_function, std::span<const double> xs, std::span<const double> ys,
                                  double fit_up_to, std::span<const double> multiples,
                                  std::span<const double> weights) {
  const std::string f(who);
  if (!(fit_up_to > 0) || !std::isfinite(fit_up_to))
    throw invalid_argument(f + ": fit_up_to is " + ttscale::detail::number_text(fit_up_to) +
                           "; it must be positive and finite");
  for (std::size_t i = 0; i < multiples.size(); ++i)
    if (!(multiples[i] > 1) || !std::isfinite(multiples[i]))
      throw invalid_argument(f + ": multiples[" + std::to_string(i) + "] is " +
                             ttscale::detail::number_text(multiples[i]) + "; a prediction multiple must be above 1");
  // Every point, fitted or held out, must be a valid measurement.
  check_points(who, x_name, y_name, xs, ys, weights, 0, valid_y, y_range);
  std::vector<double> fit_x, fit_y, fit_w;
  double largest = 0;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (xs[i] <= fit_up_to) {
      fit_x.push_back(xs[i]), fit_y.push_back(ys[i]), fit_w.push_back(weight_at(weights, i));
      if (weight_at(weights, i) > 0) largest = std::max(largest, xs[i]);
    }
  held_out_fit<Fit> out;
  const std::string which = "the points at " + std::string(x_name) + " <= fit_up_to (" +
                            ttscale::detail::number_text(fit_up_to) + ")";
  const std::span<const double> fit_weights = weights.empty() ? std::span<const double>{} : std::span<const double>(fit_w);
  out.fit = fit_function(who, fit_x, fit_y, fit_weights, which);
  out.largest_fitted_x = largest;
  for (double multiple : multiples) {
    const double target = multiple * largest;
    // The held-out x nearest the target on a log scale; ties to the lowest index.
    std::size_t nearest = xs.size();
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (xs[i] > fit_up_to &&
          (nearest == xs.size() || std::abs(std::log(xs[i] / target)) < std::abs(std::log(xs[nearest] / target))))
        nearest = i;
    if (nearest == xs.size()) continue;
    double sum = 0, count = 0;
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (xs[i] == xs[nearest]) sum += ys[i], count += 1;
    out.predictions.push_back({multiple, check_one(xs[nearest], out.fit.predict(xs[nearest]), sum / count)});
  }
  return out;
}

}  // namespace detail

/// Fits c(k) = exp(a·k^(−b)) to measured coverage (e.g. pass@k averaged over
/// problems) by weighted least squares on the coverage scale, from the
/// log-log line of −log c against k (see the source: points with c = 0 or 1
/// are left out of that start only). `weights` (empty: all 1) are per point,
/// finite and non-negative; a zero weight leaves a point out of the fit but
/// not out of `residuals`.
///
/// Throws invalid_argument when the spans differ in size, a k is not
/// positive and finite, a coverage is outside [0, 1] or NaN, a weight is
/// negative or not finite, or fewer than 2 distinct k carry positive weight.
/// Coverage 0 is a valid measurement (no problem solved yet), fitted like any
/// other. Does not throw when the iteration limit is reached: check
/// `converged`.
[[nodiscard]] inline coverage_law_fit fit_coverage_law(std::span<const double> k, std::span<const double> coverage,
                                                       std::span<const double> weights = {}) {
  return detail::fit_coverage_law("fit_coverage_law", k, coverage, weights);
}

/// Fits e(C) = e_inf + A·C^(−alpha) to measured error (1 − accuracy, or any
/// loss >= 0) against compute, by weighted least squares on the error scale.
/// The floor is kept in [0, min error over the fitted points) by the
/// parameterisation e_inf = min_error · logistic(u), A = exp(v) (so A > 0); if
/// some fitted error is 0 the floor is held at 0, not estimated, and its
/// standard error is NaN. With noise, min error can fall below the true
/// floor; the fitted floor then sits just under it. For errors spanning
/// decades, weights 1/e^2 fit relative instead of absolute error.
///
/// Throws invalid_argument as fit_coverage_law does, for errors that are
/// negative or not finite, and for fewer than 3 distinct compute values with
/// positive weight.
[[nodiscard]] inline error_law_fit fit_error_law(std::span<const double> compute, std::span<const double> error,
                                                 std::span<const double> weights = {}) {
  return detail::fit_error_law("fit_error_law", compute, error, weights);
}

/// For each (x, y): the law's prediction at x against the observation y.
/// Throws invalid_argument when the spans differ in size, or an x or y is
/// not finite.
template <fitted_law Law>
[[nodiscard]] std::vector<prediction_check> check_predictions(const Law& law, std::span<const double> x,
                                                              std::span<const double> y) {
  if (x.size() != y.size())
    throw invalid_argument("check_predictions: " + std::to_string(x.size()) + " x values and " +
                           std::to_string(y.size()) + " y values");
  std::vector<prediction_check> out;
  out.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
      throw invalid_argument("check_predictions: point " + std::to_string(i) + " (" +
                             ttscale::detail::number_text(x[i]) + ", " + ttscale::detail::number_text(y[i]) +
                             ") is not finite");
    out.push_back(detail::check_one(x[i], static_cast<double>(law.predict(x[i])), y[i]));
  }
  return out;
}

/// Fits the coverage law on the points with k <= fit_up_to and predicts the
/// held-out ones at each multiple of the largest fitted k (4× and 16× by
/// default; the nearest measured k on a log scale, see held_out_prediction).
/// Example: coverage measured at k = 1, 2, 4, ..., 256 and fit_up_to = 16
/// report the errors at k = 64 and k = 256.
///
/// Throws invalid_argument for any point fit_coverage_law would reject (held-
/// out points included), a fit_up_to that is not positive and finite, a
/// multiple not above 1, or fewer than 2 distinct k at or below fit_up_to.
[[nodiscard]] inline held_out_fit<coverage_law_fit> fit_coverage_law_and_predict(
    std::span<const double> k, std::span<const double> coverage, double fit_up_to,
    std::span<const double> multiples = default_prediction_multiples, std::span<const double> weights = {}) {
  return detail::fit_and_predict<coverage_law_fit>(
      "fit_coverage_law_and_predict", "k", "coverage", [](double c) { return c >= 0 && c <= 1; }, "in [0, 1]",
      [](std::string_view who, std::span<const double> x, std::span<const double> y, std::span<const double> w,
         std::string_view which) { return detail::fit_coverage_law(who, x, y, w, which); },
      k, coverage, fit_up_to, multiples, weights);
}

/// As fit_coverage_law_and_predict, for the error law against compute.
[[nodiscard]] inline held_out_fit<error_law_fit> fit_error_law_and_predict(
    std::span<const double> compute, std::span<const double> error, double fit_up_to,
    std::span<const double> multiples = default_prediction_multiples, std::span<const double> weights = {}) {
  return detail::fit_and_predict<error_law_fit>(
      "fit_error_law_and_predict", "compute", "error",
      [](double e) { return e >= 0 && std::isfinite(e); }, "non-negative and finite",
      [](std::string_view who, std::span<const double> x, std::span<const double> y, std::span<const double> w,
         std::string_view which) { return detail::fit_error_law(who, x, y, w, which); },
      compute, error, fit_up_to, multiples, weights);
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
