// The toy diffusion rewards: the log-density reward is the component's
// log-density on samples and on Tweedie estimates; the noisy classifier's AUC
// is what its knob says; nodes without an estimate are named.
#include <ttscale/search_context.hpp>
#include <ttscale/toy/diffusion/verifiers.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace ttscale;
using namespace ttscale::toy::diffusion;

TEST_CASE("gaussian_reward is the component's log-density, on samples and on x0_hat", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  diffusion_sampler gen(model, {.kind = sampler_kind::ddpm, .steps = 3});
  const gaussian_reward reward = gaussian_reward::of_component(data, 0);
  trajectory_tree tree("");
  std::vector<random_engine> engines{random_engine(2)};
  std::vector<step> out(1);
  trajectory t = tree.root();
  while (!t.finished()) {
    const trajectory prefix[] = {t};
    gen.extend(prefix, engines, out);
    t = tree.append(t.id(), out[0]);
    const trajectory node[] = {t};
    double score = 0;
    reward.score_steps(node, std::span<double>(&score, 1));
    const vector x = *estimate_of(t);
    const double expected = -0.5 * (std::pow(x[0] - 3.0, 2) + std::pow(x[1], 2)) / 0.25 - std::log(2 * M_PI * 0.25);
    CHECK(score == Approx(expected).epsilon(1e-12));
  }
  double final_score = 0;
  const trajectory done[] = {t};
  reward.score_outcomes(done, std::span<double>(&final_score, 1));
  CHECK(final_score == reward(sample_of(t)));
  const trajectory noise = tree.append(0, gen.from_noise(vector{0.0, 0.0}));
  const trajectory bare[] = {noise};
  CHECK_THROWS_WITH(reward.score_steps(bare, std::span<double>(&final_score, 1)),
                    Catch::Contains("node " + std::to_string(noise.id()) + " has no Tweedie estimate"));
  CHECK_THROWS_WITH(gaussian_reward({0.0}, 0.0), Catch::Contains("stddev must be finite and > 0"));
}

TEST_CASE("noisy_classifier: a hit outscores a miss with probability auc", "[toy][diffusion]") {
  // 3000 hits and 3000 misses from exact samples; the empirical AUC (Mann–Whitney) has standard
  // error <= sqrt(auc (1 - auc) / min(n, m)) * ~1.2 (Hanley & McNeil 1982); 5 of those.
  const gaussian_mixture data = make_ring_mixture({});
  for (double auc : {0.6, 0.9}) {
    const noisy_classifier judge(data, 0, {.auc = auc, .seed = 5});
    random_engine rng(12);
    std::vector<double> hits, misses;
    while (hits.size() < 3000 || misses.size() < 3000) {
      const vector x = data.sample(rng);
      const bool hit = data.nearest_component(x) == 0;
      auto& bucket = hit ? hits : misses;
      if (bucket.size() == 3000) continue;
      bucket.push_back(judge(x));
      if (bucket.size() % 1000 == 0) CHECK(judge(x) == bucket.back());  // the same sample, the same score
    }
    double wins = 0;
    for (double h : hits)
      for (double m : misses) wins += h > m;
    const double empirical = wins / (3000.0 * 3000.0);
    CHECK(std::abs(empirical - auc) < 5 * 1.2 * std::sqrt(auc * (1 - auc) / 3000));
  }
  CHECK_THROWS_WITH(noisy_classifier(data, 0, {.auc = 1.0}), Catch::Contains("auc must be in [0.5, 1)"));
  CHECK_THROWS_WITH(noisy_classifier(data, 9), Catch::Contains("target 9 of a mixture of 4"));
}
