#include <ttscale/generator.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

using namespace ttscale;

namespace {
struct counting_generator {  // each step: 2 tokens; finishes at depth 3
  int calls = 0;
  void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) {
    ++calls;
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = step{"t", 2, -0.5, p[i].depth() + 1 >= 3, 7};
  }
};
struct safe_generator {
  static constexpr bool thread_safe = true;
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step>) const {}
};
}  // namespace

TEST_CASE("generator concepts and the concurrency opt-in", "[generator]") {
  STATIC_REQUIRE(generator<counting_generator>);
  STATIC_REQUIRE(generator<toy::scripted_generator>);
  STATIC_REQUIRE_FALSE(generator<int>);
  STATIC_REQUIRE_FALSE(enable_concurrent_calls<counting_generator>);
  STATIC_REQUIRE(enable_concurrent_calls<safe_generator>);
  STATIC_REQUIRE(generator<completion_sampler<counting_generator>>);
}

TEST_CASE("extend_and_account charges one call, one step per item and the tokens", "[generator]") {
  counting_generator g;
  trajectory_tree tree("P");
  std::vector<trajectory> p(3, tree.root());
  std::vector<random_engine> e(3);
  std::vector<step> out(3);
  const accounting a = extend_and_account(g, p, e, out);
  CHECK(a.generator_calls == 1);
  CHECK(a.steps == 3);
  CHECK(a.tokens == 6);
}

TEST_CASE("as_completion_sampler runs a stepper to the end in lockstep", "[generator]") {
  counting_generator stepper;
  auto sampler = as_completion_sampler(stepper, 10);
  trajectory_tree tree("P");
  const trajectory one = tree.append(0, step{"t", 2, -0.5, false, 7});
  std::vector<trajectory> p{tree.root(), one};
  std::vector<random_engine> e(2);
  std::vector<step> out(2);
  const accounting a = sampler.extend(p, e, out);
  // The root needs 3 steps, `one` needs 2: 3 rounds, 5 inner steps of 2 tokens.
  CHECK(stepper.calls == 3);
  CHECK(a.generator_calls == 3);
  CHECK(a.steps == 5);
  CHECK(a.tokens == 10);
  CHECK(out[0].text == "ttt");
  CHECK(out[0].tokens == 6);
  CHECK(out[0].logprob == Approx(-1.5));
  CHECK(out[0].finished);
  CHECK(out[0].engine_state == 7);
  CHECK(out[1].text == "tt");
  CHECK(out[1].finished);
  CHECK(tree.size() == 2);  // the caller's tree is untouched
}

TEST_CASE("as_completion_sampler stops at max_steps with an unfinished step", "[generator]") {
  counting_generator stepper;
  auto sampler = as_completion_sampler(stepper, 2);
  trajectory_tree tree("P");
  std::vector<trajectory> p{tree.root()};
  std::vector<random_engine> e(1);
  std::vector<step> out(1);
  (void)sampler.extend(p, e, out);
  CHECK_FALSE(out[0].finished);
  CHECK(out[0].tokens == 4);
  CHECK_THROWS_AS(as_completion_sampler(stepper, 0), invalid_argument);
}
