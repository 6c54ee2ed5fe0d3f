// Search over paths (Ma et al. 2025, sec. 3.2): its exact NFE and verifier
// accounting and round structure, it beats random search with at least as
// many NFEs for the baseline, determinism by seed, bad input named.
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/diffusion/search_over_paths.hpp>

#include "strategies/diffusion/diffusion_world.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace ttscale;
using namespace ttscale::toy::diffusion;
using ttscale::testing::diffusion_world;

TEST_CASE("search over paths: the rounds, NFEs and verifier calls of a known schedule", "[search_over_paths]") {
  // K = 10, N = 2 paths, M = 3, start 2 levels, forward 1, backward 3: levels 2 -> 4 -> 6 -> 8 -> 10.
  // Start: 2 paths x (2 + 1) NFEs (the first step also evaluates the noise) = 6.
  // Rounds 1-3: 6 re-noised states x (1 evaluation + 3 steps) = 24 each.
  // Round 4 ends at the sample: 6 x (1 + 2 evaluated steps + the last, free) = 18. Total 96.
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 10);
  std::mt19937_64 rng(5);
  search_trace trace;
  const auto r = search_over_paths(
      gen, w.exact, "",
      search_over_paths_options{.n = 2, .m = 3, .start_steps = 2, .forward = 1, .backward = 3, .trace = &trace}, rng);
  CHECK(r.spent.tokens == 96);
  CHECK(r.spent.verifier_calls == 4);
  CHECK(r.spent.verifier_items == 4 * 6);
  CHECK(r.spent.samples == 2);
  REQUIRE(r.candidates.size() == 2);
  for (const auto& c : r.candidates) {
    CHECK(c.finished());
    CHECK(c.score == w.exact(sample_of(c.path)));
    // 2 start steps, then per round 1 re-noising + 3 (or, last, 2 + 1) steps: depth 2 + 4 * 4 = 18.
    CHECK(c.path.depth() == 18);
  }
  CHECK(r.chosen().score == std::max(r.candidates[0].score, r.candidates[1].score));
  CHECK(gen.live_states() == 0);
}

TEST_CASE("search over paths keeps the N best of each round (N = 1: a greedy chain)", "[search_over_paths]") {
  // With one path, every round's kept path is the best-scored leaf, so along the chosen path the
  // recorded rewards are each the maximum of their round; check against a reward that is the
  // recorded score: the chosen path's score is the round-4 maximum, i.e. the search's best leaf.
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 10);
  std::mt19937_64 rng(9);
  search_trace trace;
  const auto r = search_over_paths(
      gen, w.exact, "",
      search_over_paths_options{.n = 1, .m = 4, .start_steps = 2, .forward = 1, .backward = 3, .trace = &trace}, rng);
  REQUIRE(r.has_choice());
  // Every scored node of the tree that the chosen path does not pass through scored no better than
  // the chosen path's node of the same depth (it lost that round's selection).
  const std::vector<double> chosen_scores = r.chosen().path.step_scores();
  const trajectory_tree& tree = *r.tree;
  for (node_id id = 1; id < tree.size(); ++id) {
    const trajectory t = tree.at(id);
    if (std::isnan(t.step_score())) continue;
    INFO("node " << id << " depth " << t.depth());
    CHECK(t.step_score() <= chosen_scores[t.depth() - 1]);
  }
}

TEST_CASE("search over paths beats random search with the exact verifier", "[search_over_paths][statistical]") {
  // N = 1 path, M = 4, K = 20: about 160 NFEs; best-of-N gets ceil(NFEs / K) samples (>= as many NFEs).
  const diffusion_world w;
  const search_over_paths_options o{.n = 1, .m = 4, .start_steps = 4, .forward = 2, .backward = 4};
  const std::uint64_t nfe = [&] {
    diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 20);
    std::mt19937_64 rng(0);
    return search_over_paths(gen, w.exact, "", o, rng).spent.tokens;
  }();
  const std::size_t n = (nfe + 19) / 20;
  const auto outcome = testing::against_random_search(
      w, sampler_kind::ddpm, 20, 150, n, [&](diffusion_sampler& gen, std::mt19937_64& rng) {
        return search_over_paths(gen, w.exact, "", o, rng);
      });
  INFO("search over paths " << outcome.strategy_rate << " (" << outcome.strategy_nfe << " NFEs) vs best-of-" << n << " "
                            << outcome.baseline_rate << " (" << outcome.baseline_nfe << " NFEs), se "
                            << outcome.standard_error);
  CHECK(outcome.baseline_nfe >= outcome.strategy_nfe);
  CHECK(outcome.difference > 3 * outcome.standard_error);
}

TEST_CASE("search_over_paths: the same seed, the same sample, whatever the execution", "[search_over_paths]") {
  const diffusion_world w;
  testing::check_same_across_executions([&](execution exec, std::mt19937_64& rng) {
    diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 12);
    return search_over_paths(gen, w.exact, "",
                             search_over_paths_options{.n = 3, .m = 3, .start_steps = 3, .exec = exec}, rng);
  });
}

TEST_CASE("search_over_paths: bad input names the strategy, the item and the value", "[search_over_paths]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddpm, 8);
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(search_over_paths(gen, w.exact, "", search_over_paths_options{.n = 0}, rng),
                    "search_over_paths: options.n must be at least 1 (got 0)");
  CHECK_THROWS_WITH(search_over_paths(gen, w.exact, "", search_over_paths_options{.m = 0}, rng),
                    "search_over_paths: options.m must be at least 1 (got 0)");
  CHECK_THROWS_WITH(search_over_paths(gen, w.exact, "", search_over_paths_options{.forward = 3, .backward = 3}, rng),
                    Catch::Contains("search_over_paths: options.backward must exceed options.forward (got backward 3, forward 3)"));
  testing::nan_reward nan;
  CHECK_THROWS_WITH(search_over_paths(gen, nan, "", search_over_paths_options{.start_steps = 2}, rng),
                    Catch::Contains("search_over_paths: process verifier returned nan for item 0 of the round"));
  CHECK(gen.live_states() == 0);
}
