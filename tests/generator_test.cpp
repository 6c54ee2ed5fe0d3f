#include <ttscale/generator.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <stop_token>
#include <string>
#include <vector>

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

TEST_CASE("extend_and_account resets every slot: nothing of an earlier step reaches the next call", "[generator]") {
  // A generator that sets only the tokens (and, for item 1, the text) gets
  // empty steps around them, not what the reused slots held before.
  struct tokens_only {
    void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
      for (std::size_t i = 0; i < p.size(); ++i) out[i].tokens = static_cast<std::uint32_t>(i + 1);
      out[1].text += "new";
    }
  };
  trajectory_tree tree("P");
  std::vector<trajectory> p(3, tree.root());
  std::vector<random_engine> e(3);
  std::vector<step> out(3, step{"stale text longer than the small-string buffer", 9, -2.5, true, 42});
  const char* capacity_before = out[1].text.data();
  tokens_only g;
  const accounting a = extend_and_account(g, p, e, out);
  CHECK(a.tokens == 6);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("out[" << i << "]");
    CHECK(out[i].text == (i == 1 ? "new" : ""));
    CHECK(out[i].tokens == i + 1);
    CHECK(out[i].logprob == 0.0);
    CHECK_FALSE(out[i].finished);
    CHECK(out[i].engine_state == 0);
  }
  CHECK(out[1].text.data() == capacity_before);  // cleared, not freed: the generator reuses the buffer
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

namespace {
// Writes every slot except those in `skip`; `stall` slots get an empty unfinished step.
struct leaky_generator {
  std::vector<std::size_t> skip, stall;
  void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (std::find(skip.begin(), skip.end(), i) != skip.end()) continue;
      if (std::find(stall.begin(), stall.end(), i) != stall.end()) {
        out[i] = step{};
        continue;
      }
      out[i] = step{"t", 1, 0.0, true, 0};
    }
  }
};
// Sets text and finished only, never tokens: counts as unwritten.
struct tokenless_generator {
  void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      out[i].text = "t";
      out[i].finished = true;
    }
  }
};
// Stoppable: when stop is requested before the call it writes nothing.
struct lazy_stoppable_generator {
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) const {
    extend(p, e, out, std::stop_token{});
  }
  void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out,
              std::stop_token stop) const {
    if (stop.stop_requested()) return;
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = step{"t", 1, 0.0, false, 0};
  }
};
}  // namespace

TEST_CASE("a slot the generator leaves unwritten is an error naming it", "[generator][errors]") {
  trajectory_tree tree("P");
  std::vector<trajectory> p(4, tree.root());
  std::vector<random_engine> e(4);
  std::vector<step> out(4);
  leaky_generator one_missing{.skip = {1}, .stall = {}};
  CHECK_THROWS_WITH(extend_and_account(one_missing, p, e, out),
                    Catch::Contains("left out[1] of 4 unwritten"));
  leaky_generator none_written{.skip = {0, 1, 2, 3}, .stall = {}};
  CHECK_THROWS_WITH(extend_and_account(none_written, p, e, out),
                    Catch::Contains("out[0], out[1], out[2], out[3] of 4 unwritten"));
  tokenless_generator tokenless;
  CHECK_THROWS_WITH(extend_and_account(tokenless, p, e, out), Catch::Contains("never set their tokens"));
  // Through a strategy's context: generator_failure with the accounting.
  search_context ctx("test", "P", budget{}, execution{}, 1);
  const stream_key keys[4] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}};
  const std::vector<trajectory> own(4, ctx.root());
  try {
    (void)ctx.extend(one_missing, own, keys);
    FAIL("an unwritten slot was accepted");
  } catch (const generator_failure& f) {
    CHECK(std::string(f.what()).find("out[1] of 4 unwritten") != std::string::npos);
    REQUIRE(f.spent() != nullptr);
    CHECK(f.spent()->generator_calls == 1);
  }
}

TEST_CASE("an empty unfinished step is no progress; an empty finished step is legal", "[generator][errors]") {
  trajectory_tree tree("P");
  std::vector<trajectory> p(3, tree.root());
  std::vector<random_engine> e(3);
  std::vector<step> out(3);
  leaky_generator stalls{.skip = {}, .stall = {2}};
  CHECK_THROWS_WITH(extend_and_account(stalls, p, e, out),
                    Catch::Contains("empty unfinished step (no text, 0 tokens) for out[2] of 3"));
  struct end_marker {
    void extend(std::span<const trajectory> q, std::span<random_engine>, std::span<step> o) const {
      for (std::size_t i = 0; i < q.size(); ++i) o[i] = step{"", 0, 0.0, true, 0};
    }
  } marker;
  const accounting a = extend_and_account(marker, p, e, out);
  CHECK(a.tokens == 0);
  CHECK(out[0].finished);
}

TEST_CASE("a cancelled stoppable call may leave slots unwritten: they become empty steps", "[generator]") {
  trajectory_tree tree("P");
  std::vector<trajectory> p(2, tree.root());
  std::vector<random_engine> e(2);
  std::vector<step> out(2);
  lazy_stoppable_generator gen;
  std::stop_source stop;
  stop.request_stop();
  const accounting a = extend_and_account(gen, p, e, out, stop.get_token());
  CHECK(a.tokens == 0);
  CHECK(out[0].text.empty());
  CHECK_FALSE(out[0].finished);
  CHECK(out[1].tokens == 0);
  // Not cancelled: the same generator writes every slot.
  const accounting b = extend_and_account(gen, p, e, out);
  CHECK(b.tokens == 2);
}
