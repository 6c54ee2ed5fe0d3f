#include <ttscale/analysis/compute_optimal.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

using namespace ttscale;
using analysis::curve_point;
using analysis::measured_configuration;

namespace {

// Ten problems, five easy (bin 0) and five hard (bin 1). Best-of-N is best on
// the easy bin, beam search on the hard one — the situation Snell et al. report
// at low budgets — so the compute-optimal allocation mixes them.
measured_configuration config(const char* strategy, double setting, double cost, std::vector<double> easy,
                              std::vector<double> hard) {
  measured_configuration m{.strategy = strategy, .setting = setting};
  m.correct = easy;
  m.correct.insert(m.correct.end(), hard.begin(), hard.end());
  m.cost.assign(m.correct.size(), cost);
  return m;
}

std::vector<measured_configuration> constructed() {
  return {
      config("best_of_n", 1, 1, {1, 1, 1, 0, 0}, {0, 0, 0, 0, 0}),   // 0: 0.6 / 0.0
      config("best_of_n", 4, 4, {1, 1, 1, 1, 1}, {1, 0, 0, 0, 0}),   // 1: 1.0 / 0.2
      config("beam", 4, 4, {1, 1, 1, 0, 0}, {1, 1, 1, 0, 0}),        // 2: 0.6 / 0.6
      config("best_of_n", 16, 16, {1, 1, 1, 1, 1}, {1, 1, 0, 0, 0}), // 3: 1.0 / 0.4
      config("beam", 16, 16, {1, 1, 1, 1, 0}, {1, 1, 1, 1, 0}),      // 4: 0.8 / 0.8
      config("best_of_n", 64, 64, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}), // 5: 1.0 / 0.8
  };
}

const std::vector<double> ten_difficulties{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

}  // namespace

TEST_CASE("bin_by_difficulty makes quantile bins, easiest first", "[analysis][compute_optimal]") {
  const std::vector<double> d{5, 1, 4, 2, 3, 0, 9, 8, 7, 6};
  const analysis::difficulty_bins b = analysis::bin_by_difficulty(d, 5);
  CHECK(b.count == 5);
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(b.of_problem[i] == static_cast<std::size_t>(d[i]) / 2);
  // Sizes differ by at most one when there are no ties.
  const analysis::difficulty_bins seven = analysis::bin_by_difficulty(d, 3);
  std::vector<std::size_t> sizes(3);
  for (std::size_t x : seven.of_problem) ++sizes[x];
  CHECK(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()) <= 1);
  CHECK(analysis::bin_by_difficulty({}, 5).of_problem.empty());
}

TEST_CASE("bin_by_difficulty keeps ties together, deterministically", "[analysis][compute_optimal]") {
  // A pass rate from 4 samples: many ties. Equal estimates share the bin of their mid-rank.
  const std::vector<double> d{0, 0, 0, 0, 1, 1, 1, 1};
  CHECK(analysis::bin_by_difficulty(d, 2).of_problem == std::vector<std::size_t>{0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(analysis::bin_by_difficulty(d, 4).of_problem == std::vector<std::size_t>{0, 0, 0, 0, 2, 2, 2, 2});
  const std::vector<double> lopsided{1, 1, 1, 1, 0, 1, 1, 2, 1, 1};
  const analysis::difficulty_bins b = analysis::bin_by_difficulty(lopsided, 2);
  for (std::size_t i = 0; i < lopsided.size(); ++i) CHECK(b.of_problem[i] == (lopsided[i] == 2 ? 1u : 0u));
  // Reordering the problems reorders the bins and changes nothing else.
  std::vector<double> reversed(lopsided.rbegin(), lopsided.rend());
  const analysis::difficulty_bins r = analysis::bin_by_difficulty(reversed, 2);
  for (std::size_t i = 0; i < lopsided.size(); ++i) CHECK(r.of_problem[lopsided.size() - 1 - i] == b.of_problem[i]);
  CHECK_THROWS_WITH(analysis::bin_by_difficulty(d, 0), Catch::Contains("count must be at least 1"));
  const std::vector<double> nan{0, std::nan("")};
  CHECK_THROWS_WITH(analysis::bin_by_difficulty(nan, 2), Catch::Contains("problem 1 is NaN"));
}

TEST_CASE("the allocation picks the best affordable configuration in each bin", "[analysis][compute_optimal]") {
  const std::vector<measured_configuration> m = constructed();
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);

  const analysis::allocation at4 = analysis::compute_optimal_allocation(m, bins, 4);
  REQUIRE(at4.bins.size() == 2);
  CHECK(at4.bins[0].configuration == 1u);  // best-of-N@4 on the easy half
  CHECK(at4.bins[1].configuration == 2u);  // beam@4 on the hard half
  REQUIRE(at4.accuracy);
  CHECK(*at4.accuracy == Approx(0.8));
  CHECK(at4.mean_cost == 4);
  CHECK(at4.bins[1].accuracy == Approx(0.6));

  // Against best-of-N: +0.2 at the same budget; best-of-N needs 32 (between
  // 16 → 0.7 and 64 → 0.9, half-way in log cost) to match 0.8: 8× the compute.
  const std::vector<curve_point> bon = analysis::strategy_curve(m, "best_of_n");
  REQUIRE(bon.size() == 4);
  CHECK(bon[1].cost == 4);
  CHECK(bon[1].accuracy == Approx(0.6));
  CHECK(bon[1].index == 1);
  const analysis::baseline_comparison cmp = analysis::compare_with_baseline(at4, bon);
  REQUIRE(cmp.gain);
  CHECK(*cmp.gain == Approx(0.2));
  REQUIRE(cmp.baseline_cost_to_match);
  CHECK(*cmp.baseline_cost_to_match == Approx(32.0).epsilon(1e-12));
  CHECK(*cmp.compute_ratio == Approx(8.0).epsilon(1e-12));

  // At 16 the easy bin ties between best-of-N@4 and @16 at accuracy 1: the cheaper wins.
  const analysis::allocation at16 = analysis::compute_optimal_allocation(m, bins, 16);
  CHECK(at16.bins[0].configuration == 1u);
  CHECK(at16.bins[1].configuration == 4u);
  CHECK(*at16.accuracy == Approx(0.9));
  CHECK(at16.mean_cost == 10);

  // Unlimited budget: the best of everything.
  CHECK(*analysis::compute_optimal_allocation(m, bins, INFINITY).accuracy == Approx(0.9));
}

TEST_CASE("a budget below every configuration's cost gives no accuracy", "[analysis][compute_optimal]") {
  const std::vector<measured_configuration> m = constructed();
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);
  const analysis::allocation none = analysis::compute_optimal_allocation(m, bins, 0.5);
  CHECK_FALSE(none.accuracy);
  CHECK_FALSE(none.bins[0].configuration);
  CHECK_FALSE(none.bins[1].configuration);
  CHECK(none.mean_cost == 0);
  const analysis::baseline_comparison cmp = analysis::compare_with_baseline(none, analysis::strategy_curve(m, "best_of_n"));
  CHECK_FALSE(cmp.baseline_accuracy);
  CHECK_FALSE(cmp.gain);
  CHECK_FALSE(cmp.baseline_cost_to_match);
  // The cheapest configuration's cost is enough.
  CHECK(*analysis::compute_optimal_allocation(m, bins, 1).accuracy == Approx(0.3));
  CHECK(analysis::allocation_curve(analysis::compute_optimal_allocations(m, bins, std::vector<double>{0.5, 1, 4})).size() == 2);
}

TEST_CASE("affordability is judged per bin, on the bin's own mean cost", "[analysis][compute_optimal]") {
  // An adaptive strategy spends 1 on easy problems and 7 on hard ones: mean 4
  // overall, but unaffordable in the hard bin at budget 4.
  std::vector<measured_configuration> m = constructed();
  measured_configuration adaptive = config("adaptive", 0, 1, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1});
  std::fill(adaptive.cost.begin() + 5, adaptive.cost.end(), 7.0);
  m.push_back(adaptive);
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);
  const analysis::allocation at4 = analysis::compute_optimal_allocation(m, bins, 4);
  CHECK(at4.bins[0].configuration == 6u);  // as accurate as best-of-N@4 and cheaper
  CHECK(at4.bins[1].configuration == 2u);
  CHECK(at4.mean_cost == Approx(2.5));
  CHECK(analysis::compute_optimal_allocation(m, bins, 7).bins[1].configuration == 6u);
}

TEST_CASE("cost_to_reach interpolates accuracy in log cost", "[analysis][compute_optimal]") {
  const std::vector<curve_point> curve{{1, 0.2, 0}, {4, 0.5, 1}, {16, 0.8, 2}};
  CHECK(*analysis::cost_to_reach(curve, 0.65) == Approx(8.0).epsilon(1e-12));
  CHECK(*analysis::cost_to_reach(curve, 0.5) == Approx(4.0).epsilon(1e-12));
  CHECK(*analysis::cost_to_reach(curve, 0.8) == Approx(16.0).epsilon(1e-12));
  CHECK(*analysis::cost_to_reach(curve, 0.1) == 1.0);  // already reached at the cheapest point
  CHECK_FALSE(analysis::cost_to_reach(curve, 0.81));   // never reached
  CHECK_FALSE(analysis::cost_to_reach(std::vector<curve_point>{}, 0.5));
  // The first crossing counts, not a later one after a dip.
  const std::vector<curve_point> dip{{1, 0.2, 0}, {2, 0.6, 1}, {4, 0.4, 2}, {8, 0.9, 3}};
  CHECK(*analysis::cost_to_reach(dip, 0.5) == Approx(std::pow(2.0, 0.75)).epsilon(1e-12));
  CHECK(*analysis::cost_to_reach(dip, 0.7) == Approx(std::pow(2.0, 2.0 + 0.6)).epsilon(1e-12));
  // accuracy_within_budget is a step function: no interpolation.
  CHECK(*analysis::accuracy_within_budget(curve, 15.9) == 0.5);
  CHECK_FALSE(analysis::accuracy_within_budget(curve, 0.9));
  const std::vector<curve_point> unsorted{{4, 0.5, 0}, {1, 0.2, 1}};
  CHECK_THROWS_WITH(analysis::cost_to_reach(unsorted, 0.3), Catch::Contains("not ascending in cost at point 1"));
  const std::vector<curve_point> free{{0, 0.5, 0}};
  CHECK_THROWS_WITH(analysis::cost_to_reach(free, 0.3), Catch::Contains("needs cost > 0"));
}

TEST_CASE("compute_ratios reports where each curve reaches the target", "[analysis][compute_optimal]") {
  const std::vector<measured_configuration> m = constructed();
  std::vector<analysis::named_curve> curves = analysis::strategy_curves(m);
  REQUIRE(curves.size() == 2);
  CHECK(curves[0].name == "best_of_n");
  CHECK(curves[1].name == "beam");
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);
  const std::vector<double> budgets{1, 4, 16, 64};
  curves.push_back({"compute-optimal",
                    analysis::allocation_curve(analysis::compute_optimal_allocations(m, bins, budgets))});
  // Target: best-of-N@16's accuracy, 0.7. Best-of-N reaches it at 16; beam between
  // 4 → 0.6 and 16 → 0.8, at 8; the allocation between 4 → 0.8 and its cheaper points.
  const analysis::compute_ratio_summary s = analysis::compute_ratios(curves, "best_of_n", 0.7);
  CHECK(*s.baseline_cost == Approx(16.0));
  REQUIRE(s.curves.size() == 3);
  CHECK(*s.curves[0].ratio_to_baseline == Approx(1.0));
  CHECK(*s.curves[1].cost == Approx(8.0));
  CHECK(*s.curves[1].ratio_to_baseline == Approx(0.5));
  // compute-optimal: 1 → 0.3, 4 → 0.8: 0.7 is 0.8 of the way in log cost.
  CHECK(*s.curves[2].cost == Approx(std::pow(4.0, 0.8)));
  CHECK_FALSE(analysis::compute_ratios(curves, "best_of_n", 0.95).baseline_cost);
  CHECK_FALSE(analysis::compute_ratios(curves, "best_of_n", 0.95).curves[1].ratio_to_baseline);
  CHECK_THROWS_WITH(analysis::compute_ratios(curves, "vote", 0.7), Catch::Contains("no curve is named 'vote'"));
}

TEST_CASE("held_out_split is stratified, disjoint and deterministic", "[analysis][compute_optimal]") {
  std::vector<double> d(101);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<double>((i * 37) % 101);
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(d, 5);
  const analysis::problem_split a = analysis::held_out_split(bins, 7);
  const analysis::problem_split again = analysis::held_out_split(bins, 7);
  const analysis::problem_split other = analysis::held_out_split(bins, 8);
  CHECK(a.selection == again.selection);
  CHECK(a.evaluation == again.evaluation);
  CHECK(a.selection != other.selection);
  CHECK(std::is_sorted(a.selection.begin(), a.selection.end()));
  CHECK(std::is_sorted(a.evaluation.begin(), a.evaluation.end()));
  std::set<std::size_t> all(a.selection.begin(), a.selection.end());
  all.insert(a.evaluation.begin(), a.evaluation.end());
  CHECK(all.size() == 101);
  CHECK(a.selection.size() + a.evaluation.size() == 101);
  // Per bin, ⌈m/2⌉ to selection.
  for (std::size_t b = 0; b < 5; ++b) {
    std::size_t in_bin = 0, selected = 0;
    for (std::size_t i = 0; i < d.size(); ++i) in_bin += bins.of_problem[i] == b;
    for (std::size_t i : a.selection) selected += bins.of_problem[i] == b;
    CHECK(selected == (in_bin + 1) / 2);
  }
}

TEST_CASE("held-out and two-fold allocations choose on one half and score on the other",
          "[analysis][compute_optimal]") {
  // Correctness that depends only on the bin: every half makes the oracle's choice.
  const std::vector<measured_configuration> m = constructed();
  std::vector<measured_configuration> flat;
  for (const measured_configuration& c : m) {
    measured_configuration f = c;
    for (std::size_t i = 0; i < 10; ++i) {
      const std::size_t first = i < 5 ? 0 : 5;
      double sum = 0;
      for (std::size_t j = first; j < first + 5; ++j) sum += c.correct[j];
      f.correct[i] = sum / 5;  // the bin's mean, as an expected correctness
    }
    flat.push_back(f);
  }
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);
  const analysis::problem_split split = analysis::held_out_split(bins, 1);
  const analysis::allocation oracle = analysis::compute_optimal_allocation(flat, bins, 4);
  const analysis::allocation held = analysis::compute_optimal_allocation(flat, bins, 4, split);
  CHECK(held.problems == split.evaluation.size());
  CHECK(held.bins[0].configuration == oracle.bins[0].configuration);
  CHECK(held.bins[1].configuration == oracle.bins[1].configuration);
  CHECK(*held.accuracy == Approx(*oracle.accuracy));
  const analysis::two_fold_result two = analysis::two_fold_allocation(flat, bins, 4, split);
  CHECK(two.first.problems + two.second.problems == 10);
  CHECK(*two.accuracy == Approx(*oracle.accuracy));
  // The baseline on the same evaluation half.
  const std::vector<curve_point> bon = analysis::strategy_curve(flat, "best_of_n", split.evaluation);
  CHECK(analysis::accuracy_within_budget(bon, 4).has_value());

  // With 0/1 outcomes the halves can disagree; the pooled accuracy is still the
  // problem-weighted mean of the two directions.
  const analysis::two_fold_result raw = analysis::two_fold_allocation(m, bins, 16, split);
  REQUIRE(raw.accuracy);
  CHECK(*raw.accuracy == Approx((*raw.first.accuracy * static_cast<double>(raw.first.problems) +
                                 *raw.second.accuracy * static_cast<double>(raw.second.problems)) /
                                10.0));
  // A bin whose selection half is empty cannot choose for its evaluation half.
  const analysis::problem_split lopsided{.selection = {0, 1, 2}, .evaluation = {3, 4, 5}};
  const analysis::allocation blind = analysis::compute_optimal_allocation(m, bins, 64, lopsided);
  CHECK_FALSE(blind.bins[1].configuration);
  CHECK_FALSE(blind.accuracy);
}

TEST_CASE("allocation inputs are validated with the bad value named", "[analysis][compute_optimal][errors]") {
  const analysis::difficulty_bins bins = analysis::bin_by_difficulty(ten_difficulties, 2);
  std::vector<measured_configuration> m = constructed();
  m[2].correct[3] = 1.5;
  CHECK_THROWS_WITH(analysis::compute_optimal_allocation(m, bins, 4),
                    Catch::Contains("configuration 2 ('beam' 4): correctness of problem 3 is 1.5"));
  m = constructed();
  m[1].cost.pop_back();
  CHECK_THROWS_WITH(analysis::compute_optimal_allocation(m, bins, 4), Catch::Contains("has 10 correctness values and 9 costs"));
  m = constructed();
  m[0].cost[0] = -1;
  CHECK_THROWS_AS(analysis::strategy_curve(m, "best_of_n"), invalid_argument);
  m = constructed();
  CHECK_THROWS_WITH(analysis::compute_optimal_allocation(m, analysis::bin_by_difficulty(std::vector<double>{1, 2}, 2), 4),
                    Catch::Contains("bins cover 2 problems, the measurements 10"));
  CHECK_THROWS_AS(analysis::compute_optimal_allocation(m, bins, std::nan("")), invalid_argument);
  CHECK_THROWS_WITH(analysis::compute_optimal_allocation(m, bins, 4, {.selection = {10}, .evaluation = {}}),
                    Catch::Contains("selection problem 10 is past the 10 measured problems"));
  CHECK_THROWS_WITH(analysis::compute_optimal_allocation(std::vector<measured_configuration>{}, bins, 4),
                    Catch::Contains("no measured configurations"));
}
