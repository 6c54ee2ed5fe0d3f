// ttscale/strategies/detail/aggregated_score.hpp: a trajectory's PRM step
// scores aggregated into one score (aggregate::last, min, mean, product or a
// user's), checked once for every strategy that ranks by it — best-of-N and
// the votes as much as the step-level searches — so a NaN aggregate is
// always an error and never a silently unscored candidate. O(1) for
// aggregate::last, O(depth) otherwise. Users never include this header.
#pragma once

#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// A trajectory's aggregated step score; O(1) for aggregate::last.
template <step_aggregator Aggregate>
double aggregated_score(const trajectory& t, const Aggregate& aggregate) {
  if constexpr (std::is_same_v<Aggregate, aggregate::last_t>) {
    return t.step_score();
  } else {
    const std::vector<double> steps = t.step_scores();
    return aggregate(std::span<const double>(steps));
  }
}

/// As above, but a NaN aggregate throws invalid_argument (the aggregator is
/// the caller's policy, and this is what the step searches always raised)
/// "<strategy>: the step aggregator returned NaN for <kind> <index>" ("node 7",
/// "candidate 3"); the text is built only then, since this runs for every
/// child of every round. The search's accounting is attached when the error
/// leaves search_context::run.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_nan_aggregate(const std::string& strategy, const char* kind,
                                                                    std::uint64_t index) {
  throw invalid_argument(strategy + ": the step aggregator returned NaN for " + kind + " " + std::to_string(index));
}
template <step_aggregator Aggregate, budget_policy B>
double checked_aggregated_score(const search_context<B>& ctx, const trajectory& t, const Aggregate& aggregate,
                                const char* kind, std::uint64_t index) {
  const double score = aggregated_score(t, aggregate);
  if (std::isnan(score)) [[unlikely]]
    throw_nan_aggregate(ctx.name(), kind, index);  // out of line: this call inlines
  return score;
}

}  // namespace detail
TTSCALE_END_NAMESPACE
