// ttscale/strategies/dvts.hpp: diverse verifier tree search (DVTS).
//
// Beeching, Tunstall & Rush 2024 (Hugging Face, "Scaling test-time compute
// with open models", the search-and-learn recipe's `dvts`): beam search's
// candidates collapse onto a few high-scoring prefixes; DVTS splits the N
// candidates into N/M independent subtrees and expands each greedily under
// the PRM, so the subtrees stay diverse.
//
//   for each subtree t in 1..N/M:  beam_t <- prompt
//   for d in 1..max_depth while some subtree is live:
//     for every live t: C_t <- M one-step extensions of beam_t   (ONE batched call for all subtrees)
//     s_c <- aggregate(PRM(c[1..t]))                             (ONE batched PRM call)
//     beam_t <- argmax_{c in C_t} s_c   (ties: first child)
//     if beam_t is complete: subtree t is done
//   return selection({beam_t : complete})                        (select::best by default)
//
// Unlike the public recipe, only finished candidates are returned (one per
// subtree that finished, in subtree order), and token accounting is exact
// (every generated step counts, including the M-1 discarded children per
// subtree and round). M must divide N (invalid_argument naming both).
// stop_reason: completed, a budget limit, or depth_limit if no subtree
// finished within max_depth rounds.
//
// Cost per round: one generator call and one PRM call for (live subtrees) * M
// items, O(items) selection.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/strategies/detail/step_search.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/verifier.hpp>

#include <cstddef>
#include <optional>
#include <random>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <class Select = select::best_t, step_aggregator Aggregate = aggregate::last_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct dvts_options {
  std::size_t n = 16;               ///< total candidates per round, N (>= 1)
  std::size_t beam_width = 4;       ///< M: children per subtree and round; N/M subtrees; must divide n
  std::size_t max_depth = 40;       ///< rounds before unfinished subtrees are abandoned (>= 1)
  Select selection{};               ///< final selection policy
  Aggregate aggregate{};            ///< step-score aggregation for choosing each subtree's child
  Extract extract{};                ///< answer extraction
  execution exec{};                 ///< batching and threads
  Budget budget{};                  ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;    ///< optional: record the search tree here
};

/// DVTS; see the header comment. Throws as beam_search does.
template <generator G, process_verifier V, class Select, step_aggregator Aggregate, answer_extractor Extract,
          budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> dvts(G& gen, V& prm, search_start start,
                                                     const dvts_options<Select, Aggregate, Extract, Budget>& options,
                                                     Engine& rng) {
  search_context<Budget> ctx("dvts", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_beam_shape(ctx, options.n, options.beam_width, options.max_depth);
    ctx.record_to(options.trace);

    // A subtree is M of the N samples: a sample limit admits whole subtrees only.
    const std::size_t subtrees = ctx.admit_samples(options.n, options.beam_width) / options.beam_width;
    std::vector<trajectory> beam(subtrees, ctx.root());
    std::vector<std::size_t> live(subtrees);
    for (std::size_t t = 0; t < subtrees; ++t) live[t] = t;
    std::vector<bool> done(subtrees, false);
    step_round round;  // its buffers are reused from round to round
    for (std::size_t depth = 0; depth < options.max_depth && !live.empty(); ++depth) {
      if (ctx.should_stop()) break;
      std::vector<expansion> plan(live.size());
      for (std::size_t j = 0; j < live.size(); ++j) plan[j] = {beam[live[j]], options.beam_width};
      expand_and_score(ctx, gen, prm, std::span<const expansion>(plan), 0, options.aggregate, parent_release::released,
                       round);
      // Greedy per subtree: the best child of a fully scored group (a cut round
      // leaves the last group partial; it is not advanced).
      std::vector<std::optional<std::size_t>> best(live.size());
      std::vector<std::size_t> group_size(live.size(), 0);
      for (std::size_t i = 0; i < round.children.size(); ++i) {
        const std::size_t j = round.from[i];
        ++group_size[j];
        if (!best[j] || round.scores[i] > round.scores[*best[j]]) best[j] = i;
      }
      ctx.mark(round.children, trace_status::pruned);
      std::vector<std::size_t> still_live;
      std::vector<bool> advanced(round.children.size(), false);
      for (std::size_t j = 0; j < live.size(); ++j) {
        if (!best[j] || group_size[j] < options.beam_width) continue;
        const std::size_t t = live[j];
        advanced[*best[j]] = true;
        beam[t] = round.children[*best[j]];
        ctx.mark(beam[t], trace_status::kept);
        if (beam[t].finished())
          done[t] = true;
        else
          still_live.push_back(t);
      }
      live = std::move(still_live);
      std::vector<trajectory> pruned;
      for (std::size_t i = 0; i < round.children.size(); ++i)
        if (!advanced[i]) pruned.push_back(round.children[i]);
      ctx.release(pruned);
      if (ctx.cut()) break;
    }
    std::vector<trajectory> finished;
    for (std::size_t t = 0; t < subtrees; ++t)
      if (done[t]) finished.push_back(beam[t]);
    return finish_step_search(ctx, std::span<const trajectory>(finished), options);
  });
}

TTSCALE_END_NAMESPACE
