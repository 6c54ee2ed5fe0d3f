// A consumer of ttscale: includes the umbrella header and runs best-of-N on
// the toy world, so a consumer build also proves the headers are usable.
#include <ttscale.hpp>

#include <cstdio>
#include <random>

int main() {
  const auto problems = ttscale::toy::make_problems({.count = 1, .seed = 1});
  ttscale::toy::arithmetic_generator gen(problems[0]);
  ttscale::toy::exact_verifier exact(problems[0]);
  std::mt19937_64 rng(42);
  const auto result = ttscale::best_of_n(gen, exact, problems[0].prompt(), ttscale::best_of_n_options{.n = 8}, rng);
  std::printf("answer %s, %llu tokens\n", result.answer.value_or("none").c_str(),
              static_cast<unsigned long long>(result.spent.tokens));
  return result.has_choice() ? 0 : 1;
}
