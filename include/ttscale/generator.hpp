// ttscale/generator.hpp: the Generator concept (batch-first stepping) and the
// adapter that turns any stepper into a whole-completion sampler.
//
// A generator extends trajectories by one step each. It is batch-first: one
// call extends a whole span of prefixes, which is what lets a real engine
// (llama.cpp with shared KV-cache prefixes, a vLLM server behind HTTP) batch.
// What a step is — up to a delimiter such as a blank line, a fixed token
// count, or a whole completion — is the generator's business.
//
//   struct my_generator {
//     void extend(std::span<const ttscale::trajectory> prefixes,
//                 std::span<ttscale::random_engine> engines,
//                 std::span<ttscale::step> out);
//   };
//
// `engines[i]` is the random stream of item i, derived by the strategy from
// (seed, a key of that item), so a result never depends on how items were
// batched or on how many threads ran the batches. `out[i]` receives the step
// that extends `prefixes[i]`. A generator never modifies the tree; the
// strategy appends the returned steps after the call.
//
// `extend` may return `void` or an `accounting`: a generator that does more
// work than the steps it returns (a nested search, see as_completion_sampler)
// returns the exact account of that work, which the caller charges instead of
// "one step and step.tokens tokens per item" (its wall_time is ignored).
//
// What a step must be: the generator assigns every out[i] (a slot left
// unwritten raises generator_failure naming it — the library resets each
// slot to an empty step, its tokens a sentinel, and checks after the call;
// the text string keeps its capacity for the generator to reuse). A step with zero
// tokens is legal: a finishing marker (finished = true with no text, e.g.
// end-of-generation at a step boundary) or a generator that counts no tokens;
// but an unfinished step with no text and zero tokens makes no progress and
// raises generator_failure too, instead of letting a search loop to its depth
// limit on phantom steps. A stoppable generator's call that was cancelled may
// leave slots unwritten or empty: they become empty unfinished steps.
//
// Concurrency: strategies run several batches at once only for a generator
// that opts in, either with a member `static constexpr bool thread_safe = true;`
// or by specialising `ttscale::enable_concurrent_calls<G>`; calls never overlap
// otherwise.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// Opt-in: `T`'s batched calls may run concurrently on several threads.
template <class T>
inline constexpr bool enable_concurrent_calls = requires { requires static_cast<bool>(T::thread_safe); };

namespace detail {
template <class R>
concept extend_return = std::same_as<R, void> || std::same_as<R, accounting>;
}  // namespace detail

/// A type whose `extend(prefixes, engines, out)` appends one step to each prefix.
template <class G>
concept generator = requires(G& g, std::span<const trajectory> prefixes, std::span<random_engine> engines,
                             std::span<step> out) {
  { g.extend(prefixes, engines, out) } -> detail::extend_return;
};

/// A generator that keeps engine state per node (a KV-cache sequence, token
/// ids) and wants to know when the search drops a node: `release(nodes)` is
/// called once for every node the generator has seen (as a prefix or as a
/// child it returned) when the search will never extend it again — pruned,
/// resampled away, finished, abandoned, or at the end of the search at the
/// latest (also when the search fails). A released node is never passed to
/// extend again by that search. Nodes of different searches are different
/// trees: key engine state by (&node.tree(), node.id()) or by the step's
/// engine_state. Calls come from the strategy's thread between rounds (from
/// the sample threads in first-finish's threads mode, where the generator
/// is thread-safe anyway).
template <class G>
concept releasing_generator = generator<G> && requires(G& g, std::span<const trajectory> nodes) {
  { g.release(nodes) };
};

/// A generator whose extend also takes a std::stop_token and returns early
/// (with whatever steps it has, marked unfinished) once stop is requested;
/// first-finish search cancels the losers through it.
template <class G>
concept stoppable_generator =
    generator<G> && requires(G& g, std::span<const trajectory> prefixes, std::span<random_engine> engines,
                             std::span<step> out, std::stop_token stop) {
      { g.extend(prefixes, engines, out, stop) } -> detail::extend_return;
    };

namespace detail {
/// What `out[i].tokens` holds before a generator call: a generator that
/// assigns out[i] (or sets its tokens) overwrites it, so a slot still holding
/// it after the call was never written.
inline constexpr std::uint32_t unwritten_step_tokens = std::numeric_limits<std::uint32_t>::max();

/// Resets every slot to an empty step marked unwritten, in one pass. The
/// text is cleared, not replaced: a generator assigning out[i].text reuses the
/// string's capacity from the caller's earlier rounds instead of allocating.
inline void reset_unwritten(std::span<step> out) noexcept {
  for (step& s : out) {
    s.text.clear();
    s.tokens = unwritten_step_tokens;
    s.logprob = 0.0;
    s.finished = false;
    s.engine_state = 0;
  }
}

/// Checks what a generator call returned (see "What a step must be" in the
/// header comment); `cancelled` relaxes it for a stopped stoppable call.
/// Returns the steps' tokens, summed (the account of a generator that reports none).
inline std::uint64_t check_generated(std::span<step> out, bool cancelled) {
  // The usual case first: one branch-free pass, which also sums the tokens,
  // finds nothing to report.
  bool suspect = false;
  std::uint64_t tokens = 0;
  for (const step& s : out) {
    suspect |= (s.tokens == unwritten_step_tokens) | (!s.finished & (s.tokens == 0) & s.text.empty());
    tokens += s.tokens;
  }
  if (!suspect) return tokens;
  std::string unwritten, stalled;
  std::size_t unwritten_count = 0, stalled_count = 0;
  auto note = [](std::string& list, std::size_t& count, std::size_t i) {
    if (++count <= 8) list += (list.empty() ? "" : ", ") + std::string("out[") + std::to_string(i) + "]";
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].tokens == unwritten_step_tokens) {
      if (cancelled) out[i] = step{};  // cancelled before it produced anything: an empty unfinished step
      else note(unwritten, unwritten_count, i);
    } else if (!cancelled && !out[i].finished && out[i].tokens == 0 && out[i].text.empty()) {
      note(stalled, stalled_count, i);
    }
  }
  auto list = [&](const std::string& items, std::size_t count) {
    return items + (count > 8 ? " and " + std::to_string(count - 8) + " more" : std::string()) + " of " +
           std::to_string(out.size());
  };
  if (unwritten_count > 0)
    throw error("the generator left " + list(unwritten, unwritten_count) +
                " unwritten (or never set their tokens): every out[i] must receive a step");
  if (stalled_count > 0)
    throw error("the generator returned an empty unfinished step (no text, 0 tokens) for " +
                list(stalled, stalled_count) +
                ": a step must make progress or finish the trajectory (finished = true)");
  tokens = 0;  // cancelled slots became empty steps
  for (const step& s : out) tokens += s.tokens;
  return tokens;
}
}  // namespace detail

/// Resets every out[i] to an empty step (see "What a step must be"), calls
/// `g.extend` (with `stop` if G is a stoppable_generator) and returns
/// the exact account of the call: the generator's own account if it reports
/// one, else one call, one step per item and the tokens of the returned
/// steps. Throws ttscale::error if the generator left a slot unwritten or
/// returned an empty unfinished step (not for a call whose stop was requested:
/// its unwritten slots become empty unfinished steps).
template <generator G>
accounting extend_and_account(G& g, std::span<const trajectory> prefixes, std::span<random_engine> engines,
                              std::span<step> out, std::stop_token stop = {}) {
  detail::reset_unwritten(out);
  auto call = [&] {
    if constexpr (stoppable_generator<G>) return g.extend(prefixes, engines, out, stop);
    else return g.extend(prefixes, engines, out);
  };
  accounting a;
  if constexpr (std::same_as<decltype(call()), accounting>) {
    a = call();
    a.wall_time = {};
  } else {
    call();
  }
  const std::uint64_t tokens = detail::check_generated(out, stop.stop_requested());
  if constexpr (!std::same_as<decltype(call()), accounting>) {
    a.generator_calls = 1;
    a.steps = out.size();
    a.tokens = tokens;
  }
  return a;
}

/// Turns a stepper into a generator whose one step is a whole completion:
/// each call runs every prefix to a finished step (or `max_steps` steps) in
/// lockstep, one batched call of the inner generator per round, and returns
/// the concatenated step (text and tokens and logprob summed, finished and
/// engine_state of the last inner step). Its account counts every inner call.
template <generator G>
class completion_sampler {
 public:
  completion_sampler(G& inner, std::size_t max_steps) : inner_(&inner), max_steps_(max_steps) {
    detail::require_at_least("as_completion_sampler", "max_steps", max_steps, 1);
  }
  static constexpr bool thread_safe = enable_concurrent_calls<G>;

  accounting extend(std::span<const trajectory> prefixes, std::span<random_engine> engines,
                    std::span<step> out) {
    if (prefixes.size() != engines.size() || prefixes.size() != out.size())
      throw size_mismatch("completion_sampler: prefixes, engines and out differ in size");
    // Each item runs in a private copy of its prefix, so a prefix from any tree works.
    std::vector<copied_prefix> copies;
    copies.reserve(prefixes.size());
    for (const trajectory& p : prefixes) copies.push_back(copy_prefix(p));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = step{};

    // A releasing stepper gets its private nodes back: each round's prefixes
    // after the round, every item's last node when the call ends (any way).
    auto release = [&](std::span<const trajectory> nodes) {
      if constexpr (releasing_generator<G>)
        if (!nodes.empty()) inner_->release(nodes);
    };
    auto release_leaves = [&] {
      std::vector<trajectory> leaves;
      for (const copied_prefix& c : copies) leaves.push_back(c.leaf);
      release(leaves);
    };
    try {
      accounting total = run_rounds(copies, engines, out, release);
      release_leaves();
      return total;
    } catch (...) {
      if constexpr (releasing_generator<G>) {
        try {
          release_leaves();
        } catch (...) {  // the original failure is the one to report
        }
      }
      throw;
    }
  }

 private:
  template <class Release>
  accounting run_rounds(std::vector<copied_prefix>& copies, std::span<random_engine> engines, std::span<step> out,
                        Release& release) {
    std::vector<std::size_t> live(copies.size());
    for (std::size_t i = 0; i < live.size(); ++i) live[i] = i;
    accounting total;
    std::vector<trajectory> batch;
    std::vector<random_engine> batch_engines;
    std::vector<step> batch_out;
    for (std::size_t round = 0; round < max_steps_ && !live.empty(); ++round) {
      batch.clear();
      batch_engines.clear();
      for (std::size_t i : live) {
        batch.push_back(copies[i].leaf);
        batch_engines.push_back(engines[i]);
      }
      batch_out.assign(live.size(), step{});
      total += extend_and_account(*inner_, batch, batch_engines, batch_out);
      std::vector<std::size_t> still_live;
      std::vector<trajectory> extended = batch;
      for (std::size_t j = 0; j < live.size(); ++j) {
        const std::size_t i = live[j];
        engines[i] = batch_engines[j];  // the item's stream continues where it was
        step& merged = out[i];
        merged.text += batch_out[j].text;
        merged.tokens += batch_out[j].tokens;
        merged.logprob += batch_out[j].logprob;
        merged.finished = batch_out[j].finished;
        merged.engine_state = batch_out[j].engine_state;
        copies[i].leaf = copies[i].tree->append(copies[i].leaf.id(), std::move(batch_out[j]));
        if (!merged.finished) still_live.push_back(i);
      }
      release(extended);
      live = std::move(still_live);
    }
    return total;
  }

  G* inner_;
  std::size_t max_steps_;
};

/// `as_completion_sampler(stepper, max_steps)`: see completion_sampler. The
/// stepper is held by reference and must outlive the sampler.
template <generator G>
completion_sampler<G> as_completion_sampler(G& stepper, std::size_t max_steps) {
  return completion_sampler<G>(stepper, max_steps);
}

TTSCALE_END_NAMESPACE
