// ttscale/analysis/strategy_grid.hpp: every strategy at one compute knob N,
// with the settings a scaling comparison uses — so a sweep, an example and a
// user's own comparison run the same searches under the same names.
//
// The knob N means: samples (best-of-N, majority and weighted vote, adaptive
// consistency's maximum), total beams (beam search, DVTS with width M =
// gcd(N, 4): 4, or what divides a smaller N), particles (particle filter,
// entropic PF with look-ahead 1), or, for A*-decoding, K = gcd(N, 4)
// continuations and max(max_steps, ceil(mean_depth * N / K)) expansions —
// about N samples' worth of steps and at least one path's worth. Compare
// strategies at equal COST, not at equal N: the knob buys different amounts
// of compute per strategy.
//
//   for (strategy_kind s : all_strategy_kinds)
//     auto o = run_strategy(s, gen, prm, prompt, 16, extract, is_right, rng, {.max_steps = 8});
//     // o.correct, o.spent, o.scored (score, right) of scored candidates
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/particle_filter.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

enum class strategy_kind {
  one_sample,
  best_of_n,
  majority_vote,
  weighted_majority,
  beam_search,
  dvts,
  a_star,
  particle_filter,
  epf,
};

inline constexpr std::array<strategy_kind, 9> all_strategy_kinds{
    strategy_kind::one_sample,  strategy_kind::best_of_n, strategy_kind::majority_vote,
    strategy_kind::weighted_majority, strategy_kind::beam_search, strategy_kind::dvts,
    strategy_kind::a_star,      strategy_kind::particle_filter, strategy_kind::epf};

/// The short name used on command lines and in CSV files ("beam_search").
constexpr std::string_view strategy_key(strategy_kind s) noexcept {
  switch (s) {
    case strategy_kind::one_sample: return "one_sample";
    case strategy_kind::best_of_n: return "best_of_n";
    case strategy_kind::majority_vote: return "majority_vote";
    case strategy_kind::weighted_majority: return "weighted_majority";
    case strategy_kind::beam_search: return "beam_search";
    case strategy_kind::dvts: return "dvts";
    case strategy_kind::a_star: return "a_star";
    case strategy_kind::particle_filter: return "particle_filter";
    case strategy_kind::epf: return "epf";
  }
  return "?";
}

/// The strategy a key names, or nullopt.
inline std::optional<strategy_kind> strategy_from_key(std::string_view key) noexcept {
  for (strategy_kind s : all_strategy_kinds)
    if (strategy_key(s) == key) return s;
  return std::nullopt;
}

/// The name of the strategy's curve in tables and plots ("beam search").
constexpr std::string_view curve_name(strategy_kind s) noexcept {
  switch (s) {
    case strategy_kind::one_sample: return "one sample";
    case strategy_kind::best_of_n: return "best-of-N";
    case strategy_kind::majority_vote: return "majority vote";
    case strategy_kind::weighted_majority: return "weighted majority";
    case strategy_kind::beam_search: return "beam search";
    case strategy_kind::dvts: return "DVTS";
    case strategy_kind::a_star: return "A*";
    case strategy_kind::particle_filter: return "particle filter";
    case strategy_kind::epf: return "ePF look-ahead 1";
  }
  return "?";
}

/// Settings every search of a grid shares.
struct grid_settings {
  std::size_t max_steps = 8;  ///< steps per path before it is abandoned
  double mean_depth = 5.0;    ///< steps of a typical solution: sizes A*'s expansions
};

/// Beam and DVTS width M, A* continuations K: 4, or what divides a smaller N.
constexpr std::size_t grid_width(std::size_t n) noexcept { return std::gcd(n, std::size_t{4}); }

/// A*'s expansions at knob N (see the header comment).
inline std::size_t a_star_expansions(std::size_t n, const grid_settings& g) {
  const std::size_t k = grid_width(n);
  const auto steps = static_cast<std::size_t>(std::ceil(g.mean_depth * static_cast<double>(n)));
  return std::max(g.max_steps, (steps + k - 1) / k);
}

/// What one search gave, reduced to what scaling tables need.
struct strategy_outcome {
  bool correct = false;
  bool chose = false;  ///< a candidate was chosen (else: abstained or nothing finished)
  accounting spent;
  std::vector<std::pair<double, bool>> scored;  ///< (score, right) of scored candidates, when asked for
};

/// Runs strategy `s` at knob `n` on one prompt. `is_right(path)` is the
/// exact checker; `extract` the answer extractor of the votes.
template <class Gen, class Prm, class Extract, class IsRight, class Rng>
strategy_outcome run_strategy(strategy_kind s, Gen& gen, Prm& prm, const std::string& prompt, std::size_t n,
                              const Extract& extract, const IsRight& is_right, Rng& rng, const grid_settings& g = {},
                              bool keep_scores = false) {
  ttscale::detail::require_at_least("analysis::run_strategy", "the knob N", n, 1);
  auto reduce = [&](const auto& r) {
    strategy_outcome o;
    o.chose = r.has_choice();
    o.correct = o.chose && is_right(r.chosen().path);
    o.spent = r.spent;
    if (keep_scores)
      for (const auto& c : r.candidates)
        if (std::isfinite(c.score)) o.scored.emplace_back(c.score, is_right(c.path));
    return o;
  };
  const std::size_t m = grid_width(n);
  const std::size_t steps = g.max_steps;
  switch (s) {
    case strategy_kind::one_sample:
      return reduce(majority_vote(gen, prompt, vote_options{.n = 1, .max_steps = steps, .extract = extract}, rng));
    case strategy_kind::best_of_n:
      return reduce(
          best_of_n(gen, prm, prompt, best_of_n_options{.n = n, .max_steps = steps, .extract = extract}, rng));
    case strategy_kind::majority_vote:
      return reduce(majority_vote(gen, prompt, vote_options{.n = n, .max_steps = steps, .extract = extract}, rng));
    case strategy_kind::weighted_majority:
      return reduce(weighted_majority_vote(gen, prm, prompt,
                                           vote_options{.n = n, .max_steps = steps, .extract = extract}, rng));
    case strategy_kind::beam_search:
      return reduce(beam_search(
          gen, prm, prompt, beam_search_options{.n = n, .beam_width = m, .max_depth = steps, .extract = extract},
          rng));
    case strategy_kind::dvts:
      return reduce(dvts(gen, prm, prompt,
                         dvts_options{.n = n, .beam_width = m, .max_depth = steps, .extract = extract}, rng));
    case strategy_kind::a_star:
      return reduce(a_star(gen, prm, prompt,
                           a_star_options{.continuations = m,
                                                   .expansions = a_star_expansions(n, g),
                                                   .max_depth = steps,
                                                   .extract = extract},
                           rng));
    case strategy_kind::particle_filter:
      return reduce(particle_filter(
          gen, prm, prompt, particle_filter_options{.n = n, .max_steps = steps, .extract = extract}, rng));
    case strategy_kind::epf:
      return reduce(entropic_particle_filter(
          gen, prm, prompt, entropic_particle_filter_options{.n = n, .max_steps = steps, .extract = extract},
          rng));
  }
  throw invalid_argument("analysis::run_strategy: unknown strategy");
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
