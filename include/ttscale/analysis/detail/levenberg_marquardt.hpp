// ttscale/analysis/detail/levenberg_marquardt.hpp: nonlinear least squares for
// the scaling-law fits.
//
// Minimises sum_i w_i r_i(p)^2 over p by Levenberg–Marquardt (Levenberg 1944;
// Marquardt 1963) with Marquardt's diagonal scaling, kept as the running
// maximum of diag(J^T W J) as in MINPACK (Moré 1978), so that the damping is
// invariant to the units of each parameter. Each step solves the damped normal
// equations as the augmented least-squares problem [sqrt(W) J; sqrt(λ) D] δ =
// [−sqrt(W) r; 0] by column-pivoted Householder QR, which never squares the
// condition number of J. The damping follows Nielsen's gain-ratio update
// (Madsen, Nielsen & Tingleff 2004, eq. 2.21). Standard errors come from
// sigma^2 (J^T W J)^+ with a rank-revealing SVD (see
// least_squares_standard_errors). Cost per iteration O(m p^2) for m residuals
// and p parameters; the fits here have p <= 3.
//
// Needs Eigen 3.3 or later: part of the ttscale::scaling_fit target, never of
// the core target. Users include <ttscale/analysis/scaling_fit.hpp>, not this.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

// GCC 12 at -O2 warns -Wmaybe-uninitialized inside Eigen 3.4's own
// Eigen/src/Core/products/TriangularMatrixVector.h (`result`, reached from the
// QR solve) when Eigen is included with -I rather than -isystem: a false
// positive in Eigen, silenced for the lines of Eigen's headers only, so that
// our code and the user's keep the warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

TTSCALE_BEGIN_NAMESPACE
namespace analysis::detail {

/// r(p): the m residuals at parameters p (m fixed across calls).
template <class F>
concept residual_function =
    std::invocable<const F&, const Eigen::VectorXd&> &&
    std::convertible_to<std::invoke_result_t<const F&, const Eigen::VectorXd&>, Eigen::VectorXd>;

/// J(p): the m × p Jacobian of the residuals, J(i, j) = d r_i / d p_j.
template <class F>
concept jacobian_function =
    std::invocable<const F&, const Eigen::VectorXd&> &&
    std::convertible_to<std::invoke_result_t<const F&, const Eigen::VectorXd&>, Eigen::MatrixXd>;

struct lm_options {
  int max_iterations = 200;  ///< accepted steps before giving up (not converged)
  /// Converged when the cosine between the weighted residual vector and every
  /// weighted Jacobian column is at most this (MINPACK's gtol: a scale-free
  /// first-order optimality test).
  double gradient_tolerance = 1e-10;
  /// Converged when a step δ has ||δ|| <= step_tolerance · (||p|| + step_tolerance).
  double step_tolerance = 1e-12;
  /// Converged when both the actual and the predicted relative decrease of
  /// the cost are at most this.
  double cost_tolerance = 1e-14;
  /// λ0 relative to Marquardt's scaling: the first step solves (A + λ0 diag(A)) δ = −g.
  double initial_damping = 1e-3;
};

/// Why the iteration stopped; the first four count as converged.
enum class lm_stop { zero_cost, gradient, step, cost, max_iterations, no_progress, non_finite };

struct lm_result {
  Eigen::VectorXd parameters;       ///< the last accepted parameters
  Eigen::VectorXd standard_errors;  ///< NaN for a non-identifiable parameter or with m_eff <= p
  Eigen::VectorXd residuals;        ///< unweighted r(parameters)
  double cost = 0;                  ///< sum_i w_i r_i^2 at parameters
  int iterations = 0;               ///< accepted steps
  bool converged = false;
  lm_stop stop = lm_stop::max_iterations;
};

/// Asymptotic standard errors of least-squares parameters: the square roots
/// of the diagonal of sigma^2 (J^T W J)^+, with sigma^2 = sum w r^2 / (m_eff − p)
/// and m_eff the number of points with positive weight (all m when `weights`
/// is empty).
///
/// The pseudo-inverse comes from an SVD of sqrt(W) J, with singular values at
/// most max(m, p) · eps · s_max counted as zero (numpy's matrix_rank rule).
/// A parameter whose unit vector has a component above sqrt(eps) in the null
/// space of J is not identifiable from the data (some change of it, with the
/// others, leaves every residual unchanged): its error is NaN, never a
/// meaningless finite number and never undefined behaviour. Identifiable
/// parameters keep a finite error even when others are not (the variance of
/// an estimable function, e_j^T (J^T W J)^+ e_j sigma^2). All are NaN when
/// m_eff <= p (no degrees of freedom) or an input is not finite.
[[nodiscard]] inline Eigen::VectorXd least_squares_standard_errors(const Eigen::MatrixXd& jacobian,
                                                                   const Eigen::VectorXd& residuals,
                                                                   std::span<const double> weights = {}) {
  const Eigen::Index m = jacobian.rows(), p = jacobian.cols();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd errors = Eigen::VectorXd::Constant(p, nan);
  if (residuals.size() != m || (!weights.empty() && weights.size() != static_cast<std::size_t>(m)))
    throw invalid_argument("least_squares_standard_errors: a " + std::to_string(m) + " × " + std::to_string(p) +
                           " Jacobian with " + std::to_string(residuals.size()) + " residuals and " +
                           std::to_string(weights.size()) + " weights");
  Eigen::MatrixXd jw = jacobian;
  double ssr = 0;
  Eigen::Index m_eff = 0;
  for (Eigen::Index i = 0; i < m; ++i) {
    const double w = weights.empty() ? 1.0 : weights[static_cast<std::size_t>(i)];
    if (w > 0) ++m_eff;
    ssr += w * residuals[i] * residuals[i];
    jw.row(i) *= std::sqrt(w);
  }
  if (m_eff <= p || !std::isfinite(ssr) || !jw.allFinite()) return errors;
  const double sigma2 = ssr / static_cast<double>(m_eff - p);
  // Full V: with m < p the null space has more columns than the thin V holds.
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(jw, Eigen::ComputeFullV);
  const Eigen::VectorXd& s = svd.singularValues();
  const Eigen::MatrixXd& v = svd.matrixV();
  const double s_max = s.size() > 0 ? s[0] : 0.0;
  if (!(s_max > 0)) return errors;
  const double tolerance = static_cast<double>(std::max(m, p)) * std::numeric_limits<double>::epsilon() * s_max;
  Eigen::Index rank = 0;
  while (rank < s.size() && s[rank] > tolerance) ++rank;
  const double null_tolerance = std::sqrt(std::numeric_limits<double>::epsilon());
  for (Eigen::Index j = 0; j < p; ++j) {
    double in_null_space = 0, variance = 0;
    for (Eigen::Index i = rank; i < p; ++i) in_null_space += v(j, i) * v(j, i);
    if (std::sqrt(in_null_space) > null_tolerance) continue;  // not identifiable: NaN
    for (Eigen::Index i = 0; i < rank; ++i) variance += v(j, i) * v(j, i) / (s[i] * s[i]);
    errors[j] = std::sqrt(sigma2 * variance);
  }
  return errors;
}

/// Forward-difference Jacobian of `residuals` at p, for callers without an
/// analytic one: step h_j = sqrt(eps) · |p_j| (sqrt(eps) when p_j = 0), rounded
/// so that p_j + h_j − p_j is exact. Truncation error O(h |r''|), so expect
/// about half the digits of an analytic Jacobian; the minimiser found is the
/// same, its standard errors slightly less accurate.
template <residual_function Residuals>
[[nodiscard]] Eigen::MatrixXd forward_difference_jacobian(const Residuals& residuals, const Eigen::VectorXd& p,
                                                          const Eigen::VectorXd& r_at_p) {
  const double root_eps = std::sqrt(std::numeric_limits<double>::epsilon());
  Eigen::MatrixXd jacobian(r_at_p.size(), p.size());
  Eigen::VectorXd shifted = p;
  for (Eigen::Index j = 0; j < p.size(); ++j) {
    const double step = root_eps * (p[j] != 0 ? std::abs(p[j]) : 1.0);
    shifted[j] = p[j] + step;
    const double h = shifted[j] - p[j];
    const Eigen::VectorXd r = residuals(static_cast<const Eigen::VectorXd&>(shifted));
    if (r.size() != r_at_p.size())
      throw invalid_argument("levenberg_marquardt: the residual function returned " + std::to_string(r.size()) +
                             " residuals, then " + std::to_string(r_at_p.size()));
    jacobian.col(j) = (r - r_at_p) / h;
    shifted[j] = p[j];
  }
  return jacobian;
}

/// Minimises sum_i w_i r_i(p)^2 from `initial` with the caller's analytic
/// Jacobian. `weights` (empty: all 1) must be finite and non-negative, one per
/// residual. Throws invalid_argument for bad weights, an empty parameter
/// vector, residuals that are not finite at `initial`, or functions that
/// return the wrong sizes. A trial point where the residuals are not finite is
/// rejected like an uphill step (the damping grows); a Jacobian that is not
/// finite at an accepted point stops the iteration (lm_stop::non_finite, not
/// converged). Never throws for a singular J^T W J: the damped step is always
/// defined, and the standard errors of non-identifiable parameters are NaN.
template <residual_function Residuals, jacobian_function Jacobian>
[[nodiscard]] lm_result levenberg_marquardt(const Residuals& residuals, const Jacobian& jacobian,
                                            Eigen::VectorXd initial, std::span<const double> weights = {},
                                            const lm_options& options = {}) {
  const Eigen::Index p = initial.size();
  if (p == 0) throw invalid_argument("levenberg_marquardt: no parameters to fit");
  if (!initial.allFinite()) throw invalid_argument("levenberg_marquardt: the initial parameters are not finite");
  lm_result out;
  out.parameters = std::move(initial);
  out.residuals = residuals(static_cast<const Eigen::VectorXd&>(out.parameters));
  const Eigen::Index m = out.residuals.size();
  if (!weights.empty() && weights.size() != static_cast<std::size_t>(m))
    throw invalid_argument("levenberg_marquardt: " + std::to_string(weights.size()) + " weights for " +
                           std::to_string(m) + " residuals");
  Eigen::VectorXd root_w = Eigen::VectorXd::Ones(m);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] >= 0) || !std::isfinite(weights[i]))
      throw invalid_argument("levenberg_marquardt: weight " + std::to_string(i) + " is " +
                             ttscale::detail::number_text(weights[i]) + "; weights must be finite and non-negative");
    root_w[static_cast<Eigen::Index>(i)] = std::sqrt(weights[i]);
  }
  if (!out.residuals.allFinite())
    throw invalid_argument("levenberg_marquardt: the residuals at the initial parameters are not finite");

  auto jacobian_at = [&](const Eigen::VectorXd& at) {
    Eigen::MatrixXd j = jacobian(at);
    if (j.rows() != m || j.cols() != p)
      throw invalid_argument("levenberg_marquardt: the Jacobian is " + std::to_string(j.rows()) + " × " +
                             std::to_string(j.cols()) + "; expected " + std::to_string(m) + " × " + std::to_string(p));
    return j;
  };
  Eigen::VectorXd rw = root_w.cwiseProduct(out.residuals);
  out.cost = rw.squaredNorm();
  Eigen::MatrixXd j = jacobian_at(out.parameters);
  Eigen::MatrixXd jw = root_w.asDiagonal() * j;

  Eigen::VectorXd scale_sq = Eigen::VectorXd::Zero(p);  // D^2, Marquardt's scaling
  double lambda = -1, nu = 2;
  Eigen::MatrixXd augmented(m + p, p);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(m + p);

  auto finish = [&](lm_stop why) {
    out.stop = why;
    out.converged = why == lm_stop::zero_cost || why == lm_stop::gradient || why == lm_stop::step ||
                    why == lm_stop::cost;
    out.standard_errors = least_squares_standard_errors(j, out.residuals, weights);
    return out;
  };

  for (;;) {
    if (!jw.allFinite()) return finish(lm_stop::non_finite);
    if (out.cost == 0) return finish(lm_stop::zero_cost);
    // Scale-free first-order test: |cos| between sqrt(W) r and each column.
    const Eigen::VectorXd gradient = jw.transpose() * rw;
    const double r_norm = std::sqrt(out.cost);
    double worst_cosine = 0;
    for (Eigen::Index c = 0; c < p; ++c) {
      const double column_norm = jw.col(c).norm();
      if (column_norm > 0) worst_cosine = std::max(worst_cosine, std::abs(gradient[c]) / (column_norm * r_norm));
    }
    if (worst_cosine <= options.gradient_tolerance) return finish(lm_stop::gradient);
    if (out.iterations >= options.max_iterations) return finish(lm_stop::max_iterations);

    for (Eigen::Index c = 0; c < p; ++c) scale_sq[c] = std::max(scale_sq[c], jw.col(c).squaredNorm());
    // A parameter with no influence yet gets unit scaling, so D stays positive
    // and the augmented system keeps full column rank.
    Eigen::VectorXd d_sq = scale_sq;
    for (Eigen::Index c = 0; c < p; ++c)
      if (!(d_sq[c] > 0)) d_sq[c] = 1;
    if (lambda < 0) lambda = options.initial_damping;

    // Inner loop: raise the damping until a step lowers the cost.
    for (;;) {
      augmented.topRows(m) = jw;
      augmented.bottomRows(p) = (lambda * d_sq).cwiseSqrt().asDiagonal();
      rhs.head(m) = -rw;
      rhs.tail(p).setZero();
      const Eigen::VectorXd step = augmented.colPivHouseholderQr().solve(rhs);
      const double predicted = out.cost - (rw + jw * step).squaredNorm();
      const Eigen::VectorXd trial = out.parameters + step;
      Eigen::VectorXd trial_r = residuals(static_cast<const Eigen::VectorXd&>(trial));
      if (trial_r.size() != m)
        throw invalid_argument("levenberg_marquardt: the residual function returned " + std::to_string(m) +
                               " residuals, then " + std::to_string(trial_r.size()));
      const Eigen::VectorXd trial_rw = root_w.cwiseProduct(trial_r);
      const double trial_cost = trial_rw.squaredNorm();
      const bool small_step =
          step.norm() <= options.step_tolerance * (out.parameters.norm() + options.step_tolerance);
      const bool better = std::isfinite(trial_cost) && trial_r.allFinite() && trial_cost < out.cost;
      if (better) {
        const double actual = out.cost - trial_cost;
        const bool flat = actual <= options.cost_tolerance * out.cost && predicted <= options.cost_tolerance * out.cost;
        const double rho = predicted > 0 ? std::clamp(actual / predicted, 0.0, 1.0) : 0.5;
        lambda *= std::max(1.0 / 3.0, 1.0 - std::pow(2.0 * rho - 1.0, 3));
        nu = 2;
        out.parameters = trial;
        out.residuals = std::move(trial_r);
        rw = trial_rw;
        out.cost = trial_cost;
        j = jacobian_at(out.parameters);
        jw = root_w.asDiagonal() * j;
        ++out.iterations;
        if (small_step) return finish(lm_stop::step);
        if (flat) return finish(lm_stop::cost);
        break;
      }
      // Uphill or non-finite: a rejected step this small means no step of any
      // useful size lowers the cost, which is convergence to rounding (MINPACK
      // tests its shrinking trust radius the same way).
      if (small_step) return finish(lm_stop::step);
      lambda *= nu;
      nu *= 2;
      if (!(lambda < 1e300)) return finish(lm_stop::no_progress);
    }
  }
}

/// As above with a forward-difference Jacobian (forward_difference_jacobian).
template <residual_function Residuals>
[[nodiscard]] lm_result levenberg_marquardt(const Residuals& residuals, Eigen::VectorXd initial,
                                            std::span<const double> weights = {}, const lm_options& options = {}) {
  // The residuals at p are recomputed for the differences: one extra call per
  // Jacobian, against keeping state shared with the solver.
  auto jacobian = [&residuals](const Eigen::VectorXd& at) {
    const Eigen::VectorXd r = residuals(at);
    return forward_difference_jacobian(residuals, at, r);
  };
  return levenberg_marquardt(residuals, jacobian, std::move(initial), weights, options);
}

}  // namespace analysis::detail
TTSCALE_END_NAMESPACE
