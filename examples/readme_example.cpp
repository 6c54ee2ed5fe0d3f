// The README's example, compiled and run by the test suite's build so it stays true.
#include <ttscale.hpp>

#include <cstdio>
#include <random>

int main() {
  using namespace ttscale;
  // A toy "model" on a hard arithmetic problem, and a process reward model of AUC 0.9.
  const auto problem = toy::make_problems({.count = 1, .min_level = 5, .max_level = 5, .seed = 3})[0];
  toy::arithmetic_generator model(problem);  // any type with extend(prefixes, engines, out)
  toy::noisy_prm prm(problem, {.auc = 0.9});  // any type with score_steps(prefixes, out)

  std::mt19937_64 rng(42);
  const auto result = best_of_n(model, prm, problem.prompt(),
                                best_of_n_options{.n = 16,
                                                  .selection = select::weighted_majority,
                                                  .aggregate = aggregate::min,
                                                  .exec = {.batch_size = 8, .threads = 2},
                                                  .budget = {.max_tokens = 20'000}},
                                rng);
  std::printf("answer %s (truth %d), %llu tokens in %llu generator calls, stopped: %s\n",
              result.answer.value_or("none").c_str(), problem.answer(),
              static_cast<unsigned long long>(result.spent.tokens),
              static_cast<unsigned long long>(result.spent.generator_calls),
              std::string(to_string(result.stopped)).c_str());
}
