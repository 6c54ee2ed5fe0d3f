// compare_strategies: accuracy against tokens for every search strategy on
// hard toy problems (levels 4-5, single-sample accuracy ~0.15-0.3), at
// several compute levels N. Strategies differ in how many tokens a given N
// costs, so compare rows at EQUAL tokens: read accuracy against the
// "tokens/prob" column (mean tokens per problem), not against N. Each
// accuracy is followed by its binomial standard error sqrt(p(1-p)/P).
//
// Reward models are the toy world's noisy ones with a given AUC (0.5 =
// uninformative); best-of-N, weighted majority and the tree searches all use
// the same PRM. The table is also written to compare_strategies.csv, and
// the curves to compare_strategies.svg.
//
// Usage: compare_strategies [problems=300] [prm_auc=0.9] [seed=1]
#include <ttscale.hpp>

#include <ttscale/analysis/svg_plot.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace ttscale;

struct row {
  std::string strategy;
  std::size_t n = 0;
  double tokens = 0;
  double accuracy = 0;
  double standard_error = 0;
  double verifier_items = 0;
};

using runner = std::function<search_result<std::string>(toy::arithmetic_generator&, toy::noisy_prm&,
                                                         const toy::arithmetic_problem&, std::size_t, std::mt19937_64&)>;
}  // namespace

int main(int argc, char** argv) {
  const std::size_t problem_count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300;
  const double prm_auc = argc > 2 ? std::strtod(argv[2], nullptr) : 0.9;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const auto problems = toy::make_problems({.count = problem_count, .min_level = 4, .max_level = 5, .seed = seed});

  const std::vector<std::pair<std::string, runner>> strategies{
      {"best_of_n", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         return best_of_n(g, prm, p.prompt(), best_of_n_options{.n = n}, rng);
       }},
      {"majority_vote", [](auto& g, auto&, const auto& p, std::size_t n, auto& rng) {
         return majority_vote(g, p.prompt(), vote_options{.n = n}, rng);
       }},
      {"weighted_majority", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         return weighted_majority_vote(g, prm, p.prompt(), vote_options{.n = n}, rng);
       }},
      {"beam_search M=4", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         return beam_search(g, prm, p.prompt(), beam_search_options{.n = n, .beam_width = 4}, rng);
       }},
      {"dvts M=4", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         return dvts(g, prm, p.prompt(), dvts_options{.n = n, .beam_width = 4}, rng);
       }},
      {"a_star K=4", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         // n/4 * (problem depth) expansions of K = 4: about n samples' worth of steps.
         return a_star(g, prm, p.prompt(), a_star_options{.continuations = 4, .expansions = 2 * n}, rng);
       }},
      {"first_finish k=1", [](auto& g, auto&, const auto& p, std::size_t n, auto& rng) {
         return first_finish(g, p.prompt(), first_finish_options{.n = n}, rng);
       }},
      {"first_finish k=n/2", [](auto& g, auto&, const auto& p, std::size_t n, auto& rng) {
         return first_finish(g, p.prompt(), first_finish_options{.n = n, .k = std::max<std::size_t>(1, n / 2)}, rng);
       }},
      {"adaptive_sc", [](auto& g, auto&, const auto& p, std::size_t n, auto& rng) {
         return adaptive_consistency(g, p.prompt(), adaptive_consistency_options{.max_samples = n}, rng);
       }},
      {"vote of 3 beams", [](auto& g, auto& prm, const auto& p, std::size_t n, auto& rng) {
         // Nested: a majority vote over 3 beam searches of N = n (about 3x the tokens of one).
         auto beams = as_sampler([&](search_start s, random_engine& r) {
           return beam_search(g, prm, std::move(s), beam_search_options{.n = n, .beam_width = 4}, r);
         });
         return majority_vote(beams, p.prompt(), vote_options{.n = 3, .max_steps = 1}, rng);
       }},
  };
  const std::vector<std::size_t> levels{4, 8, 16, 32};

  fmt::print("compare_strategies: {} toy problems (levels 4-5), PRM AUC {:.2f}, seed {}\n", problems.size(), prm_auc, seed);
  fmt::print("Compare accuracy at EQUAL tokens/prob (the column), not at equal N.\n\n");
  fmt::print("{:<20} {:>4} | {:>11} | {:>8} {:>6} | {:>10}\n", "strategy", "N", "tokens/prob", "accuracy", "+-se",
             "PRM items");
  fmt::print("{:-<20}-{:-<4}-+-{:-<11}-+-{:-<8}-{:-<6}-+-{:-<10}\n", "", "", "", "", "", "");

  std::vector<row> rows;
  const auto started = std::chrono::steady_clock::now();
  const std::size_t total_runs = strategies.size() * levels.size();
  std::size_t runs_done = 0;
  for (const auto& [name, run] : strategies) {
    for (const std::size_t n : levels) {
      std::size_t correct = 0;
      accounting spent;
      for (const auto& p : problems) {
        toy::arithmetic_generator gen(p);
        toy::noisy_prm prm(p, {.auc = prm_auc, .seed = seed + 17});
        std::mt19937_64 rng(seed * 1000003 + p.id);
        const auto r = run(gen, prm, p, n, rng);
        correct += r.has_choice() && toy::is_correct(p, r.chosen().path);
        spent += r.spent;
      }
      row x;
      x.strategy = name;
      x.n = n;
      const double count = static_cast<double>(problems.size());
      x.tokens = static_cast<double>(spent.tokens) / count;
      x.accuracy = static_cast<double>(correct) / count;
      x.standard_error = std::sqrt(x.accuracy * (1 - x.accuracy) / count);
      x.verifier_items = static_cast<double>(spent.verifier_items) / count;
      rows.push_back(x);
      fmt::print("{:<20} {:>4} | {:>11.0f} | {:>8.3f} {:>6.3f} | {:>10.1f}\n", x.strategy, x.n, x.tokens, x.accuracy,
                 x.standard_error, x.verifier_items);
      ++runs_done;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (elapsed > 2.0)
        fmt::print(stderr, "\r[{}/{}] {:.1f} s elapsed, about {:.0f} s left   ", runs_done, total_runs, elapsed,
                   elapsed / static_cast<double>(runs_done) * static_cast<double>(total_runs - runs_done));
    }
  }
  fmt::print(stderr, "\n");

  std::string csv = "strategy,n,tokens_per_problem,accuracy,standard_error,prm_items_per_problem\n";
  for (const row& x : rows)
    csv += fmt::format("{},{},{:.1f},{:.4f},{:.4f},{:.1f}\n", x.strategy, x.n, x.tokens, x.accuracy, x.standard_error,
                       x.verifier_items);
  ttscale::analysis::write_text_file("compare_strategies.csv", csv);
  // The same curves as a picture: accuracy against tokens per problem.
  std::vector<ttscale::analysis::plot_series> curves;
  for (const row& x : rows) ttscale::analysis::add_point(curves, x.strategy, x.tokens, x.accuracy);
  ttscale::analysis::write_text_file(
      "compare_strategies.svg", ttscale::analysis::svg_line_plot(curves, {.title = "Step-level search on hard toy problems (levels 4-5)",
                                                          .x_label = "tokens per problem",
                                                          .y_label = "accuracy",
                                                          .y_min = 0.0,
                                                          .y_max = 1.0}));
  fmt::print("\nwrote compare_strategies.csv ({} rows) and compare_strategies.svg (accuracy vs tokens)\n", rows.size());
}
