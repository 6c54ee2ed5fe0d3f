// The strategy grid: every strategy runs at a knob N on the toy world under its
// key, the widths and A*'s expansions follow the documented rule, and the
// outcome is the search's own (correctness by the checker, the exact account).
#include <ttscale/analysis/strategy_grid.hpp>
#include <ttscale/toy/arithmetic.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>

using namespace ttscale;
using namespace ttscale::analysis;

TEST_CASE("strategy keys round-trip and name distinct curves") {
  std::set<std::string> keys, curves;
  for (strategy_kind s : all_strategy_kinds) {
    CHECK(strategy_from_key(strategy_key(s)) == s);
    keys.insert(std::string(strategy_key(s)));
    curves.insert(std::string(curve_name(s)));
  }
  CHECK(keys.size() == all_strategy_kinds.size());
  CHECK(curves.size() == all_strategy_kinds.size());
  CHECK_FALSE(strategy_from_key("beam"));
}

TEST_CASE("widths and A* expansions follow the knob") {
  CHECK(grid_width(1) == 1);
  CHECK(grid_width(2) == 2);
  CHECK(grid_width(6) == 2);
  CHECK(grid_width(64) == 4);
  const grid_settings g{.max_steps = 8, .mean_depth = 5.0};
  CHECK(a_star_expansions(1, g) == 8);    // at least one path's worth
  CHECK(a_star_expansions(16, g) == 20);  // 5 * 16 steps / K = 4
  CHECK(a_star_expansions(64, g) == 80);
}

TEST_CASE("every strategy runs on the toy world and reports the search's own outcome") {
  const auto problems = toy::make_problems({.count = 4, .min_level = 2, .max_level = 3, .seed = 3});
  for (strategy_kind s : all_strategy_kinds) {
    std::size_t correct = 0;
    for (const auto& p : problems) {
      toy::arithmetic_generator gen(p);
      toy::noisy_prm prm(p, {.auc = 0.95, .seed = 5});
      std::mt19937_64 rng(p.id);
      const auto is_right = [&](const trajectory& t) { return toy::is_correct(p, t); };
      const strategy_outcome o = run_strategy(s, gen, prm, p.prompt(), 8, boxed_answer{}, is_right, rng, {}, true);
      INFO(strategy_key(s));
      CHECK(o.spent.tokens > 0);
      CHECK((o.correct ? o.chose : true));
      if (s == strategy_kind::best_of_n) CHECK(o.scored.size() == 8);
      correct += o.correct;
    }
    INFO(strategy_key(s));
    CHECK(correct >= 1);  // easy problems with a good PRM: never all wrong
  }
  const auto& p = problems[0];
  toy::arithmetic_generator gen(p);
  toy::noisy_prm prm(p, {.auc = 0.9});
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(run_strategy(strategy_kind::beam_search, gen, prm, p.prompt(), 0, boxed_answer{},
                                 [](const trajectory&) { return false; }, rng),
                    Catch::Contains("N must be at least 1 (got 0)"));
}
