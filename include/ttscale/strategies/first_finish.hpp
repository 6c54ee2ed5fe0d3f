// ttscale/strategies/first_finish.hpp: first-finish search (FFS), and
// "first k finish, then vote".
//
// Agarwal et al. 2025 ("First Finish Search: Efficient Test-Time Scaling in
// Large Language Models", arXiv 2505.18149, sec. 3, Alg. 1): launch n samples
// in parallel, return the first one to finish and cancel the rest. Shorter
// reasoning traces are more often right (their sec. 3 observation, which the
// toy world reproduces), so the first to finish is a cheap, good pick, and
// cancelling the rest saves the tokens they would still have generated.
// With k > 1 the search waits for the first k finishers and the final
// selection (select::majority by default) votes among them.
//
//   start samples 1..n (streams (i, depth), as every rollout)
//   step all unfinished samples until k have finished      (lockstep or threads)
//   cancel the others; return selection(first k finishers in finish order)
//
// Two modes (options.mode):
//  - first_finish_mode::lockstep (default): every round extends every live
//    sample by one step in ONE batched generator call (the batched stepper of
//    rollout.hpp). "First" = finished in the earliest round; among samples
//    finishing in the same round, fewer tokens first, then the lower index
//    (a token-streaming engine would have finished the shorter one first).
//    Fully deterministic: same seed, same result for any batch size and
//    thread count. Tokens charged: every step of every round run.
//  - first_finish_mode::threads: one std::jthread per sample, each stepping
//    its own sample with the (thread-safe: enable_concurrent_calls)
//    generator; when the k-th sample finishes, stop is requested through a
//    shared std::stop_source. A stoppable_generator receives the stop_token
//    and returns its partial step early (cooperative cancellation); any other
//    generator finishes its current step. Charged: exactly the tokens of the
//    steps the generator returned, partial ones included.
//    Deterministic: every sample's steps (streams (i, depth)), so every
//    candidate's text is one of the n completions lockstep mode would make.
//    NOT deterministic: which sample finishes first (wall-clock order, so it
//    depends on the generator's timing and the scheduler) and hence the
//    tokens charged. Use lockstep mode where results must be reproducible.
//    n threads are started: use it for n up to a few hundred. The trace
//    (options.trace) records only the root in this mode.
// Only finished samples are candidates (in finish order; at most k; the
// score of the c-th finisher is -c, so select::best picks the first); the
// cancelled ones are in the trace as pruned. stop_reason: first_finished
// when k finished; completed if every sample finished or stopped at
// max_steps with fewer than k finished (depth_limit if none finished); or a
// budget limit (checked before every step in threads mode).
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

enum class first_finish_mode {
  lockstep,  ///< batched rounds, deterministic
  threads,   ///< a thread per sample, cooperative cancellation, wall-clock winner
};

template <class Select = select::majority_t, answer_extractor Extract = boxed_answer, budget_policy Budget = budget>
struct first_finish_options {
  std::size_t n = 8;               ///< samples launched (>= 1)
  std::size_t k = 1;               ///< stop when this many have finished (1 <= k <= n)
  std::size_t max_steps = 64;      ///< steps per sample before it is abandoned (>= 1)
  first_finish_mode mode = first_finish_mode::lockstep;
  Select selection{};              ///< final selection among the first k (majority: ties to the earliest finisher)
  Extract extract{};               ///< answer extraction
  execution exec{};                ///< batching and threads of lockstep rounds
  Budget budget{};                 ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;   ///< optional: record the samples here
};

namespace detail {

/// What the sample threads share; every member is guarded by `mutex`.
struct first_finish_race {
  std::mutex mutex;
  accounting spent;                       // work of every thread so far
  std::vector<std::size_t> finish_order;  // sample indices, as they finished
  std::optional<stop_reason> stopped;
};

/// Threads mode: runs sample i on its own thread in a private copy of the
/// start, then replays every sample's steps into ctx's tree in index order.
template <generator G, budget_policy B>
std::vector<trajectory> race_on_threads(search_context<B>& ctx, G& gen, std::size_t n, std::size_t k,
                                        std::size_t max_steps, first_finish_race& race) {
  if (!enable_concurrent_calls<G>)
    ctx.fail_argument("options.mode is threads but the generator is not marked thread-safe (add `static constexpr "
                      "bool thread_safe = true;` or specialise ttscale::enable_concurrent_calls) — use lockstep mode");
  std::stop_source stop;
  std::vector<std::vector<step>> steps(n);
  std::vector<std::exception_ptr> failures(n);
  auto run = [&](std::size_t i) {
    try {
      copied_prefix own = copy_prefix(ctx.root());
      // A releasing generator sees this sample's private nodes: each is
      // released once, when the sample moves past it or ends (any way).
      struct private_node_release {
        G& gen;
        trajectory held;
        void pass(const trajectory& next) {
          if constexpr (releasing_generator<G>)
            if (held.valid()) gen.release(std::span<const trajectory>(&held, 1));
          held = next;
        }
        ~private_node_release() {
          try {
            pass(trajectory{});
          } catch (...) {  // a throwing release hook cannot be reported from a destructor
          }
        }
      } released{gen, {}};
      for (std::size_t depth = 0; depth < max_steps && !stop.stop_requested(); ++depth) {
        {
          std::lock_guard lock(race.mutex);
          if (auto why = ctx.stop_check(race.spent)) {
            if (!race.stopped) race.stopped = why;
            stop.request_stop();
            return;
          }
          race.spent.generator_calls += 1;  // reserved: a call limit is never exceeded
        }
        random_engine engine = ctx.engine({i, depth});
        step out;
        const trajectory prefix[1] = {own.leaf};
        if (!released.held.valid()) released.held = own.leaf;
        accounting a;
        a = extend_and_account(gen, prefix, std::span<random_engine>(&engine, 1), std::span<step>(&out, 1),
                               stop.get_token());
        a.generator_calls -= std::min<std::uint64_t>(a.generator_calls, 1);  // already reserved
        own.leaf = own.tree->append(own.leaf.id(), out);
        released.pass(own.leaf);
        steps[i].push_back(std::move(out));
        std::lock_guard lock(race.mutex);
        race.spent += a;
        if (own.leaf.finished()) {
          race.finish_order.push_back(i);
          if (race.finish_order.size() >= k) {
            race.stopped = stop_reason::first_finished;
            stop.request_stop();
          }
          return;
        }
      }
    } catch (...) {
      failures[i] = std::current_exception();
      stop.request_stop();
    }
  };
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads.emplace_back(run, i);
  }  // joined here
  ctx.charge(race.spent);
  for (std::size_t i = 0; i < n; ++i) {
    if (failures[i])
      detail::rethrow_nested<generator_failure>(
          failures[i], ctx.name() + ": the generator threw on sample " + std::to_string(i), ctx.spent());
  }
  std::vector<trajectory> leaves(n, ctx.root());
  for (std::size_t i = 0; i < n; ++i) {
    for (step& s : steps[i]) leaves[i] = ctx.tree().append(leaves[i].id(), std::move(s));
  }
  return leaves;
}

}  // namespace detail

/// First-finish search; see the header comment. Throws invalid_argument for
/// n = 0, k = 0 or k > n, max_steps = 0, threads mode with a generator that
/// is not thread-safe; budget_exhausted if the budget is already spent;
/// generator_failure if the generator throws.
template <generator G, class Select, answer_extractor Extract, budget_policy Budget,
          std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> first_finish(
    G& gen, search_start start, const first_finish_options<Select, Extract, Budget>& options, Engine& rng) {
  search_context<Budget> ctx("first_finish", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.n", options.n, 1);
    if (options.k == 0 || options.k > options.n)
      ctx.fail_argument("options.k must be in [1, n = " + std::to_string(options.n) + "] (got " +
                        std::to_string(options.k) + ")");
    detail::require_at_least(ctx.name(), "options.max_steps", options.max_steps, 1);
    ctx.record_to(options.trace);

    const std::size_t admitted = ctx.admit_samples(options.n);
    const std::size_t k = std::min(options.k, admitted);
    std::vector<std::size_t> finish_order;
    std::vector<trajectory> leaves;
    if (options.mode == first_finish_mode::lockstep) {
      auto observe = [&](std::span<const trajectory> children, std::span<const std::size_t> which) {
        std::vector<std::size_t> now;  // positions in `children` that finished this round
        for (std::size_t j = 0; j < children.size(); ++j)
          if (children[j].finished()) now.push_back(j);
        std::stable_sort(now.begin(), now.end(),
                         [&](std::size_t a, std::size_t b) { return children[a].tokens() < children[b].tokens(); });
        for (std::size_t j : now)
          if (finish_order.size() < k) finish_order.push_back(which[j]);
        if (finish_order.size() < k) return true;
        ctx.stop(stop_reason::first_finished);
        return false;
      };
      rollout_state state = rollout(ctx, gen, admitted, 0, options.max_steps, observe);
      leaves = std::move(state.leaves);
    } else if (admitted > 0) {
      detail::first_finish_race race;
      leaves = detail::race_on_threads(ctx, gen, admitted, k, options.max_steps, race);
      finish_order = std::move(race.finish_order);
      finish_order.resize(std::min(finish_order.size(), k));
      if (race.stopped) ctx.stop(*race.stopped);
    }

    std::vector<candidate<answer_of<Extract>>> candidates(finish_order.size());
    for (std::size_t c = 0; c < finish_order.size(); ++c) {
      candidates[c].path = leaves[finish_order[c]];
      candidates[c].answer = options.extract(candidates[c].path);
      candidates[c].score = -static_cast<double>(c);  // select::best picks the first finisher
    }
    for (std::size_t i = 0; i < leaves.size(); ++i)
      if (!leaves[i].finished()) ctx.mark(leaves[i], trace_status::pruned);
    return ctx.finish(std::move(candidates), options.selection);
  });
}

TTSCALE_END_NAMESPACE
