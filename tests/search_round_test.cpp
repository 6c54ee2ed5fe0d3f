// The round primitives (search_round.hpp): keep_best, expand_and_score's
// streams and releases, rollouts from any nodes; and the step-level searches
// built from them against best-of-N on hard toy problems, at equal (or
// favourable to best-of-N) tokens, with a good and an uninformative PRM.
#include <ttscale/search_round.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include "strategies/paired_comparison.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;

TEST_CASE("keep_best: top k with ties to the lowest index; Gumbel top-k follows softmax", "[search_round]") {
  random_engine rng(1);
  const std::vector<double> scores{0.2, 0.9, 0.5, 0.9, 0.1};
  CHECK(keep_best(scores, 3, 0.0, rng) == std::vector<std::size_t>{1, 3, 2});
  CHECK(keep_best(scores, 9, 0.0, rng).size() == 5);
  // Gumbel-top-1 picks i with probability softmax(score / T)_i. Two items with
  // scores 0 and log(3) at T = 1: P(pick 1) = 3/4. Over 20000 draws the count's
  // standard deviation is sqrt(20000 * 3/4 * 1/4) = 61; allow 5 sigma.
  const std::vector<double> two{0.0, std::log(3.0)};
  std::size_t ones = 0;
  for (int i = 0; i < 20000; ++i) ones += keep_best(two, 1, 1.0, rng)[0] == 1;
  CHECK(std::abs(static_cast<double>(ones) - 15000.0) < 5 * 61.3);
}

namespace {
// Records the stream of every item and every release; each step is the first
// draw of its stream, so equal streams give equal steps.
struct stream_recorder {
  std::vector<std::uint64_t> draws;
  std::vector<node_id> released;
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::uint64_t x = e[i]();
      draws.push_back(x);
      out[i] = step{std::to_string(x % 1000), 1, 0.0, p[i].depth() + 1 >= 3, 0};
    }
  }
  void release(std::span<const trajectory> nodes) {
    for (const trajectory& t : nodes) released.push_back(t.id());
  }
};
}  // namespace

TEST_CASE("expand_and_score: first_child continues a node's streams; kept parents are not released",
          "[search_round]") {
  stream_recorder gen;
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  search_context ctx("test", "Q", budget{}, execution{}, 5);
  const expansion once[] = {{ctx.root(), 2}};
  const step_round a = expand_and_score(ctx, gen, prm, once, 0, aggregate::last, parent_release::kept);
  CHECK(gen.released.empty());  // the root is kept for a second expansion
  const expansion again[] = {{ctx.root(), 2, 2}};
  const step_round b = expand_and_score(ctx, gen, prm, again, 0, aggregate::last, parent_release::kept);
  REQUIRE(gen.draws.size() == 4);
  // Streams (root, 0..3): four distinct draws, the same as one expansion of 4 would make.
  stream_recorder one_go;
  search_context ctx4("test", "Q", budget{}, execution{}, 5);
  const expansion four[] = {{ctx4.root(), 4}};
  (void)expand_and_score(ctx4, one_go, prm, four, 0, aggregate::last);
  CHECK(gen.draws == one_go.draws);
  CHECK(one_go.released == std::vector<node_id>{0});  // released by default
  CHECK(a.from == std::vector<std::size_t>{0, 0});
  CHECK(b.scores == std::vector<double>{0.5, 0.5});
  CHECK_FALSE(ctx.cut().has_value());
}

TEST_CASE("rollout from any nodes: its own streams, the starts stay live, the rest is released", "[search_round]") {
  stream_recorder gen;
  search_context ctx("test", "Q", budget{}, execution{}, 5);
  const std::vector<trajectory> firsts = ctx.extend(gen, std::vector<trajectory>(2, ctx.root()),
                                                    std::vector<stream_key>{{0, 0}, {0, 1}});
  gen.draws.clear();
  const rollout_state s = rollout(ctx, gen, std::span<const trajectory>(firsts), 0, 10);
  REQUIRE(s.leaves.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(s.leaves[i].finished());
    CHECK(s.leaves[i].depth() == 3);
    CHECK(s.leaves[i].parent().parent().id() == firsts[i].id());
  }
  // Streams (rollout_from_node | i, d): not the root rollout's (i, d).
  random_engine tagged(ctx.engine({detail::rollout_from_node | 0, 0}));
  random_engine untagged(ctx.engine({0, 0}));
  CHECK(gen.draws[0] == tagged());
  CHECK(gen.draws[0] != untagged());
  for (node_id id : gen.released) {
    CHECK(id != firsts[0].id());
    CHECK(id != firsts[1].id());
  }
  // A finished start is returned as it is, with no generator call.
  const std::size_t calls = gen.draws.size();
  const rollout_state done = rollout(ctx, gen, std::span<const trajectory>(s.leaves), 2, 10);
  CHECK(gen.draws.size() == calls);
  CHECK(done.leaves[0].id() == s.leaves[0].id());
}

using testing::paired_outcome;
using testing::run_fn;

// Bounds (strategies/paired_comparison.hpp): "beats" means the paired
// difference exceeds 3 se; "does not beat beyond noise" means it stays below
// 3 se. Best-of-N always gets at least the strategy's mean tokens (checked),
// so a win is at equal-or-fewer tokens for the strategy.
TEST_CASE("with a good PRM, beam search, DVTS and A* beat best-of-N at equal tokens on hard problems; "
          "with an uninformative PRM they do not beat it beyond noise",
          "[search_round][statistical]") {
  const auto problems = toy::make_problems({.count = 300, .min_level = 4, .max_level = 5, .seed = 2024});
  struct contender {
    const char* name;
    run_fn run;
    std::size_t baseline_n;
  };
  const std::vector<contender> contenders{
      {"beam_search N=8 M=4",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return beam_search(g, prm, p.prompt(), beam_search_options{.n = 8, .beam_width = 4}, rng);
       },
       8},
      {"dvts N=8 M=4",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return dvts(g, prm, p.prompt(), dvts_options{.n = 8, .beam_width = 4}, rng);
       },
       8},
      {"a_star K=4, 32 expansions",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return a_star(g, prm, p.prompt(), a_star_options{.continuations = 4, .expansions = 32}, rng);
       },
       12},
  };
  for (const contender& c : contenders) {
    INFO(c.name);
    const run_fn best_of = [n = c.baseline_n](auto& g, auto& prm, const auto& p, auto& rng) {
      return best_of_n(g, prm, p.prompt(), best_of_n_options{.n = n}, rng);
    };
    const paired_outcome good = testing::compare(problems, 0.9, c.run, best_of);
    INFO("good PRM: strategy " << good.strategy_accuracy << " (" << good.strategy_tokens << " tokens) vs best-of-N "
                               << good.baseline_accuracy << " (" << good.baseline_tokens << " tokens), se "
                               << good.standard_error);
    CHECK(good.baseline_tokens >= good.strategy_tokens);
    CHECK(good.difference > 3 * good.standard_error);

    const paired_outcome flat = testing::compare(problems, 0.5, c.run, best_of);
    INFO("uninformative PRM: strategy " << flat.strategy_accuracy << " vs best-of-N " << flat.baseline_accuracy
                                        << ", se " << flat.standard_error);
    CHECK(flat.difference < 3 * flat.standard_error);
  }
}

TEST_CASE("a step_round and keep_best buffers reused across rounds give what fresh ones give", "[search_round]") {
  // Two contexts with the same seed run the same rounds: one through the
  // allocating overloads, one through reused buffers; a repeated parent (the
  // root twice in round 0, as DVTS's first round) continues its streams.
  stream_recorder fresh_gen, reused_gen;
  toy::function_prm prm{[](const trajectory& t) { return 0.1 + 0.8 * static_cast<double>(t.id() % 7) / 7.0; }};
  search_context fresh("test", "Q", budget{}, execution{}, 9);
  search_context reused("test", "Q", budget{}, execution{}, 9);
  step_round round;
  std::vector<std::size_t> keep;
  std::vector<double> keyed;
  std::vector<trajectory> fresh_live{fresh.root(), fresh.root()}, reused_live{reused.root(), reused.root()};
  for (std::size_t depth = 0; depth < 2; ++depth) {
    std::vector<expansion> fresh_plan, reused_plan;
    for (const trajectory& t : fresh_live) fresh_plan.push_back({t, 3});
    for (const trajectory& t : reused_live) reused_plan.push_back({t, 3});
    const step_round expected = expand_and_score(fresh, fresh_gen, prm, fresh_plan, 0, aggregate::last);
    expand_and_score(reused, reused_gen, prm, reused_plan, 0, aggregate::last, parent_release::released, round);
    REQUIRE(round.children.size() == expected.children.size());
    for (std::size_t i = 0; i < round.children.size(); ++i) CHECK(round.children[i].id() == expected.children[i].id());
    CHECK(round.from == expected.from);
    CHECK(round.scores == expected.scores);
    random_engine a(depth), b(depth);
    const std::vector<std::size_t> expected_keep = keep_best(expected.scores, 2, 0.5, a);
    keep_best(round.scores, 2, 0.5, b, keep, keyed);
    CHECK(keep == expected_keep);
    fresh_live = {expected.children[expected_keep[0]], expected.children[expected_keep[1]]};
    reused_live = {round.children[keep[0]], round.children[keep[1]]};
  }
  CHECK(reused_gen.draws == fresh_gen.draws);
  CHECK(reused_gen.released == fresh_gen.released);
  CHECK(fresh_gen.draws.size() == 12);
}
