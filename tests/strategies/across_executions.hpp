// The determinism check the strategies' tests share: the same seed gives the
// same chosen text and the same tokens whatever the batch size and thread
// count, on a few hard toy problems with a good PRM.
#pragma once

#include <ttscale/search_context.hpp>
#include <ttscale/toy/arithmetic.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ttscale::testing {

/// run(gen, prm, problem, exec, rng) -> search_result; checked on 3 problems.
template <class Run>
void check_same_across_executions(const Run& run) {
  const auto problems = toy::make_problems({.count = 3, .min_level = 4, .max_level = 5, .seed = 11});
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = 0.9, .seed = 4});
    std::vector<std::string> texts;
    std::vector<std::uint64_t> tokens;
    for (execution exec : {execution{}, execution{.batch_size = 3, .threads = 2}, execution{.batch_size = 7}}) {
      std::mt19937_64 rng(42);
      const auto r = run(gen, prm, p, exec, rng);
      texts.push_back(r.has_choice() ? r.chosen().path.text() : "");
      tokens.push_back(r.spent.tokens);
    }
    INFO("problem " << p.id);
    CHECK(texts[0] == texts[1]);
    CHECK(texts[0] == texts[2]);
    CHECK(tokens[0] == tokens[1]);
    CHECK(tokens[0] == tokens[2]);
  }
}

}  // namespace ttscale::testing
