// Paired comparisons of two strategies on the same toy problems, shared by the
// statistical tests of the step-level searches (search_round_test,
// rebase_test, mcts_test).
//
// Both strategies run on every problem with the same generator, the same PRM
// (toy::noisy_prm at a given AUC) and their own engine seeded from the
// problem, so d_i = [strategy right] - [baseline right] pairs them. The
// difference of accuracies has standard error se = sd(d_i) / sqrt(P); with
// P = 300 problems, "beats" in these tests means the difference exceeds 3 se
// (one-sided false-alarm probability ~0.1% under no effect), and "is not
// worse" means it stays above -3 se.
#pragma once

#include <ttscale/result.hpp>
#include <ttscale/toy/arithmetic.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace ttscale::testing {

struct paired_outcome {
  double strategy_accuracy = 0, baseline_accuracy = 0;
  double strategy_tokens = 0, baseline_tokens = 0;  // mean generated tokens per problem
  double difference = 0;                            // strategy - baseline accuracy
  double standard_error = 0;                        // of the paired difference
};

using run_fn = std::function<search_result<std::string>(toy::arithmetic_generator&, toy::noisy_prm&,
                                                        const toy::arithmetic_problem&, std::mt19937_64&)>;

inline paired_outcome compare(const std::vector<toy::arithmetic_problem>& problems, double auc,
                              const run_fn& strategy, const run_fn& baseline) {
  paired_outcome out;
  std::vector<double> d;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = auc, .seed = 77});
    std::mt19937_64 a(1000 + p.id), b(1000 + p.id);
    const auto s = strategy(gen, prm, p, a);
    const auto base = baseline(gen, prm, p, b);
    const double right_s = s.has_choice() && toy::is_correct(p, s.chosen().path);
    const double right_b = base.has_choice() && toy::is_correct(p, base.chosen().path);
    out.strategy_accuracy += right_s;
    out.baseline_accuracy += right_b;
    out.strategy_tokens += static_cast<double>(s.spent.tokens);
    out.baseline_tokens += static_cast<double>(base.spent.tokens);
    d.push_back(right_s - right_b);
  }
  const double count = static_cast<double>(problems.size());
  out.strategy_accuracy /= count;
  out.baseline_accuracy /= count;
  out.strategy_tokens /= count;
  out.baseline_tokens /= count;
  out.difference = out.strategy_accuracy - out.baseline_accuracy;
  double ss = 0;
  for (double x : d) ss += (x - out.difference) * (x - out.difference);
  out.standard_error = std::sqrt(ss / (count - 1) / count);
  return out;
}

}  // namespace ttscale::testing
