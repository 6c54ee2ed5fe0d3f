// Errors raised mid-search carry the exact accounting, whoever raised them
// (issue: a NaN score, a reward outside a weight source's domain or a NaN
// aggregate used to lose the paid work), and messages print numbers in their
// shortest round-trip form.
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/toy/scripted.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
// Two-token steps; finishes at depth 3 with \boxed{depth}.
struct three_step_generator {
  void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const bool last = p[i].depth() + 1 >= 3;
      out[i] = step{last ? std::string("\\boxed{1}") : std::string(1, static_cast<char>('a' + p[i].depth())), 2, -0.5, last, 0};
    }
  }
};

// A PRM that rates every step 0.5 until depth `bad_depth`, where it returns `bad`.
struct bad_at_depth_prm {
  std::size_t bad_depth;
  double bad;
  void score_steps(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = p[i].depth() >= bad_depth ? bad : 0.5;
  }
};

}  // namespace

TEST_CASE("errors before any work carry no accounting", "[errors]") {
  three_step_generator gen;
  bad_at_depth_prm prm{100, 0.5};
  std::mt19937_64 rng(1);
  try {
    (void)best_of_n(gen, prm, "Q", best_of_n_options{.n = 0}, rng);
    FAIL("n = 0 was accepted");
  } catch (const invalid_argument& e) {
    CHECK(e.spent() == nullptr);
  }
}

TEST_CASE("a NaN score mid-search carries the exact accounting", "[errors]") {
  three_step_generator gen;
  bad_at_depth_prm prm{2, std::numeric_limits<double>::quiet_NaN()};
  std::mt19937_64 rng(1);
  try {
    (void)best_of_n(gen, prm, "Q", best_of_n_options{.n = 4}, rng);
    FAIL("NaN was accepted");
  } catch (const invalid_score& e) {
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->generator_calls == 2);  // the two rounds that ran
    CHECK(e.spent()->tokens == 16);
    CHECK(e.spent()->verifier_calls == 2);
    CHECK(e.spent()->verifier_items == 8);
    CHECK(e.spent()->samples == 4);
    CHECK(std::string(e.what()).find("best_of_n: process verifier returned nan for item 0") != std::string::npos);
  }
}

TEST_CASE("a NaN aggregate mid-search carries the exact accounting", "[errors]") {
  three_step_generator gen;
  bad_at_depth_prm prm{100, 0.5};
  std::mt19937_64 rng(1);
  auto nan_after_two = [](std::span<const double> s) {
    return s.size() >= 2 ? std::numeric_limits<double>::quiet_NaN() : s.back();
  };
  try {
    (void)beam_search(gen, prm, "Q",
                      beam_search_options<select::best_t, decltype(nan_after_two)>{
                          .n = 4, .beam_width = 2, .aggregate = nan_after_two},
                      rng);
    FAIL("a NaN aggregate was accepted");
  } catch (const invalid_argument& e) {
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->verifier_calls == 2);
    CHECK(e.spent()->tokens == 16);
  }
}

TEST_CASE("an error from a selection policy after the search carries the accounting", "[errors]") {
  // An aggregate of +inf passes the PRM's finite check and reaches select::best.
  three_step_generator gen;
  bad_at_depth_prm prm{100, 0.5};
  std::mt19937_64 rng(1);
  auto infinite = [](std::span<const double>) { return std::numeric_limits<double>::infinity(); };
  try {
    (void)best_of_n(gen, prm, "Q",
                    best_of_n_options<select::best_t, decltype(infinite)>{.n = 2, .aggregate = infinite}, rng);
    FAIL("an infinite score was accepted");
  } catch (const invalid_score& e) {
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->generator_calls == 3);
    CHECK(e.spent()->tokens == 12);
    CHECK(std::string(e.what()) == "select::best: candidate 0 has score inf (scores must be finite)");
  }
}

TEST_CASE("a reward outside a weight source's domain names strategy, particle, node and value", "[errors]") {
  three_step_generator gen;
  bad_at_depth_prm prm{2, 1.0000000000000002};
  std::mt19937_64 rng(1);
  try {
    (void)particle_filter(gen, prm, "Q", particle_filter_options{.n = 3, .max_steps = 5}, rng);
    FAIL("a reward above 1 was accepted");
  } catch (const invalid_score& e) {
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->generator_calls == 2);
    CHECK(e.spent()->verifier_calls == 2);
    // Slot 0's second step is node 4 (nodes 1-3 are the first round's).
    CHECK(std::string(e.what()) ==
          "particle_filter: particle 0 (node 4): log_weight_from::logit_reward: reward 1.0000000000000002 is "
          "outside [0, 1]");
  }
}

TEST_CASE("messages print numbers in their shortest round-trip form", "[errors]") {
  CHECK(detail::number_text(-1e-300) == "-1e-300");
  CHECK(detail::number_text(1.0000000000000002) == "1.0000000000000002");
  CHECK(detail::number_text(0.1) == "0.1");
  CHECK(detail::number_text(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(detail::number_text(-std::numeric_limits<double>::infinity()) == "-inf");
  three_step_generator gen;
  bad_at_depth_prm prm{100, 0.5};
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2, .temperature = -1e-300}, rng),
                    "beam_search: options.temperature must be finite and >= 0 (got -1e-300)");
}
