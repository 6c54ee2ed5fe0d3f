// ttscale/strategies/rebase.hpp: REBASE, reward-balanced search.
//
// Wu et al. 2024 ("Inference Scaling Laws: An Empirical Analysis of
// Compute-Optimal Inference for Problem-Solving with Language Models",
// sec. 4.2, Fig. 3): a tree search that expands EVERY node of the frontier,
// each in proportion to its PRM reward, so a good branch gets many children
// and a poor one few or none — no fixed beam width. With a sample budget of N
// solutions:
//
//   frontier <- {root}; C <- 0 (completed solutions)
//   for depth d = 1, 2, ..., max_depth:
//     W_d <- N - C                                   (the remaining budget)
//     W_j <- W_d * softmax(R(n_j) / T_b)_j  over the frontier   (reward balancing)
//            rounded by largest remainder, so sum_j W_j = W_d exactly
//     children <- expand n_j into W_j children, all j (ONE batched generator call)
//     R(c) <- PRM(c)                                 (ONE batched PRM call)
//     C <- C + |finished children|;  frontier <- unfinished children
//     stop when C = N, the frontier is empty, or a budget limit
//   return selection(finished)      (weighted majority by reward, as the paper's best results)
//
// The paper writes W_j = Round(W_d * exp(R/T_b) / sum exp(R/T_b)); independent
// rounding can spend more or less than W_d, so we apportion exactly
// (kernels/apportion.hpp). A node with W_j = 0 is pruned. With T_b -> 0 the
// whole budget goes to the best node (greedy); with T_b -> inf it is spread
// evenly (breadth-first sampling). Each round draws N - C children: the same
// generator work per round as beam search with N.
//
// Written on the public round API (search_round.hpp) only; it is the
// README's "Writing a strategy" walk-through.
//
// Cost per round: one generator and one PRM call for N - C items, a softmax
// and an apportionment over the frontier (O(F log F)).
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/apportion.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <cstddef>
#include <random>
#include <span>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <class Select = select::weighted_majority_t, step_aggregator Aggregate = aggregate::last_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct rebase_options {
  std::size_t n = 16;             ///< N: completed solutions sought, the sample budget (>= 1)
  double temperature = 0.1;       ///< T_b, the balance temperature (> 0; our default for PRM scores in [0, 1])
  std::size_t max_depth = 40;     ///< rounds before unfinished nodes are abandoned (>= 1)
  Select selection{};             ///< final selection policy over the completed solutions
  Aggregate aggregate{};          ///< R(n): step-score aggregation (last, min, product, mean, or a callable)
  Extract extract{};              ///< answer extraction
  execution exec{};               ///< batching and threads
  Budget budget{};                ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;  ///< optional: record the search tree here
};

/// REBASE; see the header comment. Throws invalid_argument for n = 0,
/// max_depth = 0, a temperature that is not finite and > 0; otherwise as
/// beam_search.
template <generator G, process_verifier V, class Select, step_aggregator Aggregate, answer_extractor Extract,
          budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> rebase(
    G& gen, V& prm, search_start start, const rebase_options<Select, Aggregate, Extract, Budget>& options,
    Engine& rng) {
  search_context<Budget> ctx("rebase", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.n", options.n, 1);
    detail::require_at_least(ctx.name(), "options.max_depth", options.max_depth, 1);
    if (!(options.temperature > 0.0) || !std::isfinite(options.temperature))
      ctx.fail_argument("options.temperature must be finite and > 0 (got " +
                        detail::number_text(options.temperature) + ")");
    ctx.record_to(options.trace);

    const std::size_t budget_n = ctx.admit_samples(options.n);  // N
    std::vector<trajectory> finished;                            // C = finished.size()
    std::vector<trajectory> frontier{ctx.root()};
    std::vector<double> rewards{0.0};                            // the root's share is the whole budget
    std::vector<expansion> plan;  // the round's buffers, reused round after round
    step_round round;
    for (std::size_t depth = 0; depth < options.max_depth && !frontier.empty(); ++depth) {
      const std::size_t remaining = budget_n - finished.size();  // W_d
      if (remaining == 0 || ctx.should_stop()) break;
      // Reward balancing: W_j = W_d * softmax(R / T_b)_j, apportioned exactly.
      std::vector<double> share(frontier.size());
      std::vector<std::size_t> width(frontier.size());
      kernels::softmax(std::span<const double>(rewards), std::span<double>(share), options.temperature);
      kernels::apportion(share, remaining, width);
      plan.clear();
      for (std::size_t j = 0; j < frontier.size(); ++j) {
        if (width[j] > 0) {
          plan.push_back({frontier[j], width[j]});
        } else {
          ctx.mark(frontier[j], trace_status::pruned);  // W_j = 0: pruned
          ctx.release(frontier[j]);
        }
      }
      expand_and_score(ctx, gen, prm, std::span<const expansion>(plan), 0, options.aggregate,
                       parent_release::released, round);
      frontier.clear();
      rewards.clear();
      for (std::size_t i = 0; i < round.children.size(); ++i) {
        if (round.children[i].finished()) {
          finished.push_back(round.children[i]);
        } else {
          frontier.push_back(round.children[i]);
          rewards.push_back(round.scores[i]);
        }
      }
      ctx.mark(frontier, trace_status::kept);
      if (ctx.cut()) break;
    }
    return finish_step_search(ctx, std::span<const trajectory>(finished), options);
  });
}

TTSCALE_END_NAMESPACE
