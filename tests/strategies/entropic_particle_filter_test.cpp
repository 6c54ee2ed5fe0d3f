#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/overconfident_prm.hpp>
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

TEST_CASE("entropic annealing follows the published formula", "[entropic_particle_filter]") {
  const entropic_annealing ea{};
  // T = max(1, (N / ESS) (1 - t / T_max)) when ESS/N < 0.5 and t/T_max < 0.5.
  CHECK(ea.temperature(0.25, 0.1) == Approx(3.6).epsilon(1e-12));
  CHECK(ea.temperature(0.45, 0.45) == Approx((1 / 0.45) * 0.55).epsilon(1e-12));
  CHECK(ea.temperature(0.5, 0.1) == 1.0);    // diversity not low enough
  CHECK(ea.temperature(0.25, 0.5) == 1.0);   // second half of the search
  // Inside the region (1 - t/T_max) / (ESS/N) > 0.5 / 0.5 = 1, so the max(1, .) binds only at its edge.
  CHECK(ea.temperature(0.49, 0.49) == Approx(0.51 / 0.49).epsilon(1e-12));
  CHECK(ea.temperature(0.6, 0.2) == 1.0);
}

TEST_CASE("entropic_particle_filter applies the temperature to the round's ESS", "[entropic_particle_filter]") {
  // log_reward weights with scores {1, 0, 0, 0}: all the mass on one particle,
  // ESS/N = 0.25; round 0 is t = 1 of T_max = 10, so T = 4 * 0.9 = 3.6.
  toy::scripted_generator gen(four_scripts(3));
  toy::function_prm prm{[](const trajectory& t) { return script_of(t) == 0 ? 1.0 : 0.0; }};
  std::mt19937_64 rng(1);
  const auto r = entropic_particle_filter(
      gen, prm, "Q",
      entropic_particle_filter_options{.n = 4, .max_steps = 10, .look_ahead = 0, .log_weight = log_weight_from::log_reward}, rng);
  REQUIRE(!r.rounds.empty());
  CHECK(r.rounds[0].ess_untempered == Approx(1.0));
  CHECK(r.rounds[0].temperature == Approx(3.6).epsilon(1e-12));
  // -inf / T is still -inf: zero weights stay zero at any temperature.
  CHECK(r.rounds[0].ess == Approx(1.0));
  CHECK(r.answer == "0");
}

TEST_CASE("entropic_particle_filter with a flat PRM never anneals", "[entropic_particle_filter]") {
  toy::scripted_generator gen(four_scripts(4));
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  std::mt19937_64 rng(1);
  const auto r = entropic_particle_filter(gen, prm, "Q", entropic_particle_filter_options{.n = 4, .max_steps = 10}, rng);
  for (const particle_round& round : r.rounds) CHECK(round.temperature == 1.0);
}

TEST_CASE("look-ahead modulation weighs a particle by its successor's score", "[entropic_particle_filter]") {
  // The PRM gives a step at depth 2 the score of its script and 0.5 elsewhere:
  // with look_ahead = 1 round 0's weights come from depth 2, so they differ.
  const double by_script[4] = {0.9, 0.1, 0.5, 0.3};
  toy::scripted_generator gen(four_scripts(4));
  toy::function_prm prm{[&](const trajectory& t) { return t.depth() == 2 ? by_script[script_of(t)] : 0.5; }};
  std::mt19937_64 rng(1);
  const auto r = entropic_particle_filter(
      gen, prm, "Q", entropic_particle_filter_options{.n = 4, .max_steps = 4, .log_weight = log_weight_from::reward}, rng);
  REQUIRE(r.rounds.size() >= 1);
  std::vector<double> lw(by_script, by_script + 4);
  CHECK(r.rounds[0].ess_untempered == Approx(kernels::effective_sample_size(std::span<const double>(lw))));
  // Two generator calls per round (the step and its look-ahead), one PRM call,
  // and the particles themselves advance one step per round.
  CHECK(gen.batch_sizes.size() >= 2);
  CHECK(gen.batch_sizes[0] == 4);
  CHECK(gen.batch_sizes[1] == 4);
  CHECK(prm.batch_sizes[0] == 4);
  for (const auto& c : r.candidates) CHECK(c.path.depth() == 4);
  CHECK(r.spent.steps > 16);  // the look-ahead steps are paid for
}

TEST_CASE("entropic_particle_filter rejects bad annealing parameters", "[entropic_particle_filter]") {
  toy::scripted_generator gen(four_scripts(2));
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  std::mt19937_64 rng(1);
  CHECK_THROWS_AS(entropic_particle_filter(gen, prm, "Q",
                                           entropic_particle_filter_options{.annealing = {.ess_threshold = 0.0}}, rng),
                  invalid_argument);
  CHECK_THROWS_AS(entropic_particle_filter(gen, prm, "Q",
                                           entropic_particle_filter_options{.annealing = {.progress_limit = 1.5}}, rng),
                  invalid_argument);
  CHECK_THROWS_AS(entropic_particle_filter(gen, prm, "Q", entropic_particle_filter_options{.n = 0}, rng),
                  invalid_argument);
}

TEST_CASE("entropic_particle_filter results do not depend on batch size or thread count",
          "[entropic_particle_filter]") {
  const auto problems = toy::make_problems({.count = 2, .min_level = 5, .max_level = 5, .seed = 5});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::overconfident_prm prm(p, {.seed = 2});
    const auto run = [&](execution exec) {
      std::mt19937_64 rng(8);
      return entropic_particle_filter(gen, prm, p.prompt(),
                                      entropic_particle_filter_options{.n = 20, .max_steps = 16, .exec = exec}, rng);
    };
    const auto a = run({});
    const auto b = run({.batch_size = 3, .threads = 2});
    REQUIRE(a.candidates.size() == b.candidates.size());
    for (std::size_t i = 0; i < a.candidates.size(); ++i) {
      CHECK(a.candidates[i].path.path_hash() == b.candidates[i].path.path_hash());
      CHECK(a.candidates[i].score == b.candidates[i].score);
    }
    CHECK(a.spent.tokens == b.spent.tokens);
    REQUIRE(a.rounds.size() == b.rounds.size());
    for (std::size_t k = 0; k < a.rounds.size(); ++k) CHECK(a.rounds[k].temperature == b.rounds[k].temperature);
  }
}

TEST_CASE("entropic_particle_filter keeps more distinct particles than the particle filter under an over-confident PRM",
          "[entropic_particle_filter][toy]") {
  // Diversity = distinct ancestors per resampling (particles with offspring),
  // averaged over a run. Paired over P problems: d_p = diversity(ePF) -
  // diversity(PF). We require mean(d) > 5 standard errors sd(d) / sqrt(P):
  // with P = 60 the mean is close to normal (CLT), so a filter that did not
  // keep more particles passes this with probability < 3e-7.
  const auto problems = toy::make_problems({.count = 60, .min_level = 3, .max_level = 5, .seed = 99});
  const auto diversity = [](const auto& result) {
    double sum = 0.0, count = 0.0;
    for (const particle_round& round : result.rounds)
      if (round.resampled) {
        sum += static_cast<double>(round.distinct_ancestors);
        count += 1.0;
      }
    return count > 0 ? sum / count : 0.0;
  };
  std::vector<double> d;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::overconfident_prm prm(p, {.auc = 0.9, .sharpness = 4.0, .seed = 3});
    std::mt19937_64 rng(p.id + 1);
    const auto pf = particle_filter(gen, prm, p.prompt(), particle_filter_options{.n = 16, .max_steps = 24}, rng);
    const auto epf = entropic_particle_filter(gen, prm, p.prompt(),
                                              entropic_particle_filter_options{.n = 16, .max_steps = 24}, rng);
    d.push_back(diversity(epf) - diversity(pf));
  }
  double mean = 0.0;
  for (double x : d) mean += x;
  mean /= static_cast<double>(d.size());
  double var = 0.0;
  for (double x : d) var += (x - mean) * (x - mean);
  var /= static_cast<double>(d.size() - 1);
  const double se = std::sqrt(var / static_cast<double>(d.size()));
  INFO("mean extra distinct ancestors " << mean << ", standard error " << se);
  CHECK(mean > 5.0 * se);
}
