#include <ttscale/strategies/a_star.hpp>
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
// Distinct steps; a trajectory finishes at `finish_depth`.
struct counting_generator {
  static constexpr bool thread_safe = true;
  std::size_t finish_depth = 4;
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::uint64_t draw = e[i]() % 100000;
      step s;
      s.text = std::to_string(draw);
      s.tokens = 3;
      s.finished = p[i].depth() + 1 >= finish_depth;
      if (s.finished) s.text += " \\boxed{" + std::to_string(draw % 2) + "}";
      out[i] = std::move(s);
    }
  }
};
double hashed_score(const trajectory& t) { return static_cast<double>(t.path_hash() % 1009) / 1009.0; }

// Recomputes f for every traced node and checks that each round expanded the
// frontier's least-f nodes (ties: earliest pushed = lowest node id).
template <class Cost>
void check_pops_in_f_order(const search_trace& trace, Cost cost, std::size_t per_round) {
  struct info {
    double f = 0, cost_sum = 0;
    std::size_t steps = 0;
  };
  std::map<node_id, info> f;
  f[trace.nodes()[0].id] = {};
  std::vector<node_id> frontier{trace.nodes()[0].id};
  for (std::size_t round = 1; round <= trace.rounds(); ++round) {
    std::vector<node_id> parents, children;
    for (const trace_node& n : trace.nodes())
      if (n.round == round) {
        children.push_back(n.id);
        if (parents.empty() || parents.back() != n.parent) parents.push_back(n.parent);
      }
    // Expected pops: the per_round least (f, id) unfinished nodes of the frontier.
    std::vector<node_id> sorted = frontier;
    std::sort(sorted.begin(), sorted.end(), [&](node_id a, node_id b) {
      return f[a].f != f[b].f ? f[a].f < f[b].f : a < b;
    });
    sorted.resize(std::min(per_round, sorted.size()));
    CHECK(parents == sorted);
    for (node_id p : parents) frontier.erase(std::find(frontier.begin(), frontier.end(), p));
    for (node_id c : children) {
      const trace_node& n = *trace.find(c);
      const info& parent = f[n.parent];
      const double h = 1.0 - n.score;
      f[c] = {cost(parent.cost_sum, parent.steps) + h, parent.cost_sum + h, parent.steps + 1};
      if (!n.finished) frontier.push_back(c);
    }
  }
}
}  // namespace

TEST_CASE("A* expands states in f = g + h order, h = 1 - PRM", "[a_star]") {
  counting_generator gen{.finish_depth = 4};
  toy::function_prm prm{hashed_score};
  std::mt19937_64 rng(3);
  SECTION("mean path cost, one state per round") {
    search_trace trace;
    const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 3, .expansions = 40, .trace = &trace}, rng);
    REQUIRE(r.has_choice());
    CHECK(r.stopped == stop_reason::completed);
    CHECK(r.candidates.size() == 1);
    check_pops_in_f_order(trace, a_star_cost::mean, 1);
    // One generator call and one PRM call of K = 3 items per expansion.
    CHECK(r.chosen().path.depth() == 4);  // the solution popped is a complete state of the generator's depth
    CHECK(r.spent.generator_calls == trace.rounds());
    CHECK(prm.batch_sizes == std::vector<std::size_t>(trace.rounds(), 3));
    CHECK(r.spent.verifier_items == 3 * trace.rounds());  // PRM passes are accounted
  }
  SECTION("summed path cost, two states per round") {
    search_trace trace;
    toy::function_prm prm2{hashed_score};
    const auto r = a_star(gen, prm2, "Q",
                          a_star_options<select::best_t, a_star_cost::sum_t>{
                              .continuations = 2, .expansions = 60, .expansions_per_round = 2, .trace = &trace},
                          rng);
    REQUIRE(r.has_choice());
    check_pops_in_f_order(trace, a_star_cost::sum, 2);
    CHECK(prm2.batch_sizes.front() == 2);  // only the root in round 1
    CHECK(prm2.batch_sizes[1] == 4);       // then B * K
  }
}

TEST_CASE("A* stops when a finished state is popped", "[a_star]") {
  counting_generator gen{.finish_depth = 2};
  toy::function_prm prm{hashed_score};
  std::mt19937_64 rng(5);
  search_trace trace;
  const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 2, .expansions = 100, .trace = &trace}, rng);
  REQUIRE(r.candidates.size() == 1);
  // The popped solution has the least f of everything left: with mean cost and
  // depth 2, f = (1 - r(parent)) + (1 - r(leaf)); no unexpanded state is below it.
  CHECK(r.stopped == stop_reason::completed);

  SECTION("expansion limit before any solution is popped") {
    counting_generator deep{.finish_depth = 3};
    toy::function_prm p2{hashed_score};
    const auto cut = a_star(deep, p2, "Q", a_star_options{.continuations = 2, .expansions = 1}, rng);
    CHECK(cut.candidates.empty());
    CHECK(cut.stopped == stop_reason::expansion_limit);  // cut, not "nothing can finish"
    CHECK(cut.spent.generator_calls == 1);
  }
}

namespace {
// Every other child finishes at once; the PRM rates finished steps 0.1 and
// unfinished ones 0.9, so finished states (h = 0.9) queue behind the
// unfinished ones (h = 0.1) and are never popped before the expansion cap.
struct half_finishing_generator {
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::uint64_t draw = e[i]() % 100000;
      out[i] = step{std::to_string(draw), 2, 0.0, draw % 2 == 0, 0};
      if (out[i].finished) out[i].text += " \\boxed{" + std::to_string(draw % 7) + "}";
    }
  }
};
}  // namespace

TEST_CASE("A* cut by options.expansions says so and returns the queued complete states", "[a_star]") {
  half_finishing_generator gen;
  toy::function_prm prm{[](const trajectory& t) { return t.finished() ? 0.1 : 0.9; }};
  std::mt19937_64 rng(11);
  const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 4, .expansions = 3}, rng);
  CHECK(r.stopped == stop_reason::expansion_limit);
  CHECK(r.spent.generator_calls == 3);
  REQUIRE(!r.candidates.empty());  // the leftovers: complete states found but never popped
  for (const auto& c : r.candidates) {
    CHECK(c.finished());
    CHECK(c.score == Approx(0.1));
  }
  CHECK(r.has_choice());
  // With room to pop one, the search completes normally.
  const auto full = a_star(gen, prm, "Q", a_star_options{.continuations = 4, .expansions = 1000, .max_depth = 3}, rng);
  CHECK(full.stopped == stop_reason::completed);
}

TEST_CASE("A* budgets and bad input", "[a_star][budget][errors]") {
  counting_generator gen{.finish_depth = 1000};
  toy::function_prm prm{hashed_score};
  std::mt19937_64 rng(1);
  SECTION("verifier calls are never exceeded") {
    const auto r = a_star(gen, prm, "Q", a_star_options{.budget = {.max_verifier_calls = 5}}, rng);
    CHECK(r.stopped == stop_reason::verifier_call_limit);
    CHECK(r.spent.verifier_calls == 5);
    CHECK(r.spent.verifier_items == 20);
  }
  SECTION("tokens") {
    const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 4, .budget = {.max_tokens = 50}}, rng);
    CHECK(r.stopped == stop_reason::token_limit);
    CHECK(r.spent.tokens == 60);  // rounds of 4 * 3 tokens: the 5th round reaches 60 >= 50
  }
  SECTION("samples cap expansions") {
    const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 4, .budget = {.max_samples = 10}}, rng);
    CHECK(r.stopped == stop_reason::sample_limit);
    CHECK(r.spent.samples == 8);
    CHECK(r.spent.generator_calls == 2);
  }
  SECTION("never finishes: max_depth") {
    const auto r = a_star(gen, prm, "Q", a_star_options{.continuations = 1, .expansions = 100, .max_depth = 5}, rng);
    CHECK(r.stopped == stop_reason::depth_limit);
    CHECK(r.spent.generator_calls == 5);
  }
  SECTION("bad input") {
    CHECK_THROWS_AS(a_star(gen, prm, "Q", a_star_options{.continuations = 0}, rng), invalid_argument);
    CHECK_THROWS_AS(a_star(gen, prm, "Q", a_star_options{.expansions = 0}, rng), invalid_argument);
    CHECK_THROWS_AS(a_star(gen, prm, "Q", a_star_options{.expansions_per_round = 0}, rng), invalid_argument);
    CHECK_THROWS_AS(a_star(gen, prm, "Q", a_star_options{.solutions = 0}, rng), invalid_argument);
    toy::function_prm nan_prm{[](const trajectory&) { return std::numeric_limits<double>::quiet_NaN(); }};
    CHECK_THROWS_AS(a_star(gen, nan_prm, "Q", a_star_options{}, rng), invalid_score);
    toy::function_prm throwing{[](const trajectory&) -> double { throw std::runtime_error("boom"); }};
    CHECK_THROWS_AS(a_star(gen, throwing, "Q", a_star_options{}, rng), verifier_failure);
  }
}

TEST_CASE("A* is deterministic across threads and batch sizes", "[a_star][determinism]") {
  testing::check_same_across_executions([](auto& gen, auto& prm, const auto& p, execution exec, auto& rng) {
    return a_star(gen, prm, p.prompt(), a_star_options{.continuations = 4, .expansions_per_round = 2, .exec = exec}, rng);
  });
}
