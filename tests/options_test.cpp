#include <ttscale/options.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/strategies/particle_gibbs.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <concepts>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// Answers "1", "2", "2" (as \boxed{} and as "answer: n").
std::vector<toy::script> scripts() {
  return {
      {toy::scripted_step("think"), toy::scripted_step("answer: 1 \\boxed{1}", true)},
      {toy::scripted_step("answer: 2 \\boxed{2}", true)},
      {toy::scripted_step("hmm"), toy::scripted_step("answer: 2 \\boxed{2}", true)},
  };
}
// An extractor of a different answer type (int) than the default's (std::string).
struct last_int {
  std::optional<int> operator()(const trajectory& t) const {
    const auto n = extract_last_number(t.completion());
    return n ? std::optional<int>(std::stoi(*n)) : std::nullopt;
  }
};

template <class Options>
void check_retyped(Options options) {
  options.exec.batch_size = 5;
  options.budget.max_tokens = 77;
  const auto retyped = with_extract(options, last_int{});
  STATIC_REQUIRE(std::same_as<std::remove_cvref_t<decltype(retyped.extract)>, last_int>);
  CHECK(retyped.exec.batch_size == 5);
  CHECK(retyped.budget.max_tokens == 77);
  if constexpr (requires { options.aggregate; }) {
    auto sum = [](std::span<const double> s) { return s.empty() ? 0.0 : s[0] + s[s.size() - 1]; };
    const auto summed = with_aggregate(retyped, sum);
    STATIC_REQUIRE(std::same_as<std::remove_cvref_t<decltype(summed.aggregate)>, decltype(sum)>);
    STATIC_REQUIRE(std::same_as<std::remove_cvref_t<decltype(summed.extract)>, last_int>);
    CHECK(summed.exec.batch_size == 5);
  }
}
}  // namespace

TEST_CASE("the error with_extract avoids: a default-constructed options' extractor has its default's type",
          "[options]") {
  auto lambda = [](const trajectory&) { return std::optional<std::string>("x"); };
  // `opts.extract = lambda` does not compile: boxed_answer has no operator= from the lambda.
  STATIC_REQUIRE_FALSE(std::assignable_from<boxed_answer&, decltype(lambda)>);
  STATIC_REQUIRE(std::same_as<decltype(with_extract(vote_options{}, lambda).extract), decltype(lambda)>);
}

TEST_CASE("with_extract gives majority_vote a capturing lambda and keeps the other members", "[options]") {
  const std::string marker = "answer:";
  auto after_marker = [marker](const trajectory& t) -> std::optional<int> {
    const std::string text = t.completion();
    const auto at = text.rfind(marker);
    if (at == std::string::npos) return std::nullopt;
    return std::stoi(text.substr(at + marker.size()));
  };
  vote_options opts;
  opts.n = 3;
  opts.max_steps = 5;
  opts.exec.batch_size = 2;
  const auto retyped = with_extract(opts, after_marker);
  CHECK(retyped.n == 3);
  CHECK(retyped.max_steps == 5);
  CHECK(retyped.exec.batch_size == 2);

  toy::scripted_generator gen(scripts());
  std::mt19937_64 rng(1);
  const auto r = majority_vote(gen, "Q", retyped, rng);
  STATIC_REQUIRE(std::same_as<decltype(r.answer), std::optional<int>>);
  CHECK(r.answer == 2);
  CHECK(r.spent.samples == 3);
  CHECK(gen.batch_sizes == std::vector<std::size_t>{2, 1, 2});  // batch_size 2 kept: rounds of 3 and 2 live

  // The same result as designated initialisers, which deduce the type.
  toy::scripted_generator gen2(scripts());
  std::mt19937_64 rng2(1);
  const auto d = majority_vote(gen2, "Q", vote_options{.n = 3, .max_steps = 5, .extract = after_marker,
                                                       .exec = {.batch_size = 2}}, rng2);
  CHECK(d.answer == r.answer);
  CHECK(d.totals.size() == r.totals.size());
}

TEST_CASE("with_extract and with_aggregate work with best_of_n", "[options]") {
  best_of_n_options opts;
  opts.n = 3;
  opts.budget.max_samples = 3;
  auto orm = toy::function_orm{[](const trajectory& t) { return last_int{}(t) == 1 ? 0.9 : 0.2; }};
  toy::scripted_generator gen(scripts());
  std::mt19937_64 rng(1);
  const auto r = best_of_n(gen, orm, "Q", with_extract(opts, last_int{}), rng);
  STATIC_REQUIRE(std::same_as<decltype(r.answer), std::optional<int>>);
  CHECK(r.answer == 1);
  CHECK(r.spent.samples == 3);

  // A step aggregation of its own: the sum of step scores, with a captured weight.
  const double weight = 2.0;
  auto weighted_sum = [weight](std::span<const double> s) {
    double sum = 0.0;
    for (double x : s) sum += weight * x;
    return sum;
  };
  auto prm = toy::function_prm{[](const trajectory&) { return 0.25; }};
  const auto summed = with_aggregate(opts, weighted_sum);
  STATIC_REQUIRE(std::same_as<decltype(summed.aggregate), decltype(weighted_sum)>);
  toy::scripted_generator gen2(scripts());
  const auto s = best_of_n(gen2, prm, "Q", summed, rng);
  REQUIRE(s.candidates.size() == 3);
  CHECK(s.candidates[0].score == 2.0 * 0.25 * 2);  // two steps
  CHECK(s.candidates[1].score == 2.0 * 0.25);      // one step
  CHECK(s.chosen_index == 0u);

  // Both, chained.
  const auto both = with_aggregate(with_extract(opts, last_int{}), weighted_sum);
  STATIC_REQUIRE(std::same_as<std::remove_cvref_t<decltype(both.extract)>, last_int>);
  CHECK(both.n == 3);
  CHECK(both.budget.max_samples == 3);
}

TEST_CASE("with_extract (and with_aggregate) re-type every strategy's options", "[options]") {
  check_retyped(vote_options<>{});
  check_retyped(best_of_n_options<>{});
  check_retyped(beam_search_options<>{});
  check_retyped(dvts_options<>{});
  check_retyped(a_star_options<>{});
  check_retyped(first_finish_options<>{});
  check_retyped(adaptive_consistency_options<>{});
  check_retyped(particle_filter_options<>{});
  check_retyped(entropic_particle_filter_options<>{});
  check_retyped(particle_gibbs_options<>{});
}
