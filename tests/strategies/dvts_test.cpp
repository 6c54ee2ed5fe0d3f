#include <ttscale/strategies/dvts.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include "strategies/across_executions.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// Distinct steps drawn from the item's stream; a trajectory finishes when a
// draw is divisible by `finish_one_in` (so subtrees finish at different depths).
struct lottery_generator {
  static constexpr bool thread_safe = true;
  std::uint64_t finish_one_in = 3;
  void extend(std::span<const trajectory>, std::span<random_engine> e, std::span<step> out) const {
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint64_t draw = e[i]() % 100000;
      step s;
      s.text = std::to_string(draw);
      s.tokens = 2 + static_cast<std::uint32_t>(draw % 3);
      s.finished = finish_one_in != 0 && draw % finish_one_in == 0;
      if (s.finished) s.text += " \\boxed{" + std::to_string(draw % 2) + "}";
      out[i] = std::move(s);
    }
  }
};
double hashed_score(const trajectory& t) { return static_cast<double>(t.path_hash() % 997) / 997.0; }
}  // namespace

TEST_CASE("dvts expands N/M subtrees greedily, one batched call per round", "[dvts]") {
  lottery_generator gen{.finish_one_in = 3};
  toy::function_prm prm{hashed_score};
  search_trace trace;
  std::mt19937_64 rng(7);
  const auto r = dvts(gen, prm, "Q", dvts_options{.n = 12, .beam_width = 4, .trace = &trace}, rng);

  // Every round extends M = 4 children per live subtree, all in one call, and
  // the PRM scores exactly those children in one call.
  REQUIRE(gen.finish_one_in == 3);
  REQUIRE(prm.batch_sizes.size() == r.spent.generator_calls);
  std::size_t live = 3;
  for (std::size_t round = 1; round <= trace.rounds(); ++round) {
    // Group the round's children by parent (subtree); round 1: three groups of the root, in id order.
    std::vector<std::vector<const trace_node*>> groups;
    const trace_node* previous = nullptr;
    for (const trace_node& n : trace.nodes()) {
      if (n.round != round) continue;
      if (!previous || previous->parent != n.parent || groups.back().size() == 4) groups.emplace_back();
      groups.back().push_back(&n);
      previous = &n;
    }
    CHECK(groups.size() == live);
    CHECK(prm.batch_sizes[round - 1] == 4 * live);
    std::size_t finished_now = 0;
    for (const auto& g : groups) {
      REQUIRE(g.size() == 4);
      const trace_node* best = g[0];
      for (const trace_node* n : g)
        if (n->score > best->score) best = n;
      for (const trace_node* n : g) {
        const bool advanced = n->status != trace_status::pruned && n->status != trace_status::generated;
        CHECK(advanced == (n == best));
      }
      finished_now += best->finished;
    }
    live -= finished_now;
  }
  CHECK(live == 0);
  // Only finished candidates, one per subtree; exact tokens.
  CHECK(r.candidates.size() == 3);
  for (const auto& c : r.candidates) CHECK(c.finished());
  std::uint64_t tokens = 0;
  for (node_id id = 1; id < r.tree->size(); ++id) tokens += r.tree->at(id).last_step().tokens;
  CHECK(r.spent.tokens == tokens);
  CHECK(r.spent.samples == 12);
  CHECK(r.stopped == stop_reason::completed);
}

TEST_CASE("dvts subtrees draw distinct streams from the shared root", "[dvts]") {
  lottery_generator gen{.finish_one_in = 0};  // never finishes
  toy::function_prm prm{hashed_score};
  std::mt19937_64 rng(1);
  search_trace trace;
  const auto r = dvts(gen, prm, "Q", dvts_options{.n = 8, .beam_width = 4, .max_depth = 2, .trace = &trace}, rng);
  std::map<std::string, int> texts;
  for (const trace_node& n : trace.nodes())
    if (n.round == 1) ++texts[std::string(r.tree->at(n.id).last_step().text)];
  CHECK(texts.size() == 8);  // 8 distinct first steps across the 2 subtrees
  CHECK(r.stopped == stop_reason::depth_limit);
  CHECK(r.candidates.empty());
}

TEST_CASE("dvts budgets and bad input", "[dvts][budget][errors]") {
  lottery_generator gen{.finish_one_in = 0};
  toy::function_prm prm{hashed_score};
  std::mt19937_64 rng(1);
  SECTION("generator calls") {
    const auto r = dvts(gen, prm, "Q", dvts_options{.n = 8, .beam_width = 2, .budget = {.max_generator_calls = 3}}, rng);
    CHECK(r.stopped == stop_reason::generator_call_limit);
    CHECK(r.spent.generator_calls == 3);
    CHECK(r.spent.steps == 24);
  }
  SECTION("samples: whole subtrees only") {
    const auto r = dvts(gen, prm, "Q", dvts_options{.n = 8, .beam_width = 4, .max_depth = 2, .budget = {.max_samples = 6}}, rng);
    CHECK(r.spent.samples == 4);  // one subtree of M = 4 fits in 6
    CHECK(r.stopped == stop_reason::sample_limit);
    CHECK(r.spent.steps == 8);    // 2 rounds of 4
  }
  SECTION("tokens") {
    const auto r = dvts(gen, prm, "Q", dvts_options{.n = 4, .beam_width = 2, .budget = {.max_tokens = 30}}, rng);
    CHECK(r.stopped == stop_reason::token_limit);
    CHECK(r.spent.tokens >= 30);
    CHECK(r.spent.tokens < 30 + 4 * 4);
  }
  SECTION("bad input") {
    CHECK_THROWS_AS(dvts(gen, prm, "Q", dvts_options{.n = 0}, rng), invalid_argument);
    CHECK_THROWS_WITH(dvts(gen, prm, "Q", dvts_options{.n = 10, .beam_width = 4}, rng),
                      Catch::Contains("(4)") && Catch::Contains("(10)"));
    toy::function_prm nan_prm{[](const trajectory&) { return std::numeric_limits<double>::quiet_NaN(); }};
    CHECK_THROWS_AS(dvts(gen, nan_prm, "Q", dvts_options{}, rng), invalid_score);
    toy::function_prm throwing{[](const trajectory&) -> double { throw std::runtime_error("boom"); }};
    CHECK_THROWS_AS(dvts(gen, throwing, "Q", dvts_options{}, rng), verifier_failure);
    const auto r = dvts(gen, prm, "Q", dvts_options{.n = 4, .beam_width = 2, .max_depth = 6}, rng);
    CHECK(r.stopped == stop_reason::depth_limit);
    CHECK(r.spent.generator_calls == 6);
  }
}

TEST_CASE("dvts is deterministic across threads and batch sizes", "[dvts][determinism]") {
  testing::check_same_across_executions([](auto& gen, auto& prm, const auto& p, execution exec, auto& rng) {
    return dvts(gen, prm, p.prompt(), dvts_options{.n = 16, .beam_width = 4, .exec = exec}, rng);
  });
}
