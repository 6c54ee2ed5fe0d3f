// ttscale/strategies/beam_search.hpp: beam search guided by a process reward model.
//
// Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally...", sec. 5.2,
// Fig. 2 "Beam Search") and the public search-and-learn recipe: keep N
// candidates; each round extend them by one step, score every new step with
// the PRM, keep the N/M best by aggregated step score and expand each of
// those M ways in the next round; completed candidates leave the beam and
// are retained. With M = N this is greedy PRM-guided decoding; with M = 1 it
// keeps every candidate (no pruning).
//
//   live <- {prompt}, expanded N ways                  (round 0: N samples of step 1)
//   for d in 1..max_depth:
//     C <- extend(live)                                 (ONE batched generator call)
//     [look-ahead: roll each c in C k more steps; score(c) <- PRM at the end]
//     s_c <- aggregate(PRM(c[1..t]))                    (ONE batched PRM call)
//     finished += {c in C : c complete};  C -= finished
//     if filter_duplicates: drop c whose whole text equals an earlier one
//     if C is empty or |finished| >= N: stop            (see "Stopping" below)
//     live <- top N/M of C by s_c (or sample N/M ~ softmax(s_c / T))
//     expand live to N children: beam i gets N/|live| (+1 for the first N mod |live|)
//   return selection(finished)                          (select::best by default)
//
// Stopping: the loop ends when no unfinished candidate is left or when N
// candidates have finished (or at max_depth, or a budget limit). The public
// search-and-learn recipe (huggingface/search-and-learn,
// src/sal/search/beam_search.py) breaks when no beam is active and, only
// with config.sort_completed off, once len(completed_beams) >= config.n;
// with sort_completed on it keeps searching until every beam completed and
// then keeps the n best-scored completions. We always stop at N finished:
// a round beyond that only spends compute on candidates that could replace
// an already finished one, and N finished candidates are what the final
// selection ranks in both.
//
// Choices, documented: M must divide N (invalid_argument naming both, as the
// recipe asserts) — we never silently run another N; when fewer than N/M
// unfinished candidates remain, the survivors are expanded so that every round
// still draws N children (the recipe "duplicates active beams to n"); only
// finished candidates are returned (`candidates`, in completion order) — the
// trace (options.trace) shows the rest. Stochastic selection keeps N/M
// sampled without replacement with probabilities softmax(score / T) (Gumbel
// top-k), a temperature-controlled variant of the deterministic rule.
// stop_reason: completed, a budget limit, or depth_limit if nothing finished
// within max_depth rounds.
//
// Cost per round: one generator call (plus one per look-ahead step) for N
// items, one PRM call for N items, the top N/M by kernels::top_k (a few
// branch-free counting passes over the N scores); with an aggregate other than
// `last`, O(depth) per candidate to re-aggregate its path. No allocation per
// round once the round's buffers have grown, besides the tree's nodes.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/strategies/detail/step_search.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <class Select = select::best_t, step_aggregator Aggregate = aggregate::last_t,
          answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct beam_search_options {
  std::size_t n = 16;               ///< candidates per round, N (>= 1)
  std::size_t beam_width = 4;       ///< M: each kept beam is expanded M ways; must divide n
  std::size_t max_depth = 40;       ///< rounds (steps) before unfinished beams are abandoned (>= 1)
  std::size_t lookahead = 0;        ///< k: extra steps rolled before scoring (0 = plain beam search)
  bool filter_duplicates = false;   ///< drop candidates whose text equals an earlier one's
  double temperature = 0.0;         ///< 0: keep the top N/M; > 0: sample N/M ~ softmax(score / T)
  Select selection{};               ///< final selection policy
  Aggregate aggregate{};            ///< step-score aggregation (last, min, product, mean, or a callable)
  Extract extract{};                ///< answer extraction
  execution exec{};                 ///< batching and threads
  Budget budget{};                  ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;    ///< optional: record the search tree here
};

/// PRM-guided beam search; see the header comment. Throws invalid_argument
/// for n = 0, beam_width = 0 or not dividing n, max_depth = 0, a negative or
/// non-finite temperature; budget_exhausted if the budget is already spent;
/// generator_failure / verifier_failure if they throw; invalid_score for a
/// NaN or infinite PRM score.
template <generator G, process_verifier V, class Select, step_aggregator Aggregate, answer_extractor Extract,
          budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> beam_search(
    G& gen, V& prm, search_start start, const beam_search_options<Select, Aggregate, Extract, Budget>& options,
    Engine& rng) {
  search_context<Budget> ctx("beam_search", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_beam_shape(ctx, options.n, options.beam_width, options.max_depth);
    if (!(options.temperature >= 0.0) || !std::isfinite(options.temperature))
      ctx.fail_argument("options.temperature must be finite and >= 0 (got " + detail::number_text(options.temperature) + ")");
    ctx.record_to(options.trace);
    const std::size_t keep_count = options.n / options.beam_width;

    const std::size_t admitted = ctx.admit_samples(options.n);
    std::vector<trajectory> finished;
    std::vector<trajectory> live{ctx.root()};
    // The round's buffers live across rounds: a round allocates nothing once they have grown.
    std::vector<expansion> plan;
    step_round round;
    std::vector<trajectory> pool, pruned;
    std::vector<double> pool_scores, keyed;
    std::vector<std::size_t> keep;
    std::vector<char> kept;
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t depth = 0; depth < options.max_depth && !live.empty() && admitted > 0; ++depth) {
      if (ctx.should_stop()) break;
      plan.resize(live.size());
      for (std::size_t i = 0; i < live.size(); ++i)
        plan[i] = {live[i], admitted / live.size() + (i < admitted % live.size() ? 1 : 0)};
      expand_and_score(ctx, gen, prm, std::span<const expansion>(plan), options.lookahead, options.aggregate,
                       parent_release::released, round);
      pool.clear();
      pool_scores.clear();
      seen.clear();
      for (std::size_t i = 0; i < round.children.size(); ++i) {
        const trajectory& c = round.children[i];
        if (c.finished()) {
          finished.push_back(c);
        } else if (options.filter_duplicates && !seen.insert(c.path_hash()).second) {
          ctx.mark(c, trace_status::pruned);
          ctx.release(c);
        } else {
          pool.push_back(c);
          pool_scores.push_back(round.scores[i]);
        }
      }
      if (ctx.cut()) break;
      if (finished.size() >= admitted) break;
      random_engine selection_stream = ctx.engine({detail::stream_tag::beam_selection, depth});
      keep_best(pool_scores, keep_count, options.temperature, selection_stream, keep, keyed);
      ctx.mark(pool, trace_status::pruned);
      live.clear();
      for (std::size_t k : keep) live.push_back(pool[k]);
      ctx.mark(live, trace_status::kept);
      if (ctx.releases_nodes()) {
        kept.assign(pool.size(), 0);
        for (std::size_t k : keep) kept[k] = 1;
        pruned.clear();
        for (std::size_t i = 0; i < pool.size(); ++i)
          if (!kept[i]) pruned.push_back(pool[i]);
        ctx.release(pruned);
      }
    }
    return finish_step_search(ctx, std::span<const trajectory>(finished), options);
  });
}

TTSCALE_END_NAMESPACE
