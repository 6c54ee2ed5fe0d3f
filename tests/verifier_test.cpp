#include <ttscale/toy/scripted.hpp>
#include <ttscale/verifier.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace ttscale;

TEST_CASE("aggregation policies follow their definitions", "[verifier]") {
  const std::vector<double> s{0.9, 0.5, 0.8};
  CHECK(aggregate::last(s) == 0.8);
  CHECK(aggregate::min(s) == 0.5);
  CHECK(aggregate::product(s) == Approx(0.9 * 0.5 * 0.8));
  CHECK(aggregate::mean(s) == Approx((0.9 + 0.5 + 0.8) / 3));
}

TEST_CASE("aggregating no step is an error, not a silent value", "[verifier][errors]") {
  const std::vector<double> none;
  CHECK_THROWS_AS(aggregate::last(none), invalid_argument);
  CHECK_THROWS_WITH(aggregate::min(none), Catch::Contains("aggregate::min"));
  CHECK_THROWS_AS(aggregate::product(none), invalid_argument);
  CHECK_THROWS_AS(aggregate::mean(none), invalid_argument);
}

TEST_CASE("verifier concepts recognise both kinds", "[verifier]") {
  auto f = [](const trajectory&) { return 1.0; };
  using prm = toy::function_prm<decltype(f)>;
  using orm = toy::function_orm<decltype(f)>;
  STATIC_REQUIRE(process_verifier<prm>);
  STATIC_REQUIRE_FALSE(outcome_verifier<prm>);
  STATIC_REQUIRE(outcome_verifier<orm>);
  STATIC_REQUIRE(verifier<orm>);
  STATIC_REQUIRE_FALSE(verifier<int>);
  auto user = [](std::span<const double> s) { return s.front(); };
  STATIC_REQUIRE(step_aggregator<decltype(user)>);
  STATIC_REQUIRE(step_aggregator<aggregate::last_t>);
}
