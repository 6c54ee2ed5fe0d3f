#include <ttscale/analysis/pass_at_k.hpp>
#include <ttscale/analysis/subset_accuracy.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

using namespace ttscale;
using analysis::pool_sample;

namespace {

/// Brute force over every k-subset (bit masks), written independently of the
/// library: the top score's tied samples share the win; the plurality answer's
/// tied answers share it; a subset with no vote is wrong.
struct brute_force {
  double best = 0, majority = 0, weighted = 0;
};

brute_force enumerate(const std::vector<pool_sample>& pool, unsigned k) {
  const unsigned n = static_cast<unsigned>(pool.size());
  brute_force sum;
  double subsets = 0;
  for (std::uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<unsigned>(std::popcount(mask)) != k) continue;
    subsets += 1;
    double top = -1e300;
    for (unsigned i = 0; i < n; ++i)
      if (mask >> i & 1) top = std::max(top, pool[i].score);
    double tied = 0, tied_correct = 0;
    for (unsigned i = 0; i < n; ++i)
      if ((mask >> i & 1) && pool[i].score == top) tied += 1, tied_correct += pool[i].correct;
    sum.best += tied_correct / tied;
    for (const bool weighted : {false, true}) {
      std::map<std::int64_t, double> total;
      std::map<std::int64_t, bool> correct;
      for (unsigned i = 0; i < n; ++i)  // in pool order, as the library sums
        if ((mask >> i & 1) && pool[i].answer) {
          total[*pool[i].answer] += weighted ? pool[i].score : 1.0;
          correct[*pool[i].answer] = pool[i].correct;
        }
      if (total.empty()) continue;  // nobody voted: wrong
      double most = -1e300;
      for (const auto& [answer, t] : total) most = std::max(most, t);
      double ties = 0, ties_correct = 0;
      for (const auto& [answer, t] : total)
        if (t == most) ties += 1, ties_correct += correct[answer];
      (weighted ? sum.weighted : sum.majority) += ties_correct / ties;
    }
  }
  return {sum.best / subsets, sum.majority / subsets, sum.weighted / subsets};
}

/// A random pool with many ties: scores in quarters, answers 1..4 (1 correct) or none.
std::vector<pool_sample> random_pool(random_engine& rng, std::size_t n) {
  std::vector<pool_sample> pool(n);
  for (pool_sample& s : pool) {
    s.score = static_cast<double>(analysis::detail::uniform_below(rng, 5)) / 4;
    const std::uint64_t a = analysis::detail::uniform_below(rng, 6);
    if (a >= 1 && a <= 4) s.answer = static_cast<std::int64_t>(a);
    s.correct = a == 1;
  }
  return pool;
}

}  // namespace

TEST_CASE("best-of-k and votes of k match brute force over every subset", "[analysis][subset]") {
  random_engine rng(42);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = 1 + trial % 12;
    const std::vector<pool_sample> pool = random_pool(rng, n);
    for (unsigned k = 1; k <= n; ++k) {
      const brute_force want = enumerate(pool, k);
      INFO("trial " << trial << ", n " << n << ", k " << k);
      CHECK(analysis::best_of_k_accuracy(pool, k) == Approx(want.best).margin(1e-14));
      const analysis::subset_estimate m = analysis::majority_of_k_accuracy(pool, k);
      CHECK(m.exact);
      CHECK(m.standard_error == 0);
      CHECK(m.accuracy == Approx(want.majority).margin(1e-14));
      const analysis::subset_estimate w = analysis::weighted_majority_of_k_accuracy(pool, k);
      CHECK(w.exact);
      CHECK(w.accuracy == Approx(want.weighted).margin(1e-14));
    }
  }
}

TEST_CASE("best-of-k at the ends of the curve", "[analysis][subset][best_of_k]") {
  const std::vector<pool_sample> pool{{0.2, 1, true}, {0.9, 2, false}, {0.5, 1, true}, {0.1, 3, false}};
  CHECK(analysis::best_of_k_accuracy(pool, 1) == 0.5);  // k = 1: mean correctness
  CHECK(analysis::best_of_k_accuracy(pool, 4) == 0.0);  // k = n: the top sample (0.9) is wrong
  // Tied top scores: the tie is broken uniformly, so k = n gives the tied samples' mean.
  const std::vector<pool_sample> tied{{0.9, 1, true}, {0.9, 2, false}, {0.9, 1, true}, {0.1, 3, false}};
  CHECK(analysis::best_of_k_accuracy(tied, 4) == Approx(2.0 / 3));
}

TEST_CASE("best-of-k with an oracle score is pass@k", "[analysis][subset][best_of_k]") {
  // Score 1 when correct: the top of a subset is correct iff the subset holds a correct sample.
  for (std::uint64_t n : {1u, 5u, 64u}) {
    for (std::uint64_t c = 0; c <= n; ++c) {
      std::vector<pool_sample> pool(n);
      for (std::uint64_t i = 0; i < n; ++i) pool[i] = {i < c ? 1.0 : 0.0, std::nullopt, i < c};
      for (std::uint64_t k = 1; k <= n; ++k) {
        INFO("n " << n << ", c " << c << ", k " << k);
        CHECK(analysis::best_of_k_accuracy(pool, k) == Approx(analysis::pass_at_k(n, c, k)).margin(1e-14));
      }
    }
  }
  // At n = 10,000 the running product stays accurate (documented: (n - k + 1)·2^-52 relative).
  constexpr std::uint64_t n = 10'000;
  for (std::uint64_t c : {1u, 30u, 2000u}) {
    std::vector<pool_sample> pool(n);
    for (std::uint64_t i = 0; i < n; ++i) pool[i] = {i < c ? 1.0 : 0.0, std::nullopt, i < c};
    for (std::uint64_t k : {1u, 2u, 50u, 1000u, 9000u, 10'000u}) {
      const double want = analysis::pass_at_k(n, c, k), got = analysis::best_of_k_accuracy(pool, k);
      INFO("c " << c << ", k " << k);
      CHECK(std::isfinite(got));
      CHECK(std::abs(got - want) <= static_cast<double>(n - k + 1) * 0x1p-52 * want);
    }
  }
}

TEST_CASE("votes of k: abstentions, ties and weights", "[analysis][subset][vote]") {
  // Nobody votes in half the 1-subsets: they count as wrong.
  const std::vector<pool_sample> abstain{{0, std::nullopt, false}, {0, 1, true}};
  CHECK(analysis::majority_of_k_accuracy(abstain, 1).accuracy == 0.5);
  CHECK(analysis::majority_of_k_accuracy(abstain, 2).accuracy == 1.0);  // the abstainer does not vote
  // One vote each: a uniform tie-break, half right.
  const std::vector<pool_sample> split{{0, 1, true}, {0, 2, false}};
  CHECK(analysis::majority_of_k_accuracy(split, 2).accuracy == 0.5);
  // Weighted: one confident right vote outweighs two doubtful wrong ones.
  const std::vector<pool_sample> confident{{0.9, 1, true}, {0.3, 2, false}, {0.3, 2, false}};
  CHECK(analysis::majority_of_k_accuracy(confident, 3).accuracy == 0.0);
  CHECK(analysis::weighted_majority_of_k_accuracy(confident, 3).accuracy == 1.0);
  // Everyone abstains: always wrong.
  const std::vector<pool_sample> silent(5);
  CHECK(analysis::majority_of_k_accuracy(silent, 3).accuracy == 0.0);
}

TEST_CASE("majority-of-k Monte Carlo agrees with the exact value within its standard error",
          "[analysis][subset][vote]") {
  // Answer 1 (right) and 2 (wrong) four times each, 3 twice, two abstentions:
  // random subsets often tie, and either side can win. k = 9 > n/2 takes the
  // sampler's complement path (it shuffles the n - k samples left out).
  const std::vector<pool_sample> pool{{0.9, 1, true},  {0.2, 2, false},         {0.4, 1, true},
                                      {0.8, 2, false}, {0.5, 3, false},         {0.1, 1, true},
                                      {0.7, 2, false}, {0.3, std::nullopt, false}, {0.6, 1, true},
                                      {0.5, 2, false}, {0.9, 3, false},         {0.2, std::nullopt, false}};
  for (const std::uint64_t k : {4u, 6u, 9u})
  for (const bool weighted : {false, true}) {
    const auto estimate = [&](const analysis::subset_vote_options& o) {
      return weighted ? analysis::weighted_majority_of_k_accuracy(pool, k, o)
                      : analysis::majority_of_k_accuracy(pool, k, o);
    };
    const analysis::subset_estimate exact = estimate({});  // C(12, k) <= 924: enumerated
    REQUIRE(exact.exact);
    const analysis::subset_estimate mc = estimate({.max_exact_subsets = 0, .seed = 1});
    INFO("k " << k << ", " << (weighted ? "weighted" : "plain") << ": exact " << exact.accuracy << ", Monte Carlo " << mc.accuracy
                                           << " ± " << mc.standard_error);
    REQUIRE_FALSE(mc.exact);
    REQUIRE(mc.standard_error > 0);
    CHECK(std::abs(mc.accuracy - exact.accuracy) <= 4 * mc.standard_error);
    // Determinism: the same seed, the same draws.
    const analysis::subset_estimate again = estimate({.max_exact_subsets = 0, .seed = 1});
    CHECK(again.accuracy == mc.accuracy);
    CHECK(again.standard_error == mc.standard_error);
    CHECK(estimate({.max_exact_subsets = 0, .seed = 2}).accuracy != mc.accuracy);
    // The standard error is calibrated: over 400 seeds the estimate is within one
    // standard error of the exact value a Binomial(400, 0.683) fraction of the
    // time (sd 0.023; 4 of them either side), which fails if it is off by 1.3x.
    int within = 0;
    for (std::uint64_t seed = 100; seed < 500; ++seed) {
      const analysis::subset_estimate e = estimate({.max_exact_subsets = 0, .draws = 500, .seed = seed});
      if (std::abs(e.accuracy - exact.accuracy) <= e.standard_error) ++within;
    }
    const double rate = within / 400.0, sd = std::sqrt(0.6827 * 0.3173 / 400);
    INFO("within one standard error: " << rate);
    CHECK(rate >= 0.6827 - 4 * sd);
    CHECK(rate <= 0.6827 + 4 * sd);
  }
}

TEST_CASE("curves average over problems with bootstrap intervals", "[analysis][subset][curve]") {
  random_engine rng(77);
  std::vector<std::vector<pool_sample>> problems;
  for (int p = 0; p < 30; ++p) problems.push_back(random_pool(rng, 24));
  // C(24, k) is at most 20,000 for k = 1, 2, 4 and 24 (enumerated), not for 8 and 16 (Monte Carlo).
  const std::vector<std::uint64_t> ks{1, 2, 4, 8, 16, 24};
  const analysis::bootstrap_options b{.resamples = 400, .seed = 8};

  const auto best = analysis::best_of_k_curve(problems, ks, b);
  const analysis::subset_vote_options o{.draws = 300, .seed = 5};
  const auto majority = analysis::majority_of_k_curve(problems, ks, o, b);
  const auto weighted = analysis::weighted_majority_of_k_curve(problems, ks, o, b);
  REQUIRE(best.size() == ks.size());
  for (std::size_t j = 0; j < ks.size(); ++j) {
    double best_mean = 0, majority_mean = 0, variance = 0;
    bool all_exact = true;
    for (const auto& pool : problems) {
      best_mean += analysis::best_of_k_accuracy(pool, ks[j]);
      const analysis::subset_estimate m = analysis::majority_of_k_accuracy(pool, ks[j], o);
      majority_mean += m.accuracy;
      variance += m.standard_error * m.standard_error;
      all_exact = all_exact && m.exact;
    }
    const double count = static_cast<double>(problems.size());
    INFO("k " << ks[j]);
    CHECK(best[j].k == ks[j]);
    CHECK(best[j].accuracy.estimate == Approx(best_mean / count).epsilon(1e-14));
    CHECK(best[j].exact);
    CHECK(best[j].monte_carlo_error == 0);
    CHECK(majority[j].exact == all_exact);
    CHECK(all_exact == (ks[j] != 8 && ks[j] != 16));
    if (all_exact) {
      CHECK(majority[j].accuracy.estimate == Approx(majority_mean / count).epsilon(1e-14));
      CHECK(majority[j].monte_carlo_error == 0);
    } else {
      // Problem p of the curve draws from stream {p, k}, the one-problem calls
      // all from {0, k}: two independent Monte-Carlo means, each with standard
      // error about monte_carlo_error, so they differ by at most 4·sqrt(2) of it.
      // Each standard error comes from 300 draws (its own relative noise is
      // under 10% per problem, about 2% over 30), so 20% is a loose bound.
      CHECK(majority[j].monte_carlo_error > 0);
      CHECK(majority[j].monte_carlo_error == Approx(std::sqrt(variance) / count).epsilon(0.2));
      CHECK(std::abs(majority[j].accuracy.estimate - majority_mean / count) <=
            4 * std::sqrt(2.0) * majority[j].monte_carlo_error);
    }
    for (const auto* curve : {&best, &majority, &weighted}) {
      const analysis::estimate_interval& e = (*curve)[j].accuracy;
      CHECK(e.low <= e.estimate);
      CHECK(e.estimate <= e.high);
      CHECK(e.low < e.high);
    }
  }
  // Problem 0 of a curve uses the stream a one-problem call uses.
  const std::vector<std::vector<pool_sample>> first{problems[0]};
  const std::vector<std::uint64_t> mc_k{8};
  const analysis::subset_vote_options forced{.max_exact_subsets = 0, .draws = 300, .seed = 5};
  CHECK(analysis::majority_of_k_curve(first, mc_k, forced)[0].accuracy.estimate ==
        analysis::majority_of_k_accuracy(problems[0], 8, forced).accuracy);
  // Deterministic end to end.
  const auto again = analysis::majority_of_k_curve(problems, ks, o, b);
  for (std::size_t j = 0; j < ks.size(); ++j) {
    CHECK(again[j].accuracy.estimate == majority[j].accuracy.estimate);
    CHECK(again[j].accuracy.low == majority[j].accuracy.low);
    CHECK(again[j].accuracy.high == majority[j].accuracy.high);
  }
}

TEST_CASE("subset accuracy rejects pools it cannot score", "[analysis][subset][errors]") {
  const std::vector<pool_sample> pool{{0.5, 1, true}, {0.2, 2, false}, {0.7, 1, true}};
  CHECK_THROWS_WITH(analysis::best_of_k_accuracy(pool, 4),
                    "analysis::best_of_k_accuracy: k must be in [1, n] (got k 4, n 3)");
  CHECK_THROWS_WITH(analysis::majority_of_k_accuracy(pool, 0),
                    "analysis::majority_of_k_accuracy: k must be in [1, n] (got k 0, n 3)");
  const std::vector<pool_sample> nan{{0.5, 1, true}, {std::nan(""), 2, false}};
  CHECK_THROWS_WITH(analysis::best_of_k_accuracy(nan, 1),
                    "analysis::best_of_k_accuracy: sample 1 has score nan (scores must be finite)");
  CHECK_THROWS_WITH(analysis::weighted_majority_of_k_accuracy(nan, 1),
                    "analysis::weighted_majority_of_k_accuracy: sample 1 has score nan (scores must be finite)");
  CHECK_NOTHROW(analysis::majority_of_k_accuracy(nan, 1));  // the plain vote never reads scores
  const std::vector<pool_sample> conflict{{0, 4, true}, {0, 2, false}, {0, 4, false}};
  CHECK_THROWS_WITH(analysis::majority_of_k_accuracy(conflict, 2),
                    "analysis::majority_of_k_accuracy: answer 4 is marked correct in sample 0 and wrong in sample 2");
  CHECK_THROWS_WITH(analysis::majority_of_k_accuracy(pool, 2, {.draws = 1}),
                    "analysis::majority_of_k_accuracy: options.draws must be at least 2 (got 1)");

  const std::vector<std::vector<pool_sample>> problems{pool, {{0.1, 1, true}}, pool};
  const std::vector<std::uint64_t> ks{1, 2};
  CHECK_THROWS_WITH(analysis::best_of_k_curve(problems, ks),
                    "analysis::best_of_k_curve: problem 1 has 1 samples, fewer than k 2 (every problem needs at "
                    "least k samples)");
  const std::vector<std::vector<pool_sample>> conflicting{pool, conflict};
  CHECK_THROWS_WITH(analysis::majority_of_k_curve(conflicting, ks),
                    "analysis::majority_of_k_curve: problem 1: answer 4 is marked correct in sample 0 and wrong in "
                    "sample 2");
  const std::vector<std::vector<pool_sample>> with_nan{pool, nan};
  CHECK_THROWS_WITH(analysis::weighted_majority_of_k_curve(with_nan, std::vector<std::uint64_t>{1}),
                    "analysis::weighted_majority_of_k_curve: problem 1: sample 1 has score nan (scores must be "
                    "finite)");
  CHECK_THROWS_WITH(analysis::best_of_k_curve({}, ks), "analysis::best_of_k_curve: no problems (need at least one)");
}
