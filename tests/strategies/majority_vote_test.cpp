#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <span>
#include <string>

using namespace ttscale;

namespace {
std::vector<toy::script> scripts() {  // answers by candidate: 7, 5, 5, 7, 7, no answer (cycling)
  return {
      {toy::scripted_step("\\boxed{7}", true)},
      {toy::scripted_step("x", false), toy::scripted_step("\\boxed{5}", true)},
      {toy::scripted_step("\\boxed{5}", true)},
      {toy::scripted_step("\\boxed{7}", true)},
      {toy::scripted_step("y", false), toy::scripted_step("\\boxed{7}", true)},
      {toy::scripted_step("I give up.", true)},
  };
}
}  // namespace

TEST_CASE("majority_vote returns the most frequent answer", "[majority_vote]") {
  toy::scripted_generator gen(scripts());
  std::mt19937_64 rng(1);
  const auto r = majority_vote(gen, "Q", vote_options{.n = 6}, rng);
  CHECK(r.answer == "7");
  CHECK(r.chosen_index == 0u);
  REQUIRE(r.totals.size() == 2);
  CHECK(r.totals[0].total == 3);
  CHECK(r.totals[1].total == 2);
  CHECK_FALSE(r.candidates[5].answer.has_value());  // abstains
  CHECK(r.spent.verifier_calls == 0);
  CHECK(r.spent.samples == 6);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{6, 2});
}

TEST_CASE("majority_vote ties go to the answer that appeared first", "[majority_vote]") {
  toy::scripted_generator gen(scripts());
  std::mt19937_64 rng(1);
  const auto r = majority_vote(gen, "Q", vote_options{.n = 4}, rng);  // 7, 5, 5, 7
  CHECK(r.answer == "7");
}

TEST_CASE("weighted_majority_vote sums verifier scores per answer", "[majority_vote]") {
  toy::scripted_generator gen(scripts());
  // "5" is rare but trusted: 2 * 0.9 = 1.8 > 3 * 0.3 = 0.9.
  toy::function_orm orm{[](const trajectory& t) { return boxed_answer{}(t) == "5" ? 0.9 : 0.3; }};
  std::mt19937_64 rng(1);
  const auto r = weighted_majority_vote(gen, orm, "Q", vote_options{.n = 6}, rng);
  CHECK(r.answer == "5");
  CHECK(r.chosen_index == 1u);
  CHECK(r.totals[1].total == Approx(1.8));
  CHECK(r.spent.verifier_calls == 1);
}

TEST_CASE("weighted_majority_vote with a PRM aggregates step scores", "[majority_vote]") {
  toy::scripted_generator gen(scripts());
  toy::function_prm prm{[](const trajectory& t) { return t.last_step().text == "x" ? 0.1 : 0.6; }};
  std::mt19937_64 rng(1);
  const auto r = weighted_majority_vote(gen, prm, "Q", vote_options{.n = 6}, rng, aggregate::min);
  // 7: 0.6 + 0.6 + 0.6 = 1.8; 5: min(0.1, 0.6) + 0.6 = 0.7.
  CHECK(r.answer == "7");
  CHECK(r.totals[0].total == Approx(1.8));
  CHECK(r.totals[1].total == Approx(0.7));
}

TEST_CASE("weighted_majority_vote rejects a NaN aggregate with the accounting", "[majority_vote][errors]") {
  toy::scripted_generator gen(scripts());
  toy::function_prm prm{[](const trajectory& t) { return t.last_step().text == "x" ? 0.1 : 0.6; }};
  std::mt19937_64 rng(1);
  // A user's aggregator that is NaN for two-step paths (candidates 1 and 4).
  auto nan_for_two_steps = [](std::span<const double> s) { return s.size() == 2 ? std::nan("") : s.back(); };
  try {
    (void)weighted_majority_vote(gen, prm, "Q", vote_options{.n = 6}, rng, nan_for_two_steps);
    FAIL("expected invalid_argument");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()) == "weighted_majority_vote: the step aggregator returned NaN for candidate 1");
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->verifier_calls == 2);
    CHECK(e.spent()->verifier_items == 8);
  }
}

TEST_CASE("votes reject bad input", "[majority_vote][errors]") {
  toy::scripted_generator gen(scripts());
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(majority_vote(gen, "Q", vote_options{.n = 0}, rng),
                    "majority_vote: options.n must be at least 1 (got 0)");
  CHECK_THROWS_AS(majority_vote(gen, "Q", vote_options{.budget = {.max_generator_calls = 0}}, rng), budget_exhausted);
  toy::function_orm nan_orm{[](const trajectory&) { return std::nan(""); }};
  CHECK_THROWS_AS(weighted_majority_vote(gen, nan_orm, "Q", vote_options{.n = 3}, rng), invalid_score);
}

TEST_CASE("votes are deterministic across batch sizes and threads", "[majority_vote][determinism]") {
  const auto problems = toy::make_problems({.count = 4, .min_level = 4, .max_level = 5, .seed = 3});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_orm orm(p, {.auc = 0.8, .seed = 9});
    auto run = [&](execution exec) {
      std::mt19937_64 rng(77);
      return weighted_majority_vote(gen, orm, p.prompt(), vote_options{.n = 32, .exec = exec}, rng);
    };
    const auto reference = run({});
    const auto other = run({.batch_size = 3, .threads = 2});
    CHECK(other.answer == reference.answer);
    CHECK(other.chosen_index == reference.chosen_index);
    CHECK(other.spent.tokens == reference.spent.tokens);
    REQUIRE(other.totals.size() == reference.totals.size());
    for (std::size_t i = 0; i < other.totals.size(); ++i) CHECK(other.totals[i].total == reference.totals[i].total);
  }
}

TEST_CASE("majority of 16 beats one sample when per-sample accuracy exceeds 1/2", "[majority_vote][statistical]") {
  // Level-1 problems: per-sample accuracy p ~ 0.85 and errors spread over several wrong
  // answers, so the majority of 16 is right with probability >= P[Binomial(16, p) >= 9]
  // ~ 0.999 per problem. Over 150 problems single-sample accuracy has standard error
  // sqrt(p(1-p)/150) ~ 0.03; requiring majority > single + 0.05 leaves a margin of
  // (0.999 - 0.85 - 0.05) / 0.03 > 3 sigma on the single-sample side alone.
  const auto problems = toy::make_problems({.count = 150, .min_level = 1, .max_level = 1, .seed = 21});
  int single = 0, majority = 0;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    std::mt19937_64 rng(p.id);
    const auto r = majority_vote(gen, p.prompt(), vote_options{.n = 16}, rng);
    single += toy::is_correct(p, r.candidates[0].path);
    majority += r.answer == std::to_string(p.answer());
  }
  CHECK(majority > single + 0.05 * 150);
  CHECK(majority >= 0.95 * 150);
}

TEST_CASE("on trap-dominated problems majority locks onto the systematic wrong answer",
          "[majority_vote][statistical]") {
  // Level 5 with the defaults: right ~ 0.15, the trap answer ~ 0.28 per sample (see
  // toy/arithmetic.hpp). With 64 samples the vote favours the trap answer, while
  // coverage (some sample right) is ~ 1 - 0.85^64 ~ 1.
  const auto problems = toy::make_problems({.count = 30, .min_level = 5, .max_level = 5, .seed = 8});
  int majority = 0, covered = 0;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    std::mt19937_64 rng(p.id);
    const auto r = majority_vote(gen, p.prompt(), vote_options{.n = 64}, rng);
    majority += r.answer == std::to_string(p.answer());
    bool any = false;
    for (const auto& c : r.candidates) any = any || toy::is_correct(p, c.path);
    covered += any;
  }
  CHECK(covered >= 28);
  CHECK(majority < covered / 2);
}

TEST_CASE("a result counts abstentions and says when every candidate abstained", "[majority_vote]") {
  std::mt19937_64 rng(1);
  SECTION("some abstain") {
    toy::scripted_generator gen(scripts());  // candidate 5 has no boxed answer
    const auto r = majority_vote(gen, "Q", vote_options{.n = 6}, rng);
    CHECK(r.abstained == 1);
    CHECK(r.finished_count() == 6);
    CHECK_FALSE(r.all_abstained());
  }
  SECTION("all abstain: no choice, and the result says why") {
    toy::scripted_generator gen({{toy::scripted_step("the answer is 7", true)}, {toy::scripted_step("maybe 5", true)}});
    const auto r = majority_vote(gen, "Q", vote_options{.n = 4}, rng);
    CHECK(r.stopped == stop_reason::completed);
    CHECK_FALSE(r.has_choice());
    CHECK(r.abstained == 4);
    CHECK(r.all_abstained());
    CHECK_THROWS_WITH(r.chosen(), Catch::Contains("4 finished, 4 abstained: no answer extracted"));
    // The same completions with an extractor that finds the numbers: nobody abstains.
    toy::scripted_generator again({{toy::scripted_step("the answer is 7", true)}, {toy::scripted_step("maybe 5", true)}});
    const auto numbers = majority_vote(again, "Q", vote_options<last_number>{.n = 4}, rng);
    CHECK(numbers.abstained == 0);
    CHECK(numbers.answer == "7");
  }
  SECTION("unfinished candidates do not count as abstaining") {
    toy::scripted_generator gen({{toy::scripted_step("thinking", false)}});
    const auto r = majority_vote(gen, "Q", vote_options{.n = 2, .max_steps = 3}, rng);
    CHECK(r.stopped == stop_reason::depth_limit);
    CHECK(r.abstained == 0);
    CHECK_FALSE(r.all_abstained());
  }
}
