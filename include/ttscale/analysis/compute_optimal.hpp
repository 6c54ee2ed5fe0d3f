// ttscale/analysis/compute_optimal.hpp: compute-optimal allocation of test-time compute by difficulty.
//
// "Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
// Model Parameters" (Snell et al. 2024, arXiv:2408.03314, secs. 3–5): which
// strategy is best at a budget depends on how hard the problem is, so bin the
// problems by an estimate of difficulty (the paper: 5 quantile bins of
// model-predicted difficulty), pick per bin the strategy and setting with the
// best measured accuracy at that budget, and compare the result with
// best-of-N at the same budget — the paper's "compute-optimal" curve, up to
// 4× more efficient than best-of-N there.
//
// Input is measurements, not strategies: for every configuration (strategy
// name, setting) and every problem, the correctness (0/1, or an expected
// value in [0,1]) and the cost spent, in any one unit (tokens, eFLOPs from
// cost_model.hpp, dollars). A configuration is affordable in a bin when its
// mean cost over that bin's problems is at most the budget, so an allocation
// never spends more than the budget per problem on average.
//
// Choosing per bin on the same problems the accuracy is then reported on is
// optimistic (the choice fits the noise of those problems): that is the oracle
// variant. Snell et al. report their compute-optimal curves with two-fold
// cross-validation on the test set; `held_out_split` and
// `two_fold_allocation` do the same here: choose on one half, evaluate on the
// other. Difficulty estimated from samples that are also scored (e.g. the
// first m best-of-N samples) leaks the same way; estimate it from samples the
// evaluation does not use when that matters.
//
// Complexity: O(configurations × problems) per budget; binning O(n log n).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// One configuration measured on every problem of a problem set.
struct measured_configuration {
  std::string strategy{};        ///< e.g. "best_of_n", "beam"; curves group by this name
  double setting = 0;            ///< e.g. N or the beam width (for labels; curves order by cost)
  std::vector<double> correct{}; ///< per problem: 0/1, or an expected correctness in [0,1]
  std::vector<double> cost{};    ///< per problem: the cost spent, >= 0, one unit for all configurations
};

/// Problem i is in bin of_problem[i]; bin 0 holds the easiest problems.
struct difficulty_bins {
  std::size_t count = 0;
  std::vector<std::size_t> of_problem{};
};

/// Quantile bins of `difficulty` (higher = harder: pass 1 − pass rate, or the
/// negated mean verifier score): the problem of sorted rank r goes to bin
/// ⌊r·count/n⌋, so bins differ in size by at most one. Problems with equal
/// estimates always share a bin — the bin of their group's mid-rank — so
/// coarse estimates (a pass rate of 4 samples has 5 values) give some bins
/// more problems and leave others empty; the result does not depend on the
/// problems' order. Throws invalid_argument for count 0 or a NaN estimate.
[[nodiscard]] inline difficulty_bins bin_by_difficulty(std::span<const double> difficulty, std::size_t count = 5) {
  ttscale::detail::require_at_least("bin_by_difficulty", "count", count, 1);
  const std::size_t n = difficulty.size();
  for (std::size_t i = 0; i < n; ++i)
    if (std::isnan(difficulty[i]))
      throw invalid_argument("bin_by_difficulty: difficulty of problem " + std::to_string(i) + " is NaN");
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return difficulty[a] < difficulty[b]; });
  difficulty_bins bins{.count = count, .of_problem = std::vector<std::size_t>(n)};
  for (std::size_t first = 0; first < n;) {
    std::size_t last = first + 1;  // one past the group of equal estimates
    while (last < n && difficulty[order[last]] == difficulty[order[first]]) ++last;
    // Mid-rank (first + last − 1) / 2, kept in integers: bin = ⌊(first + last − 1)·count / 2n⌋ < count.
    const std::size_t bin = (first + last - 1) * count / (2 * n);
    for (std::size_t r = first; r < last; ++r) bins.of_problem[order[r]] = bin;
    first = last;
  }
  return bins;
}

/// Problems to choose on and problems to evaluate on; each list ascending.
struct problem_split {
  std::vector<std::size_t> selection{};
  std::vector<std::size_t> evaluation{};
};

/// A held-out split stratified by bin: each bin's problems are shuffled with
/// the stream (seed, {bin, 0}) and the first ⌈m/2⌉ go to selection, the rest to
/// evaluation, so every bin that can be is represented in both halves. The same
/// bins and seed give the same split on every platform (the shuffle is ours,
/// not std::shuffle, whose algorithm is unspecified).
[[nodiscard]] inline problem_split held_out_split(const difficulty_bins& bins, std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> members(bins.count);
  for (std::size_t i = 0; i < bins.of_problem.size(); ++i) {
    if (bins.of_problem[i] >= bins.count)
      throw invalid_argument("held_out_split: problem " + std::to_string(i) + " is in bin " +
                             std::to_string(bins.of_problem[i]) + " of " + std::to_string(bins.count));
    members[bins.of_problem[i]].push_back(i);
  }
  problem_split split;
  for (std::size_t b = 0; b < bins.count; ++b) {
    std::vector<std::size_t>& m = members[b];
    random_engine engine(seed, stream_key{b, 0});
    for (std::size_t i = m.size(); i > 1; --i) {  // Fisher–Yates
      const auto j = static_cast<std::size_t>(engine.uniform() * static_cast<double>(i));
      std::swap(m[i - 1], m[std::min(j, i - 1)]);
    }
    const std::size_t half = (m.size() + 1) / 2;
    split.selection.insert(split.selection.end(), m.begin(), m.begin() + static_cast<std::ptrdiff_t>(half));
    split.evaluation.insert(split.evaluation.end(), m.begin() + static_cast<std::ptrdiff_t>(half), m.end());
  }
  std::sort(split.selection.begin(), split.selection.end());
  std::sort(split.evaluation.begin(), split.evaluation.end());
  return split;
}

/// What an allocation chose in one bin and what it scored there.
struct bin_allocation {
  std::size_t selection_problems = 0;   ///< the bin's problems the choice was made on
  std::size_t evaluation_problems = 0;  ///< the bin's problems it was scored on
  /// Index into the measurements; empty when no configuration's mean cost on
  /// the bin's selection problems is within the budget (or the bin has none).
  std::optional<std::size_t> configuration{};
  double selection_accuracy = 0;  ///< the chosen configuration's, on the selection problems
  double accuracy = 0;            ///< on the evaluation problems (0 when there are none)
  double mean_cost = 0;           ///< per evaluation problem
};

/// A compute-optimal allocation at one budget.
struct allocation {
  double budget = 0;
  std::vector<bin_allocation> bins{};
  /// Mean correctness over the evaluation problems; empty when a bin with
  /// evaluation problems has no affordable configuration — the budget is below
  /// what that bin needs, so no accuracy at this budget exists to compare.
  std::optional<double> accuracy{};
  double mean_cost = 0;      ///< per evaluation problem, over the bins that have a configuration
  std::size_t problems = 0;  ///< evaluation problems
};

namespace detail {
inline std::size_t allocation_check(std::span<const measured_configuration> measured, const difficulty_bins* bins,
                                    const char* function) {
  if (measured.empty()) throw invalid_argument(std::string(function) + ": no measured configurations");
  const std::size_t n = measured[0].correct.size();
  for (std::size_t c = 0; c < measured.size(); ++c) {
    const measured_configuration& m = measured[c];
    const std::string which = std::string(function) + ": configuration " + std::to_string(c) + " ('" + m.strategy +
                              "' " + ttscale::detail::number_text(m.setting) + ")";
    if (m.correct.size() != n || m.cost.size() != n)
      throw invalid_argument(which + " has " + std::to_string(m.correct.size()) + " correctness values and " +
                             std::to_string(m.cost.size()) + " costs; configuration 0 has " + std::to_string(n) +
                             " problems");
    for (std::size_t i = 0; i < n; ++i) {
      if (!(m.correct[i] >= 0 && m.correct[i] <= 1))
        throw invalid_argument(which + ": correctness of problem " + std::to_string(i) + " is " +
                               ttscale::detail::number_text(m.correct[i]) + ", not in [0, 1]");
      if (!std::isfinite(m.cost[i]) || m.cost[i] < 0)
        throw invalid_argument(which + ": cost of problem " + std::to_string(i) + " is " +
                               ttscale::detail::number_text(m.cost[i]) + ", not finite and non-negative");
    }
  }
  if (bins) {
    if (bins->of_problem.size() != n)
      throw invalid_argument(std::string(function) + ": the difficulty bins cover " +
                             std::to_string(bins->of_problem.size()) + " problems, the measurements " +
                             std::to_string(n));
    for (std::size_t i = 0; i < n; ++i)
      if (bins->of_problem[i] >= bins->count)
        throw invalid_argument(std::string(function) + ": problem " + std::to_string(i) + " is in bin " +
                               std::to_string(bins->of_problem[i]) + " of " + std::to_string(bins->count));
  }
  return n;
}

inline void allocation_check_subset(std::span<const std::size_t> problems, std::size_t n, const char* function,
                                    const char* name) {
  for (std::size_t p : problems)
    if (p >= n)
      throw invalid_argument(std::string(function) + ": " + name + " problem " + std::to_string(p) + " is past the " +
                             std::to_string(n) + " measured problems");
}

struct allocation_sums {
  double correct = 0, cost = 0;
};
inline allocation_sums allocation_sum(const measured_configuration& m, std::span<const std::size_t> problems) {
  allocation_sums s;
  for (std::size_t p : problems) s.correct += m.correct[p], s.cost += m.cost[p];
  return s;
}

/// Chooses per bin on `selection`, scores on `evaluation` (both validated).
inline allocation allocate(std::span<const measured_configuration> measured, const difficulty_bins& bins,
                           double budget, std::span<const std::size_t> selection,
                           std::span<const std::size_t> evaluation) {
  std::vector<std::vector<std::size_t>> chosen_on(bins.count), scored_on(bins.count);
  for (std::size_t p : selection) chosen_on[bins.of_problem[p]].push_back(p);
  for (std::size_t p : evaluation) scored_on[bins.of_problem[p]].push_back(p);
  allocation result{.budget = budget, .bins = std::vector<bin_allocation>(bins.count), .problems = evaluation.size()};
  double correct = 0, cost = 0;
  bool complete = true;
  for (std::size_t b = 0; b < bins.count; ++b) {
    bin_allocation& out = result.bins[b];
    out.selection_problems = chosen_on[b].size();
    out.evaluation_problems = scored_on[b].size();
    if (!chosen_on[b].empty()) {
      const double size = static_cast<double>(chosen_on[b].size());
      double best_accuracy = 0, best_cost = 0;
      for (std::size_t c = 0; c < measured.size(); ++c) {
        const allocation_sums s = allocation_sum(measured[c], chosen_on[b]);
        const double accuracy = s.correct / size, mean = s.cost / size;
        if (!(mean <= budget)) continue;
        // Ties go to the cheaper configuration, then to the lower index.
        if (!out.configuration || accuracy > best_accuracy || (accuracy == best_accuracy && mean < best_cost)) {
          out.configuration = c;
          best_accuracy = accuracy, best_cost = mean;
        }
      }
      out.selection_accuracy = best_accuracy;
    }
    if (scored_on[b].empty()) continue;
    if (!out.configuration) {
      complete = false;
      continue;
    }
    const allocation_sums s = allocation_sum(measured[*out.configuration], scored_on[b]);
    const double size = static_cast<double>(scored_on[b].size());
    out.accuracy = s.correct / size, out.mean_cost = s.cost / size;
    correct += s.correct, cost += s.cost;
  }
  if (!evaluation.empty()) {
    result.mean_cost = cost / static_cast<double>(evaluation.size());
    if (complete) result.accuracy = correct / static_cast<double>(evaluation.size());
  }
  return result;
}

inline std::vector<std::size_t> allocation_all_problems(std::size_t n) {
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  return all;
}

inline void allocation_check_budget(double budget, const char* function) {
  if (std::isnan(budget)) throw invalid_argument(std::string(function) + ": budget is NaN");
}
}  // namespace detail

/// The oracle allocation at `budget` (cost per problem): per bin, the
/// configuration with the best mean correctness among those whose mean cost on
/// the bin is at most the budget (ties: the cheaper, then the lower index),
/// chosen and scored on all problems — optimistic, see the file comment. A
/// budget below every configuration's cost in some bin gives an allocation
/// without accuracy and that bin's configuration empty. Throws
/// invalid_argument for mismatched or out-of-range measurements, bins that do
/// not cover the problems, or a NaN budget.
[[nodiscard]] inline allocation compute_optimal_allocation(std::span<const measured_configuration> measured,
                                                           const difficulty_bins& bins, double budget) {
  const std::size_t n = detail::allocation_check(measured, &bins, "compute_optimal_allocation");
  detail::allocation_check_budget(budget, "compute_optimal_allocation");
  const std::vector<std::size_t> all = detail::allocation_all_problems(n);
  return detail::allocate(measured, bins, budget, all, all);
}

/// As above, but chosen on split.selection and scored on split.evaluation —
/// an honest estimate of what the choice does on problems it has not seen.
[[nodiscard]] inline allocation compute_optimal_allocation(std::span<const measured_configuration> measured,
                                                           const difficulty_bins& bins, double budget,
                                                           const problem_split& split) {
  const std::size_t n = detail::allocation_check(measured, &bins, "compute_optimal_allocation");
  detail::allocation_check_budget(budget, "compute_optimal_allocation");
  detail::allocation_check_subset(split.selection, n, "compute_optimal_allocation", "selection");
  detail::allocation_check_subset(split.evaluation, n, "compute_optimal_allocation", "evaluation");
  return detail::allocate(measured, bins, budget, split.selection, split.evaluation);
}

/// Both directions of a two-fold split and their pooled result.
struct two_fold_result {
  allocation first{};   ///< chosen on split.selection, scored on split.evaluation
  allocation second{};  ///< chosen on split.evaluation, scored on split.selection
  std::optional<double> accuracy{};  ///< over all problems of both folds; empty if either fold has none
  double mean_cost = 0;
};

/// Two-fold cross-validation: each half chooses for the other, and the
/// accuracy is pooled over both halves (every problem scored once, by a choice
/// that did not see it). Throws as compute_optimal_allocation does.
[[nodiscard]] inline two_fold_result two_fold_allocation(std::span<const measured_configuration> measured,
                                                         const difficulty_bins& bins, double budget,
                                                         const problem_split& split) {
  two_fold_result r;
  r.first = compute_optimal_allocation(measured, bins, budget, split);
  r.second = compute_optimal_allocation(measured, bins, budget,
                                        problem_split{.selection = split.evaluation, .evaluation = split.selection});
  const double n1 = static_cast<double>(r.first.problems), n2 = static_cast<double>(r.second.problems);
  if (n1 + n2 > 0) {
    r.mean_cost = (r.first.mean_cost * n1 + r.second.mean_cost * n2) / (n1 + n2);
    if ((r.first.accuracy || n1 == 0) && (r.second.accuracy || n2 == 0))
      r.accuracy = (r.first.accuracy.value_or(0) * n1 + r.second.accuracy.value_or(0) * n2) / (n1 + n2);
  }
  return r;
}

/// One point of an accuracy-vs-cost curve.
struct curve_point {
  double cost = 0;  ///< mean cost per problem
  double accuracy = 0;
  std::size_t index = 0;  ///< the measured configuration (strategy curves) or the allocation (allocation_curve)
};

/// A named curve, ascending in cost.
struct named_curve {
  std::string name{};
  std::vector<curve_point> points{};
};

namespace detail {
inline void allocation_sort_curve(std::vector<curve_point>& points) {
  std::stable_sort(points.begin(), points.end(), [](const curve_point& a, const curve_point& b) {
    return a.cost < b.cost || (a.cost == b.cost && a.index < b.index);
  });
}
inline std::vector<curve_point> allocation_strategy_points(std::span<const measured_configuration> measured,
                                                           std::string_view strategy,
                                                           std::span<const std::size_t> problems) {
  std::vector<curve_point> points;
  const double size = static_cast<double>(problems.size());
  for (std::size_t c = 0; c < measured.size(); ++c) {
    if (measured[c].strategy != strategy) continue;
    const allocation_sums s = allocation_sum(measured[c], problems);
    points.push_back({.cost = size > 0 ? s.cost / size : 0, .accuracy = size > 0 ? s.correct / size : 0, .index = c});
  }
  allocation_sort_curve(points);
  return points;
}
}  // namespace detail

/// The accuracy-vs-cost curve of one strategy over its settings (e.g. the
/// best-of-N baseline), mean over all problems, ascending in cost (ties: lower
/// index). Empty when no configuration has that strategy name.
/// Throws invalid_argument for invalid measurements.
[[nodiscard]] inline std::vector<curve_point> strategy_curve(std::span<const measured_configuration> measured,
                                                             std::string_view strategy) {
  const std::size_t n = detail::allocation_check(measured, nullptr, "strategy_curve");
  return detail::allocation_strategy_points(measured, strategy, detail::allocation_all_problems(n));
}

/// As above, over `problems` only (the evaluation half of a split, so the
/// baseline is scored on the same problems as a held-out allocation).
[[nodiscard]] inline std::vector<curve_point> strategy_curve(std::span<const measured_configuration> measured,
                                                             std::string_view strategy,
                                                             std::span<const std::size_t> problems) {
  const std::size_t n = detail::allocation_check(measured, nullptr, "strategy_curve");
  detail::allocation_check_subset(problems, n, "strategy_curve", "curve");
  return detail::allocation_strategy_points(measured, strategy, problems);
}

/// Every strategy's curve, in order of the strategy's first appearance.
[[nodiscard]] inline std::vector<named_curve> strategy_curves(std::span<const measured_configuration> measured) {
  const std::size_t n = detail::allocation_check(measured, nullptr, "strategy_curves");
  const std::vector<std::size_t> all = detail::allocation_all_problems(n);
  std::vector<named_curve> curves;
  for (const measured_configuration& m : measured)
    if (std::none_of(curves.begin(), curves.end(), [&](const named_curve& c) { return c.name == m.strategy; }))
      curves.push_back({.name = m.strategy, .points = detail::allocation_strategy_points(measured, m.strategy, all)});
  return curves;
}

/// compute_optimal_allocation at each budget (oracle), in the budgets' order.
[[nodiscard]] inline std::vector<allocation> compute_optimal_allocations(
    std::span<const measured_configuration> measured, const difficulty_bins& bins, std::span<const double> budgets) {
  std::vector<allocation> out;
  out.reserve(budgets.size());
  for (double b : budgets) out.push_back(compute_optimal_allocation(measured, bins, b));
  return out;
}

/// compute_optimal_allocation at each budget, chosen and scored on a split.
[[nodiscard]] inline std::vector<allocation> compute_optimal_allocations(
    std::span<const measured_configuration> measured, const difficulty_bins& bins, std::span<const double> budgets,
    const problem_split& split) {
  std::vector<allocation> out;
  out.reserve(budgets.size());
  for (double b : budgets) out.push_back(compute_optimal_allocation(measured, bins, b, split));
  return out;
}

/// The curve of a list of allocations: (mean cost actually spent, accuracy)
/// for those with an accuracy, index = position in `allocations`, ascending in
/// cost. Plot against `budget` instead to show what each budget bought.
[[nodiscard]] inline std::vector<curve_point> allocation_curve(std::span<const allocation> allocations) {
  std::vector<curve_point> points;
  for (std::size_t i = 0; i < allocations.size(); ++i)
    if (allocations[i].accuracy)
      points.push_back({.cost = allocations[i].mean_cost, .accuracy = *allocations[i].accuracy, .index = i});
  detail::allocation_sort_curve(points);
  return points;
}

/// The best accuracy a curve offers at mean cost <= budget (a configuration
/// one can actually run at that budget, no interpolation); empty when every
/// point costs more.
[[nodiscard]] inline std::optional<double> accuracy_within_budget(std::span<const curve_point> curve, double budget) {
  std::optional<double> best;
  for (const curve_point& p : curve)
    if (p.cost <= budget && (!best || p.accuracy > *best)) best = p.accuracy;
  return best;
}

/// The cost at which a curve first reaches `target` accuracy, interpolating
/// linearly in log cost between the last point below the target and the first
/// at or above it (accuracy is about linear in log compute). Empty when no
/// point reaches the target — the curve never does within the measured range
/// (+inf, if a number is needed). When the cheapest point already reaches it,
/// that point's cost is returned: an upper bound, since nothing cheaper was
/// measured. Throws invalid_argument for a curve not ascending in cost or a
/// non-positive or non-finite cost (no logarithm), or a NaN target.
[[nodiscard]] inline std::optional<double> cost_to_reach(std::span<const curve_point> curve, double target) {
  if (std::isnan(target)) throw invalid_argument("cost_to_reach: target accuracy is NaN");
  for (std::size_t i = 0; i < curve.size(); ++i) {
    if (!std::isfinite(curve[i].cost) || curve[i].cost <= 0)
      throw invalid_argument("cost_to_reach: point " + std::to_string(i) + " has cost " +
                             ttscale::detail::number_text(curve[i].cost) + "; log-cost interpolation needs cost > 0");
    if (i > 0 && curve[i].cost < curve[i - 1].cost)
      throw invalid_argument("cost_to_reach: the curve is not ascending in cost at point " + std::to_string(i) +
                             " (" + ttscale::detail::number_text(curve[i - 1].cost) + " then " +
                             ttscale::detail::number_text(curve[i].cost) + ")");
  }
  for (std::size_t i = 0; i < curve.size(); ++i) {
    if (!(curve[i].accuracy >= target)) continue;
    if (i == 0) return curve[0].cost;
    const curve_point& lo = curve[i - 1];
    const curve_point& hi = curve[i];
    // lo.accuracy < target <= hi.accuracy, so the fraction is in (0, 1].
    const double fraction = (target - lo.accuracy) / (hi.accuracy - lo.accuracy);
    return std::exp(std::log(lo.cost) + fraction * (std::log(hi.cost) - std::log(lo.cost)));
  }
  return std::nullopt;
}

/// An allocation against a baseline curve scored on the same problems.
struct baseline_comparison {
  double budget = 0;
  std::optional<double> accuracy{};  ///< the allocation's
  double mean_cost = 0;              ///< the allocation's
  std::optional<double> baseline_accuracy{};       ///< accuracy_within_budget(baseline, budget)
  std::optional<double> gain{};                    ///< accuracy − baseline_accuracy
  std::optional<double> baseline_cost_to_match{};  ///< cost_to_reach(baseline, accuracy): empty if never
  /// baseline_cost_to_match / mean_cost: how many times the allocation's
  /// compute the baseline needs for the same accuracy (Snell et al.'s "4×").
  std::optional<double> compute_ratio{};
};

/// The gain of `a` over `baseline` at a's budget and the budget the baseline
/// needs to match a's accuracy. Throws as cost_to_reach does.
[[nodiscard]] inline baseline_comparison compare_with_baseline(const allocation& a,
                                                               std::span<const curve_point> baseline) {
  baseline_comparison r{.budget = a.budget, .accuracy = a.accuracy, .mean_cost = a.mean_cost};
  r.baseline_accuracy = accuracy_within_budget(baseline, a.budget);
  if (!a.accuracy) return r;
  if (r.baseline_accuracy) r.gain = *a.accuracy - *r.baseline_accuracy;
  r.baseline_cost_to_match = cost_to_reach(baseline, *a.accuracy);
  if (r.baseline_cost_to_match && a.mean_cost > 0) r.compute_ratio = *r.baseline_cost_to_match / a.mean_cost;
  return r;
}

/// Where one curve reaches the target accuracy.
struct cost_to_target {
  std::string name{};
  std::optional<double> cost{};  ///< cost_to_reach: empty if the curve never reaches the target
  /// cost / the baseline's cost: 0.25 means a quarter of the baseline's
  /// compute (4× cheaper); empty if either never reaches the target.
  std::optional<double> ratio_to_baseline{};
};

/// The compute-ratio table for one target accuracy.
struct compute_ratio_summary {
  double target_accuracy = 0;
  std::string baseline{};
  std::optional<double> baseline_cost{};
  std::vector<cost_to_target> curves{};  ///< in the order given, the baseline included
};

/// For `target_accuracy` (e.g. the accuracy of best-of-N at N = 64), the cost
/// at which each curve first reaches it (interpolated in log cost) and its
/// ratio to the baseline's. Pass strategy_curves(measured), plus
/// {"compute-optimal", allocation_curve(...)} to rank the allocation too.
/// Throws invalid_argument when no curve is named `baseline`, and as
/// cost_to_reach does.
[[nodiscard]] inline compute_ratio_summary compute_ratios(std::span<const named_curve> curves,
                                                          std::string_view baseline, double target_accuracy) {
  const auto base = std::find_if(curves.begin(), curves.end(), [&](const named_curve& c) { return c.name == baseline; });
  if (base == curves.end())
    throw invalid_argument("compute_ratios: no curve is named '" + std::string(baseline) + "'");
  compute_ratio_summary s{.target_accuracy = target_accuracy, .baseline = std::string(baseline)};
  s.baseline_cost = cost_to_reach(base->points, target_accuracy);
  for (const named_curve& c : curves) {
    cost_to_target row{.name = c.name, .cost = cost_to_reach(c.points, target_accuracy)};
    if (row.cost && s.baseline_cost) row.ratio_to_baseline = *row.cost / *s.baseline_cost;
    s.curves.push_back(std::move(row));
  }
  return s;
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
