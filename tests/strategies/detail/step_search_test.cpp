// The step-level searches against best-of-N on hard toy problems, at equal
// (or favourable to best-of-N) tokens, with a good and an uninformative PRM;
// plus the shared selection helper.
#include <ttscale/strategies/detail/step_search.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/toy/arithmetic.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;

TEST_CASE("keep_best: top k with ties to the lowest index; Gumbel top-k follows softmax", "[step_search]") {
  random_engine rng(1);
  const std::vector<double> scores{0.2, 0.9, 0.5, 0.9, 0.1};
  CHECK(detail::keep_best(scores, 3, 0.0, rng) == std::vector<std::size_t>{1, 3, 2});
  CHECK(detail::keep_best(scores, 9, 0.0, rng).size() == 5);
  // Gumbel-top-1 picks i with probability softmax(score / T)_i. Two items with
  // scores 0 and log(3) at T = 1: P(pick 1) = 3/4. Over 20000 draws the count's
  // standard deviation is sqrt(20000 * 3/4 * 1/4) = 61; allow 5 sigma.
  const std::vector<double> two{0.0, std::log(3.0)};
  std::size_t ones = 0;
  for (int i = 0; i < 20000; ++i) ones += detail::keep_best(two, 1, 1.0, rng)[0] == 1;
  CHECK(std::abs(static_cast<double>(ones) - 15000.0) < 5 * 61.3);
}

namespace {
struct paired_outcome {
  double strategy_accuracy = 0, baseline_accuracy = 0;
  double strategy_tokens = 0, baseline_tokens = 0;
  double difference = 0;      // strategy - baseline accuracy
  double standard_error = 0;  // of the paired difference
};
using run_fn = std::function<search_result<std::string>(toy::arithmetic_generator&, toy::noisy_prm&,
                                                        const toy::arithmetic_problem&, std::mt19937_64&)>;

// Runs a strategy and best-of-N (same PRM, aggregate last) on the same
// problems; returns the paired accuracy difference and its standard error
// sd(d_i) / sqrt(P), d_i = [strategy right] - [best-of-N right] per problem.
paired_outcome compare(const std::vector<toy::arithmetic_problem>& problems, double auc, const run_fn& strategy,
                       std::size_t baseline_n) {
  paired_outcome out;
  std::vector<double> d;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = auc, .seed = 77});
    std::mt19937_64 a(1000 + p.id), b(1000 + p.id);
    const auto s = strategy(gen, prm, p, a);
    const auto base = best_of_n(gen, prm, p.prompt(), best_of_n_options{.n = baseline_n}, b);
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
}  // namespace

// Bounds: with P = 300 paired problems the difference of accuracies has
// standard error se = sd(d_i) / sqrt(P) (estimated). "Beats" means the
// difference exceeds 3 se (one-sided false-alarm probability ~0.1% under no
// effect); "does not beat beyond noise" means it stays below 3 se. Best-of-N
// always gets at least the strategy's mean tokens (checked), so a win is at
// equal-or-fewer tokens for the strategy.
TEST_CASE("with a good PRM, beam search, DVTS and A* beat best-of-N at equal tokens on hard problems; "
          "with an uninformative PRM they do not beat it beyond noise",
          "[step_search][statistical]") {
  const auto problems = toy::make_problems({.count = 300, .min_level = 4, .max_level = 5, .seed = 2024});
  struct contender {
    const char* name;
    run_fn run;
    std::size_t baseline_n;
  };
  const std::vector<contender> contenders{
      {"beam_search N=8 M=4",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return beam_search(g, prm, p.prompt(), beam_search_options{.n = 8, .beam_width = 4}, rng);
       },
       8},
      {"dvts N=8 M=4",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return dvts(g, prm, p.prompt(), dvts_options{.n = 8, .beam_width = 4}, rng);
       },
       8},
      {"a_star K=4, 32 expansions",
       [](auto& g, auto& prm, const auto& p, auto& rng) {
         return a_star(g, prm, p.prompt(), a_star_options{.continuations = 4, .expansions = 32}, rng);
       },
       12},
  };
  for (const contender& c : contenders) {
    INFO(c.name);
    const paired_outcome good = compare(problems, 0.9, c.run, c.baseline_n);
    INFO("good PRM: strategy " << good.strategy_accuracy << " (" << good.strategy_tokens << " tokens) vs best-of-N "
                               << good.baseline_accuracy << " (" << good.baseline_tokens << " tokens), se "
                               << good.standard_error);
    CHECK(good.baseline_tokens >= good.strategy_tokens);
    CHECK(good.difference > 3 * good.standard_error);

    const paired_outcome flat = compare(problems, 0.5, c.run, c.baseline_n);
    INFO("uninformative PRM: strategy " << flat.strategy_accuracy << " vs best-of-N " << flat.baseline_accuracy
                                        << ", se " << flat.standard_error);
    CHECK(flat.difference < 3 * flat.standard_error);
  }
}
