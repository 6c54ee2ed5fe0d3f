// ttscale/strategies/particle_gibbs.hpp: particle Gibbs with ancestor
// sampling for inference-time scaling (Puri et al. 2025, arXiv 2502.01618,
// sec. 3.2 "particle Gibbs"; conditional SMC: Andrieu, Doucet & Holenstein
// 2010, sec. 4.3; ancestor sampling: Lindsten, Jordan & Schon 2014, eq. 9).
//
// Particle Gibbs runs several sweeps of the particle filter. After a sweep
// one final particle is drawn by weight as the reference trajectory x*; the
// next sweep is a conditional particle filter: slot 0 replays x* step by step
// (no generation: its steps are given) while the N - 1 free particles are
// generated as usual; at every resampling the free slots draw their ancestors
// from all N particles, x* included, and slot 0 keeps the reference
// (conditional resampling). So good trajectories survive across sweeps, and
// the free particles explore around them.
//
//   sweep 0: particle filter with N particles (particle_filter.hpp)
//   for k = 1 .. sweeps - 1:
//     x* ~ softmax(lw / T) over sweep k-1's particles          (reference)
//     conditional particle filter: x_0 = x*_{1:t}; x_1..x_{N-1} as in Alg. 1;
//       resampling: a_i ~ W for i >= 1 only, a_0 = 0, or with ancestor
//       sampling a_0 ~ W_j * p(x*_{t+1} | x_j)   (Lindsten et al. 2014, eq. 9)
//   candidates: the final particles of every sweep (weights / sweeps)
//
// Ancestor sampling needs the transition term p(x*_{t+1} | x_j), which a
// language model does not give for another particle's prefix. We use the
// exact case the generator can guarantee: p(x*_{t+1} | x_j) = p(x*_{t+1} | x*_t)
// when x_j is in the same state as x*_t, and 0 otherwise (otherwise the step
// may not even make sense after x_j). The state is a policy:
// ancestor_state::path (the full text, path_hash: right for any language
// model, and the reference then moves only among identical-text copies),
// ancestor_state::engine_state (the generator's engine_state and depth: for a
// generator that is Markov in engine_state, such as the toy world, the
// reference's future can be grafted onto a different past that reached the
// same state), or ancestor_state::none (plain particle Gibbs). Grafting appends
// copies of the reference's remaining steps to the chosen ancestor (new nodes,
// scored by the PRM in the round's batch); a PRM that reads the whole prefix
// may score them differently, which makes the sampler approximate there.
// Cost: N + (sweeps - 1)(N - 1) samples; per sweep as the particle filter.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/strategies/detail/particle_resampling.hpp>
#include <ttscale/strategies/detail/particle_system.hpp>
#include <ttscale/strategies/detail/particle_weights.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

namespace ancestor_state {
/// The full text (path_hash) is the state: a language model's case.
struct path_t {
  static std::uint64_t key(const trajectory& t) { return t.path_hash(); }
};
/// The generator's engine_state and the depth: for Markov generators (toy world).
struct engine_state_t {
  static std::uint64_t key(const trajectory& t) {
    return ttscale::detail::mix64(static_cast<std::uint64_t>(t.last_step().engine_state) ^
                                  ttscale::detail::mix64(t.depth()));
  }
};
/// No ancestor sampling: the reference keeps its own ancestors.
struct none_t {};
inline constexpr path_t path{};
inline constexpr engine_state_t engine_state{};
inline constexpr none_t none{};
}  // namespace ancestor_state

template <class S>
concept ancestor_state_policy = std::same_as<S, ancestor_state::none_t> || requires(const trajectory& t) {
  { S::key(t) } -> std::convertible_to<std::uint64_t>;
};

template <log_weight_source Weight = log_weight_from::logit_reward_t,
          kernels::resampling_scheme Scheme = kernels::systematic_t, resample_trigger Trigger = resample_when::every_round_t,
          ancestor_state_policy AncestorState = ancestor_state::path_t,
          finished_particle_policy Finished = finished_particles::compete_t,
          particle_score_policy Score = particle_score::normalized_weight_t, class Select = select::best_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct particle_gibbs_options {
  std::size_t n = 16;                ///< particles per sweep, reference included (>= 2 if sweeps > 1)
  std::size_t max_steps = 64;        ///< rounds per sweep (>= 1)
  std::size_t sweeps = 4;            ///< particle Gibbs iterations (>= 1; 1 = particle filter)
  AncestorState ancestor_sampling{}; ///< state policy of ancestor sampling (none = plain PG)
  Weight log_weight{};                 ///< reward -> incremental log-weight
  Scheme resampling{};               ///< resampling scheme (kernels)
  Trigger resample_when{};           ///< every round, or when ESS < fraction * N
  linear_temperature temperature{};  ///< softmax temperature, linear over each sweep
  Finished finished{};               ///< finished particles compete or stay fixed
  Score candidate_score{};           ///< candidate.score: normalised weight / sweeps, or reward
  Select selection{};                ///< select::best, select::weighted_majority, ...
  Extract extract{};                 ///< answer extraction
  execution exec{};                  ///< batching and threads
  Budget budget{};                   ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;     ///< optional: record the search tree (resampled-away particles: pruned)
};

/// Particle Gibbs with ancestor sampling; see the header comment. Errors as
/// particle_filter, plus invalid_argument for sweeps = 0 or n < 2 with sweeps > 1.
template <generator G, process_verifier V, class Weight, class Scheme, class Trigger, class AncestorState, class Finished,
          class Score, class Select, answer_extractor Extract, budget_policy Budget,
          std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] particle_search_result<answer_of<Extract>> particle_gibbs(
    G& gen, V& prm, search_start start,
    const particle_gibbs_options<Weight, Scheme, Trigger, AncestorState, Finished, Score, Select, Extract, Budget>& o,
    Engine& rng) {
  using Answer = answer_of<Extract>;
  search_context<Budget> ctx("particle_gibbs", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::validate_particle_options(ctx, o.n, o.max_steps, o.log_weight, o.resample_when);
    detail::validate_temperature(ctx, o.temperature);
    detail::require_at_least(ctx.name(), "options.sweeps", o.sweeps, 1);
    if (o.sweeps > 1 && o.n < 2)
      ctx.fail_argument("options.n must be at least 2 with more than one sweep (got " + std::to_string(o.n) +
                        "): the reference takes one slot");
    ctx.record_to(o.trace);

    detail::particle_reference ref;
    if constexpr (!std::same_as<AncestorState, ancestor_state::none_t>) ref.state_of = &AncestorState::key;
    std::vector<candidate<Answer>> candidates;
    std::vector<particle_round> rounds;
    detail::particle_state st;
    detail::sample_one_workspace pick_workspace;
    std::size_t sweeps_done = 0;
    for (std::size_t k = 0; k < o.sweeps && !ctx.cut(); ++k) {
      const std::size_t free = k == 0 ? o.n : o.n - 1;
      const std::size_t admitted = ctx.admit_samples(free);
      if (admitted < free && (k > 0 || admitted == 0)) break;  // sample limit
      st.reset(ctx.root(), k == 0 ? admitted : o.n);
      const detail::sweep_plan<Weight, Scheme, Trigger, Finished, linear_schedule> plan{
          .log_weight = o.log_weight,
          .scheme = o.resampling,
          .trigger = o.resample_when,
          .temperature = {.temperature = o.temperature, .horizon = o.max_steps},
          .max_steps = o.max_steps,
          .sweep = k,
          .keep_ancestry = o.sweeps > 1};
      detail::run_particle_sweep(ctx, gen, &prm, st, plan, k == 0 ? nullptr : &ref, rounds);
      detail::append_particle_candidates(st, o.extract, o.candidate_score, 1.0, candidates);
      ++sweeps_done;
      // The next reference: one final particle drawn by weight.
      std::vector<double> tempered;
      detail::tempered_log_weights(st.log_weights, st.temperature, tempered);
      random_engine pick = ctx.engine({detail::stream_tag::reference_pick, k});
      const std::size_t chosen = detail::sample_one(tempered, [](std::size_t) { return true; }, pick, pick_workspace);
      ref.nodes.assign(st.paths[chosen].depth(), trajectory{});
      trajectory t = st.paths[chosen];
      for (std::size_t d = ref.nodes.size(); d-- > 0; t = t.parent()) ref.nodes[d] = t;
      // Later sweeps extend only the root and (through resampling onto the
      // reference) the reference's nodes: every other node is done.
      std::vector<trajectory> keep = ref.nodes;
      keep.push_back(ctx.root());
      ctx.release_all_except(keep);
      if (admitted < free) break;  // the sample limit: sweep 0 ran with fewer particles, no further sweep
    }
    if constexpr (std::same_as<Score, particle_score::normalized_weight_t>) {
      for (auto& c : candidates) c.score /= static_cast<double>(sweeps_done);
    }
    particle_search_result<Answer> r;
    static_cast<search_result<Answer>&>(r) = ctx.finish(std::move(candidates), o.selection);
    r.rounds = std::move(rounds);
    return r;
  });
}

TTSCALE_END_NAMESPACE
