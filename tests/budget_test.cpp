#include <ttscale/budget.hpp>

#include <catch2/catch.hpp>

using namespace ttscale;
using namespace std::chrono_literals;

TEST_CASE("an unlimited budget is never exhausted", "[budget]") {
  accounting a;
  a.tokens = 1'000'000'000;
  a.generator_calls = 1'000'000;
  CHECK_FALSE(budget{}.exhausted_by(a).has_value());
}

TEST_CASE("each limit is reached at its value", "[budget]") {
  accounting a;
  a.tokens = 99;
  CHECK_FALSE(budget{.max_tokens = 100}.exhausted_by(a).has_value());
  a.tokens = 100;
  CHECK(budget{.max_tokens = 100}.exhausted_by(a) == stop_reason::token_limit);
  accounting s;
  s.samples = 4;
  CHECK(budget{.max_samples = 4}.exhausted_by(s) == stop_reason::sample_limit);
  accounting g;
  g.generator_calls = 2;
  CHECK(budget{.max_generator_calls = 2}.exhausted_by(g) == stop_reason::generator_call_limit);
  accounting v;
  v.verifier_calls = 1;
  CHECK(budget{.max_verifier_calls = 1}.exhausted_by(v) == stop_reason::verifier_call_limit);
  accounting w;
  w.wall_time = 5ms;
  CHECK(budget{.max_wall_time = 5ms}.exhausted_by(w) == stop_reason::deadline);
  CHECK(budget{.deadline = std::chrono::steady_clock::now() - 1s}.exhausted_by({}) == stop_reason::deadline);
}

TEST_CASE("stop reasons have names", "[budget]") {
  CHECK(to_string(stop_reason::token_limit) == "token_limit");
  CHECK(to_string(stop_reason::completed) == "completed");
}

TEST_CASE("accounting adds up", "[accounting]") {
  accounting a{.tokens = 1, .steps = 2, .samples = 3, .generator_calls = 4, .verifier_calls = 5, .verifier_items = 6,
               .wall_time = 7ns};
  accounting b = a;
  b += a;
  CHECK(b.tokens == 2);
  CHECK(b.verifier_items == 12);
  CHECK(b.wall_time == 14ns);
  CHECK(to_string(a).find("generator_calls=4") != std::string::npos);
}
