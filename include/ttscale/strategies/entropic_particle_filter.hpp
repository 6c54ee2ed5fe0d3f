// ttscale/strategies/entropic_particle_filter.hpp: entropic particle filtering
// (ePF: Giannone et al. 2025, "Mitigating Premature Exploitation in
// Particle-based Monte Carlo for Inference-Time Scaling", arXiv 2510.05825).
//
// A PRM that is over-confident early makes the particle filter's weights
// degenerate: one particle takes all the mass, resampling copies it N times,
// and the filter commits to it (particle impoverishment). ePF adds two things
// to the particle filter of particle_filter.hpp:
//  - Entropic Annealing (EA): when diversity drops, flatten the resampling
//    distribution softmax(lw / T) by raising the temperature
//        T_t = max(1, (N / ESS_t) * (1 - t / T_max))
//            if ESS_t / N < kappa (0.5) and t / T_max < 0.5, else T_t = 1,
//    with ESS_t the effective sample size of the untempered weights, t the
//    number of steps taken (round + 1) and T_max = max_steps. Early in the
//    search and under collapse the temperature is high; it decays to 1
//    linearly in t, so late rounds exploit. (Example: ESS/N = 0.25 and
//    t/T_max = 0.1 give T = 4 * 0.9 = 3.6.)
//  - Look-ahead Modulation (LaM): a particle is weighed by the PRM score of a
//    successor `look_ahead` steps ahead (drawn from the particle, scored, and
//    then left out of the population: the particle itself advances one step
//    per round), so a step is judged by where it leads rather than by the
//    PRM's myopic view of the step itself. A finished particle is weighed by
//    its own score. The look-ahead steps are paid for (accounting).
//
//   (particle filter of Puri et al. 2025, Alg. 1, with)
//     r_i <- PRM(successor_k(x_i))                    LaM, one batched call per look-ahead step
//     T   <- entropic_temperature(ESS(lw) / N, (t + 1) / T_max)    EA
//
// Everything else (weight sources, resampling schemes and trigger, finished
// particles, final selection, streams) is the particle filter's. Cost: the
// particle filter's, times (1 + look_ahead) in generated steps.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/strategies/detail/particle_system.hpp>
#include <ttscale/strategies/detail/particle_weights.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>

TTSCALE_BEGIN_NAMESPACE

/// The entropic annealing rule (ePF, Entropic Annealing; see the header comment).
struct entropic_annealing {
  double ess_threshold = 0.5;    ///< kappa: anneal only when ESS / N < kappa
  double progress_limit = 0.5;   ///< anneal only while t / T_max < this

  /// T for a diversity ESS / N in (0, 1] and progress t / T_max in [0, 1].
  [[nodiscard]] double temperature(double ess_fraction, double progress) const noexcept {
    if (ess_fraction < ess_threshold && progress < progress_limit)
      return std::max(1.0, (1.0 / ess_fraction) * (1.0 - progress));
    return 1.0;
  }
};

/// ePF's temperature schedule: entropic_annealing at progress t / T_max, with
/// t = round + 1 steps taken and T_max = `horizon`. It reads the ESS of the
/// untempered weights (reads_ess), so the sweep computes that ESS first.
struct entropic_schedule {
  static constexpr bool reads_ess = true;
  entropic_annealing annealing{};
  std::size_t horizon = 1;
  [[nodiscard]] double operator()(std::size_t round, double ess_fraction) const noexcept {
    return annealing.temperature(ess_fraction, static_cast<double>(round + 1) / static_cast<double>(horizon));
  }
};
static_assert(temperature_schedule<entropic_schedule> && schedule_reads_ess<entropic_schedule>);

template <log_weight_source Weight = log_weight_from::logit_reward_t,
          kernels::resampling_scheme Scheme = kernels::systematic_t, resample_trigger Trigger = resample_when::every_round_t,
          finished_particle_policy Finished = finished_particles::compete_t,
          particle_score_policy Score = particle_score::normalized_weight_t, class Select = select::best_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct entropic_particle_filter_options {
  std::size_t n = 16;                ///< particles (>= 1)
  std::size_t max_steps = 64;        ///< rounds; T_max of the annealing (>= 1)
  std::size_t look_ahead = 1;        ///< LaM: weigh by the successor this many steps ahead (0 = off)
  entropic_annealing annealing{};    ///< EA parameters
  Weight log_weight{};                 ///< reward -> incremental log-weight
  Scheme resampling{};               ///< resampling scheme (kernels)
  Trigger resample_when{};           ///< every round, or when ESS < fraction * N
  Finished finished{};               ///< finished particles compete or stay fixed
  Score candidate_score{};           ///< candidate.score: normalised weight or reward
  Select selection{};                ///< select::best, select::weighted_majority, ...
  Extract extract{};                 ///< answer extraction
  execution exec{};                  ///< batching and threads
  Budget budget{};                   ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;     ///< optional: record the search tree (resampled-away particles: pruned)
};

/// Entropic particle filtering with a PRM. Errors as particle_filter, plus
/// invalid_argument for annealing parameters outside (0, 1].
template <generator G, process_verifier V, class Weight, class Scheme, class Trigger, class Finished, class Score,
          class Select, answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] particle_search_result<answer_of<Extract>> entropic_particle_filter(
    G& gen, V& prm, search_start start,
    const entropic_particle_filter_options<Weight, Scheme, Trigger, Finished, Score, Select, Extract, Budget>& o,
    Engine& rng) {
  search_context<Budget> ctx("entropic_particle_filter", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::validate_particle_options(ctx, o.n, o.max_steps, o.log_weight, o.resample_when);
    const entropic_annealing& ea = o.annealing;
    if (!(ea.ess_threshold > 0.0 && ea.ess_threshold <= 1.0 && ea.progress_limit > 0.0 && ea.progress_limit <= 1.0))
      ctx.fail_argument("options.annealing thresholds must be in (0, 1] (got ess_threshold " +
                        detail::number_text(ea.ess_threshold) + ", progress_limit " + detail::number_text(ea.progress_limit) + ")");
    ctx.record_to(o.trace);
    const detail::sweep_plan<Weight, Scheme, Trigger, Finished, entropic_schedule> plan{
        .log_weight = o.log_weight,
        .scheme = o.resampling,
        .trigger = o.resample_when,
        .temperature = {.annealing = ea, .horizon = o.max_steps},
        .max_steps = o.max_steps,
        .look_ahead = o.look_ahead};
    return detail::filter_and_select(ctx, gen, &prm, o.n, plan, o.extract, o.candidate_score, o.selection);
  });
}

TTSCALE_END_NAMESPACE
