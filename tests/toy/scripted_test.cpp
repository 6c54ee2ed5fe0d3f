#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <span>
#include <vector>

using namespace ttscale;

namespace {
std::vector<toy::script> scripts() {
  return {
      {toy::scripted_step("one two", false), toy::scripted_step("\\boxed{1}", true)},
      {toy::scripted_step("\\boxed{2}", true)},
  };
}
double by_answer(const trajectory& t) { return boxed_answer{}(t) == "2" ? 0.9 : 0.1; }
}  // namespace

TEST_CASE("scripted_generator replays scripts and records batch sizes", "[toy][scripted]") {
  toy::scripted_generator gen(scripts());
  toy::function_orm orm{by_answer};
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 4}, rng);
  CHECK(r.answer == "2");
  CHECK(gen.batch_sizes == std::vector<std::size_t>{4, 2});
  CHECK(orm.batch_sizes == std::vector<std::size_t>{4});
  CHECK(orm.calls == 1);
  CHECK_THROWS_AS(toy::scripted_generator({}), invalid_argument);
  CHECK_THROWS_AS(toy::scripted_generator({toy::script{}}), invalid_argument);
}

TEST_CASE("function_prm / function_orm are the from_function adapters plus a record", "[toy][scripted]") {
  auto f = [](const trajectory&) { return 1.0; };
  STATIC_REQUIRE(process_verifier<toy::function_prm<decltype(f)>>);
  STATIC_REQUIRE_FALSE(outcome_verifier<toy::function_prm<decltype(f)>>);
  STATIC_REQUIRE(outcome_verifier<toy::function_orm<decltype(f)>>);
  // Any shape the adapters accept, e.g. batched:
  auto batched = [](std::span<const trajectory> t, std::span<double> out) {
    for (std::size_t i = 0; i < t.size(); ++i) out[i] = 0.25;
  };
  toy::function_prm prm{batched};
  trajectory_tree tree("Q");
  const trajectory items[3] = {tree.root(), tree.root(), tree.root()};
  double scores[3];
  prm.score_steps(items, scores);
  CHECK(scores[2] == 0.25);
  CHECK(prm.batch_sizes == std::vector<std::size_t>{3});
  // Copies carry the record.
  const toy::function_prm copy = prm;
  CHECK(copy.batch_sizes == prm.batch_sizes);
  CHECK(copy.calls == 1);
}

TEST_CASE("function_prm's record stays bounded however many calls are made", "[toy][scripted]") {
  toy::function_prm prm{[](const trajectory&) { return 0.5; }};
  trajectory_tree tree("Q");
  const trajectory item[1] = {tree.root()};
  double score[1];
  const std::size_t limit = decltype(prm)::recorded_calls_limit;
  for (std::size_t i = 0; i < limit + 100; ++i) prm.score_steps(item, score);
  CHECK(prm.batch_sizes.size() == limit);
  CHECK(prm.calls == limit + 100);
}

TEST_CASE("function_prm / function_orm with concurrent_calls run on two threads", "[toy][scripted]") {
  auto path_score = [](const trajectory& t) { return static_cast<double>(t.path_hash() % 100) / 100.0; };
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<toy::function_orm<decltype(path_score)>>);
  STATIC_REQUIRE(enable_concurrent_calls<toy::function_orm<decltype(path_score), concurrent_calls_t>>);

  auto gen = generator_from(
      [](const trajectory& p, random_engine& e) {
        const bool done = p.depth() >= 2 || e() % 2 == 0;
        return step{.text = done ? " \\boxed{" + std::to_string(p.depth()) + "}" : " x", .tokens = 1, .finished = done};
      },
      concurrent_calls);
  toy::function_orm orm{path_score, concurrent_calls};
  toy::function_prm prm{path_score, concurrent_calls};
  const best_of_n_options options{.n = 32, .exec = {.batch_size = 4, .threads = 2}};
  std::mt19937_64 rng(3);
  const auto r = best_of_n(gen, orm, "Q", options, rng);
  CHECK(orm.calls == 8);
  CHECK(orm.batch_sizes == std::vector<std::size_t>(8, 4));
  CHECK(r.spent.verifier_calls == 8);
  const auto s = best_of_n(gen, prm, "Q", options, rng);
  CHECK(prm.calls == s.spent.verifier_calls);

  toy::function_orm serial{path_score};
  CHECK_THROWS_AS(best_of_n(gen, serial, "Q", options, rng), invalid_argument);
  CHECK(serial.calls == 0);
}
