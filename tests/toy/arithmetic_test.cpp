#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/toy/arithmetic.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

using namespace ttscale;

namespace {
// Samples n completions of problem p (candidate i uses stream i).
std::vector<trajectory> sample(search_context<>& ctx, const toy::arithmetic_generator& model, std::size_t n) {
  toy::arithmetic_generator gen = model;
  (void)ctx.admit_samples(n);
  return rollout(ctx, gen, n, 0, 64).leaves;
}
double five_sigma(double p, std::size_t n) { return 5.0 * std::sqrt(p * (1 - p) / static_cast<double>(n)); }
}  // namespace

TEST_CASE("problem sets are reproducible and evenly mixed", "[toy]") {
  const auto a = toy::make_problems({.count = 10, .seed = 4});
  const auto b = toy::make_problems({.count = 10, .seed = 4});
  const auto c = toy::make_problems({.count = 10, .seed = 5});
  REQUIRE(a.size() == 10);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].prompt() == b[i].prompt());
    CHECK(a[i].level == static_cast<int>(1 + i % 5));
    CHECK(a[i].ops.size() == static_cast<std::size_t>(2 + a[i].level));
    CHECK(a[i].trap_step < a[i].ops.size());
  }
  CHECK(a[0].prompt() != c[0].prompt());
  CHECK_THROWS_AS(toy::make_problems({.min_level = 0}), invalid_argument);
  CHECK_THROWS_AS(toy::make_problems({.min_level = 4, .max_level = 2}), invalid_argument);
}

TEST_CASE("a completion performs the operations and boxes the final value", "[toy]") {
  toy::arithmetic_problem p{.id = 0, .level = 1, .start = 5, .ops = {{toy::op_kind::add, 7}, {toy::op_kind::mul, 3}},
                            .trap_step = 0};
  CHECK(p.answer() == 36);
  CHECK(p.value_after(1) == 12);
  CHECK(toy::apply(toy::op_kind::sub, 3, 10) == 993);  // mod 1000, never negative
  toy::model_params perfect{.base_error = 0, .level_error = 0, .trap_error = 0, .trap_level_error = 0};
  search_context ctx("toy", p.prompt(), budget{}, execution{}, 1);
  const auto leaves = sample(ctx, toy::arithmetic_generator(p, perfect), 3);
  for (const trajectory& t : leaves) {
    CHECK(t.finished());
    CHECK(t.depth() == 2);
    CHECK_THAT(t.completion(), Catch::Contains("step 1: 5 + 7 = 12.\n", Catch::CaseSensitive::No) &&
                                   Catch::EndsWith("step 2: 12 * 3 = 36. The answer is \\boxed{36}.\n",
                                                   Catch::CaseSensitive::No));
    CHECK(toy::is_correct(p, t));
    CHECK(toy::final_value(t) == 36);
    CHECK(t.logprob() < 0);
  }
}

TEST_CASE("single-sample accuracy follows the stated error rates", "[toy][statistical]") {
  // Add/sub-only problem: a slip never lands on the right value and a wrong chain
  // stays wrong unless two or more errors cancel, so
  //   P(right) in [prod(1 - e_i), prod(1 - e_i) + P(at least two errors)].
  for (int level : {1, 3, 5}) {
    toy::arithmetic_problem p{.id = 1, .level = level, .start = 500, .ops = {}, .trap_step = 1};
    for (int k = 0; k < 2 + level; ++k) p.ops.push_back({k % 2 ? toy::op_kind::sub : toy::op_kind::add, 10 + 7 * k});
    const toy::model_params m;
    std::vector<double> e;
    for (std::size_t k = 0; k < p.ops.size(); ++k)
      e.push_back(k == p.trap_step ? m.trap_error + m.trap_level_error * (level - 1)
                                   : m.base_error + m.level_error * (level - 1));
    double none = 1, one = 0;
    for (std::size_t k = 0; k < e.size(); ++k) {
      double only_k = e[k];
      for (std::size_t j = 0; j < e.size(); ++j)
        if (j != k) only_k *= 1 - e[j];
      none *= 1 - e[k];
      one += only_k;
    }
    const double lo = none, hi = none + (1 - none - one);
    const std::size_t n = 4000;
    search_context ctx("toy", p.prompt(), budget{}, execution{}, static_cast<std::uint64_t>(level));
    std::size_t right = 0;
    for (const trajectory& t : sample(ctx, toy::arithmetic_generator(p), n)) right += toy::is_correct(p, t);
    const double acc = static_cast<double>(right) / n;
    INFO("level " << level << " accuracy " << acc << " expected in [" << lo << ", " << hi << "]");
    CHECK(acc > lo - five_sigma(lo, n));
    CHECK(acc < hi + five_sigma(hi, n));
  }
}

TEST_CASE("trap mistakes recur: one wrong answer dominates the wrong ones", "[toy][statistical]") {
  // The trap answer's probability is prod_{i != trap}(1 - e_i) * e_trap * trap_share
  // (~0.28 at level 5), far above any random slip's (each < 0.05).
  const auto problems = toy::make_problems({.count = 5, .min_level = 5, .max_level = 5, .seed = 2});
  for (const auto& p : problems) {
    search_context ctx("toy", p.prompt(), budget{}, execution{}, 3);
    std::map<int, int> counts;
    const std::size_t n = 2000;
    for (const trajectory& t : sample(ctx, toy::arithmetic_generator(p), n))
      if (t.finished() && !toy::is_correct(p, t)) ++counts[toy::final_value(t)];
    int top = 0, second = 0;
    for (auto [value, count] : counts) {
      if (count > top) {
        second = top;
        top = count;
      } else {
        second = std::max(second, count);
      }
    }
    CHECK(top > 0.15 * n);
    CHECK(second < 0.08 * n);
  }
}

TEST_CASE("wrong reasoning runs longer", "[toy][statistical]") {
  const auto problems = toy::make_problems({.count = 10, .min_level = 4, .max_level = 4, .seed = 6});
  double right_tokens = 0, wrong_tokens = 0;
  int right = 0, wrong = 0;
  for (const auto& p : problems) {
    search_context ctx("toy", p.prompt(), budget{}, execution{}, 5);
    for (const trajectory& t : sample(ctx, toy::arithmetic_generator(p), 200)) {
      (toy::is_correct(p, t) ? right_tokens : wrong_tokens) += static_cast<double>(t.tokens());
      (toy::is_correct(p, t) ? right : wrong) += 1;
    }
  }
  REQUIRE(right > 100);
  REQUIRE(wrong > 100);
  // A wrong step adds extra_wrong_tokens (6) and a double-check step ~24 tokens w.p. 0.35:
  // a wrong trajectory is longer by >= 6 tokens in expectation; token noise per trajectory
  // has s.d. < 20, so the difference of means over > 100 each has s.e. < 3.
  CHECK(wrong_tokens / wrong > right_tokens / right + 6 - 3 * 3);
}

TEST_CASE("reward models separate right from wrong with the requested AUC", "[toy][statistical]") {
  // A reward model scores a text, not a sample: equal texts share their noise. So the
  // AUC is measured over distinct texts (by path hash). Its standard deviation is below
  // sqrt(AUC (1 - AUC) / min(n_pos, n_neg)) (Hanley & McNeil 1982), floored at
  // sqrt(0.05 / n) for AUC near 0.5 or 1; the check allows 5 of those.
  const auto problems = toy::make_problems({.count = 60, .min_level = 3, .max_level = 3, .seed = 12});
  for (double auc : {0.5, 0.8, 0.95}) {
    std::map<std::uint64_t, std::pair<bool, double>> outcomes, steps;  // hash -> (right, score)
    for (const auto& p : problems) {
      search_context ctx("toy", p.prompt(), budget{}, execution{}, 8);
      toy::noisy_orm orm(p, {.auc = auc, .seed = 4});
      toy::noisy_prm prm(p, {.auc = auc, .seed = 4});
      const auto leaves = sample(ctx, toy::arithmetic_generator(p), 40);
      std::vector<double> s(leaves.size());
      orm.score_outcomes(leaves, s);
      for (std::size_t i = 0; i < leaves.size(); ++i)
        outcomes[leaves[i].path_hash()] = {toy::is_correct(p, leaves[i]), s[i]};
      for (const trajectory& leaf : leaves) {
        const std::vector<trajectory> prefix{leaf.parent()};
        double score = 0;
        prm.score_steps(prefix, std::span<double>(&score, 1));
        steps[prefix[0].path_hash()] = {toy::prefix_correct(p, prefix[0]), score};
      }
    }
    for (const auto* scored : {&outcomes, &steps}) {
      std::vector<double> pos, neg;
      for (const auto& [hash, item] : *scored) (item.first ? pos : neg).push_back(item.second);
      REQUIRE(pos.size() > 100);
      REQUIRE(neg.size() > 100);
      double wins = 0;
      for (double x : pos)
        for (double y : neg) wins += x > y ? 1.0 : x == y ? 0.5 : 0.0;
      const double empirical = wins / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
      const double bound =
          5 * std::sqrt(std::max(auc * (1 - auc), 0.05) / static_cast<double>(std::min(pos.size(), neg.size())));
      INFO("auc " << auc << " empirical " << empirical << " over " << pos.size() << " right, " << neg.size()
                  << " wrong texts");
      CHECK(std::abs(empirical - auc) < bound);
    }
  }
  CHECK_THROWS_AS(toy::noisy_orm(problems[0], {.auc = 1.0}), invalid_argument);
  CHECK_THROWS_WITH(toy::noisy_prm(problems[0], {.auc = 0.3}), Catch::Contains("0.3"));
}

TEST_CASE("reward models are deterministic per trajectory", "[toy]") {
  const auto p = toy::make_problems({.count = 1, .seed = 1})[0];
  search_context ctx("toy", p.prompt(), budget{}, execution{}, 1);
  const auto leaves = sample(ctx, toy::arithmetic_generator(p), 4);
  toy::noisy_orm a(p, {.auc = 0.8, .seed = 1}), b(p, {.auc = 0.8, .seed = 1}), c(p, {.auc = 0.8, .seed = 2});
  std::vector<double> sa(4), sb(4), sc(4);
  a.score_outcomes(leaves, sa);
  b.score_outcomes(leaves, sb);
  c.score_outcomes(leaves, sc);
  CHECK(sa == sb);
  CHECK(sa != sc);
  for (double s : sa) CHECK((s > 0 && s < 1));
}
