// ttscale/verifier.hpp: outcome and process reward concepts, and the
// step-score aggregation policies.
//
// An outcome verifier (ORM) scores finished trajectories; a process verifier
// (PRM) scores the newest step of each prefix given the steps before it. Both
// are batch-first, like generators:
//
//   struct my_orm { void score_outcomes(std::span<const ttscale::trajectory> finished,
//                                       std::span<double> out); };
//   struct my_prm { void score_steps(std::span<const ttscale::trajectory> prefixes,
//                                    std::span<double> out); };
//
// Scores are finite doubles, larger is better (a PRM usually returns the
// probability that the step is correct). A NaN or infinite score is reported
// as ttscale::invalid_score naming the candidate. Verifiers opt into
// concurrent calls as generators do (enable_concurrent_calls).
//
// A verifier whose one score costs several verifier passes (an ensemble of k
// sampled judgments, ttscale/verifiers/ensemble.hpp) says so with a member
// `judgments_per_item()`; verifier_items_per_score(v) reads it (1 without),
// and a search charges that many verifier_items per item scored.
//
// A PRM's step scores become one trajectory score by an aggregation policy:
// last step, minimum, product, or mean — the choices compared by Snell et al.
// 2024 (sec. 5.2, "last" works best for their PRM) and Lightman et al. 2023
// ("product" and "min" of step correctness probabilities); any callable from
// std::span<const double> to double is a policy too.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>

TTSCALE_BEGIN_NAMESPACE

template <class V>
concept outcome_verifier = requires(V& v, std::span<const trajectory> finished, std::span<double> out) {
  v.score_outcomes(finished, out);
};

template <class V>
concept process_verifier = requires(V& v, std::span<const trajectory> prefixes, std::span<double> out) {
  v.score_steps(prefixes, out);
};

/// Either kind: what best-of-N and weighted votes can rank by.
template <class V>
concept verifier = outcome_verifier<V> || process_verifier<V>;

/// How many verifier items (judge passes) one score of `v` costs:
/// `v.judgments_per_item()` if `V` has that member, else 1. search_context
/// charges accounting::verifier_items by this per item scored.
template <class V>
[[nodiscard]] constexpr std::uint64_t verifier_items_per_score(const V& v) {
  if constexpr (requires { { v.judgments_per_item() } -> std::convertible_to<std::uint64_t>; })
    return static_cast<std::uint64_t>(v.judgments_per_item());
  else
    return 1;
}

/// Combines a trajectory's step scores (first to newest) into one score.
template <class A>
concept step_aggregator = std::regular_invocable<const A&, std::span<const double>> &&
                          std::convertible_to<std::invoke_result_t<const A&, std::span<const double>>, double>;

namespace aggregate {
namespace detail {
inline void require_steps(std::span<const double> scores, const char* name) {
  if (scores.empty())
    throw ttscale::invalid_argument(std::string("aggregate::") + name + ": a trajectory with no scored step");
}
}  // namespace detail

/// The newest step's score (Snell et al. 2024's choice for PRM search).
struct last_t {
  double operator()(std::span<const double> s) const {
    detail::require_steps(s, "last");
    return s.back();
  }
};
/// The weakest step: a chain is as good as its worst step (Lightman et al. 2023).
struct min_t {
  double operator()(std::span<const double> s) const {
    detail::require_steps(s, "min");
    return *std::min_element(s.begin(), s.end());
  }
};
/// Product of step scores: the probability every step is correct, if the
/// scores are independent per-step correctness probabilities.
struct product_t {
  double operator()(std::span<const double> s) const {
    detail::require_steps(s, "product");
    double p = 1.0;
    for (double x : s) p *= x;
    return p;
  }
};
/// Arithmetic mean of step scores.
struct mean_t {
  double operator()(std::span<const double> s) const {
    detail::require_steps(s, "mean");
    double sum = 0.0;
    for (double x : s) sum += x;
    return sum / static_cast<double>(s.size());
  }
};
inline constexpr last_t last{};
inline constexpr min_t min{};
inline constexpr product_t product{};
inline constexpr mean_t mean{};
}  // namespace aggregate

TTSCALE_END_NAMESPACE
