// ttscale/strategies/best_of_n.hpp: best-of-N sampling.
//
// Sample N independent completions, score each with a verifier, return the
// best (Cobbe et al. 2021; the "best-of-N" baseline of Snell et al. 2024,
// sec. 5.1). With an outcome verifier each finished completion is scored once
// (one batched call); with a process verifier every round's new steps are
// scored in one batched call and a completion's score is the aggregation of
// its step scores (options.aggregate: last, min, product, mean, or your own).
//
//   for i in 1..N:  y_i ~ generator(prompt)          (lockstep, batched)
//   s_i = ORM(y_i)  or  aggregate(PRM(y_i[1..t]) for t)
//   return selection({(y_i, s_i, answer(y_i))})     (select::best by default)
//
// With `.selection = select::weighted_majority` this is Snell et al.'s
// "best-of-N weighted": each answer scores the sum of its completions'
// scores, and the best-scored completion of the winning answer is returned.
// Ties go to the lowest candidate index. Cost: N samples, about N * (mean
// steps) generated steps, ceil(N / batch) generator calls per round.
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

template <class Select = select::best_t, step_aggregator Aggregate = aggregate::last_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct best_of_n_options {
  std::size_t n = 16;           ///< completions to sample (>= 1)
  std::size_t max_steps = 64;   ///< steps per completion before it is abandoned (>= 1)
  Select selection{};           ///< final selection policy (select::best, select::weighted_majority, ...)
  Aggregate aggregate{};        ///< step-score aggregation when the verifier is a PRM
  Extract extract{};            ///< answer extraction (for the reported answer and weighted selection)
  execution exec{};             ///< batching and threads
  Budget budget{};              ///< limits; the search stops at the first one reached
};

/// Best-of-N; see the header comment. Throws invalid_argument for n = 0 or
/// max_steps = 0, budget_exhausted if the budget is already spent,
/// generator_failure / verifier_failure if they throw, invalid_score for a
/// NaN or infinite verifier score or a NaN aggregate of a PRM's step scores.
template <generator G, verifier V, class Select, step_aggregator Aggregate, answer_extractor Extract,
          budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> best_of_n(G& gen, V& verifier, search_start start,
                                                          const best_of_n_options<Select, Aggregate, Extract, Budget>& options,
                                                          Engine& rng) {
  search_context<Budget> ctx("best_of_n", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    return detail::sample_and_select(ctx, gen, verifier, {options.n, options.max_steps}, options.aggregate,
                                     options.extract, options.selection);
  });
}

TTSCALE_END_NAMESPACE
