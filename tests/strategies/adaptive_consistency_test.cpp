#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
toy::script answer_script(int answer, std::size_t steps = 1) {
  toy::script s;
  for (std::size_t i = 1; i < steps; ++i) s.push_back(toy::scripted_step("think"));
  s.push_back(toy::scripted_step("\\boxed{" + std::to_string(answer) + "}", true));
  return s;
}
}  // namespace

TEST_CASE("regularised incomplete beta for integer arguments matches hand values", "[adaptive_consistency][beta]") {
  using detail::regularized_incomplete_beta;
  // I_x(a, b) = P[Binomial(a + b - 1, x) >= a].
  CHECK(regularized_incomplete_beta(1, 1, 0.5) == Approx(0.5).epsilon(1e-14));
  CHECK(regularized_incomplete_beta(2, 1, 0.5) == Approx(0.25).epsilon(1e-14));   // P[Bin(2,.5) >= 2]
  CHECK(regularized_incomplete_beta(1, 2, 0.5) == Approx(0.75).epsilon(1e-14));   // P[Bin(2,.5) >= 1]
  CHECK(regularized_incomplete_beta(2, 3, 0.3) == Approx(0.3483).epsilon(1e-12)); // 1 - .7^4 - 4(.3)(.7)^3
  CHECK(regularized_incomplete_beta(6, 2, 0.5) == Approx(8.0 / 128.0).epsilon(1e-13));
  CHECK(regularized_incomplete_beta(3, 3, 0.5) == Approx(0.5).epsilon(1e-13));    // symmetry
  CHECK(regularized_incomplete_beta(1, 1, 0.2) == Approx(0.2).epsilon(1e-14));    // I_x(1,1) = x
  CHECK(regularized_incomplete_beta(1, 4, 0.2) == Approx(1 - 0.8 * 0.8 * 0.8 * 0.8).epsilon(1e-14));  // 1-(1-x)^b
  CHECK(regularized_incomplete_beta(4, 1, 0.2) == Approx(0.2 * 0.2 * 0.2 * 0.2).epsilon(1e-14));      // x^a
  // I_x(a, b) + I_{1-x}(b, a) = 1, at a large argument.
  CHECK(regularized_incomplete_beta(300, 200, 0.55) + regularized_incomplete_beta(200, 300, 0.45) ==
        Approx(1.0).epsilon(1e-10));
  CHECK(regularized_incomplete_beta(5, 5, 0.0) == 0.0);
  CHECK(regularized_incomplete_beta(5, 5, 1.0) == 1.0);
  CHECK_THROWS_AS(regularized_incomplete_beta(0, 1, 0.5), invalid_argument);
  CHECK_THROWS_AS(regularized_incomplete_beta(1, 1, 1.5), invalid_argument);
  // The stopping probability: P = 1 - I_0.5(v1 + 1, v2 + 1).
  CHECK(detail::beta_majority_probability(5, 1) == Approx(1 - 8.0 / 128.0));
  CHECK(detail::beta_majority_probability(3, 0) == Approx(1 - 1.0 / 16.0));
}

TEST_CASE("adaptive self-consistency stops at the first batch where the rule holds", "[adaptive_consistency]") {
  // Samples in order answer 1, 2, 1, 1, 1, 1, 2, ...
  // Batch 1 (2 samples): v = (1, 1), P = 0.5.  Batch 2 (4 more): v = (5, 1), P = 1 - 8/128 = 0.9375 >= 0.9.
  toy::scripted_generator gen({answer_script(1), answer_script(2), answer_script(1), answer_script(1),
                               answer_script(1), answer_script(1), answer_script(2)});
  std::mt19937_64 rng(1);
  const auto r = adaptive_consistency(
      gen, "Q", adaptive_consistency_options{.initial_batch = 2, .max_samples = 100, .rule = beta_rule{.confidence = 0.9}}, rng);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{2, 4});
  CHECK(r.stopped == stop_reason::early_stop);
  CHECK(r.answer == "1");
  CHECK(r.spent.samples == 6);
  CHECK(r.candidates.size() == 6);
  REQUIRE(r.totals.size() == 2);
  CHECK(r.totals[0].count == 5);

  SECTION("at confidence 0.95 it needs another batch") {
    toy::scripted_generator g2({answer_script(1), answer_script(2), answer_script(1), answer_script(1),
                                answer_script(1), answer_script(1), answer_script(1)});
    const auto r2 = adaptive_consistency(
        g2, "Q", adaptive_consistency_options{.initial_batch = 2, .max_samples = 100, .rule = beta_rule{.confidence = 0.95}}, rng);
    // Batch 3 has 8 samples (all but one answer 1): v = (12, 2), P > 0.99.
    CHECK(g2.batch_sizes == std::vector<std::size_t>{2, 4, 8});
    CHECK(r2.spent.samples == 14);
  }
}

TEST_CASE("adaptive self-consistency cancels outstanding samples once the rule holds", "[adaptive_consistency]") {
  // Three one-step samples agree; the fourth would take 3 steps.
  toy::scripted_generator gen({answer_script(4), answer_script(4), answer_script(9, 3), answer_script(4)});
  std::mt19937_64 rng(1);
  const auto r = adaptive_consistency(
      gen, "Q",
      adaptive_consistency_options<agreement_rule>{.initial_batch = 4, .rule = agreement_rule{.threshold = 1.0, .min_votes = 3}},
      rng);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{4});  // the 3-step sample was cancelled after round 1
  CHECK(r.stopped == stop_reason::early_stop);
  CHECK(r.candidates.size() == 3);
  CHECK(r.answer == "4");
  CHECK(r.spent.tokens == 4);  // four first steps of one token each
}

TEST_CASE("adaptive self-consistency grows batches up to max_samples", "[adaptive_consistency]") {
  // Answers alternate, so neither rule ever holds.
  toy::scripted_generator gen({answer_script(1), answer_script(2)});
  std::mt19937_64 rng(1);
  const auto r = adaptive_consistency(gen, "Q", adaptive_consistency_options{.initial_batch = 1, .growth = 2.0, .max_samples = 10}, rng);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{1, 2, 4, 3});
  CHECK(r.stopped == stop_reason::completed);
  CHECK(r.spent.samples == 10);
  CHECK(r.candidates.size() == 10);
}

TEST_CASE("adaptive self-consistency: budgets, bad input, determinism", "[adaptive_consistency][errors][determinism]") {
  std::mt19937_64 rng(1);
  toy::scripted_generator gen({answer_script(1), answer_script(2)});
  CHECK_THROWS_AS(adaptive_consistency(gen, "Q", adaptive_consistency_options{.initial_batch = 0}, rng), invalid_argument);
  CHECK_THROWS_WITH(adaptive_consistency(gen, "Q", adaptive_consistency_options{.growth = 0.5}, rng), Catch::Contains("0.5"));
  CHECK_THROWS_AS(adaptive_consistency(gen, "Q", adaptive_consistency_options{.max_samples = 0}, rng), invalid_argument);
  const auto capped = adaptive_consistency(gen, "Q", adaptive_consistency_options{.initial_batch = 4, .budget = {.max_samples = 5}}, rng);
  CHECK(capped.stopped == stop_reason::sample_limit);
  CHECK(capped.spent.samples == 5);
  toy::scripted_generator endless({{toy::scripted_step("hmm")}});
  const auto r = adaptive_consistency(endless, "Q", adaptive_consistency_options{.max_samples = 4, .max_steps = 3}, rng);
  CHECK(r.stopped == stop_reason::depth_limit);

  const auto problems = toy::make_problems({.count = 4, .min_level = 2, .max_level = 5, .seed = 2});
  for (const auto& p : problems) {
    toy::arithmetic_generator toy_gen(p);
    std::vector<std::string> answers;
    std::vector<std::uint64_t> samples;
    for (execution exec : {execution{}, execution{.batch_size = 3, .threads = 2}}) {
      std::mt19937_64 seeded(10);
      const auto res = adaptive_consistency(toy_gen, p.prompt(), adaptive_consistency_options{.exec = exec}, seeded);
      answers.push_back(res.answer.value_or(""));
      samples.push_back(res.spent.samples);
    }
    CHECK(answers[0] == answers[1]);
    CHECK(samples[0] == samples[1]);
  }
}
