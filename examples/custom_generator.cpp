// Your own "model" and reward models as lambdas (ttscale/from_function.hpp): put your inference code in them.
#include <ttscale.hpp>

#include <fmt/core.h>

#include <cmath>
#include <random>
#include <string>

int main() {
  using namespace ttscale;
  // A random-walk "reasoner" for 6 x 7: each step adds 3 to 9 to a running total (in engine_state); it
  // answers once the total reaches 40. It reads only its arguments, so may run on several threads at once.
  auto reasoner = generator_from([](const trajectory& prefix, random_engine& rng) {
    const auto total = (prefix.is_root() ? 0 : prefix.last_step().engine_state) + 3 + std::int64_t(rng() % 7);
    const bool done = total >= 40;
    std::string text = done ? " so \\boxed{" : " ";  // appended, not "literal" + string: GCC 12 warns falsely
    text += std::to_string(total);
    text += done ? "}" : ",";
    return step{.text = std::move(text), .tokens = 2, .finished = done, .engine_state = total};
  }, concurrent_calls);
  // An outcome reward model, one trajectory at a time: the closer the answer to 42, the better.
  auto orm = outcome_verifier_from([](const trajectory& t) { return -std::abs(t.last_step().engine_state - 42.0); },
                                   concurrent_calls);
  // A process reward model, a whole batch per call: can this prefix still end at 42?
  auto prm = process_verifier_from([](std::span<const trajectory> prefixes, std::span<double> out) {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = prefixes[i].last_step().engine_state < 40 ? 0.5 : prefixes[i].last_step().engine_state == 42;
  }, concurrent_calls);
  auto print = [](const char* name, const auto& r) {
    fmt::print("{:<21} answer {}  tokens {}  samples {}  generator calls {}  verifier calls {}\n", name,
               r.answer.value_or("-"), r.spent.tokens, r.spent.samples, r.spent.generator_calls,
               r.spent.verifier_calls);
  };
  std::mt19937_64 rng(7);
  const execution exec{.batch_size = 8, .threads = 2};
  print("best-of-16, ORM", best_of_n(reasoner, orm, "6 x 7 =", best_of_n_options{.n = 16, .exec = exec}, rng));
  const best_of_n_options min_prm{.n = 16, .aggregate = aggregate::min, .exec = exec};
  print("best-of-16, PRM (min)", best_of_n(reasoner, prm, "6 x 7 =", min_prm, rng));
  print("majority vote of 16", majority_vote(reasoner, "6 x 7 =", vote_options{.n = 16, .exec = exec}, rng));
}
