// ttscale/strategies/detail/particle_weights.hpp: the policies shared by the
// particle methods (particle_filter, entropic_particle_filter, particle_gibbs):
// where a particle's incremental log-weight comes from, when to resample, what
// a finished particle does, how a particle's candidate score is reported, and
// the temperature schedules. Users reach these names through the strategy
// headers; they live here so that the three strategies share one definition.
//
// Log-weight sources (`log_weight_from::*`: each names what the log-weight is
// taken from, so log_weight_from::reward means log w = r, i.e. w = e^r) turn
// the newest PRM score r of a particle (and its newest node) into an
// incremental log-weight, which is added to the particle's
// log-weight until the next resampling resets it (eq. of the bootstrap filter,
// Chopin & Papaspiliopoulos 2020, sec. 10.3: w_t = w_{t-1} G_t). Resampling
// uses softmax(log-weight / T):
//  - log_weight_from::logit_reward   log(r / (1 - r)): the published code of Puri
//    et al. 2025 (its_hub, `_inv_sigmoid`), i.e. softmax(logit(r) / T).
//    r must be in [0, 1]. r = 0 gives -inf, a weight of exactly 0. r close to
//    1 would give +inf, so r is clamped to at most 1 - epsilon (epsilon = 1e-7
//    as the published code, which also clamps r below at 1e-7; we keep r = 0
//    an exact zero weight instead).
//  - log_weight_from::log_reward     log(r), r >= 0 (r = 0: weight 0): the PRM
//    score read as a likelihood, the state-space-model view (Puri et al. 2025,
//    sec. 3, eq. 2).
//  - log_weight_from::reward         r itself, any finite r: softmax(r / T).
//  - log_weight_from::step_confidence / path_confidence: the generator's own mean
//    per-token log-probability of the newest step / of the whole trajectory
//    (0 for a step without tokens); needs no reward model.
// A score outside a source's domain (e.g. 1.5 for logit_reward) raises
// invalid_score naming the strategy, the particle, its node and the value; NaN/inf scores are rejected before (search_context).
// If every competing particle has weight 0 (all -inf), the particle methods
// fall back to uniform weights for that resampling (documented; counted in
// particle_round::all_zero) instead of producing NaN weights.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/log.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE

/// A weight source: `log_weight(reward, newest node)` -> incremental
/// log-weight (finite or -inf); `uses_reward` says whether the PRM is called.
template <class W>
concept log_weight_source = requires(const W& w, double reward, const trajectory& t) {
  { w.log_weight(reward, t) } -> std::convertible_to<double>;
  { W::uses_reward } -> std::convertible_to<bool>;
};

/// A source that may also weigh a round's rewards at once: `log_weights(rewards,
/// out)` gives the same values as log_weight per reward, or returns false when
/// some reward is outside its domain (the per-reward form then reports which).
template <class W>
concept batched_log_weight_source =
    log_weight_source<W> && requires(const W& w, std::span<const double> rewards, std::span<double> out) {
      { w.log_weights(rewards, out) } -> std::same_as<bool>;
    };

namespace log_weight_from {
namespace detail {
inline void require_unit(double r, const char* who) {
  if (!(r >= 0.0 && r <= 1.0))
    throw invalid_score(std::string("log_weight_from::") + who + ": reward " + ttscale::detail::number_text(r) +
                        " is outside [0, 1]");
}
inline double mean_logprob(double logprob, std::uint64_t tokens, const char* who) {
  if (!std::isfinite(logprob))
    throw invalid_score(std::string("log_weight_from::") + who + ": log-probability " + ttscale::detail::number_text(logprob) +
                        " is not finite");
  return tokens == 0 ? 0.0 : logprob / static_cast<double>(tokens);
}
}  // namespace detail

/// log(r / (1 - r)) with r clamped to at most 1 - epsilon (see the header comment).
/// The log is kernels::log, one value or a round's batch, so both give the same
/// bits (a particle round weighs its N particles with one vectorised log; the
/// libm call per particle was ~9 % of a round).
struct logit_reward_t {
  static constexpr bool uses_reward = true;
  double epsilon = 1e-7;
  [[nodiscard]] double log_weight(double r, const trajectory&) const {
    detail::require_unit(r, "logit_reward");
    double x = odds(r);  // r = 0: odds 0, log -inf (weight exactly 0)
    kernels::log(std::span<const double>(&x, 1), std::span<double>(&x, 1));
    return x;
  }
  /// out[i] = log_weight(r[i], ·) for a batch; false (out unspecified) if some
  /// r is outside [0, 1]: the one-value form then names it.
  bool log_weights(std::span<const double> r, std::span<double> out) const {
    bool in_domain = true;
    for (std::size_t i = 0; i < r.size(); ++i) {
      in_domain &= r[i] >= 0.0 && r[i] <= 1.0;
      out[i] = odds(r[i]);
    }
    if (!in_domain) return false;
    kernels::log(std::span<const double>(out), out);
    return true;
  }

 private:
  [[nodiscard]] double odds(double r) const {
    const double c = std::min(r, 1.0 - epsilon);
    return c / (1.0 - c);
  }
};
/// log(r), r >= 0 (kernels::log, as logit_reward).
struct log_reward_t {
  static constexpr bool uses_reward = true;
  [[nodiscard]] double log_weight(double r, const trajectory&) const {
    if (!(r >= 0.0)) throw invalid_score("log_weight_from::log_reward: reward " + ttscale::detail::number_text(r) + " is negative");
    kernels::log(std::span<const double>(&r, 1), std::span<double>(&r, 1));
    return r;  // log(0) = -inf: weight 0
  }
  /// out[i] = log_weight(r[i], ·) for a batch; false if some r is negative or NaN.
  bool log_weights(std::span<const double> r, std::span<double> out) const {
    bool in_domain = true;
    for (std::size_t i = 0; i < r.size(); ++i) in_domain &= r[i] >= 0.0;
    if (!in_domain) return false;
    kernels::log(r, out);
    return true;
  }
};
/// The reward itself as the log-weight.
struct reward_t {
  static constexpr bool uses_reward = true;
  [[nodiscard]] double log_weight(double r, const trajectory&) const { return r; }
};
/// Mean per-token log-probability of the newest step.
struct step_confidence_t {
  static constexpr bool uses_reward = false;
  [[nodiscard]] double log_weight(double, const trajectory& t) const {
    return detail::mean_logprob(t.last_step().logprob, t.last_step().tokens, "step_confidence");
  }
};
/// Mean per-token log-probability of the whole trajectory.
struct path_confidence_t {
  static constexpr bool uses_reward = false;
  [[nodiscard]] double log_weight(double, const trajectory& t) const {
    return detail::mean_logprob(t.logprob(), t.tokens(), "path_confidence");
  }
};
inline constexpr logit_reward_t logit_reward{};
inline constexpr log_reward_t log_reward{};
inline constexpr reward_t reward{};
inline constexpr step_confidence_t step_confidence{};
inline constexpr path_confidence_t path_confidence{};
}  // namespace log_weight_from

/// When to resample: `operator()(ess, n)` — or `operator()(ess, n, round)`
/// for a trigger that reads the round t (from 0) — is true to resample this round.
template <class T>
concept resample_trigger = requires(const T& t, double ess, std::size_t n) {
  { t(ess, n) } -> std::convertible_to<bool>;
} || requires(const T& t, double ess, std::size_t n, std::size_t round) {
  { t(ess, n, round) } -> std::convertible_to<bool>;
};

namespace detail {
/// Asks `trigger` whether to resample at `round` (the round-reading form first).
template <resample_trigger T>
[[nodiscard]] bool resample_fires(const T& trigger, double ess, std::size_t n, std::size_t round) {
  if constexpr (requires { { trigger(ess, n, round) } -> std::convertible_to<bool>; }) return trigger(ess, n, round);
  else return trigger(ess, n);
}
}  // namespace detail

namespace resample_when {
/// Every round (Puri et al. 2025, Alg. 1).
struct every_round_t {
  bool operator()(double, std::size_t) const noexcept { return true; }
};
/// When ESS < fraction * N (adaptive resampling, Chopin & Papaspiliopoulos
/// 2020, sec. 10.2); incremental log-weights accumulate until then.
struct ess_below {
  double fraction = 0.5;
  bool operator()(double ess, std::size_t n) const noexcept { return ess < fraction * static_cast<double>(n); }
};
/// Every `rounds`-th round (after rounds `rounds` - 1, 2 `rounds` - 1, ...):
/// a fixed resampling interval, as FK steering's (Singhal et al. 2025, sec. 3,
/// "resampling schedule"); between resamplings the incremental log-weights
/// add up. interval{1} is every_round.
struct interval {
  std::size_t rounds = 1;
  bool operator()(double, std::size_t, std::size_t round) const noexcept { return rounds > 0 && (round + 1) % rounds == 0; }
};
inline constexpr every_round_t every_round{};
}  // namespace resample_when

namespace finished_particles {
/// Finished particles keep competing: each round they are re-weighted with
/// their final step's weight and may be duplicated or dropped by resampling
/// (the published code of Puri et al. 2025). The population stays N.
struct compete_t {
  static constexpr bool competes = true;
};
/// Finished particles stay fixed: they leave the population with their weight
/// at finishing and are never resampled away; resampling runs over the
/// unfinished particles only.
struct stay_fixed_t {
  static constexpr bool competes = false;
};
inline constexpr compete_t compete{};
inline constexpr stay_fixed_t stay_fixed{};
}  // namespace finished_particles

template <class F>
concept finished_particle_policy = requires { { F::competes } -> std::convertible_to<bool>; };

namespace particle_score {
/// candidate.score = the particle's normalised weight softmax(log-weight / T)
/// at the end (weights sum to 1 over the candidates; for particle Gibbs over
/// all sweeps): select::weighted_majority then sums the particle estimate of
/// each answer's posterior probability.
struct normalized_weight_t {};
/// candidate.score = the PRM score of the particle's newest step.
struct last_reward_t {};
inline constexpr normalized_weight_t normalized_weight{};
inline constexpr last_reward_t last_reward{};
}  // namespace particle_score

template <class S>
concept particle_score_policy = std::same_as<S, particle_score::normalized_weight_t> || std::same_as<S, particle_score::last_reward_t>;

/// Resampling temperature T_t, linear in the round t = 0 .. horizon - 1 from
/// `start` to `end` (constant when equal; T = 1 is plain softmax). Linear
/// annealing of the resampling distribution, an option of the particle methods.
struct linear_temperature {
  double start = 1.0;
  double end = 1.0;
  [[nodiscard]] double at(std::size_t round, std::size_t horizon) const noexcept {
    if (horizon <= 1) return start;
    const double f = static_cast<double>(round) / static_cast<double>(horizon - 1);
    return start + (end - start) * std::min(f, 1.0);
  }
};

/// A temperature schedule: `schedule(round, ess_fraction)` -> the temperature
/// T > 0 of the resampling at that round. Any such callable is one (a plain
/// lambda included); ess_fraction is ESS(lw) / n of the untempered weights if
/// the schedule declares `static constexpr bool reads_ess = true;` (the sweep
/// then computes that ESS first), and NaN otherwise.
template <class S>
concept temperature_schedule = std::copy_constructible<S> && requires(const S& s, std::size_t round, double ess) {
  { s(round, ess) } -> std::convertible_to<double>;
};

/// Whether a schedule reads the ESS: its `reads_ess` if it declares one, else false.
template <class S>
inline constexpr bool schedule_reads_ess = false;
template <class S>
  requires requires { { S::reads_ess } -> std::convertible_to<bool>; }
inline constexpr bool schedule_reads_ess<S> = S::reads_ess;

/// The particle filter's schedule: linear_temperature over `horizon` rounds
/// (reads no ESS).
struct linear_schedule {
  linear_temperature temperature{};
  std::size_t horizon = 1;
  [[nodiscard]] double operator()(std::size_t round, double) const noexcept { return temperature.at(round, horizon); }
};

TTSCALE_END_NAMESPACE
