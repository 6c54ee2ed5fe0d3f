#include <ttscale/selection.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace ttscale;

namespace {
// Candidates over one tree: finished unless stated, answer and score as given.
struct fixture {
  trajectory_tree tree{"P"};
  std::vector<candidate<std::string>> c;
  void add(std::optional<std::string> answer, double score, bool finished = true) {
    const trajectory t = tree.append(0, step{"s", 1, 0, finished, 0});
    c.push_back({t, score, std::move(answer)});
  }
  std::span<const candidate<std::string>> span() const { return c; }
};
constexpr double unscored = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("best picks the highest score, ties to the lowest index", "[selection]") {
  fixture f;
  f.add("a", 0.5);
  f.add("b", 0.9);
  f.add("c", 0.9);
  f.add("d", 0.99, /*finished=*/false);  // unfinished candidates never win
  const auto s = select::best(f.span());
  CHECK(s.index == 1u);
  CHECK(s.answer == "b");
  CHECK(s.totals.empty());
}

TEST_CASE("best skips unscored candidates and rejects infinite scores", "[selection][errors]") {
  fixture f;
  f.add("a", unscored);
  f.add("b", 0.1);
  CHECK(select::best(f.span()).index == 1u);
  f.add("c", inf);
  CHECK_THROWS_AS(select::best(f.span()), invalid_score);
  CHECK_THROWS_WITH(select::best(f.span()), Catch::Contains("candidate 2") && Catch::Contains("inf"));
}

TEST_CASE("no eligible candidate gives no choice, not an error", "[selection]") {
  fixture f;
  CHECK_FALSE(select::best(f.span()).index.has_value());
  CHECK_FALSE(select::majority(f.span()).index.has_value());
  f.add("a", 0.3, false);
  CHECK_FALSE(select::majority(f.span()).answer.has_value());
}

TEST_CASE("majority counts answers; ties go to the first to appear", "[selection]") {
  fixture f;
  f.add("x", unscored);
  f.add("y", unscored);
  f.add(std::nullopt, unscored);  // abstains
  f.add("y", unscored);
  f.add("x", unscored);
  const auto s = select::majority(f.span());
  CHECK(s.answer == "x");
  CHECK(s.index == 0u);
  REQUIRE(s.totals.size() == 2);
  CHECK(s.totals[0].answer == "x");
  CHECK(s.totals[0].total == 2);
  CHECK(s.totals[0].count == 2);
  CHECK(s.totals[1].first_index == 1);
  f.add("y", unscored);
  CHECK(select::majority(f.span()).answer == "y");
  CHECK(select::majority(f.span()).index == 1u);
}

TEST_CASE("weighted majority sums scores per answer", "[selection]") {
  fixture f;
  f.add("x", 0.2);
  f.add("x", 0.3);
  f.add("y", 0.9);
  f.add("x", 0.1);
  f.add("z", unscored);  // unscored: abstains
  auto s = select::weighted_majority(f.span());
  CHECK(s.answer == "y");  // 0.9 > 0.6
  CHECK(s.index == 2u);
  f.add("x", 0.4);
  s = select::weighted_majority(f.span());
  CHECK(s.answer == "x");        // 1.0 > 0.9
  CHECK(s.index == 5u);          // best-scored member of the winner
  CHECK(s.totals[0].total == Approx(1.0));
  CHECK(s.totals.size() == 2);
}

TEST_CASE("log-weighted majority combines log-weights by log-sum-exp", "[selection]") {
  fixture f;
  f.add("x", std::log(0.25));
  f.add("x", std::log(0.25));
  f.add("y", std::log(0.4));
  f.add("z", -inf);  // zero weight
  const auto s = select::log_weighted_majority(f.span());
  CHECK(s.answer == "x");  // 0.5 > 0.4
  CHECK(s.totals[0].total == Approx(std::log(0.5)));
  CHECK(s.totals[2].total == -inf);
}

TEST_CASE("all log-weights -inf is a clear error", "[selection][errors]") {
  fixture f;
  f.add("x", -inf);
  f.add("y", -inf);
  CHECK_THROWS_AS(select::log_weighted_majority(f.span()), invalid_score);
  CHECK_THROWS_WITH(select::log_weighted_majority(f.span()), Catch::Contains("every log-weight is -inf"));
  f.add("z", inf);
  CHECK_THROWS_WITH(select::log_weighted_majority(f.span()), Catch::Contains("+inf"));
}

TEST_CASE("policies satisfy the selection concept", "[selection]") {
  STATIC_REQUIRE(selection_policy<select::best_t, std::string>);
  STATIC_REQUIRE(selection_policy<select::majority_t, int>);
  STATIC_REQUIRE(selection_policy<select::weighted_majority_t, std::string>);
  STATIC_REQUIRE(selection_policy<select::log_weighted_majority_t, std::string>);
}
