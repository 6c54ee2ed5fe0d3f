#include <ttscale/search_context.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory_resource>
#include <stdexcept>
#include <vector>

using namespace ttscale;

namespace {
std::vector<toy::script> three_step_scripts() {
  return {{toy::scripted_step("a b", false), toy::scripted_step("c", false), toy::scripted_step("\\boxed{1}", true)}};
}
struct throwing_generator {
  int throw_on_call = 0;
  int calls = 0;
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) {
    if (++calls == throw_on_call) throw std::runtime_error("engine crashed");
    for (step& s : out) s = step{"x", 5, 0, false, 0};
  }
};
struct safe_counting_generator {
  static constexpr bool thread_safe = true;
  std::atomic<int> calls{0};
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) {
    ++calls;
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = step{std::to_string(e[i]() % 1000), 1, 0, false, 0};
  }
};
std::vector<stream_key> keys(std::size_t n) {
  std::vector<stream_key> k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = {i, 0};
  return k;
}
}  // namespace

TEST_CASE("a round is one call, or ceil(n / batch_size) calls", "[search_context]") {
  toy::scripted_generator gen(three_step_scripts());
  search_context ctx("test", "P", budget{}, execution{}, 1);
  std::vector<trajectory> roots(10, ctx.root());
  const auto children = ctx.extend(gen, roots, keys(10));
  CHECK(children.size() == 10);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{10});
  CHECK(ctx.spent().generator_calls == 1);
  CHECK(ctx.spent().steps == 10);
  CHECK(ctx.spent().tokens == 20);

  search_context batched("test", "P", budget{}, execution{.batch_size = 4}, 1);
  toy::scripted_generator gen2(three_step_scripts());
  std::vector<trajectory> roots2(10, batched.root());
  (void)batched.extend(gen2, roots2, keys(10));
  CHECK(gen2.batch_sizes == std::vector<std::size_t>{4, 4, 2});
  CHECK(batched.spent().generator_calls == 3);
}

TEST_CASE("the generator-call limit cuts a round to the calls that fit", "[search_context][budget]") {
  toy::scripted_generator gen(three_step_scripts());
  search_context ctx("test", "P", budget{.max_generator_calls = 2}, execution{.batch_size = 3}, 1);
  std::vector<trajectory> roots(10, ctx.root());
  const auto children = ctx.extend(gen, roots, keys(10));
  CHECK(children.size() == 6);
  CHECK(ctx.spent().generator_calls == 2);
  CHECK(ctx.stop_check() == stop_reason::generator_call_limit);
  CHECK(ctx.cut() == stop_reason::generator_call_limit);  // recorded by the cut round itself
  CHECK(ctx.extend(gen, roots, keys(10)).empty());
}

TEST_CASE("the context records why the search stops: the first cut stands, an admission cut is reported first",
          "[search_context][budget]") {
  toy::scripted_generator gen(three_step_scripts());
  SECTION("nothing recorded: completed, or depth_limit when no candidate finished") {
    search_context ctx("test", "P", budget{}, execution{}, 1);
    CHECK_FALSE(ctx.should_stop());
    CHECK_FALSE(ctx.cut().has_value());
    CHECK(ctx.stop_reason_for(true) == stop_reason::completed);
    CHECK(ctx.stop_reason_for(false) == stop_reason::depth_limit);
  }
  SECTION("should_stop records the budget limit it finds; a later stop() does not replace it") {
    search_context ctx("test", "P", budget{.max_generator_calls = 1}, execution{}, 1);
    std::vector<trajectory> roots(2, ctx.root());
    CHECK(ctx.extend(gen, roots, keys(2)).size() == 2);
    CHECK_FALSE(ctx.cut().has_value());  // the round was not cut: the limit is reached, not exceeded
    CHECK(ctx.should_stop());
    ctx.stop(stop_reason::early_stop);
    CHECK(ctx.cut() == stop_reason::generator_call_limit);
    CHECK(ctx.stop_reason_for(true) == stop_reason::generator_call_limit);
  }
  SECTION("a strategy's own reason, recorded first, stands") {
    search_context ctx("test", "P", budget{}, execution{}, 1);
    ctx.stop(stop_reason::first_finished);
    ctx.stop(stop_reason::early_stop);
    CHECK(ctx.should_stop());
    CHECK(ctx.stop_reason_for(false) == stop_reason::first_finished);
  }
  SECTION("a verifier round cut by the call limit is recorded") {
    toy::function_prm prm{[](const trajectory&) { return 0.5; }};
    search_context ctx("test", "P", budget{.max_verifier_calls = 1}, execution{.batch_size = 1}, 1);
    std::vector<trajectory> roots(2, ctx.root());
    const auto children = ctx.extend(gen, roots, keys(2));
    CHECK(ctx.score_steps(prm, children).size() == 1);
    CHECK(ctx.cut() == stop_reason::verifier_call_limit);
  }
  SECTION("an admission cut is reported before a later cut, and does not stop started work") {
    search_context ctx("test", "P", budget{.max_samples = 1}, execution{}, 1);
    CHECK(ctx.admit_samples(2) == 1);
    CHECK_FALSE(ctx.should_stop());
    ctx.stop(stop_reason::early_stop);
    CHECK(ctx.stop_reason_for(true) == stop_reason::sample_limit);
  }
}

TEST_CASE("the sample limit admits only what fits and does not stop started work", "[search_context][budget]") {
  search_context ctx("test", "P", budget{.max_samples = 5}, execution{}, 1);
  CHECK(ctx.admit_samples(3) == 3);
  CHECK(ctx.stop_reason_for(true) == stop_reason::completed);
  CHECK(ctx.admit_samples(3) == 2);
  CHECK(ctx.stop_reason_for(true) == stop_reason::sample_limit);
  CHECK(ctx.spent().samples == 5);
  CHECK_FALSE(ctx.stop_check().has_value());
  CHECK_FALSE(ctx.should_stop());
}

TEST_CASE("a budget spent before the start is budget_exhausted", "[search_context][errors]") {
  CHECK_THROWS_AS(search_context("best_of_n", "P", budget{.max_tokens = 0}, execution{}, 1), budget_exhausted);
  CHECK_THROWS_WITH(search_context("best_of_n", "P", budget{.max_samples = 0}, execution{}, 1),
                    Catch::Contains("best_of_n") && Catch::Contains("sample_limit"));
  CHECK_THROWS_AS(search_context("x", "P", budget{.deadline = std::chrono::steady_clock::now()}, execution{}, 1),
                  budget_exhausted);
}

TEST_CASE("threads need a generator that opts in", "[search_context][errors]") {
  toy::scripted_generator gen(three_step_scripts());
  search_context ctx("test", "P", budget{}, execution{.threads = 2}, 1);
  std::vector<trajectory> roots(4, ctx.root());
  CHECK_THROWS_AS(ctx.extend(gen, roots, keys(4)), invalid_argument);
  CHECK_THROWS_WITH(ctx.extend(gen, roots, keys(4)), Catch::Contains("not marked thread-safe"));
  CHECK_THROWS_AS(search_context("test", "P", budget{}, execution{.threads = 0}, 1), invalid_argument);
}

TEST_CASE("outputs do not depend on batch size or thread count", "[search_context][determinism]") {
  auto run = [](execution exec) {
    safe_counting_generator gen;
    search_context ctx("test", "P", budget{}, exec, 99);
    std::vector<trajectory> roots(37, ctx.root());
    std::vector<std::string> texts;
    for (const trajectory& t : ctx.extend(gen, roots, keys(37))) texts.emplace_back(t.last_step().text);
    return texts;
  };
  const auto reference = run({});
  CHECK(run({.batch_size = 5}) == reference);
  CHECK(run({.batch_size = 5, .threads = 2}) == reference);
  CHECK(run({.batch_size = 1, .threads = 3}) == reference);
}

TEST_CASE("a throwing generator becomes generator_failure with context and exact accounting",
          "[search_context][errors]") {
  throwing_generator gen{.throw_on_call = 2};
  search_context ctx("beam_search", "P", budget{}, execution{.batch_size = 2}, 1);
  std::vector<trajectory> roots(6, ctx.root());
  try {
    (void)ctx.extend(gen, roots, keys(6));
    FAIL("no exception");
  } catch (const generator_failure& e) {
    CHECK(std::string(e.what()).find("beam_search: the generator threw on items [2, 4) of a round of 6: engine crashed") !=
          std::string::npos);
    CHECK(e.spent()->generator_calls == 3);  // every chunk ran; the failed one counts as a call
    CHECK(e.spent()->tokens == 20);          // only the two good calls produced tokens
    CHECK_THROWS_WITH(std::rethrow_if_nested(e), "engine crashed");
  }
  CHECK(ctx.tree().size() == 1);  // nothing was appended
}

TEST_CASE("verifier failures and bad scores are reported with the item", "[search_context][errors]") {
  search_context ctx("best_of_n", "P", budget{}, execution{}, 1);
  trajectory_tree& tree = ctx.tree();
  const trajectory a = tree.append(0, step{"a", 1, 0, true, 0});
  const trajectory b = tree.append(0, step{"b", 1, 0, true, 0});
  std::vector<trajectory> items{a, b};

  toy::function_prm nan_prm{[](const trajectory& t) {
    return t.last_step().text == "b" ? std::numeric_limits<double>::quiet_NaN() : 0.5;
  }};
  CHECK_THROWS_AS(ctx.score_steps(nan_prm, items), invalid_score);
  CHECK_THROWS_WITH(ctx.score_steps(nan_prm, items), Catch::Contains("item 1") && Catch::Contains("nan"));

  toy::function_orm throwing_orm{[](const trajectory&) -> double { throw std::logic_error("reward server down"); }};
  try {
    (void)ctx.score_outcomes(throwing_orm, items);
    FAIL("no exception");
  } catch (const verifier_failure& e) {
    CHECK(std::string(e.what()).find("outcome verifier threw") != std::string::npos);
    CHECK(e.spent()->verifier_calls >= 1);
    CHECK_THROWS_WITH(std::rethrow_if_nested(e), "reward server down");
  }
}

TEST_CASE("score_steps records scores in the tree", "[search_context]") {
  search_context ctx("test", "P", budget{.max_verifier_calls = 1}, execution{}, 1);
  const trajectory a = ctx.tree().append(0, step{"a", 1, 0, false, 0});
  toy::function_prm prm{[](const trajectory&) { return 0.75; }};
  std::vector<trajectory> items{a};
  CHECK(ctx.score_steps(prm, items) == std::vector<double>{0.75});
  CHECK(a.step_score() == 0.75);
  CHECK(ctx.spent().verifier_calls == 1);
  CHECK(ctx.spent().verifier_items == 1);
  CHECK(ctx.score_steps(prm, items).empty());  // the verifier-call limit is reached
}

TEST_CASE("extend and score_steps refuse nodes of another tree before any call", "[search_context][errors]") {
  // A foreign handle's id would address this tree's node of the same number: a
  // silent wrong answer. The error names the search and the item; nothing is called.
  trajectory_tree other("Q");
  const trajectory foreign = other.append(0, step{"q", 1, 0, false, 0});
  search_context ctx("test", "P", budget{}, execution{}, 1);
  (void)ctx.tree().append(0, step{"a", 1, 0, false, 0});  // node 1 exists here too
  throwing_generator gen;
  const std::vector<trajectory> prefixes{ctx.root(), foreign};
  CHECK_THROWS_WITH(ctx.extend(gen, prefixes, keys(2)),
                    "test: prefixes[1] is a node of another search's tree (pass this search's nodes: ctx.root() and "
                    "what extend returned)");
  const std::vector<trajectory> empty{trajectory{}};
  CHECK_THROWS_WITH(ctx.extend(gen, empty, keys(1)), Catch::Contains("test: prefixes[0] is an empty trajectory handle"));
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  const std::vector<trajectory> nodes{foreign};
  CHECK_THROWS_WITH(ctx.score_steps(prm, nodes), Catch::Contains("test: nodes[0] is a node of another search's tree"));
  CHECK(gen.calls == 0);
  CHECK(ctx.spent().generator_calls == 0);
  CHECK(ctx.spent().verifier_calls == 0);
  CHECK(ctx.tree().size() == 2);
  CHECK(std::isnan(ctx.tree().at(1).step_score()));
}

TEST_CASE("a search can start from another search's trajectory", "[search_context]") {
  trajectory_tree outer("P");
  const trajectory prefix = outer.append(0, step{"a", 3, -1, false, 11});
  search_context ctx("nested", search_start(prefix), budget{}, execution{}, 1);
  CHECK(ctx.root().text() == prefix.text());
  CHECK(ctx.root().last_step().engine_state == 11);
  CHECK(&ctx.root().tree() != &outer);
}

TEST_CASE("search_start::tree_memory places the search tree in the caller's resource", "[search_context]") {
  std::pmr::unsynchronized_pool_resource pool;
  toy::scripted_generator gen(three_step_scripts());
  search_context ctx("test", search_start("P", &pool), budget{}, execution{}, 1);
  std::vector<trajectory> roots(100, ctx.root());
  const auto children = ctx.extend(gen, roots, keys(100));
  CHECK(children.size() == 100);
  CHECK(children.back().last_step().text == "a b");
}
