// FK steering (Singhal et al. 2025) is the particle filter: the same result as
// particle_filter with as_particle_filter_options; the potentials' values on
// a hand-built path; the resampling interval; it beats random search
// (best-of-N over initial noises) at equal NFEs with the exact verifier;
// determinism by seed; bad input named.
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/diffusion/fk_steering.hpp>
#include <ttscale/strategies/particle_filter.hpp>

#include "strategies/diffusion/diffusion_world.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace ttscale;
using namespace ttscale::toy::diffusion;
using ttscale::testing::diffusion_world;

TEST_CASE("fk_steering is particle_filter with FK potentials and an interval trigger", "[fk_steering]") {
  const diffusion_world w;
  const fk_steering_options o{.n = 6, .potential = fk_potential::max{.lambda = 0.5}, .resampling_interval = 2};
  diffusion_sampler a = w.sampler(sampler_kind::ddpm, 10), b = w.sampler(sampler_kind::ddpm, 10);
  std::mt19937_64 ra(7), rb(7);
  const auto fk = fk_steering(a, w.exact, "", o, ra);
  const auto pf = particle_filter(b, w.exact, "", as_particle_filter_options(o), rb);
  REQUIRE(fk.has_choice());
  CHECK(fk.chosen().path.text() == pf.chosen().path.text());
  CHECK(fk.spent.tokens == pf.spent.tokens);
  CHECK(fk.spent.tokens == 6 * 10);  // k particles x K steps: the NFEs of best-of-6
  REQUIRE(fk.rounds.size() == pf.rounds.size());
  for (std::size_t t = 0; t < fk.rounds.size(); ++t) CHECK(fk.rounds[t].ancestors == pf.rounds[t].ancestors);
  CHECK(a.live_states() == 0);
}

TEST_CASE("the resampling interval resamples after every k-th denoising step", "[fk_steering]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 10);
  std::mt19937_64 rng(3);
  const auto r = fk_steering(gen, w.exact, "", fk_steering_options{.n = 4, .resampling_interval = 3}, rng);
  // Rounds t = 0..8 are recorded (no resampling after the last weighing, t = 9); resampled at t = 2, 5, 8.
  REQUIRE(r.rounds.size() == 9);
  for (std::size_t t = 0; t < r.rounds.size(); ++t) {
    INFO("round " << t);
    CHECK(r.rounds[t].resampled == ((t + 1) % 3 == 0));
  }
}

TEST_CASE("the potentials' log G_t on a path with recorded rewards", "[fk_steering]") {
  trajectory_tree tree("");
  trajectory t = tree.root();
  for (double r : {-3.0, -1.0, -2.0}) {
    t = tree.append(t.id(), step{"s", 1, 0.0, false, 0});
    tree.set_score(t.id(), r);
  }
  // Newest reward -2, earlier -1 and -3; lambda = 2.
  CHECK(fk_potential::difference{.lambda = 2}.log_weight(-2.0, t) == 2 * (-2.0 - -1.0));
  CHECK(fk_potential::max{.lambda = 2}.log_weight(-2.0, t) == 2 * -1.0);
  CHECK(fk_potential::sum{.lambda = 2}.log_weight(-2.0, t) == 2 * (-2.0 - 1.0 - 3.0));
  // The first step: r_{T+1} = 0, so the difference telescopes to lambda * r(x_0).
  const trajectory first = tree.at(1);
  CHECK(fk_potential::difference{.lambda = 2}.log_weight(-3.0, first) == -6.0);
}

TEST_CASE("FK steering beats random search at equal NFEs with the exact verifier", "[fk_steering][statistical]") {
  // 150 seeds, k = N = 4 particles / samples, K = 20 DDPM steps: both spend exactly 80 NFEs.
  const diffusion_world w;
  for (const char* potential : {"difference", "max", "sum"}) {
    INFO(potential);
    const auto outcome = testing::against_random_search(
        w, sampler_kind::ddpm, 20, 150, 4, [&](diffusion_sampler& gen, std::mt19937_64& rng) {
          const std::string p = potential;
          if (p == "max") return fk_steering(gen, w.exact, "", fk_steering_options{.n = 4, .potential = fk_potential::max{}}, rng);
          if (p == "sum") return fk_steering(gen, w.exact, "", fk_steering_options{.n = 4, .potential = fk_potential::sum{}}, rng);
          return fk_steering(gen, w.exact, "", fk_steering_options{.n = 4}, rng);
        });
    INFO("FK " << outcome.strategy_rate << " vs best-of-N " << outcome.baseline_rate << ", se " << outcome.standard_error);
    CHECK(outcome.strategy_nfe == outcome.baseline_nfe);
    CHECK(outcome.difference > 3 * outcome.standard_error);
  }
}

TEST_CASE("fk_steering: the same seed, the same sample, whatever the execution", "[fk_steering]") {
  const diffusion_world w;
  testing::check_same_across_executions([&](execution exec, std::mt19937_64& rng) {
    diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 12);
    return fk_steering(gen, w.exact, "", fk_steering_options{.n = 8, .resampling_interval = 2, .exec = exec}, rng);
  });
}

TEST_CASE("fk_steering: bad input names the strategy, the item and the value", "[fk_steering]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 5);
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(fk_steering(gen, w.exact, "", fk_steering_options{.n = 0}, rng),
                    "fk_steering: options.n must be at least 1 (got 0)");
  CHECK_THROWS_WITH(fk_steering(gen, w.exact, "", fk_steering_options{.potential = fk_potential::difference{.lambda = 0}}, rng),
                    "fk_steering: options.potential.lambda must be finite and > 0 (got 0)");
  CHECK_THROWS_WITH(fk_steering(gen, w.exact, "", fk_steering_options{.potential = fk_potential::sum{.lambda = -1.5}}, rng),
                    "fk_steering: options.potential.lambda must be finite and > 0 (got -1.5)");
  CHECK_THROWS_WITH(fk_steering(gen, w.exact, "", fk_steering_options{.resampling_interval = 0}, rng),
                    "fk_steering: options.resampling_interval must be at least 1 (got 0)");
  // The interval trigger is the particle filter's own option too, checked there by name.
  CHECK_THROWS_WITH(
      particle_filter(gen, w.exact, "", particle_filter_options{.resample_when = resample_when::interval{0}}, rng),
      "particle_filter: options.resample_when.rounds must be at least 1 (got 0)");
  testing::nan_reward nan;
  CHECK_THROWS_AS(fk_steering(gen, nan, "", fk_steering_options{.n = 3}, rng), invalid_score);
  CHECK_THROWS_WITH(fk_steering(gen, nan, "", fk_steering_options{.n = 3}, rng),
                    Catch::Contains("fk_steering: process verifier returned nan for item 0 of the round"));
  CHECK(gen.live_states() == 0);  // the failed searches released what they held
}
