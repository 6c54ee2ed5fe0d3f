#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>

using namespace ttscale;

namespace {
// Three completions: answers 1 (2 steps), 2 (1 step), 3 (3 steps). Token counts by word.
std::vector<toy::script> scripts() {
  return {
      {toy::scripted_step("one two", false), toy::scripted_step("\\boxed{1}", true)},
      {toy::scripted_step("\\boxed{2}", true)},
      {toy::scripted_step("a", false), toy::scripted_step("b", false), toy::scripted_step("\\boxed{3}", true)},
  };
}
double answer_score(const trajectory& t) {  // ORM: prefers answer 2, then 3, then 1
  const auto a = boxed_answer{}(t);
  return a == "2" ? 0.9 : a == "3" ? 0.5 : 0.1;
}
}  // namespace

TEST_CASE("best_of_n with an ORM returns the best-scored completion", "[best_of_n]") {
  toy::scripted_generator gen(scripts());
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 3}, rng);
  REQUIRE(r.has_choice());
  CHECK(r.answer == "2");
  CHECK(r.chosen_index == 1u);
  REQUIRE(r.candidates.size() == 3);
  CHECK(r.candidates[0].score == 0.1);
  CHECK(r.candidates[2].answer == "3");
  CHECK(r.stopped == stop_reason::completed);
  // Exact accounting: rounds of 3, 2 and 1 live candidates; tokens 2+1 | 1 | 1+1+1.
  CHECK(gen.batch_sizes == std::vector<std::size_t>{3, 2, 1});
  CHECK(r.spent.generator_calls == 3);
  CHECK(r.spent.steps == 6);
  CHECK(r.spent.tokens == 7);
  CHECK(r.spent.samples == 3);
  CHECK(orm.batch_sizes == std::vector<std::size_t>{3});  // one batched ORM call
  CHECK(r.spent.verifier_calls == 1);
  CHECK(r.spent.verifier_items == 3);
  CHECK(r.chosen().path.text() == "Q\\boxed{2}");
}

TEST_CASE("best_of_n ties go to the lowest candidate index", "[best_of_n]") {
  toy::scripted_generator gen(scripts());
  toy::function_orm flat{[](const trajectory&) { return 0.5; }};
  std::mt19937_64 rng(1);
  CHECK(best_of_n(gen, flat, "Q", best_of_n_options{.n = 3}, rng).chosen_index == 0u);
}

TEST_CASE("best_of_n with a PRM scores every round once and aggregates", "[best_of_n]") {
  // Step score = 0.2 for a step containing "a" or "one", else 0.8.
  auto step_score = [](const trajectory& t) {
    const std::string_view s = t.last_step().text;
    return s.find('a') != std::string::npos || s.find("one") != std::string::npos ? 0.2 : 0.8;
  };
  std::mt19937_64 rng(1);
  SECTION("last") {
    toy::scripted_generator gen(scripts());
    toy::function_prm prm{step_score};
    const auto r = best_of_n(gen, prm, "Q", best_of_n_options{.n = 3}, rng);
    CHECK(prm.batch_sizes == std::vector<std::size_t>{3, 2, 1});  // once per round, all live candidates
    CHECK(r.candidates[0].score == 0.8);
    CHECK(r.candidates[2].score == 0.8);
    CHECK(r.chosen_index == 0u);  // all last scores tie at 0.8: lowest index
    CHECK(r.spent.verifier_calls == 3);
    CHECK(r.spent.verifier_items == 6);
  }
  SECTION("min") {
    toy::scripted_generator gen(scripts());
    toy::function_prm prm{step_score};
    const auto r = best_of_n(gen, prm, "Q", best_of_n_options{.n = 3, .aggregate = aggregate::min}, rng);
    CHECK(r.candidates[0].score == 0.2);
    CHECK(r.candidates[1].score == 0.8);
    CHECK(r.answer == "2");
  }
  SECTION("mean") {
    toy::scripted_generator gen(scripts());
    toy::function_prm prm{step_score};
    const auto r = best_of_n(gen, prm, "Q", best_of_n_options{.n = 3, .aggregate = aggregate::mean}, rng);
    CHECK(r.candidates[2].score == Approx((0.2 + 0.8 + 0.8) / 3));
  }
}

// Mean log-odds of the step scores: a user's aggregator that is NaN for a
// path with a step scored 1 and another scored 0 (+inf + -inf).
struct mean_log_odds {
  double operator()(std::span<const double> s) const {
    double sum = 0.0;
    for (double x : s) sum += std::log(x / (1.0 - x));
    return sum / static_cast<double>(s.size());
  }
};

TEST_CASE("best_of_n with a PRM rejects a NaN aggregate as step search does", "[best_of_n][errors]") {
  // Candidate 0's steps score 1 and 0 (NaN aggregate); the others score 0.5.
  auto step_score = [](const trajectory& t) {
    const std::string_view s = t.last_step().text;
    return s == "one two" ? 1.0 : s == "\\boxed{1}" ? 0.0 : 0.5;
  };
  toy::scripted_generator gen(scripts());
  toy::function_prm prm{step_score};
  std::mt19937_64 rng(1);
  try {
    (void)best_of_n(gen, prm, "Q", best_of_n_options<select::best_t, mean_log_odds>{.n = 3}, rng);
    FAIL("expected invalid_argument");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()) == "best_of_n: the step aggregator returned NaN for candidate 0");
    REQUIRE(e.spent() != nullptr);  // the work paid for is reported
    CHECK(e.spent()->generator_calls == 3);
    CHECK(e.spent()->verifier_calls == 3);
    CHECK(e.spent()->verifier_items == 6);
    CHECK(e.spent()->samples == 3);
  }
}

TEST_CASE("best-of-N weighted picks the answer with the largest summed score", "[best_of_n]") {
  // Scripts cycle, so the answers are 1, 2, 3, 1, 2: totals "1" 0.2, "2" 1.8, "3" 0.5.
  toy::scripted_generator gen(scripts());
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 5, .selection = select::weighted_majority}, rng);
  CHECK(r.answer == "2");
  REQUIRE(r.totals.size() == 3);
  CHECK(r.totals[0].answer == "1");
  CHECK(r.totals[0].total == Approx(0.2));  // candidates 0 and 3 ("1"), candidate 4 is "2"
  CHECK(r.totals[0].count == 2);
}

TEST_CASE("best_of_n rejects bad input with clear errors", "[best_of_n][errors]") {
  toy::scripted_generator gen(scripts());
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(best_of_n(gen, orm, "Q", best_of_n_options{.n = 0}, rng),
                    "best_of_n: options.n must be at least 1 (got 0)");
  CHECK_THROWS_AS(best_of_n(gen, orm, "Q", best_of_n_options{.max_steps = 0}, rng), invalid_argument);
  CHECK_THROWS_AS(best_of_n(gen, orm, "Q", best_of_n_options{.budget = {.max_tokens = 0}}, rng), budget_exhausted);
  toy::function_orm nan_orm{[](const trajectory&) { return std::numeric_limits<double>::quiet_NaN(); }};
  CHECK_THROWS_AS(best_of_n(gen, nan_orm, "Q", best_of_n_options{.n = 2}, rng), invalid_score);
  toy::function_orm inf_orm{[](const trajectory&) { return std::numeric_limits<double>::infinity(); }};
  CHECK_THROWS_WITH(best_of_n(gen, inf_orm, "Q", best_of_n_options{.n = 2}, rng), Catch::Contains("inf"));
  toy::function_prm throwing_prm{[](const trajectory&) -> double { throw std::runtime_error("PRM OOM"); }};
  CHECK_THROWS_AS(best_of_n(gen, throwing_prm, "Q", best_of_n_options{.n = 2}, rng), verifier_failure);
}

TEST_CASE("a generator that never finishes stops at max_steps with no choice", "[best_of_n]") {
  toy::scripted_generator gen({{toy::scripted_step("again", false)}});
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 2, .max_steps = 5}, rng);
  CHECK_FALSE(r.has_choice());
  CHECK(r.stopped == stop_reason::depth_limit);
  CHECK(r.spent.steps == 10);
  CHECK(r.spent.verifier_calls == 0);  // nothing finished, nothing to score
  CHECK_THROWS_AS(r.chosen(), no_candidate);
}

TEST_CASE("budgets stop best_of_n at the limit with exact accounting", "[best_of_n][budget]") {
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  SECTION("tokens: checked before each round") {
    toy::scripted_generator gen(scripts());
    const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 3, .budget = {.max_tokens = 4}}, rng);
    // Round 1 spends 4 tokens (2+1+1); the limit then stops round 2. Only answer 2 finished.
    CHECK(r.spent.tokens == 4);
    CHECK(r.stopped == stop_reason::token_limit);
    CHECK(r.answer == "2");
    CHECK(r.candidates.size() == 3);
    CHECK_FALSE(r.candidates[0].finished());
  }
  SECTION("samples") {
    toy::scripted_generator gen(scripts());
    const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 3, .budget = {.max_samples = 2}}, rng);
    CHECK(r.candidates.size() == 2);
    CHECK(r.spent.samples == 2);
    CHECK(r.stopped == stop_reason::sample_limit);
    CHECK(r.answer == "2");
  }
  SECTION("generator calls") {
    toy::scripted_generator gen(scripts());
    const auto r = best_of_n(gen, orm, "Q", best_of_n_options{.n = 3, .budget = {.max_generator_calls = 2}}, rng);
    CHECK(r.spent.generator_calls == 2);
    CHECK(r.stopped == stop_reason::generator_call_limit);
  }
  SECTION("verifier calls") {
    toy::scripted_generator gen(scripts());
    toy::function_prm prm{[](const trajectory&) { return 0.5; }};
    const auto r = best_of_n(gen, prm, "Q", best_of_n_options{.n = 3, .budget = {.max_verifier_calls = 1}}, rng);
    CHECK(r.spent.verifier_calls == 1);
    CHECK(r.stopped == stop_reason::verifier_call_limit);
  }
}

TEST_CASE("a throwing generator propagates with context and partial accounting", "[best_of_n][errors]") {
  struct flaky {
    int calls = 0;
    void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) {
      if (++calls == 2) throw std::runtime_error("CUDA error");
      for (step& s : out) s = step{"x", 3, 0, false, 0};
    }
  } gen;
  toy::function_orm orm{answer_score};
  std::mt19937_64 rng(1);
  try {
    (void)best_of_n(gen, orm, "Q", best_of_n_options{.n = 4}, rng);
    FAIL("no exception");
  } catch (const generator_failure& e) {
    CHECK_THAT(e.what(), Catch::Contains("best_of_n") && Catch::Contains("CUDA error"));
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->tokens == 12);
    CHECK(e.spent()->samples == 4);
  }
}

TEST_CASE("best_of_n is deterministic across seeds, batch sizes and threads", "[best_of_n][determinism]") {
  const auto problems = toy::make_problems({.count = 3, .min_level = 3, .max_level = 5, .seed = 7});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = 0.85, .seed = 3});
    auto run = [&](execution exec) {
      std::mt19937_64 rng(2024);
      return best_of_n(gen, prm, p.prompt(), best_of_n_options{.n = 24, .exec = exec}, rng);
    };
    const auto reference = run({});
    for (execution exec : {execution{.batch_size = 5}, execution{.batch_size = 5, .threads = 2},
                           execution{.batch_size = 1, .threads = 2}}) {
      const auto other = run(exec);
      CHECK(other.chosen_index == reference.chosen_index);
      CHECK(other.answer == reference.answer);
      CHECK(other.spent.tokens == reference.spent.tokens);
      REQUIRE(other.candidates.size() == reference.candidates.size());
      for (std::size_t i = 0; i < other.candidates.size(); ++i) {
        CHECK(other.candidates[i].path.text() == reference.candidates[i].path.text());
        CHECK(other.candidates[i].score == reference.candidates[i].score);
      }
    }
    // Candidate i is the same sample whatever N (common random numbers).
    std::mt19937_64 rng(2024);
    const auto small = best_of_n(gen, prm, p.prompt(), best_of_n_options{.n = 4}, rng);
    for (std::size_t i = 0; i < 4; ++i) CHECK(small.candidates[i].path.text() == reference.candidates[i].path.text());
  }
}

TEST_CASE("best-of-N with the exact verifier reaches pass@N on the toy world", "[best_of_n][statistical]") {
  // With a perfect verifier best-of-N is right exactly when some sample is right.
  const auto problems = toy::make_problems({.count = 40, .seed = 11});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::exact_verifier exact(p);
    std::mt19937_64 rng(p.id);
    const auto r = best_of_n(gen, exact, p.prompt(), best_of_n_options{.n = 8}, rng);
    bool any = false;
    for (const auto& c : r.candidates) any = any || toy::is_correct(p, c.path);
    CHECK((r.answer == std::to_string(p.answer())) == any);
  }
}

TEST_CASE("best-of-N with a good ORM beats one sample on the toy world", "[best_of_n][statistical]") {
  // 200 problems, single-sample accuracy p1 ~ 0.5. Each accuracy estimate has standard error
  // <= sqrt(0.25/200) = 0.035, so the difference of two has s.e. <= 0.05; the toy world's
  // design gives best-of-8 with AUC 0.95 about 0.8 (see examples/quickstart), far beyond
  // the 4-sigma margin of 0.2 required here.
  const auto problems = toy::make_problems({.count = 200, .seed = 5});
  int single = 0, best = 0;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_orm orm(p, {.auc = 0.95, .seed = 1});
    std::mt19937_64 rng(p.id);
    const auto r = best_of_n(gen, orm, p.prompt(), best_of_n_options{.n = 8}, rng);
    single += toy::is_correct(p, r.candidates[0].path);
    best += r.answer == std::to_string(p.answer());
  }
  CHECK(best - single > 0.2 * 200);
}
