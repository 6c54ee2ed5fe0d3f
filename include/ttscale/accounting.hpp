// ttscale/accounting.hpp: what a search spent, counted exactly.
//
// Every strategy returns one `accounting`, and every error raised after work
// started carries one, so a caller always knows what was paid. Counts are of
// work actually done: a batched generator call that extended 64 trajectories
// is one `generator_calls` and 64 `steps`; tokens are the tokens the generator
// reported for the steps it returned (plus the nested cost of steps that are
// themselves searches, see step::nested).
#pragma once

#include <ttscale/config.hpp>

#include <chrono>
#include <cstdint>
#include <string>

TTSCALE_BEGIN_NAMESPACE

struct accounting {
  std::uint64_t tokens = 0;           ///< generated tokens
  std::uint64_t steps = 0;            ///< steps returned by the generator
  std::uint64_t samples = 0;          ///< candidate trajectories started
  std::uint64_t generator_calls = 0;  ///< batched calls of Generator::extend
  std::uint64_t verifier_calls = 0;   ///< batched calls of a verifier
  std::uint64_t verifier_items = 0;   ///< trajectories or steps scored, times the judgments per item (verifier ensembles)
  std::chrono::nanoseconds wall_time{0};

  /// Adds another account (e.g. a nested search's) to this one.
  constexpr accounting& operator+=(const accounting& other) noexcept {
    tokens += other.tokens;
    steps += other.steps;
    samples += other.samples;
    generator_calls += other.generator_calls;
    verifier_calls += other.verifier_calls;
    verifier_items += other.verifier_items;
    wall_time += other.wall_time;
    return *this;
  }
  friend constexpr bool operator==(const accounting&, const accounting&) = default;
};

/// One line, for logs and error messages.
inline std::string to_string(const accounting& a) {
  return "tokens=" + std::to_string(a.tokens) + " steps=" + std::to_string(a.steps) +
         " samples=" + std::to_string(a.samples) +
         " generator_calls=" + std::to_string(a.generator_calls) +
         " verifier_calls=" + std::to_string(a.verifier_calls) +
         " verifier_items=" + std::to_string(a.verifier_items) + " wall_time_us=" +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(a.wall_time).count());
}

TTSCALE_END_NAMESPACE
