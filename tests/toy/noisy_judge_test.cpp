#include <ttscale/toy/noisy_judge.hpp>

#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/verifiers/ensemble.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

using namespace ttscale;

namespace {
/// A right and a wrong finished answer, and a right and a wrong first step, for one problem.
struct judged_items {
  trajectory_tree tree{"Q"};
  trajectory right, wrong, right_prefix, wrong_prefix;
  explicit judged_items(const toy::arithmetic_problem& p) {
    using toy::detail::pack;
    const std::size_t last = p.ops.size();
    const int off_answer = (p.answer() + 1) % 1000, off_first = (p.value_after(1) + 1) % 1000;
    const auto root = tree.root().id();
    right = tree.append(root, step{"right", 1, 0.0, true, pack(p.answer(), last, false, false)});
    wrong = tree.append(root, step{"wrong", 1, 0.0, true, pack(off_answer, last, false, true)});
    right_prefix = tree.append(root, step{"step ok", 1, 0.0, false, pack(p.value_after(1), 1, false, false)});
    wrong_prefix = tree.append(root, step{"step bad", 1, 0.0, false, pack(off_first, 1, false, true)});
  }
};

std::vector<std::uint64_t> seeds(std::size_t n, std::uint64_t salt) {
  std::vector<std::uint64_t> s(n);
  for (std::size_t i = 0; i < n; ++i) s[i] = derive_seed(salt, {i, 0});
  return s;
}

/// n judgments of one item, under n different seeds.
std::vector<double> judge_many(const toy::noisy_judge& judge, const trajectory& item, bool outcome, std::size_t n,
                               std::uint64_t salt) {
  const std::vector<trajectory> items(n, item);
  const std::vector<std::uint64_t> s = seeds(n, salt);
  std::vector<double> out(n);
  if (outcome)
    judge.judge_outcomes(items, s, out);
  else
    judge.judge_steps(items, s, out);
  return out;
}

double share_at_least_half(const std::vector<double>& v) {
  return static_cast<double>(std::count_if(v.begin(), v.end(), [](double x) { return x >= 0.5; })) /
         static_cast<double>(v.size());
}

double phi(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }
}  // namespace

static_assert(outcome_judge<toy::noisy_judge> && process_judge<toy::noisy_judge>);

TEST_CASE("noisy_judge: one judgment has the AUC it is given", "[toy][noisy_judge][statistical]") {
  // With item_correlation 0 every judgment of a right item is sigmoid(mu + z) and of a
  // wrong one sigmoid(z), z ~ N(0, 1) independent across seeds. The Mann-Whitney estimate
  // over m = n = 4000 judgments has variance <= A(1 - A) / min(m, n) (Hanley & McNeil
  // 1982 bound), s.e. <= 0.0073 at A = 0.7: the estimate must be within 4 s.e. (0.03).
  const auto problems = toy::make_problems({.count = 1, .seed = 2});
  judged_items t(problems[0]);
  for (double auc : {0.6, 0.7, 0.9}) {
    toy::noisy_judge judge(problems[0], {.auc = auc, .seed = 4});
    std::vector<double> r = judge_many(judge, t.right, true, 4000, 1);
    std::vector<double> w = judge_many(judge, t.wrong, true, 4000, 2);
    std::sort(w.begin(), w.end());
    double wins = 0.0;
    for (double x : r) {
      const auto lo = std::lower_bound(w.begin(), w.end(), x);
      const auto hi = std::upper_bound(w.begin(), w.end(), x);
      wins += static_cast<double>(lo - w.begin()) + 0.5 * static_cast<double>(hi - lo);
    }
    const double estimate = wins / (4000.0 * 4000.0);
    INFO("auc " << auc << " estimated " << estimate);
    CHECK(std::abs(estimate - auc) < 4.0 * std::sqrt(auc * (1.0 - auc) / 4000.0));
  }
}

TEST_CASE("noisy_judge: verdict rates are Phi(mu) for right items and 1/2 for wrong ones",
          "[toy][noisy_judge][statistical]") {
  // A judgment says "right" (score >= 0.5) iff mu * right + z >= 0: probability Phi(mu),
  // mu = sqrt(2) Phi^-1(auc), for a right item and exactly 1/2 for a wrong one. Over
  // 10000 judgments the share has s.e. <= 0.005; 4 s.e. = 0.02. Prefixes follow
  // prefix_correct the same way.
  const auto problems = toy::make_problems({.count = 1, .seed = 2});
  judged_items t(problems[0]);
  toy::noisy_judge judge(problems[0], {.auc = 0.7, .seed = 4});
  const double mu = std::numbers::sqrt2 * toy::detail::inverse_normal_cdf(0.7);
  CHECK(std::abs(share_at_least_half(judge_many(judge, t.right, true, 10000, 1)) - phi(mu)) < 0.02);
  CHECK(std::abs(share_at_least_half(judge_many(judge, t.wrong, true, 10000, 2)) - 0.5) < 0.02);
  CHECK(std::abs(share_at_least_half(judge_many(judge, t.right_prefix, false, 10000, 3)) - phi(mu)) < 0.02);
  CHECK(std::abs(share_at_least_half(judge_many(judge, t.wrong_prefix, false, 10000, 4)) - 0.5) < 0.02);
  // E[sigmoid(z)] = 1/2 by symmetry: the mean score of a wrong item, s.e. <= 0.5 / 100.
  const std::vector<double> w = judge_many(judge, t.wrong, true, 10000, 5);
  double mean = 0.0;
  for (double x : w) mean += x / 10000.0;
  CHECK(std::abs(mean - 0.5) < 0.02);
}

TEST_CASE("noisy_judge: a seed fixes a judgment; item_correlation is the share no ensemble removes",
          "[toy][noisy_judge]") {
  const auto problems = toy::make_problems({.count = 1, .seed = 2});
  judged_items t(problems[0]);
  toy::noisy_judge independent(problems[0], {.auc = 0.7, .seed = 4});
  const std::vector<double> a = judge_many(independent, t.right, true, 8, 1);
  CHECK(judge_many(independent, t.right, true, 8, 1) == a);  // same seeds, same judgments
  CHECK(std::adjacent_find(a.begin(), a.end()) == a.end());   // different seeds, different judgments

  // item_correlation 1: every judgment of an item is the same, so an ensemble of 8
  // scores exactly as one judgment does.
  toy::noisy_judge fixed(problems[0], {.auc = 0.7, .item_correlation = 1.0, .seed = 4});
  const std::vector<double> f = judge_many(fixed, t.right, true, 8, 1);
  CHECK(std::count(f.begin(), f.end(), f[0]) == 8);
  std::vector<double> one(2), eight(2);
  const std::vector<trajectory> both{t.right, t.wrong};
  verifier_ensemble(fixed, ensemble_options{.k = 1}).score_outcomes(both, one);
  verifier_ensemble(fixed, ensemble_options{.k = 8}).score_outcomes(both, eight);
  CHECK(eight[0] == Approx(one[0]).epsilon(1e-15));
  CHECK(eight[1] == Approx(one[1]).epsilon(1e-15));
}

TEST_CASE("noisy_judge rejects bad parameters with clear errors", "[toy][noisy_judge][errors]") {
  const auto problems = toy::make_problems({.count = 1, .seed = 2});
  CHECK_THROWS_WITH(toy::noisy_judge(problems[0], {.auc = 0.4}), "toy::noisy_judge: auc must be in [0.5, 1) (got 0.4)");
  CHECK_THROWS_WITH(toy::noisy_judge(problems[0], {.item_correlation = 1.5}),
                    "toy::noisy_judge: item_correlation must be in [0, 1] (got 1.5)");
  CHECK_THROWS_AS(toy::noisy_judge(problems[0], {.item_correlation = std::nan("")}), invalid_argument);
  toy::noisy_judge judge(problems[0], {});
  judged_items t(problems[0]);
  const std::vector<trajectory> items{t.right, t.wrong};
  const std::vector<std::uint64_t> one_seed{1};
  std::vector<double> out(2);
  CHECK_THROWS_WITH(judge.judge_outcomes(items, one_seed, out),
                    "toy::noisy_judge: 2 items, 1 seeds and 2 outputs");
}
