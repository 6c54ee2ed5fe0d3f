// REBASE (strategies/rebase.hpp): the exact reward-balanced widths, the
// shrinking budget, accounting at each limit, errors, determinism, and
// REBASE against best-of-N and beam search at equal tokens on hard problems.
#include <ttscale/strategies/rebase.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include "strategies/across_executions.hpp"
#include "strategies/paired_comparison.hpp"
#include "strategies/random_words.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// PRM by the newest step's first word: "good" ln 3, "bad" 0, anything else 0.5;
// at T = 1 a good node weighs 3 times a bad one.
double word_reward(const trajectory& t) {
  const std::string_view text = t.last_step().text;
  if (text.starts_with("good")) return std::log(3.0);
  if (text.starts_with("bad")) return 0.0;
  return 0.5;
}
toy::script solved_after(std::string first, std::string answer) {
  return {toy::scripted_step(std::move(first)), toy::scripted_step("so \\boxed{" + answer + "}", true)};
}
using testing::path_score;
// Random words, some finishing early (one in 7), so solutions complete at different depths.
struct random_word_generator : testing::random_word_generator {
  explicit random_word_generator(std::size_t depth = 3) : testing::random_word_generator{depth, 7} {}
};
}  // namespace

TEST_CASE("rebase splits the budget over the frontier by softmax(reward / T), exactly", "[rebase]") {
  // Root -> 4 children (scripts in call order): good, good, bad, bad. At T = 1
  // their weights are 3:3:1:1, quotas of the 4 left 1.5, 1.5, 0.5, 0.5; the
  // largest remainders (all .5, ties to the lowest index) give widths 2, 2, 0, 0.
  toy::scripted_generator gen({solved_after("good a", "1"), solved_after("good b", "1"), solved_after("bad c", "2"),
                               solved_after("bad d", "2")});
  toy::function_prm prm{word_reward};
  search_trace trace;
  std::mt19937_64 rng(1);
  const auto r = rebase(gen, prm, "Q", rebase_options{.n = 4, .temperature = 1.0, .trace = &trace}, rng);
  REQUIRE(r.candidates.size() == 4);
  std::map<node_id, std::size_t> children;
  for (const trace_node& n : trace.nodes())
    if (n.id != n.parent) ++children[n.parent];
  CHECK(children[0] == 4);  // the root gets the whole budget
  CHECK(children[1] == 2);  // good a
  CHECK(children[2] == 2);  // good b
  CHECK(children[3] == 0);  // bad c: pruned
  CHECK(children[4] == 0);
  CHECK(trace.find(3)->status == trace_status::pruned);
  for (const auto& c : r.candidates) CHECK(c.answer == "1");
  CHECK(r.answer == "1");
  CHECK(r.stopped == stop_reason::completed);
  CHECK(r.spent.samples == 4);
  CHECK(r.spent.generator_calls == 2);
  CHECK(r.spent.steps == 8);
  CHECK(r.spent.verifier_calls == 2);
  CHECK(r.spent.verifier_items == 8);
  CHECK(r.spent.tokens == 4 * 2 + 4 * 2);  // "good a" / "bad c": 2 tokens; "so \boxed{1}": 2 tokens
}

TEST_CASE("rebase: each completed solution takes one unit off the remaining budget", "[rebase]") {
  // Root -> 4: the first finishes at once (C = 1); the other 3 share W = 3 equally.
  toy::scripted_generator gen({{toy::scripted_step("done \\boxed{5}", true)}, solved_after("x", "1"),
                               solved_after("y", "1"), solved_after("z", "1")});
  toy::function_prm prm{word_reward};
  std::mt19937_64 rng(1);
  const auto r = rebase(gen, prm, "Q", rebase_options{.n = 4}, rng);
  CHECK(r.candidates.size() == 4);
  CHECK(r.spent.steps == 4 + 3);
  CHECK(r.spent.samples == 4);
  CHECK(r.stopped == stop_reason::completed);
}

TEST_CASE("rebase widths follow the apportionment kernel in every round", "[rebase]") {
  random_word_generator gen(6);
  toy::function_prm prm{path_score};
  for (double temperature : {0.02, 0.2, 5.0}) {
    INFO("T = " << temperature);
    search_trace trace;
    std::mt19937_64 rng(9);
    const std::size_t n = 24;
    const auto r = rebase(gen, prm, "Q", rebase_options{.n = n, .temperature = temperature, .trace = &trace}, rng);
    CHECK(r.candidates.size() == n);
    std::map<node_id, std::size_t> children;
    std::map<std::size_t, std::vector<const trace_node*>> by_round;
    for (const trace_node& t : trace.nodes()) {
      if (t.id == t.parent) continue;
      ++children[t.parent];
      by_round[t.round].push_back(&t);
    }
    std::size_t finished = 0;
    for (auto& [round, nodes] : by_round) {
      std::vector<double> rewards;
      std::vector<node_id> frontier;
      for (const trace_node* t : nodes) {
        if (t->finished) {
          ++finished;
        } else {
          frontier.push_back(t->id);
          rewards.push_back(t->score);
        }
      }
      if (frontier.empty() || finished == n) continue;
      std::vector<double> share(frontier.size());
      std::vector<std::size_t> width(frontier.size());
      kernels::softmax(std::span<const double>(rewards), std::span<double>(share), temperature);
      kernels::apportion(share, n - finished, width);
      for (std::size_t j = 0; j < frontier.size(); ++j) CHECK(children[frontier[j]] == width[j]);
    }
  }
}

TEST_CASE("rebase stops at each budget limit with exact accounting", "[rebase][budget]") {
  random_word_generator gen(6);
  toy::function_prm prm{path_score};
  std::mt19937_64 rng(2);
  SECTION("samples: fewer solutions sought, and the reason is reported") {
    const auto r = rebase(gen, prm, "Q", rebase_options{.n = 8, .budget = {.max_samples = 5}}, rng);
    CHECK(r.stopped == stop_reason::sample_limit);
    CHECK(r.spent.samples == 5);
    CHECK(r.candidates.size() == 5);
  }
  SECTION("generator calls: never exceeded") {
    const auto r = rebase(gen, prm, "Q", rebase_options{.n = 8, .budget = {.max_generator_calls = 2}}, rng);
    CHECK(r.stopped == stop_reason::generator_call_limit);
    CHECK(r.spent.generator_calls == 2);
  }
  SECTION("verifier calls, split into batches: the cut round keeps only its scored children") {
    const auto r = rebase(gen, prm, "Q",
                          rebase_options{.n = 8, .exec = {.batch_size = 3}, .budget = {.max_verifier_calls = 4}}, rng);
    CHECK(r.stopped == stop_reason::verifier_call_limit);
    CHECK(r.spent.verifier_calls == 4);
    CHECK(r.spent.verifier_items == 8 + 3);  // round 1: 3 calls for 8; round 2: 1 call of 3
  }
  SECTION("tokens: checked before each round") {
    const auto r = rebase(gen, prm, "Q", rebase_options{.n = 8, .budget = {.max_tokens = 30}}, rng);
    CHECK(r.stopped == stop_reason::token_limit);
    CHECK(r.spent.tokens >= 30);
  }
  SECTION("a generator that never finishes stops at max_depth with no candidate") {
    toy::function_prm flat{[](const trajectory&) { return 0.5; }};
    struct never_finishing {
      void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
        for (std::size_t i = 0; i < p.size(); ++i) out[i] = toy::scripted_step("more");
      }
    } gen_endless;
    const auto r = rebase(gen_endless, flat, "Q", rebase_options{.n = 4, .max_depth = 5}, rng);
    CHECK(r.stopped == stop_reason::depth_limit);
    CHECK(r.candidates.empty());
    CHECK(r.spent.generator_calls == 5);
    CHECK(r.spent.steps == 20);
  }
}

TEST_CASE("rebase rejects bad input with clear errors", "[rebase][errors]") {
  random_word_generator gen;
  toy::function_prm prm{path_score};
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(rebase(gen, prm, "Q", rebase_options{.n = 0}, rng),
                    Catch::StartsWith("rebase: options.n must be at least 1"));
  CHECK_THROWS_AS(rebase(gen, prm, "Q", rebase_options{.max_depth = 0}, rng), invalid_argument);
  for (double t : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()})
    CHECK_THROWS_WITH(rebase(gen, prm, "Q", rebase_options{.temperature = t}, rng),
                      Catch::StartsWith("rebase: options.temperature must be finite and > 0"));
  toy::function_prm nan_prm{[](const trajectory&) { return std::numeric_limits<double>::quiet_NaN(); }};
  CHECK_THROWS_AS(rebase(gen, nan_prm, "Q", rebase_options{}, rng), invalid_score);
  toy::function_prm throwing{[](const trajectory& t) -> double {
    if (t.depth() == 2) throw std::runtime_error("PRM server down");
    return 0.5;
  }};
  try {
    (void)rebase(gen, throwing, "Q", rebase_options{.n = 4}, rng);
    FAIL("expected verifier_failure");
  } catch (const verifier_failure& e) {
    CHECK(std::string(e.what()).find("PRM server down") != std::string::npos);
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->verifier_calls == 2);
  }
  CHECK_THROWS_AS(rebase(gen, prm, "Q", rebase_options{.budget = {.max_tokens = 0}}, rng), budget_exhausted);
}

TEST_CASE("rebase is deterministic across threads and batch sizes", "[rebase][determinism]") {
  testing::check_same_across_executions([](auto& gen, auto& prm, const auto& p, execution exec, auto& rng) {
    return rebase(gen, prm, p.prompt(), rebase_options{.n = 16, .exec = exec}, rng);
  });
}

// Equal tokens: each baseline's N is chosen so that its mean tokens are at
// least REBASE's (checked), so a win is at equal-or-fewer tokens for REBASE.
// Bounds as in strategies/paired_comparison.hpp.
TEST_CASE("with a good PRM rebase beats best-of-N and is not worse than beam search at equal tokens on hard problems",
          "[rebase][statistical]") {
  const auto problems = toy::make_problems({.count = 300, .min_level = 4, .max_level = 5, .seed = 2024});
  const testing::run_fn rebase_8 = [](auto& g, auto& prm, const auto& p, auto& rng) {
    return rebase(g, prm, p.prompt(), rebase_options<select::best_t>{.n = 8}, rng);
  };
  const testing::run_fn best_of_8 = [](auto& g, auto& prm, const auto& p, auto& rng) {
    return best_of_n(g, prm, p.prompt(), best_of_n_options{.n = 8}, rng);
  };
  const testing::run_fn beam_8 = [](auto& g, auto& prm, const auto& p, auto& rng) {
    return beam_search(g, prm, p.prompt(), beam_search_options{.n = 8, .beam_width = 4}, rng);
  };
  const testing::paired_outcome vs_best = testing::compare(problems, 0.9, rebase_8, best_of_8);
  INFO("rebase N=8 " << vs_best.strategy_accuracy << " (" << vs_best.strategy_tokens << " tokens) vs best-of-8 "
                     << vs_best.baseline_accuracy << " (" << vs_best.baseline_tokens << " tokens), se "
                     << vs_best.standard_error);
  CHECK(vs_best.baseline_tokens >= vs_best.strategy_tokens);
  CHECK(vs_best.difference > 3 * vs_best.standard_error);

  const testing::paired_outcome vs_beam = testing::compare(problems, 0.9, rebase_8, beam_8);
  INFO("rebase N=8 " << vs_beam.strategy_accuracy << " (" << vs_beam.strategy_tokens << " tokens) vs beam N=8 M=4 "
                     << vs_beam.baseline_accuracy << " (" << vs_beam.baseline_tokens << " tokens), se "
                     << vs_beam.standard_error);
  CHECK(vs_beam.baseline_tokens >= vs_beam.strategy_tokens);
  CHECK(vs_beam.difference > -3 * vs_beam.standard_error);
  WARN("rebase vs best-of-8: " << vs_best.strategy_accuracy << " vs " << vs_best.baseline_accuracy << " (tokens "
                               << vs_best.strategy_tokens << " vs " << vs_best.baseline_tokens << ", se "
                               << vs_best.standard_error << "); vs beam: " << vs_beam.baseline_accuracy << " (tokens "
                               << vs_beam.baseline_tokens << ", se " << vs_beam.standard_error << ")");
}
