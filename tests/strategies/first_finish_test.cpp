#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// Sample i (root extension order) follows script i: lengths 3, 1 and 2 steps.
std::vector<toy::script> uneven_scripts() {
  return {{toy::scripted_step("a b"), toy::scripted_step("c"), toy::scripted_step("\\boxed{3}", true)},
          {toy::scripted_step("x \\boxed{1}", true)},
          {toy::scripted_step("p q r"), toy::scripted_step("\\boxed{2}", true)}};
}

// Threads-mode generator with no timing: the first caller finishes at once
// (5 tokens); every other call blocks until stop is requested and returns a
// partial, unfinished step of 2 tokens (what it "generated" before cancelling).
struct race_generator {
  static constexpr bool thread_safe = true;
  std::mutex mutex;
  std::condition_variable_any stopped;
  bool winner_taken = false;
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) {
    extend(p, e, out, std::stop_token{});
  }
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out, std::stop_token stop) {
    std::unique_lock lock(mutex);
    if (!winner_taken) {
      winner_taken = true;
      out[0] = step{"done \\boxed{7}", 5, 0.0, true, 0};
      return;
    }
    stopped.wait(lock, stop, [] { return false; });  // returns once stop is requested
    out[0] = step{"partial", 2, 0.0, false, 0};
  }
};
static_assert(stoppable_generator<race_generator>);

struct ten_token_generator {  // never finishes
  static constexpr bool thread_safe = true;
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) const {
    out[0] = step{"t", 10, 0.0, false, 0};
  }
};
struct throwing_safe_generator {
  static constexpr bool thread_safe = true;
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step>) const {
    throw std::runtime_error("engine died");
  }
};
}  // namespace

TEST_CASE("first-finish (lockstep) returns the shortest and charges only generated tokens", "[first_finish]") {
  toy::scripted_generator gen(uneven_scripts());
  search_trace trace;
  std::mt19937_64 rng(1);
  const auto r = first_finish(gen, "Q", first_finish_options{.n = 3, .trace = &trace}, rng);
  REQUIRE(r.has_choice());
  CHECK(r.answer == "1");
  CHECK(r.stopped == stop_reason::first_finished);
  CHECK(r.candidates.size() == 1);
  // One round of 3 first steps: "a b" (2) + "x \boxed{1}" (2) + "p q r" (3).
  CHECK(gen.batch_sizes == std::vector<std::size_t>{3});
  CHECK(r.spent.tokens == 7);
  CHECK(r.spent.steps == 3);
  CHECK(r.spent.samples == 3);
  CHECK(trace.count(trace_status::pruned) == 2);  // the two cancelled samples
}

TEST_CASE("first-finish: same-round ties go to fewer tokens, then the lower index; first k then vote",
          "[first_finish]") {
  std::mt19937_64 rng(1);
  SECTION("fewer tokens first") {
    toy::scripted_generator gen({{toy::scripted_step("long long long \\boxed{1}", true)},
                                 {toy::scripted_step("short \\boxed{2}", true)}});
    const auto r = first_finish(gen, "Q", first_finish_options{.n = 2}, rng);
    CHECK(r.answer == "2");
  }
  SECTION("equal tokens: lower index") {
    toy::scripted_generator gen({{toy::scripted_step("a \\boxed{1}", true)}, {toy::scripted_step("b \\boxed{2}", true)}});
    const auto r = first_finish(gen, "Q", first_finish_options{.n = 2}, rng);
    CHECK(r.answer == "1");
  }
  SECTION("first k = 3 finish, then majority") {
    // Finish order: sample 1 (round 1), samples 2 and 3 (round 2), sample 0 never within k.
    toy::scripted_generator gen({{toy::scripted_step("a"), toy::scripted_step("b"), toy::scripted_step("\\boxed{9}", true)},
                                 {toy::scripted_step("\\boxed{4}", true)},
                                 {toy::scripted_step("c"), toy::scripted_step("\\boxed{5}", true)},
                                 {toy::scripted_step("d"), toy::scripted_step("\\boxed{5}", true)}});
    const auto r = first_finish(gen, "Q", first_finish_options{.n = 4, .k = 3}, rng);
    CHECK(r.candidates.size() == 3);
    CHECK(r.answer == "5");
    CHECK(gen.batch_sizes == std::vector<std::size_t>{4, 3});
    CHECK(r.stopped == stop_reason::first_finished);
  }
  SECTION("select::best picks the first finisher") {
    toy::scripted_generator gen(uneven_scripts());
    const auto r = first_finish(gen, "Q", first_finish_options<select::best_t>{.n = 3, .k = 3}, rng);
    CHECK(r.answer == "1");
    CHECK(r.stopped == stop_reason::first_finished);
  }
}

TEST_CASE("first-finish (threads) cancels the others cooperatively and charges what they generated",
          "[first_finish][threads]") {
  race_generator gen;
  std::mt19937_64 rng(1);
  const auto r = first_finish(gen, "Q", first_finish_options{.n = 6, .mode = first_finish_mode::threads}, rng);
  REQUIRE(r.has_choice());
  CHECK(r.answer == "7");
  CHECK(r.stopped == stop_reason::first_finished);
  REQUIRE(r.spent.generator_calls >= 1);
  // The winner's 5 tokens plus 2 for each cancelled call that had started.
  CHECK(r.spent.tokens == 5 + 2 * (r.spent.generator_calls - 1));
  CHECK(r.spent.steps == r.spent.generator_calls);
  CHECK(r.spent.samples == 6);
  std::uint64_t tree_tokens = 0;
  for (node_id id = 1; id < r.tree->size(); ++id) tree_tokens += r.tree->at(id).last_step().tokens;
  CHECK(tree_tokens == r.spent.tokens);
}

TEST_CASE("first-finish (threads) with the toy world picks one of the lockstep completions", "[first_finish][threads]") {
  const auto problems = toy::make_problems({.count = 2, .min_level = 3, .max_level = 3, .seed = 3});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    std::mt19937_64 a(5), b(5);
    const auto lock = first_finish(gen, p.prompt(), first_finish_options{.n = 8, .k = 8}, a);
    const auto threaded = first_finish(gen, p.prompt(), first_finish_options{.n = 8, .mode = first_finish_mode::threads}, b);
    REQUIRE(threaded.has_choice());
    bool found = false;
    for (const auto& c : lock.candidates) found |= c.path.text() == threaded.chosen().path.text();
    CHECK(found);
  }
}

TEST_CASE("first-finish determinism, budgets and bad input", "[first_finish][determinism][errors]") {
  const auto problems = toy::make_problems({.count = 3, .min_level = 4, .max_level = 5, .seed = 6});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    std::vector<std::string> texts;
    for (execution exec : {execution{}, execution{.batch_size = 3, .threads = 2}}) {
      std::mt19937_64 rng(4);
      const auto r = first_finish(gen, p.prompt(), first_finish_options{.n = 12, .k = 3, .exec = exec}, rng);
      texts.push_back(r.has_choice() ? r.chosen().path.text() : "");
    }
    CHECK(texts[0] == texts[1]);
  }
  std::mt19937_64 rng(1);
  toy::scripted_generator gen(uneven_scripts());
  CHECK_THROWS_AS(first_finish(gen, "Q", first_finish_options{.n = 0}, rng), invalid_argument);
  CHECK_THROWS_WITH(first_finish(gen, "Q", first_finish_options{.n = 2, .k = 3}, rng), Catch::Contains("got 3"));
  CHECK_THROWS_AS(first_finish(gen, "Q", first_finish_options{.max_steps = 0}, rng), invalid_argument);
  // scripted_generator is not thread-safe: threads mode refuses it.
  CHECK_THROWS_WITH(first_finish(gen, "Q", first_finish_options{.mode = first_finish_mode::threads}, rng),
                    Catch::Contains("thread-safe"));
  // Never finishes: stops at max_steps with no candidate.
  toy::scripted_generator endless({{toy::scripted_step("again")}});
  const auto r = first_finish(endless, "Q", first_finish_options{.n = 2, .max_steps = 4}, rng);
  CHECK(r.stopped == stop_reason::depth_limit);
  CHECK(r.spent.generator_calls == 4);
  // Token budget in threads mode is checked before every step.
  ten_token_generator never;
  const auto capped = first_finish(never, "Q",
                                   first_finish_options{.n = 3, .mode = first_finish_mode::threads, .budget = {.max_tokens = 55}}, rng);
  CHECK(capped.stopped == stop_reason::token_limit);
  CHECK(capped.spent.tokens >= 55);
  CHECK(capped.spent.tokens <= 55 + 3 * 10);  // at most one step per thread past the limit
  // A throwing generator in threads mode.
  throwing_safe_generator broken;
  CHECK_THROWS_WITH(first_finish(broken, "Q", first_finish_options{.n = 2, .mode = first_finish_mode::threads}, rng),
                    Catch::Contains("engine died"));
}
