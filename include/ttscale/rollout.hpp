// ttscale/rollout.hpp: sampling whole completions step by step, in lockstep.
//
// The loop that best-of-N, voting, first-finish and adaptive
// self-consistency share: start candidates at the root (or at any nodes), extend every
// unfinished one by a step in one batched generator call per round, let the
// caller look at each round (score it with a PRM, stop early), until all have
// finished, the step limit is reached or the budget says stop.
//
// Release (generator.hpp, releasing_generator): after each round the
// extended leaves (never the root: adaptive self-consistency rolls new
// candidates from it later) and the children that finished are released; a
// cut rollout's unfinished leaves stay live for the caller (finish() releases
// them at the latest).
//
// Candidate i's step at depth d is drawn from stream (first_index + i, d), so
// candidate i's completion is the same whatever n, the batch size or thread
// count: best-of-4 sees exactly the first 4 samples of best-of-64 (common
// random numbers make scaling curves smooth).
#pragma once

#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

struct rollout_state {
  std::vector<trajectory> leaves;    ///< newest node of each candidate, by candidate
};

/// Called after each round with the children just generated and their
/// candidate indices; returns false to stop the rollout (stop_reason::early_stop).
template <class F>
concept round_observer = requires(F& f, std::span<const trajectory> children, std::span<const std::size_t> which) {
  { f(children, which) } -> std::convertible_to<bool>;
};

/// Does nothing and never stops the rollout.
struct no_observer {
  bool operator()(std::span<const trajectory>, std::span<const std::size_t>) const noexcept { return true; }
};

/// Releases what one lockstep round is done with: the extended prefixes
/// (except the root) and the finished children.
template <budget_policy B>
void release_round(search_context<B>& ctx, std::span<const trajectory> extended, std::span<const trajectory> children) {
  std::vector<trajectory> done;
  for (const trajectory& p : extended)
    if (p.id() != ctx.root().id()) done.push_back(p);
  for (const trajectory& c : children)
    if (c.finished()) done.push_back(c);
  ctx.release(done);
}

namespace detail {
/// The lockstep loop; candidate i's step at depth d uses stream
/// (key_tag | (first_index + i), d).
template <generator G, budget_policy B, round_observer Observer>
rollout_state rollout_in_lockstep(search_context<B>& ctx, G& gen, std::vector<trajectory> starts,
                                  std::uint64_t key_tag, std::size_t first_index, std::size_t max_steps,
                                  Observer& observe) {
  rollout_state state{std::move(starts)};
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < state.leaves.size(); ++i)
    if (!state.leaves[i].finished()) live.push_back(i);
  std::vector<trajectory> prefixes;
  std::vector<stream_key> keys;
  for (std::size_t depth = 0; depth < max_steps && !live.empty(); ++depth) {
    if (ctx.should_stop()) return state;
    prefixes.clear();
    keys.clear();
    for (std::size_t i : live) {
      prefixes.push_back(state.leaves[i]);
      keys.push_back({key_tag | (first_index + i), depth});
    }
    const std::vector<trajectory> children = ctx.extend(gen, prefixes, keys);
    for (std::size_t j = 0; j < children.size(); ++j) state.leaves[live[j]] = children[j];
    // The starts stay live (the caller may extend them again); later prefixes are done.
    release_round(ctx, std::span<const trajectory>(prefixes).first(depth == 0 ? 0 : children.size()), children);
    const std::vector<std::size_t> extended(live.begin(), live.begin() + static_cast<std::ptrdiff_t>(children.size()));
    if (!observe(std::span<const trajectory>(children), std::span<const std::size_t>(extended)))
      ctx.stop(stop_reason::early_stop);
    if (ctx.cut()) return state;
    std::vector<std::size_t> still_live;
    for (std::size_t i : live)
      if (!state.leaves[i].finished()) still_live.push_back(i);
    live = std::move(still_live);
  }
  return state;
}
}  // namespace detail

/// Rolls `n` new candidates (indices first_index .. first_index+n-1 for their
/// random streams) from ctx.root() to completion, at most `max_steps` steps
/// each. The caller has already admitted them (ctx.admit_samples). A round
/// cut by a call limit, a spent budget or an observer that returns false
/// (recorded as early_stop unless the observer recorded its own reason)
/// ends the rollout; ctx.cut() says which.
template <generator G, budget_policy B, round_observer Observer = no_observer>
rollout_state rollout(search_context<B>& ctx, G& gen, std::size_t n, std::size_t first_index, std::size_t max_steps,
                      Observer&& observe = {}) {
  return detail::rollout_in_lockstep(ctx, gen, std::vector<trajectory>(n, ctx.root()), 0, first_index, max_steps,
                                     observe);
}

/// As above from any nodes: candidate i starts at starts[i] (a finished
/// start is returned as it is) and draws its step at depth d (counted from
/// its start) from stream (rollout_from_node | (first_index + i), d) — a
/// search that rolls out several times numbers its rollouts with distinct
/// first_index ranges. The starts are not released (the caller may expand
/// them again); the nodes the rollout creates are, as above.
template <generator G, budget_policy B, round_observer Observer = no_observer>
rollout_state rollout(search_context<B>& ctx, G& gen, std::span<const trajectory> starts, std::size_t first_index,
                      std::size_t max_steps, Observer&& observe = {}) {
  return detail::rollout_in_lockstep(ctx, gen, std::vector<trajectory>(starts.begin(), starts.end()),
                                     detail::rollout_from_node, first_index, max_steps, observe);
}

TTSCALE_END_NAMESPACE
