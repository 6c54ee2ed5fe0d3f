// ttscale/budget.hpp: compute budgets and why a search stopped.
//
// A budget limits what a strategy may spend: tokens, candidate samples,
// batched generator calls, batched verifier calls, wall-clock time. Every
// strategy checks its budget before each round of work and stops at the first
// limit hit, returning what it found with the exact accounting and the
// stop_reason. How exact each limit is:
//  - samples, generator calls and verifier calls are never exceeded: a round
//    that would exceed them is cut to what fits (fewer items extended);
//  - tokens and wall time are checked before each round, because a step's
//    length is known only after it is generated: they may be exceeded by at
//    most one round's work, which the accounting reports exactly. Checking per
//    round (not per batch) keeps results independent of batch size and thread
//    count.
//
// `budget` is the standard policy; any type with
// `std::optional<stop_reason> exhausted_by(const accounting&) const` is a
// `budget_policy` (e.g. a dollar budget over tokens and calls).
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

TTSCALE_BEGIN_NAMESPACE

enum class stop_reason {
  completed,             ///< the strategy ran to its natural end
  token_limit,
  sample_limit,
  generator_call_limit,
  verifier_call_limit,
  deadline,              ///< wall-clock limit
  depth_limit,           ///< no candidate finished within the step limit
  early_stop,            ///< an adaptive rule decided enough was sampled
  first_finished,        ///< first-finish search: a candidate finished first
  /// A strategy's own cap on its work (A*'s options.expansions) was reached
  /// before it finished: the result is cut, its candidates are what was found.
  expansion_limit,
};

constexpr std::string_view to_string(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::completed: return "completed";
    case stop_reason::token_limit: return "token_limit";
    case stop_reason::sample_limit: return "sample_limit";
    case stop_reason::generator_call_limit: return "generator_call_limit";
    case stop_reason::verifier_call_limit: return "verifier_call_limit";
    case stop_reason::deadline: return "deadline";
    case stop_reason::depth_limit: return "depth_limit";
    case stop_reason::early_stop: return "early_stop";
    case stop_reason::first_finished: return "first_finished";
    case stop_reason::expansion_limit: return "expansion_limit";
  }
  return "unknown";
}

/// A budget decides from what was spent whether a limit is reached
/// (reached = nothing more of that resource may be spent).
template <class B>
concept budget_policy = requires(const B& b, const accounting& spent) {
  { b.exhausted_by(spent) } -> std::same_as<std::optional<stop_reason>>;
};

struct budget {
  static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

  std::uint64_t max_tokens = unlimited;
  std::uint64_t max_samples = unlimited;
  std::uint64_t max_generator_calls = unlimited;
  std::uint64_t max_verifier_calls = unlimited;
  /// Wall-clock limit measured from the strategy's start (accounting::wall_time).
  std::optional<std::chrono::nanoseconds> max_wall_time{};
  /// Absolute deadline, for nested searches that share one.
  std::optional<std::chrono::steady_clock::time_point> deadline{};

  /// The first limit that `spent` has reached, in the order of the fields.
  [[nodiscard]] std::optional<stop_reason> exhausted_by(const accounting& spent) const {
    if (spent.tokens >= max_tokens) return stop_reason::token_limit;
    if (spent.samples >= max_samples) return stop_reason::sample_limit;
    if (spent.generator_calls >= max_generator_calls) return stop_reason::generator_call_limit;
    if (spent.verifier_calls >= max_verifier_calls) return stop_reason::verifier_call_limit;
    if (max_wall_time && spent.wall_time >= *max_wall_time) return stop_reason::deadline;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return stop_reason::deadline;
    return std::nullopt;
  }
};

static_assert(budget_policy<budget>);

TTSCALE_END_NAMESPACE
