#include <ttscale/strategies/particle_gibbs.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include "strategies/particle_scripts.hpp"

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;
using particle_test::four_scripts;
using particle_test::script_of;

namespace {

std::vector<std::int64_t> states(const trajectory& t) {
  std::vector<std::int64_t> out;
  for (const step_view* s : t.steps()) out.push_back(s->engine_state);
  return out;
}
}  // namespace

TEST_CASE("particle_gibbs: conditional resampling keeps the reference trajectory", "[particle_gibbs]") {
  const double by_script[4] = {0.9, 0.2, 0.6, 0.4};
  toy::scripted_generator gen(four_scripts(4));
  toy::function_prm prm{[&](const trajectory& t) { return by_script[script_of(t)]; }};
  std::mt19937_64 rng(6);
  const auto r = particle_gibbs(
      gen, prm, "Q", particle_gibbs_options{.n = 4, .max_steps = 4, .sweeps = 3, .ancestor_sampling = ancestor_state::none},
      rng);
  REQUIRE(r.candidates.size() == 12);
  for (const particle_round& round : r.rounds) {
    if (round.sweep == 0 || !round.resampled) continue;
    CHECK(round.ancestors[0] == 0);  // slot 0 is not an output of the resampling
    CHECK(!round.reference_ancestor);
  }
  // Sweep k's slot 0 replays a final particle of sweep k - 1, node for node
  // (the reference's steps are given, not generated).
  for (std::size_t k = 1; k < 3; ++k) {
    bool found = false;
    for (std::size_t i = 0; i < 4; ++i) found |= r.candidates[4 * k].path == r.candidates[4 * (k - 1) + i].path;
    CHECK(found);
  }
  // Generation: 4 free particles in sweep 0, then 3 per round.
  CHECK(gen.batch_sizes == std::vector<std::size_t>{4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3});
  CHECK(r.spent.samples == 4 + 3 + 3);
  double sum = 0.0;
  for (const auto& c : r.candidates) sum += c.score;
  CHECK(sum == Approx(1.0));  // weights / sweeps
}

TEST_CASE("particle_gibbs: ancestor sampling moves the reference only between equal states", "[particle_gibbs]") {
  const auto problems = toy::make_problems({.count = 6, .min_level = 3, .max_level = 5, .seed = 12});
  std::size_t moves = 0;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = 0.8, .seed = 4});
    std::mt19937_64 rng(p.id);
    const std::size_t n = 8, sweeps = 3;
    const auto r = particle_gibbs(gen, prm, p.prompt(),
                                  particle_gibbs_options{.n = n,
                                                         .max_steps = 20,
                                                         .sweeps = sweeps,
                                                         .ancestor_sampling = ancestor_state::engine_state},
                                  rng);
    REQUIRE(r.candidates.size() == n * sweeps);
    for (const particle_round& round : r.rounds) {
      if (round.sweep == 0) CHECK(!round.reference_ancestor);
      if (round.reference_ancestor && *round.reference_ancestor != 0) ++moves;
    }
    // Grafting copies the reference's steps onto an ancestor of the same
    // state, so slot 0 ends with the engine states of a previous sweep's particle.
    for (std::size_t k = 1; k < sweeps; ++k) {
      bool found = false;
      for (std::size_t i = 0; i < n; ++i)
        found |= states(r.candidates[n * k].path) == states(r.candidates[n * (k - 1) + i].path);
      CHECK(found);
    }
  }
  CHECK(moves > 0);  // ancestor sampling did move the reference
}

TEST_CASE("particle_gibbs rejects bad options and stops at the sample limit", "[particle_gibbs]") {
  toy::scripted_generator gen(four_scripts(3));
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  std::mt19937_64 rng(1);
  CHECK_THROWS_AS(particle_gibbs(gen, prm, "Q", particle_gibbs_options{.sweeps = 0}, rng), invalid_argument);
  CHECK_THROWS_AS(particle_gibbs(gen, prm, "Q", particle_gibbs_options{.n = 1, .sweeps = 2}, rng), invalid_argument);
  CHECK_THROWS_AS(particle_gibbs(gen, prm, "Q", particle_gibbs_options{.n = 0}, rng), invalid_argument);
  // One sweep of 4 particles, then 3 free per sweep: 7 samples allow two sweeps.
  const auto r = particle_gibbs(gen, prm, "Q",
                                particle_gibbs_options{.n = 4, .max_steps = 3, .sweeps = 4, .budget = {.max_samples = 7}},
                                rng);
  CHECK(r.candidates.size() == 8);
  CHECK(r.stopped == stop_reason::sample_limit);
}

TEST_CASE("particle_gibbs results do not depend on batch size or thread count", "[particle_gibbs]") {
  const auto problems = toy::make_problems({.count = 2, .min_level = 4, .max_level = 5, .seed = 3});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = 0.85, .seed = 9});
    const auto run = [&](execution exec) {
      std::mt19937_64 rng(4);
      return particle_gibbs(gen, prm, p.prompt(),
                            particle_gibbs_options{.n = 12,
                                                   .max_steps = 16,
                                                   .sweeps = 3,
                                                   .ancestor_sampling = ancestor_state::engine_state,
                                                   .selection = select::weighted_majority,
                                                   .exec = exec},
                            rng);
    };
    const auto a = run({});
    const auto b = run({.batch_size = 5, .threads = 2});
    REQUIRE(a.candidates.size() == b.candidates.size());
    for (std::size_t i = 0; i < a.candidates.size(); ++i) {
      CHECK(a.candidates[i].path.path_hash() == b.candidates[i].path.path_hash());
      CHECK(a.candidates[i].score == b.candidates[i].score);
    }
    CHECK(a.answer == b.answer);
    CHECK(a.spent.tokens == b.spent.tokens);
  }
}
