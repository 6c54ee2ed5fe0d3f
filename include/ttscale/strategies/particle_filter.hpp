// ttscale/strategies/particle_filter.hpp: particle filtering for
// inference-time scaling (Puri et al. 2025, "A Probabilistic Inference
// Approach to Inference-Time Scaling of LLMs using Particle-Based Monte Carlo
// Methods", arXiv 2502.01618, Alg. 1).
//
// Generation is read as a state-space model: the generator is the transition
// and the PRM the (approximate) likelihood, so instead of searching for the
// PRM's mode the filter samples the posterior's typical set. N particles are
// trajectory handles into the shared-prefix tree (forking is copying a handle;
// a surviving particle keeps its slot, so a real engine keeps its KV cache):
//
//   x_i = prompt, lw_i = 0                                   i = 1..N
//   for t = 0, 1, ..., max_steps - 1:
//     x_i <- x_i + step ~ generator(x_i)   for unfinished i  (one batched call)
//     r_i <- PRM(x_i)                                         (one batched call)
//     lw_i <- lw_i + weight(r_i)     weight = logit(r) by default (published code)
//     if every particle finished: stop
//     T <- temperature(t)                                     (linear annealing)
//     if trigger(ESS(lw / T)):                                (every round in Alg. 1)
//       a ~ resample(softmax(lw / T))   x_i <- x_{a_i}, lw_i <- 0
//   return selection over the particles (score: normalised weight or reward)
//
// Policies (strategies/detail/particle_weights.hpp): log_weight_from::
// logit_reward / log_reward / reward / step_confidence / path_confidence;
// kernels::systematic / multinomial / stratified / residual / ssp resampling
// (kernels/resample.hpp); resample_when::every_round, ess_below{f} or interval{k} (between
// resamplings the incremental log-weights add up); finished_particles::
// compete (the published code: a finished particle keeps its final weight and
// takes part in every resampling) or stay_fixed (it leaves the population and
// is never resampled away); particle_score::normalized_weight or reward for the final
// selection. Randomness: step t of slot i uses stream (i, t), the resampling
// at round t stream (particle_stream, t), so results do not depend on batch
// size or threads; from the same caller engine state, round 0 draws the
// same first steps as best-of-N (common random numbers).
// Cost: N samples, about N * depth steps and PRM items, one generator and one
// PRM call per round (per batch); overhead O(N) per round (bench/particle_bench).
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/strategies/detail/particle_system.hpp>
#include <ttscale/strategies/detail/sample_and_select.hpp>
#include <ttscale/strategies/detail/particle_weights.hpp>
#include <ttscale/verifier.hpp>

#include <cstddef>
#include <random>

TTSCALE_BEGIN_NAMESPACE

template <log_weight_source Weight = log_weight_from::logit_reward_t,
          kernels::resampling_scheme Scheme = kernels::systematic_t, resample_trigger Trigger = resample_when::every_round_t,
          finished_particle_policy Finished = finished_particles::compete_t,
          particle_score_policy Score = particle_score::normalized_weight_t, class Select = select::best_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct particle_filter_options {
  std::size_t n = 16;                ///< particles (>= 1)
  std::size_t max_steps = 64;        ///< rounds; also the annealing horizon (>= 1)
  Weight log_weight{};                 ///< reward -> incremental log-weight
  Scheme resampling{};               ///< resampling scheme (kernels)
  Trigger resample_when{};           ///< every round, when ESS < fraction * N, or every k-th round
  linear_temperature temperature{};  ///< softmax temperature, linear from start to end
  Finished finished{};               ///< finished particles compete or stay fixed
  Score candidate_score{};           ///< candidate.score: normalised weight or reward
  Select selection{};                ///< select::best, select::weighted_majority, ...
  Extract extract{};                 ///< answer extraction
  execution exec{};                  ///< batching and threads
  Budget budget{};                   ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;     ///< optional: record the search tree (resampled-away particles: pruned)
};

namespace detail {
template <budget_policy B, generator G, class V, class Weight, class Scheme, class Trigger, class Finished, class Score,
          class Select, class Extract>
particle_search_result<answer_of<Extract>> particle_filter_body(
    search_context<B>& ctx, G& gen, V* prm,
    const particle_filter_options<Weight, Scheme, Trigger, Finished, Score, Select, Extract, B>& o) {
  validate_particle_options(ctx, o.n, o.max_steps, o.log_weight, o.resample_when);
  validate_temperature(ctx, o.temperature);
  ctx.record_to(o.trace);
  const sweep_plan<Weight, Scheme, Trigger, Finished, linear_schedule> plan{
      .log_weight = o.log_weight,
      .scheme = o.resampling,
      .trigger = o.resample_when,
      .temperature = {.temperature = o.temperature, .horizon = o.max_steps},
      .max_steps = o.max_steps};
  return filter_and_select(ctx, gen, prm, o.n, plan, o.extract, o.candidate_score, o.selection);
}
}  // namespace detail

/// Particle filtering with a PRM; see the header comment. Throws
/// invalid_argument for n = 0, max_steps = 0 or bad policy parameters,
/// budget_exhausted if the budget is already spent, generator_failure /
/// verifier_failure if they throw, invalid_score for a NaN/inf score or one
/// outside the weight source's domain.
template <generator G, process_verifier V, class Weight, class Scheme, class Trigger, class Finished, class Score,
          class Select, answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] particle_search_result<answer_of<Extract>> particle_filter(
    G& gen, V& prm, search_start start,
    const particle_filter_options<Weight, Scheme, Trigger, Finished, Score, Select, Extract, Budget>& options,
    Engine& rng) {
  search_context<Budget> ctx("particle_filter", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    return detail::particle_filter_body(ctx, gen, &prm, options);
  });
}

/// Particle filtering weighted by the generator's own confidence
/// (log_weight_from::step_confidence / path_confidence): no reward model.
template <generator G, class Weight, class Scheme, class Trigger, class Finished, class Score, class Select,
          answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires(!Weight::uses_reward) && selection_policy<Select, answer_of<Extract>>
[[nodiscard]] particle_search_result<answer_of<Extract>> particle_filter(
    G& gen, search_start start,
    const particle_filter_options<Weight, Scheme, Trigger, Finished, Score, Select, Extract, Budget>& options,
    Engine& rng) {
  search_context<Budget> ctx("particle_filter", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::no_verifier* none = nullptr;
    return detail::particle_filter_body(ctx, gen, none, options);
  });
}

TTSCALE_END_NAMESPACE
