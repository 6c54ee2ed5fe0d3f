// Rollover budget forcing (Kim et al. 2025, sec. 5): exactly scripted — the
// quota, the NFEs used and rolled over, the candidates drawn and the state
// moved to at each step — the deterministic-step rule, a comparison with
// random search at no more NFEs on the VP-SDE flow sampler, determinism by
// seed, bad input named.
#include <ttscale/from_function.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/diffusion/rollover_budget_forcing.hpp>

#include "strategies/diffusion/diffusion_world.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;
using namespace ttscale::toy::diffusion;
using ttscale::testing::diffusion_world;

namespace {
/// Scripted rewards: the j-th candidate drawn from a node at depth d has reward
/// rewards[d][j] (recorded in its text "r=<value>"), costs 1 NFE, and depth
/// `rewards.size()` is finished.
struct scripted_steps {
  std::vector<std::vector<double>> rewards;
  std::map<node_id, std::size_t> drawn{};  // candidates drawn per parent, in call order
  void extend(std::span<const trajectory> prefixes, std::span<random_engine>, std::span<step> out) {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const std::size_t d = prefixes[i].depth(), j = drawn[prefixes[i].id()]++;
      out[i] = step{"d=" + std::to_string(d) + " j=" + std::to_string(j) + " r=" + std::to_string(rewards.at(d).at(j)),
                    1, 0.0, d + 1 == rewards.size(), 0};
    }
  }
};
double reward_in(const trajectory& t) {
  const std::string s(t.last_step().text);
  return std::stod(s.substr(s.find("r=") + 2));
}
}  // namespace

TEST_CASE("RBF: move on at the first improvement, roll the unused quota over", "[rollover_budget_forcing]") {
  // Quota 2 per step. Step 0: the bar is -inf, the first candidate (0.5) is taken; 1 NFE left -> carry 1.
  // Step 1: quota 3; 0.2 and 0.4 do not beat 0.5, 0.9 does: 3 used, carry 0.
  // Step 2: quota 2; 0.3 and 0.6 do not beat 0.9: quota spent, the best (0.6) is taken.
  scripted_steps gen{{{0.5, 0.1}, {0.2, 0.4, 0.9, 0.95}, {0.3, 0.6, 0.99}}};
  auto prm = process_verifier_from([](const trajectory& t) { return reward_in(t); });
  std::mt19937_64 rng(1);
  const auto r = rollover_budget_forcing(gen, prm, "", rollover_budget_forcing_options{.budget_per_step = 2}, rng);
  REQUIRE(r.steps.size() == 3);
  const rollover_step expected[] = {{2, 1, 1, true, 0.5}, {3, 3, 3, true, 0.9}, {2, 2, 2, false, 0.6}};
  for (std::size_t k = 0; k < 3; ++k) {
    INFO("step " << k);
    CHECK(r.steps[k].quota == expected[k].quota);
    CHECK(r.steps[k].used == expected[k].used);
    CHECK(r.steps[k].candidates == expected[k].candidates);
    CHECK(r.steps[k].improved == expected[k].improved);
    CHECK(r.steps[k].reward == expected[k].reward);
  }
  REQUIRE(r.has_choice());
  CHECK(r.chosen().path.completion() == "d=0 j=0 r=0.500000d=1 j=2 r=0.900000d=2 j=1 r=0.600000");
  CHECK(r.spent.tokens == 6);
  CHECK(r.spent.verifier_items == 6);
}

TEST_CASE("RBF: a repeated candidate (a deterministic step) ends the step's search", "[rollover_budget_forcing]") {
  // Every sampler's last step here is deterministic (it returns x0_hat): RBF draws it once or twice,
  // never the whole quota. A DDIM run is deterministic throughout after the first step.
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddim, 6);
  std::mt19937_64 rng(3);
  const auto r = rollover_budget_forcing(gen, w.exact, "", rollover_budget_forcing_options{.budget_per_step = 8}, rng);
  REQUIRE(r.steps.size() == 6);
  for (std::size_t k = 1; k < r.steps.size(); ++k) {
    INFO("step " << k);
    CHECK(r.steps[k].candidates <= 2);
  }
  CHECK(gen.live_states() == 0);
}

TEST_CASE("RBF on the VP-SDE flow sampler beats random search with no fewer NFEs", "[rollover_budget_forcing][statistical]") {
  // Quota 4 NFEs per step over K = 20 steps; best-of-N gets ceil(RBF's mean NFEs / K) + 1 samples.
  const diffusion_world w;
  const rollover_budget_forcing_options o{.budget_per_step = 4};
  double nfe = 0;
  for (std::size_t seed = 0; seed < 20; ++seed) {
    diffusion_sampler gen = w.sampler(sampler_kind::flow_vp_sde, 20);
    std::mt19937_64 rng(seed);
    nfe += static_cast<double>(rollover_budget_forcing(gen, w.exact, "", o, rng).spent.tokens) / 20;
  }
  const std::size_t n = static_cast<std::size_t>(nfe / 20) + 1;
  const auto outcome = testing::against_random_search(
      w, sampler_kind::flow_vp_sde, 20, 150, n, [&](diffusion_sampler& gen, std::mt19937_64& rng) {
        return rollover_budget_forcing(gen, w.exact, "", o, rng);
      });
  INFO("RBF " << outcome.strategy_rate << " (" << outcome.strategy_nfe << " NFEs) vs best-of-" << n << " "
              << outcome.baseline_rate << " (" << outcome.baseline_nfe << " NFEs), se " << outcome.standard_error);
  CHECK(outcome.baseline_nfe >= outcome.strategy_nfe);
  CHECK(outcome.difference > 3 * outcome.standard_error);
}

TEST_CASE("rollover_budget_forcing: the same seed, the same sample, whatever the execution", "[rollover_budget_forcing]") {
  const diffusion_world w;
  testing::check_same_across_executions([&](execution exec, std::mt19937_64& rng) {
    diffusion_sampler gen = w.sampler(sampler_kind::flow_sde, 10);
    return rollover_budget_forcing(gen, w.exact, "", rollover_budget_forcing_options{.budget_per_step = 3, .exec = exec}, rng);
  });
}

TEST_CASE("rollover_budget_forcing: bad input names the strategy, the item and the value", "[rollover_budget_forcing]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::flow_sde, 5);
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(rollover_budget_forcing(gen, w.exact, "", rollover_budget_forcing_options{.budget_per_step = 0}, rng),
                    "rollover_budget_forcing: options.budget_per_step must be at least 1 (got 0)");
  testing::nan_reward nan;
  CHECK_THROWS_WITH(rollover_budget_forcing(gen, nan, "", rollover_budget_forcing_options{}, rng),
                    Catch::Contains("rollover_budget_forcing: process verifier returned nan for item 0 of the round"));
  CHECK(gen.live_states() == 0);
}
