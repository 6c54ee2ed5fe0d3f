// ttscale/strategies/a_star.hpp: A*-decoding, best-first search over partial
// solutions guided by a process reward model.
//
// Chatziveroglou 2025 ("A*-Decoding: Token-Efficient Inference Scaling",
// arXiv 2505.13672, sec. 3): decoding is a search in the space of partial
// solutions; the transition model samples K continuations of a state
// (stochastic step) and the search expands states in order of the A*
// evaluation f(s) = g(s) + h(s), with the heuristic from the PRM
// h(s) = 1 - r(s), r(s) in [0, 1] the PRM score of s's newest step. Goal
// states are complete solutions; the search stops when one is popped from
// the priority queue, or when the budget is spent — which is how A*-decoding
// saves tokens and PRM passes over best-of-N: good partial paths are
// extended first, and expansion stops at the first popped solution.
//
//   open <- {prompt}  (f = 0)
//   loop:
//     pop the B states of least f (ties: the earliest pushed)
//       a popped complete state is a solution: stop once `solutions` are popped
//     for each popped s: c_1..c_K ~ model(s)          (ONE batched call for all B*K)
//     r(c) <- PRM(c)                                   (ONE batched PRM call)
//     g(c) <- path cost of the steps before c;  h(c) <- 1 - r(c);  push c with f = g + h
//   until `expansions` states were expanded, or the budget is spent
//
// The path cost g: the paper's text available to us defines h = 1 - r and
// f = g + h over a cost g accumulated along the path; we offer both
// readings as a policy: `a_star_cost::mean` (default) — g is the mean of
// 1 - r over the steps before c, so f stays in [0, 2] at every depth and the
// search does not degenerate into breadth-first order on long solutions —
// and `a_star_cost::sum`, the textbook accumulated cost (g = sum of 1 - r,
// so f is the summed cost of the whole path). B = 1 is sequential A*; B > 1
// pops B states per round so a batching engine stays busy (the search is
// then best-first in rounds). States at max_depth are not expanded.
//
// If the search stops (budget, `expansions`) before `solutions` were popped,
// the complete states still in the queue become candidates in f order, so a
// solution found but not yet popped is not lost. Candidates are scored by the
// aggregated step score (options.aggregate) and chosen by options.selection.
// stop_reason: completed (`solutions` were popped, or nothing is left to
// expand), a budget limit, expansion_limit if `expansions` states were
// expanded before `solutions` were popped (the search was cut: its candidates
// are the leftovers, maybe none), or depth_limit if no complete state was
// found within max_depth. result.spent.verifier_items counts the PRM passes.
//
// Cost per round: one generator call for B*K items, one PRM call for B*K
// items, O(B*K log(queue)) queue work.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

namespace a_star_cost {
/// g = mean of (1 - r) over the steps before the state (0 for a first step).
struct mean_t {
  double operator()(double cost_sum, std::size_t steps) const noexcept {
    return steps == 0 ? 0.0 : cost_sum / static_cast<double>(steps);
  }
};
/// g = sum of (1 - r) over the steps before the state.
struct sum_t {
  double operator()(double cost_sum, std::size_t) const noexcept { return cost_sum; }
};
inline constexpr mean_t mean{};
inline constexpr sum_t sum{};
}  // namespace a_star_cost

template <class Select = select::best_t, class PathCost = a_star_cost::mean_t,
          step_aggregator Aggregate = aggregate::last_t, answer_extractor Extract = boxed_answer,
          budget_policy Budget = budget>
struct a_star_options {
  std::size_t continuations = 4;        ///< K: continuations sampled per expanded state (>= 1)
  std::size_t expansions = 32;          ///< at most this many states are expanded (>= 1)
  std::size_t expansions_per_round = 1; ///< B: states popped and expanded per batched round (>= 1)
  std::size_t solutions = 1;            ///< stop once this many complete states were popped (>= 1)
  std::size_t max_depth = 40;           ///< states this deep are not expanded (>= 1)
  PathCost path_cost{};                 ///< g: a_star_cost::mean or a_star_cost::sum
  Select selection{};                   ///< final selection policy among the solutions
  Aggregate aggregate{};                ///< candidate score from step scores
  Extract extract{};                    ///< answer extraction
  execution exec{};                     ///< batching and threads
  Budget budget{};                      ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;        ///< optional: record the search tree here
};

namespace detail {
struct a_star_entry {
  double f = 0.0;
  double cost_sum = 0.0;    // sum of (1 - r) over the state's steps, itself included
  std::size_t steps = 0;    // steps since the search's start
  std::uint64_t order = 0;  // push order: ties pop the earliest pushed
  trajectory state;
};
/// What the heap orders: 16 bytes, so a large open set stays cache-friendly.
struct a_star_key {
  double f = 0.0;
  std::uint64_t order = 0;  // index into the states, in push order
};
struct a_star_later {
  bool operator()(const a_star_key& a, const a_star_key& b) const noexcept {
    return a.f != b.f ? a.f > b.f : a.order > b.order;
  }
};
}  // namespace detail

/// A*-decoding; see the header comment. Throws invalid_argument for a zero
/// count option; budget_exhausted if the budget is already spent;
/// generator_failure / verifier_failure if they throw; invalid_score for a
/// NaN or infinite PRM score.
template <generator G, process_verifier V, class Select, class PathCost, step_aggregator Aggregate,
          answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>> && std::regular_invocable<const PathCost&, double, std::size_t>
[[nodiscard]] search_result<answer_of<Extract>> a_star(
    G& gen, V& prm, search_start start,
    const a_star_options<Select, PathCost, Aggregate, Extract, Budget>& options, Engine& rng) {
  search_context<Budget> ctx("a_star", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.continuations", options.continuations, 1);
    detail::require_at_least(ctx.name(), "options.expansions", options.expansions, 1);
    detail::require_at_least(ctx.name(), "options.expansions_per_round", options.expansions_per_round, 1);
    detail::require_at_least(ctx.name(), "options.solutions", options.solutions, 1);
    detail::require_at_least(ctx.name(), "options.max_depth", options.max_depth, 1);
    ctx.record_to(options.trace);

    // The open set: a binary heap of (f, push order) keys on a vector
    // (std::push_heap / pop_heap); the states live beside it in push order, and
    // the leftovers can be scanned without popping them all at the end.
    std::vector<detail::a_star_entry> states;
    std::vector<detail::a_star_key> open;
    const detail::a_star_later later;
    auto requeue = [&](const detail::a_star_entry& e) {
      open.push_back({e.f, e.order});
      std::push_heap(open.begin(), open.end(), later);
    };
    auto push = [&](double f, double cost_sum, std::size_t steps, const trajectory& state) {
      states.push_back({f, cost_sum, steps, states.size(), state});
      requeue(states.back());
    };
    auto pop = [&] {
      std::pop_heap(open.begin(), open.end(), later);
      const std::uint64_t order = open.back().order;
      open.pop_back();
      return states[order];
    };
    push(0.0, 0.0, 0, ctx.root());
    std::vector<trajectory> solutions;
    std::size_t expanded = 0;
    std::vector<expansion> plan;  // the round's buffers, reused round after round
    step_round round;
    // Each expansion starts K samples; the sample limit caps expansions.
    while (solutions.size() < options.solutions) {
      if (ctx.should_stop()) break;
      std::vector<detail::a_star_entry> popped;
      bool capped = false;  // the expansion cap stopped this round's pops
      while (popped.size() < options.expansions_per_round && !open.empty() && solutions.size() < options.solutions) {
        const detail::a_star_entry& top = states[open.front().order];
        if (top.state.finished()) {
          solutions.push_back(pop().state);
          continue;
        }
        if (expanded + popped.size() >= options.expansions) {
          capped = true;
          break;
        }
        if (top.steps >= options.max_depth) {
          const trajectory too_deep = pop().state;
          ctx.mark(too_deep, trace_status::pruned);
          ctx.release(too_deep);
          continue;
        }
        popped.push_back(pop());
      }
      if (popped.empty() || solutions.size() >= options.solutions) {
        for (const detail::a_star_entry& e : popped) requeue(e);  // not expanded after all
        if (popped.empty() && capped && solutions.size() < options.solutions) ctx.stop(stop_reason::expansion_limit);
        break;
      }
      const std::size_t wanted = popped.size() * options.continuations;
      const std::size_t admitted = ctx.admit_samples(wanted, options.continuations);
      if (admitted < wanted) {  // expand only the states whose K samples fit
        for (std::size_t i = admitted / options.continuations; i < popped.size(); ++i) requeue(popped[i]);
        popped.resize(admitted / options.continuations);
        if (popped.empty()) break;
      }
      plan.resize(popped.size());
      for (std::size_t i = 0; i < popped.size(); ++i) plan[i] = {popped[i].state, options.continuations};
      for (const detail::a_star_entry& e : popped) ctx.mark(e.state, trace_status::kept);
      expand_and_score(ctx, gen, prm, std::span<const expansion>(plan), 0, options.aggregate,
                       parent_release::released, round);
      expanded += popped.size();
      for (std::size_t i = 0; i < round.children.size(); ++i) {
        const detail::a_star_entry& parent = popped[round.from[i]];
        const double h = 1.0 - round.children[i].step_score();
        const double g = options.path_cost(parent.cost_sum, parent.steps);
        push(g + h, parent.cost_sum + h, parent.steps + 1, round.children[i]);
      }
      if (ctx.cut() || admitted < wanted) break;
    }
    // Stopped early: complete states still queued are candidates too, in f order.
    if (solutions.size() < options.solutions) {
      std::vector<detail::a_star_key> left;
      for (const detail::a_star_key& k : open)
        if (states[k.order].state.finished()) left.push_back(k);
      std::sort(left.begin(), left.end(), [&](const auto& a, const auto& b) { return later(b, a); });
      for (const detail::a_star_key& k : left) solutions.push_back(states[k.order].state);
    }
    return finish_step_search(ctx, std::span<const trajectory>(solutions), options);
  });
}

TTSCALE_END_NAMESPACE
