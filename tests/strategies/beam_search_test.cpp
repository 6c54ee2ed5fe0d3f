#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include "strategies/across_executions.hpp"
#include "strategies/random_words.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
using testing::path_score;
using testing::random_word_generator;
std::uint64_t tree_tokens(const trajectory_tree& tree) {
  std::uint64_t sum = 0;
  for (node_id id = 1; id < tree.size(); ++id) sum += tree.at(id).last_step().tokens;
  return sum;
}
}  // namespace

TEST_CASE("beam search keeps exactly the top N/M each round and expands each M ways", "[beam_search]") {
  random_word_generator gen{.finish_depth = 4, .finish_one_in = 0};
  toy::function_prm prm{path_score};
  search_trace trace;
  std::mt19937_64 rng(3);
  const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 12, .beam_width = 3, .trace = &trace}, rng);
  REQUIRE(r.has_choice());
  // Rounds 1..3 leave unfinished children; round 4 finishes all 12.
  CHECK(trace.rounds() == 4);
  for (std::size_t round = 1; round <= 3; ++round) {
    std::vector<const trace_node*> children;
    for (const trace_node& n : trace.nodes())
      if (n.round == round) children.push_back(&n);
    REQUIRE(children.size() == 12);
    std::vector<double> scores;
    for (const trace_node* n : children) scores.push_back(n->score);
    std::sort(scores.rbegin(), scores.rend());
    const double fourth = scores[3];
    REQUIRE(scores[4] < fourth);  // no tie at the boundary in this draw
    std::size_t kept = 0;
    for (const trace_node* n : children) {
      const bool survived = n->status == trace_status::kept || n->status == trace_status::chosen;
      CHECK(survived == (n->score >= fourth));
      kept += survived;
      // Each survivor is expanded exactly M = 3 ways in the next round.
      std::size_t expanded = 0;
      for (const trace_node& m : trace.nodes()) expanded += m.parent == n->id && m.id != m.parent;
      CHECK(expanded == (survived ? 3u : 0u));
    }
    CHECK(kept == 4);
  }
  CHECK(r.candidates.size() == 12);
  // The chosen candidate has the highest aggregated (last-step) score.
  for (const auto& c : r.candidates) CHECK(c.score <= r.chosen().score);
}

TEST_CASE("beam search calls the generator and the PRM once per round for all live candidates", "[beam_search]") {
  // Scripts of 3 steps; the beam advances 8 candidates per round.
  toy::scripted_generator gen({{toy::scripted_step("a"), toy::scripted_step("b"), toy::scripted_step("\\boxed{1}", true)},
                               {toy::scripted_step("c"), toy::scripted_step("d"), toy::scripted_step("\\boxed{2}", true)}});
  toy::function_prm prm{[](const trajectory& t) { return t.completion().find('a') != std::string::npos ? 0.9 : 0.1; }};
  std::mt19937_64 rng(1);
  const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 2}, rng);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{8, 8, 8});
  CHECK(prm.batch_sizes == std::vector<std::size_t>{8, 8, 8});
  CHECK(r.spent.generator_calls == 3);
  CHECK(r.spent.verifier_calls == 3);
  CHECK(r.spent.verifier_items == 24);
  CHECK(r.spent.samples == 8);
  CHECK(r.answer == "1");  // the PRM prefers script 0, so the beam holds only it after round 1
  CHECK(r.spent.tokens == tree_tokens(*r.tree));

  SECTION("batch_size splits a round into ceil(N / batch) calls") {
    toy::scripted_generator g2({{toy::scripted_step("a"), toy::scripted_step("\\boxed{1}", true)}});
    toy::function_prm p2{[](const trajectory&) { return 0.5; }};
    const auto r2 = beam_search(g2, p2, "Q", beam_search_options{.n = 8, .beam_width = 2, .exec = {.batch_size = 3}}, rng);
    CHECK(g2.batch_sizes == std::vector<std::size_t>{3, 3, 2, 3, 3, 2});
    CHECK(r2.spent.generator_calls == 6);
  }
}

TEST_CASE("beam search options: look-ahead, duplicate filtering, aggregation, stochastic selection", "[beam_search]") {
  std::mt19937_64 rng(5);
  SECTION("look-ahead rolls k steps per round and judges the step by the PRM at the end") {
    random_word_generator gen{.finish_depth = 4, .finish_one_in = 0};
    toy::function_prm prm{path_score};
    const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .lookahead = 2}, rng);
    // Round d: 4 children + look-ahead of the unfinished ones (2 steps, capped by finishing).
    // depth 1: 4 + 4 (d2) + 4 (d3) ; depth 2: 4 + 4 (d3) + 4 (d4, finished) ; depth 3: 4 + 4 ; depth 4: 4
    CHECK(r.spent.generator_calls == 3 + 3 + 2 + 1);
    CHECK(r.spent.verifier_calls == 4);      // still one PRM call per round
    CHECK(r.spent.verifier_items == 16);     // one item per child (its look-ahead leaf)
    CHECK(r.spent.tokens == tree_tokens(*r.tree));
  }
  SECTION("duplicate steps are filtered before selection") {
    // Both scripts say the same thing: every child of a round is a duplicate of the first.
    toy::scripted_generator gen({{toy::scripted_step("a"), toy::scripted_step("b"), toy::scripted_step("\\boxed{1}", true)}});
    toy::function_prm prm{[](const trajectory&) { return 0.5; }};
    search_trace trace;
    const auto r = beam_search(gen, prm, "Q",
                               beam_search_options{.n = 4, .beam_width = 2, .filter_duplicates = true, .trace = &trace}, rng);
    // Round 1: 4 identical children -> 1 kept, 3 pruned as duplicates; it is then expanded 4 ways.
    CHECK(gen.batch_sizes == std::vector<std::size_t>{4, 4, 4});
    std::size_t round1_kept = 0;
    for (const trace_node& n : trace.nodes())
      if (n.round == 1) round1_kept += n.status != trace_status::pruned;
    CHECK(round1_kept == 1);
    CHECK(r.answer == "1");
  }
  SECTION("min aggregation ranks by the weakest step") {
    // Script 0: steps scored 0.1 then 0.9; script 1: 0.5 then 0.6. last prefers 0, min prefers 1.
    auto scripts = std::vector<toy::script>{{toy::scripted_step("low"), toy::scripted_step("\\boxed{0} high", true)},
                                            {toy::scripted_step("mid"), toy::scripted_step("\\boxed{1} six", true)}};
    auto score = [](const trajectory& t) {
      const std::string_view s = t.last_step().text;
      return s == "low" ? 0.1 : s.find("high") != std::string::npos ? 0.9 : s == "mid" ? 0.5 : 0.6;
    };
    toy::scripted_generator g1(scripts), g2(scripts);
    toy::function_prm p1{score}, p2{score};
    const auto last = beam_search(g1, p1, "Q", beam_search_options{.n = 2, .beam_width = 1}, rng);
    const auto min = beam_search(g2, p2, "Q", beam_search_options<select::best_t, aggregate::min_t>{.n = 2, .beam_width = 1}, rng);
    CHECK(last.answer == "0");
    CHECK(min.answer == "1");
    CHECK(min.chosen().score == 0.5);
  }
  SECTION("stochastic selection keeps N/M and is reproducible from the seed") {
    random_word_generator gen{.finish_depth = 5, .finish_one_in = 0};
    toy::function_prm prm{path_score};
    std::mt19937_64 a(9), b(9);
    const auto r1 = beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 2, .temperature = 0.5}, a);
    const auto r2 = beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 2, .temperature = 0.5}, b);
    CHECK(r1.chosen().path.text() == r2.chosen().path.text());
    CHECK(r1.candidates.size() == 8);
  }
}

TEST_CASE("beam search stops at each budget limit with exact accounting", "[beam_search][budget]") {
  random_word_generator gen{.finish_depth = 6, .finish_one_in = 0};
  toy::function_prm prm{path_score};
  std::mt19937_64 rng(2);
  SECTION("tokens: checked before each round") {
    const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .budget = {.max_tokens = 20}}, rng);
    CHECK(r.stopped == stop_reason::token_limit);
    CHECK(r.spent.tokens >= 20);
    CHECK(r.spent.tokens == tree_tokens(*r.tree));
    CHECK(r.spent.tokens < 20 + 4 * 4);  // at most one round (4 steps of <= 4 tokens) past the limit
    CHECK_FALSE(r.has_choice());
  }
  SECTION("generator calls: never exceeded") {
    const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .budget = {.max_generator_calls = 2}}, rng);
    CHECK(r.stopped == stop_reason::generator_call_limit);
    CHECK(r.spent.generator_calls == 2);
    CHECK(r.spent.steps == 8);
  }
  SECTION("verifier calls: never exceeded") {
    const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .budget = {.max_verifier_calls = 3}}, rng);
    CHECK(r.stopped == stop_reason::verifier_call_limit);
    CHECK(r.spent.verifier_calls == 3);
    CHECK(r.spent.verifier_items == 12);
  }
  SECTION("samples: fewer candidates per round, and the reason is reported") {
    const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 2, .budget = {.max_samples = 6}}, rng);
    CHECK(r.stopped == stop_reason::sample_limit);
    CHECK(r.spent.samples == 6);
    CHECK(r.spent.steps == 6 * 6);  // 6 children per round until all finish at depth 6
  }
  SECTION("a spent budget throws before any work") {
    CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options{.budget = {.max_tokens = 0}}, rng), budget_exhausted);
  }
}

TEST_CASE("beam search rejects bad input with clear errors", "[beam_search][errors]") {
  random_word_generator gen;
  toy::function_prm prm{path_score};
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(beam_search(gen, prm, "Q", beam_search_options{.n = 0}, rng), Catch::Contains("options.n must be at least 1"));
  CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 0}, rng), invalid_argument);
  // M not dividing N: documented to throw, naming both values.
  CHECK_THROWS_WITH(beam_search(gen, prm, "Q", beam_search_options{.n = 8, .beam_width = 3}, rng),
                    Catch::Contains("(3)") && Catch::Contains("(8)"));
  CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options{.max_depth = 0}, rng), invalid_argument);
  CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options{.temperature = -1.0}, rng), invalid_argument);
  CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options{.temperature = std::numeric_limits<double>::infinity()}, rng),
                  invalid_argument);

  toy::function_prm nan_prm{[](const trajectory&) { return std::numeric_limits<double>::quiet_NaN(); }};
  CHECK_THROWS_AS(beam_search(gen, nan_prm, "Q", beam_search_options{}, rng), invalid_score);
  // A NaN aggregate (not a NaN verifier score) is the caller's policy's fault: invalid_argument, naming the node.
  struct nan_aggregate {
    double operator()(std::span<const double>) const { return std::numeric_limits<double>::quiet_NaN(); }
  };
  CHECK_THROWS_AS(beam_search(gen, prm, "Q", beam_search_options<select::best_t, nan_aggregate>{.n = 4, .beam_width = 2}, rng),
                  invalid_argument);
  CHECK_THROWS_WITH(beam_search(gen, prm, "Q", beam_search_options<select::best_t, nan_aggregate>{.n = 4, .beam_width = 2}, rng),
                    Catch::StartsWith("beam_search: the step aggregator returned NaN for node "));

  toy::function_prm throwing{[](const trajectory& t) -> double {
    if (t.depth() == 2) throw std::runtime_error("PRM server down");
    return 0.5;
  }};
  try {
    (void)beam_search(gen, throwing, "Q", beam_search_options{.n = 4, .beam_width = 2}, rng);
    FAIL("expected verifier_failure");
  } catch (const verifier_failure& e) {
    CHECK(std::string(e.what()).find("PRM server down") != std::string::npos);
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->verifier_calls == 2);
  }

  // A generator that never finishes stops at max_depth with no candidate.
  random_word_generator endless{.finish_depth = 1000, .finish_one_in = 0};
  const auto r = beam_search(endless, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .max_depth = 5}, rng);
  CHECK(r.stopped == stop_reason::depth_limit);
  CHECK(r.candidates.empty());
  CHECK_FALSE(r.has_choice());
  CHECK(r.spent.generator_calls == 5);
  CHECK_THROWS_AS(r.chosen(), no_candidate);
}

TEST_CASE("beam search is deterministic across threads and batch sizes", "[beam_search][determinism]") {
  testing::check_same_across_executions([](auto& gen, auto& prm, const auto& p, execution exec, auto& rng) {
    return beam_search(gen, prm, p.prompt(), beam_search_options{.n = 16, .beam_width = 4, .lookahead = 1, .exec = exec}, rng);
  });
}

TEST_CASE("beam search retains finished beams and still draws N children per round", "[beam_search]") {
  // Root extensions alternate scripts: A finishes at step 1, B at step 3.
  toy::scripted_generator gen({{toy::scripted_step("\\boxed{1}", true)},
                               {toy::scripted_step("b1"), toy::scripted_step("b2"), toy::scripted_step("\\boxed{2}", true)}});
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  std::mt19937_64 rng(1);
  const auto r = beam_search(gen, prm, "Q", beam_search_options<select::majority_t>{.n = 4, .beam_width = 2}, rng);
  // Round 1: A, B, A, B -> 2 finished, the 2 B beams kept and expanded 2 ways each;
  // rounds 2 and 3 continue B; round 3 finishes 4 more (6 >= N: stop).
  CHECK(gen.batch_sizes == std::vector<std::size_t>{4, 4, 4});
  REQUIRE(r.candidates.size() == 6);
  CHECK(r.candidates[0].answer == "1");
  CHECK(r.candidates[1].answer == "1");
  CHECK(r.answer == "2");  // 4 votes to 2
  CHECK(r.stopped == stop_reason::completed);
}
