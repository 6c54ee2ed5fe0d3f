#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/overconfident_prm.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace ttscale;

namespace {
// Every prefix of 64 toy completions of one level-4 problem.
struct sampled_prefixes {
  search_context<> ctx;
  std::vector<trajectory> prefixes;
  explicit sampled_prefixes(const toy::arithmetic_problem& p) : ctx("test", p.prompt(), budget{}, execution{}, 5) {
    toy::arithmetic_generator gen(p);
    const rollout_state s = rollout(ctx, gen, 64, 0, 32);
    for (trajectory t : s.leaves)
      for (; !t.is_root(); t = t.parent()) prefixes.push_back(t);
  }
};
}  // namespace

TEST_CASE("overconfident_prm ranks like noisy_prm but saturates", "[toy][overconfident_prm]") {
  const auto p = toy::make_problems({.count = 1, .min_level = 4, .max_level = 4, .seed = 8})[0];
  sampled_prefixes s(p);
  const std::size_t n = s.prefixes.size();
  REQUIRE(n > 100);
  toy::noisy_prm noisy(p, {.auc = 0.9, .seed = 3});
  toy::overconfident_prm sharp(p, {.auc = 0.9, .sharpness = 4.0, .seed = 3});
  std::vector<double> a(n), b(n);
  noisy.score_steps(s.prefixes, a);
  sharp.score_steps(s.prefixes, b);
  std::size_t saturated = 0, saturated_noisy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // The same monotone map of the same score: exactly sigmoid(4 logit(a)).
    CHECK(b[i] == Approx(1.0 / (1.0 + std::pow((1.0 - a[i]) / a[i], 4.0))).epsilon(1e-9));
    saturated += b[i] < 0.02 || b[i] > 0.98;
    saturated_noisy += a[i] < 0.02 || a[i] > 0.98;
  }
  // Saturation: |x| > 1 for x = mu [right] + z with mu = 1.81 (auc 0.9); for a
  // right prefix P(|1.81 + z| <= 1) = Phi(-0.81) - Phi(-2.81) = 0.206, for a
  // wrong one P(|z| <= 1) = 0.683, so at least 1 - 0.683 = 0.317 of the
  // scores saturate whatever the mix. We require more than 0.317 n - 5 sqrt(0.25 n)
  // (5 binomial standard errors below the smallest expected share). The noisy
  // PRM saturates only for |x| > 3.89: a share below P(z > 2.08) = 0.019, so
  // "3 times as many" leaves a wide margin (0.317 / 0.019 = 17).
  CHECK(static_cast<double>(saturated) > 0.317 * static_cast<double>(n) - 5.0 * std::sqrt(0.25 * static_cast<double>(n)));
  CHECK(saturated > 3 * saturated_noisy);
  // Pairwise order is kept: rank-equivalent (so the AUC is the noisy PRM's).
  for (std::size_t i = 1; i < n; ++i) CHECK((a[i] < a[i - 1]) == (b[i] < b[i - 1]));
}

TEST_CASE("overconfident_prm with sharpness 1 is the noisy PRM; bad sharpness throws", "[toy][overconfident_prm]") {
  const auto p = toy::make_problems({.count = 1, .min_level = 2, .max_level = 2, .seed = 1})[0];
  sampled_prefixes s(p);
  toy::noisy_prm noisy(p, {.auc = 0.8, .seed = 1});
  toy::overconfident_prm same(p, {.auc = 0.8, .sharpness = 1.0, .seed = 1});
  std::vector<double> a(s.prefixes.size()), b(s.prefixes.size());
  noisy.score_steps(s.prefixes, a);
  same.score_steps(s.prefixes, b);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-12));
  CHECK_THROWS_AS(toy::overconfident_prm(p, {.sharpness = 0.0}), invalid_argument);
  CHECK_THROWS_AS(toy::overconfident_prm(p, {.sharpness = -1.0}), invalid_argument);
  CHECK_THROWS_AS(toy::overconfident_prm(p, {.auc = 0.4}), invalid_argument);
}
