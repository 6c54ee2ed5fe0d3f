// The over-optimisation Ma et al. 2025 (sec. 4) report with a wrong verifier:
// FK steering with more particles raises the wrong verifier's reward while the
// hit rate on the component the user wanted falls. The wrong verifier is the
// target component's density moved 55% of the way towards its neighbour, so
// its optimum lies in the neighbour's territory. Paired over 200 seeds
// (2 vs 64 particles on the same seed); both changes must exceed 3 standard
// errors of the paired differences.
#include <ttscale/strategies/diffusion/fk_steering.hpp>
#include <ttscale/toy/diffusion/sampler.hpp>
#include <ttscale/toy/diffusion/verifiers.hpp>

#include "strategies/diffusion/diffusion_world.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace ttscale;
using namespace ttscale::toy::diffusion;

TEST_CASE("a wrong verifier: its reward rises with particles while the hit rate falls", "[toy][diffusion][statistical]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  const gaussian_reward wrong = gaussian_reward::misplaced(data, 0, 1, 0.55);
  const std::size_t seeds = 200;
  std::vector<double> hit_drop, reward_gain;
  for (std::size_t seed = 0; seed < seeds; ++seed) {
    auto run = [&](std::size_t particles) {
      diffusion_sampler gen(model, {.kind = sampler_kind::ddpm, .steps = 10});
      std::mt19937_64 rng(seed);
      const auto r = fk_steering(gen, wrong, "", fk_steering_options{.n = particles}, rng);
      return std::pair{hits_component(data, 0, r.chosen().path) ? 1.0 : 0.0, wrong(sample_of(r.chosen().path))};
    };
    const auto [hit_few, reward_few] = run(2);
    const auto [hit_many, reward_many] = run(64);
    hit_drop.push_back(hit_few - hit_many);
    reward_gain.push_back(reward_many - reward_few);
  }
  const auto [drop, drop_se] = testing::mean_with_standard_error(hit_drop);
  const auto [gain, gain_se] = testing::mean_with_standard_error(reward_gain);
  INFO("hit rate falls by " << drop << " (se " << drop_se << "), wrong reward rises by " << gain << " (se " << gain_se << ")");
  CHECK(drop > 3 * drop_se);
  CHECK(gain > 3 * gain_se);
}
