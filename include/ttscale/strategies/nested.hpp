// ttscale/strategies/nested.hpp: any strategy as a sampler, so strategies nest.
//
// `as_sampler(search)` turns a search — any callable that runs a strategy from
// a start and returns its search_result — into a generator whose one step is
// the whole chosen completion of that search. Every strategy takes a
// generator, so strategies nest: majority vote over beam searches, best-of-N
// over DVTS, first-finish over A*:
//
//   auto beams = ttscale::as_sampler([&](ttscale::search_start start, ttscale::random_engine& rng) {
//     return ttscale::beam_search(model, prm, std::move(start), beam_options, rng);
//   });
//   auto vote = ttscale::majority_vote(beams, prompt, {.n = 8, .max_steps = 1}, rng);
//
// For each prefix the sampler runs the search from a private copy of that
// prefix (search_start from a trajectory), seeded from the item's random
// stream, and returns the chosen candidate's new steps merged into one step
// (texts concatenated, tokens and log-probabilities summed, `finished` and
// `engine_state` of the last step). If the search chose nothing (its budget
// ran out, nothing finished) the step is empty and finished: the outer
// candidate ends without an answer and abstains (result.abstained counts it)
// rather than being searched again — an empty unfinished step would be a
// generator that makes no progress (see generator.hpp).
//
// Accounting nests exactly: extend returns the sum of the inner searches'
// accounts (their tokens, steps, generator calls, verifier calls and items —
// the real model and verifier work), which the outer search charges instead of
// "one step per item". `samples` stays the outer strategy's count (one per
// nested search): the inner candidates are work of the step, not outer
// candidates. Budgets nest: `nested_options::total` caps the summed work of
// all inner searches; once it is reached the sampler returns empty finished
// steps at no cost (abstaining candidates), and a search callable that accepts a third argument
// `const budget& remaining` receives what is left of it (use it as, or to cap,
// the inner strategy's budget). The outer strategy's own budget is checked
// between its rounds as usual, so it may be exceeded by the inner searches of
// one outer round; `total` is exact to one inner search.
//
// Items of one extend call run one after another (each inner search batches
// its own rounds); `as_sampler<true>(...)` declares the search callable safe
// to run concurrently, so an outer strategy with exec.threads > 1 runs batches
// of items in parallel. Cost: the inner searches' cost plus O(depth) per item
// to copy the prefix and merge the chosen steps.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <type_traits>
#include <utility>

TTSCALE_BEGIN_NAMESPACE

struct nested_options {
  /// Cap on the summed work of every inner search this sampler runs.
  budget total{};
};

namespace detail {
/// What is left of `total` after `spent` (limits that are unlimited stay so).
inline budget remaining_budget(const budget& total, const accounting& spent) {
  auto left = [](std::uint64_t limit, std::uint64_t used) {
    return limit == budget::unlimited ? limit : limit - std::min(limit, used);
  };
  budget r = total;
  r.max_tokens = left(total.max_tokens, spent.tokens);
  r.max_samples = left(total.max_samples, spent.samples);
  r.max_generator_calls = left(total.max_generator_calls, spent.generator_calls);
  r.max_verifier_calls = left(total.max_verifier_calls, spent.verifier_calls);
  if (total.max_wall_time) r.max_wall_time = std::max(std::chrono::nanoseconds{0}, *total.max_wall_time - spent.wall_time);
  return r;
}

template <class Search>
concept search_with_budget = requires(Search& s, search_start start, random_engine& rng, const budget& b) {
  s(std::move(start), rng, b).chosen_index;
};
template <class Search>
concept search_without_budget = requires(Search& s, search_start start, random_engine& rng) {
  s(std::move(start), rng).chosen_index;
};

/// Merges the steps of `leaf` after depth `from` into one step.
inline step merge_steps_after(const trajectory& leaf, std::size_t from) {
  step merged;
  merged.engine_state = leaf.last_step().engine_state;
  const auto steps = leaf.steps();
  for (std::size_t d = from; d < steps.size(); ++d) {
    merged.text += steps[d]->text;
    merged.tokens += steps[d]->tokens;
    merged.logprob += steps[d]->logprob;
  }
  merged.finished = leaf.finished();
  return merged;
}
}  // namespace detail

/// A search as a generator; see the header comment.
template <class Search, bool ThreadSafe = false>
  requires detail::search_with_budget<Search> || detail::search_without_budget<Search>
class nested_sampler {
 public:
  static constexpr bool thread_safe = ThreadSafe;

  explicit nested_sampler(Search search, nested_options options = {})
      : search_(std::move(search)), state_(std::make_shared<shared_state>()) {
    state_->total = options.total;
  }

  accounting extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
    if (prefixes.size() != engines.size() || prefixes.size() != out.size())
      throw size_mismatch("nested_sampler: prefixes, engines and out differ in size");
    accounting here;
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      out[i] = step{};
      out[i].finished = true;  // unless an inner search chooses a candidate (see the header comment)
      out[i].engine_state = prefixes[i].last_step().engine_state;
      budget left;
      {
        std::lock_guard lock(state_->mutex);
        if (state_->total.exhausted_by(state_->spent)) continue;  // the total is spent: an empty step, no cost
        left = detail::remaining_budget(state_->total, state_->spent);
      }
      accounting inner = run_one(prefixes[i], engines[i], left, out[i]);
      inner.samples = 0;  // the outer strategy counts its own candidates
      here += inner;
      std::lock_guard lock(state_->mutex);
      state_->spent += inner;
    }
    here.wall_time = {};
    return here;
  }

  /// Summed accounts of every inner search this sampler (and its copies) ran.
  [[nodiscard]] accounting spent() const {
    std::lock_guard lock(state_->mutex);
    return state_->spent;
  }

 private:
  struct shared_state {
    std::mutex mutex;
    budget total;
    accounting spent;
  };

  accounting run_one(const trajectory& prefix, random_engine& rng, const budget& left, step& out) {
    auto result = [&] {
      if constexpr (detail::search_with_budget<Search>)
        return search_(search_start(prefix), rng, left);
      else
        return search_(search_start(prefix), rng);
    }();
    if (result.chosen_index) out = detail::merge_steps_after(result.candidates[*result.chosen_index].path, prefix.depth());
    return result.spent;
  }

  Search search_;
  std::shared_ptr<shared_state> state_;  // shared by copies, so the total binds them all
};

/// `as_sampler(search, options)`: see nested_sampler. `as_sampler<true>(...)`
/// declares the search callable safe to call from several threads at once.
template <bool ThreadSafe = false, class Search>
  requires detail::search_with_budget<std::decay_t<Search>> || detail::search_without_budget<std::decay_t<Search>>
[[nodiscard]] nested_sampler<std::decay_t<Search>, ThreadSafe> as_sampler(Search&& search, nested_options options = {}) {
  return nested_sampler<std::decay_t<Search>, ThreadSafe>(std::forward<Search>(search), options);
}

TTSCALE_END_NAMESPACE
