// ttscale/strategies/detail/sample_and_select.hpp: the body shared by
// best-of-N and the votes: sample n completions in lockstep, score them
// (PRM per round, or ORM once at the end), extract answers, select.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/strategies/detail/aggregated_score.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// Stands in for "no verifier" (plain majority vote).
struct no_verifier {};

struct sampling_shape {
  std::size_t n = 0;
  std::size_t max_steps = 0;
};

template <generator G, class V, step_aggregator Aggregate, answer_extractor Extract, class Select, budget_policy B>
search_result<answer_of<Extract>> sample_and_select(search_context<B>& ctx, G& gen, V& ver, sampling_shape shape,
                                                    const Aggregate& aggregate, const Extract& extract,
                                                    const Select& selection) {
  detail::require_at_least(ctx.name(), "options.n", shape.n, 1);
  detail::require_at_least(ctx.name(), "options.max_steps", shape.max_steps, 1);
  constexpr bool use_orm = outcome_verifier<V>;
  constexpr bool use_prm = !use_orm && process_verifier<V>;

  const std::size_t admitted = ctx.admit_samples(shape.n);
  auto observe = [&](std::span<const trajectory> children, std::span<const std::size_t>) {
    if constexpr (use_prm) (void)ctx.score_steps(ver, children);  // a cut round is recorded: the rollout stops
    return true;
  };
  rollout_state state = rollout(ctx, gen, admitted, 0, shape.max_steps, observe);

  std::vector<candidate<answer_of<Extract>>> candidates(admitted);
  std::vector<trajectory> finished;
  std::vector<std::size_t> finished_index;
  for (std::size_t i = 0; i < admitted; ++i) {
    candidates[i].path = state.leaves[i];
    if (!state.leaves[i].finished()) continue;
    candidates[i].answer = extract(state.leaves[i]);
    finished.push_back(state.leaves[i]);
    finished_index.push_back(i);
  }
  if constexpr (use_orm) {
    // One batched ORM call for every finished candidate. If the verifier-call
    // limit cuts it, the rest stay unscored (NaN) and cannot be chosen.
    const std::vector<double> scores = ctx.score_outcomes(ver, finished);
    for (std::size_t j = 0; j < scores.size(); ++j) candidates[finished_index[j]].score = scores[j];
  } else if constexpr (use_prm) {
    // A candidate whose newest step the verifier-call limit left unscored
    // keeps what the aggregator makes of it (NaN for last: never chosen);
    // a fully scored one with a NaN aggregate is an error, as in step search.
    for (std::size_t i : finished_index) {
      const trajectory& path = candidates[i].path;
      candidates[i].score = std::isnan(path.step_score())
                                ? aggregated_score(path, aggregate)
                                : checked_aggregated_score(ctx, path, aggregate, "candidate", i);
    }
  }
  return ctx.finish(std::move(candidates), selection);
}

}  // namespace detail
TTSCALE_END_NAMESPACE
