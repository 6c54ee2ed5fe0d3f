// ttscale/strategies/majority_vote.hpp: self-consistency and weighted votes.
//
// majority_vote (self-consistency, Wang et al. 2023, sec. 2): sample N
// completions, extract each one's answer, return the most frequent answer.
// No verifier is called.
//
// weighted_majority_vote (Snell et al. 2024, sec. 5.1; Li et al. 2023): the
// same N completions, scored by a verifier as in best-of-N; each answer's
// weight is the sum of its completions' scores, and the heaviest answer wins
// (its best-scored completion is the chosen candidate). A finished completion
// without an extractable answer abstains in both.
//
//   for i in 1..N:  y_i ~ generator(prompt);  a_i = answer(y_i)
//   majority:           argmax_a  sum_i [a_i = a]
//   weighted majority:  argmax_a  sum_i [a_i = a] * score(y_i)
//
// Ties go to the answer that appeared first (lowest candidate index).
// result.totals holds every answer's total and count.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/strategies/detail/sample_and_select.hpp>
#include <ttscale/verifier.hpp>

#include <cstddef>
#include <random>

TTSCALE_BEGIN_NAMESPACE

template <answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct vote_options {
  std::size_t n = 16;           ///< completions to sample (>= 1)
  std::size_t max_steps = 64;   ///< steps per completion before it is abandoned (>= 1)
  Extract extract{};            ///< answer extraction
  execution exec{};             ///< batching and threads
  Budget budget{};              ///< limits; the search stops at the first one reached
};

/// Self-consistency: the most frequent answer among N samples.
template <generator G, answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
[[nodiscard]] search_result<answer_of<Extract>> majority_vote(G& gen, search_start start,
                                                              const vote_options<Extract, Budget>& options,
                                                              Engine& rng) {
  search_context<Budget> ctx("majority_vote", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::no_verifier none;
    return detail::sample_and_select(ctx, gen, none, {options.n, options.max_steps}, aggregate::last,
                                     options.extract, select::majority);
  });
}

/// Weighted majority: the answer with the largest summed verifier score. With
/// a PRM, `aggregate` turns step scores into a completion score.
template <generator G, verifier V, answer_extractor Extract, budget_policy Budget,
          std::uniform_random_bit_generator Engine, step_aggregator Aggregate = aggregate::last_t>
[[nodiscard]] search_result<answer_of<Extract>> weighted_majority_vote(G& gen, V& verifier, search_start start,
                                                                       const vote_options<Extract, Budget>& options,
                                                                       Engine& rng, const Aggregate& aggregate = {}) {
  search_context<Budget> ctx("weighted_majority_vote", std::move(start), options.budget, options.exec,
                             draw_seed(rng));
  return ctx.run([&] {
    return detail::sample_and_select(ctx, gen, verifier, {options.n, options.max_steps}, aggregate, options.extract,
                                     select::weighted_majority);
  });
}

TTSCALE_END_NAMESPACE
