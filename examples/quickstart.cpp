// quickstart: the first scaling curve. On toy arithmetic problems of mixed
// difficulty, compare one sample, best-of-N (noisy outcome reward model),
// majority vote and weighted majority vote at N = 1, 4, 16, 64, and print
// accuracy and tokens spent. Every method sees the same samples for a problem
// (the same seed), so the columns differ only in how they choose.
//
// It also writes the curve as quickstart.csv and quickstart.svg (a plot of
// accuracy against tokens per problem) in the current directory.
//
// Usage: quickstart [problems=200] [seed=1] [orm_auc=0.9]
#include <ttscale.hpp>
#include <ttscale/analysis/svg_plot.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::size_t problem_count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
  const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  const double orm_auc = argc > 3 ? std::strtod(argv[3], nullptr) : 0.9;

  // Levels 1..5 evenly mixed: level 1 is easy, level 5 hard with a systematic trap.
  const auto problems = ttscale::toy::make_problems({.count = problem_count, .min_level = 1, .max_level = 5, .seed = seed});

  fmt::print("ttscale quickstart: {} toy arithmetic problems (levels 1-5), noisy ORM with AUC {:.2f}\n\n",
             problems.size(), orm_auc);
  fmt::print("{:>4} | {:>8} {:>10} {:>9} {:>9} | {:>8} | {:>12} {:>9}\n", "N", "1 sample", "best-of-N", "majority",
             "weighted", "pass@N", "tokens/prob", "gen calls");
  fmt::print("{:-<4}-+-{:-<8}-{:-<10}-{:-<9}-{:-<9}-+-{:-<8}-+-{:-<12}-{:-<9}\n", "", "", "", "", "", "", "", "");

  std::vector<ttscale::analysis::plot_series> curves{{"best-of-N", {}, {}}, {"majority", {}, {}},
                                                     {"weighted majority", {}, {}}, {"pass@N (oracle)", {}, {}}};
  std::string csv = "n,tokens_per_problem,single,best_of_n,majority,weighted_majority,pass_at_n\n";
  for (const std::size_t n : {1, 4, 16, 64}) {
    std::size_t single = 0, best = 0, majority = 0, weighted = 0, covered = 0;
    ttscale::accounting spent;
    for (const auto& problem : problems) {
      ttscale::toy::arithmetic_generator model(problem);
      ttscale::toy::noisy_orm orm(problem, {.auc = orm_auc, .seed = seed});
      const std::string truth = std::to_string(problem.answer());
      auto rng_for = [&] { return std::mt19937_64(seed * 1000003 + problem.id); };  // same samples for every method

      auto rng = rng_for();
      const auto bon = ttscale::best_of_n(model, orm, problem.prompt(), ttscale::best_of_n_options{.n = n}, rng);
      rng = rng_for();
      const auto mv = ttscale::majority_vote(model, problem.prompt(), ttscale::vote_options{.n = n}, rng);
      rng = rng_for();
      const auto wmv = ttscale::weighted_majority_vote(model, orm, problem.prompt(), ttscale::vote_options{.n = n}, rng);

      single += ttscale::toy::is_correct(problem, bon.candidates.front().path);
      best += bon.answer == truth;
      majority += mv.answer == truth;
      weighted += wmv.answer == truth;
      bool any = false;
      for (const auto& c : bon.candidates) any = any || ttscale::toy::is_correct(problem, c.path);
      covered += any;
      spent += bon.spent;
    }
    const double count = static_cast<double>(problems.size());
    fmt::print("{:>4} | {:>8.3f} {:>10.3f} {:>9.3f} {:>9.3f} | {:>8.3f} | {:>12.0f} {:>9.1f}\n", n, single / count,
               best / count, majority / count, weighted / count, covered / count,
               static_cast<double>(spent.tokens) / count, static_cast<double>(spent.generator_calls) / count);
    const double tokens = static_cast<double>(spent.tokens) / count;
    const double accuracy[] = {best / count, majority / count, weighted / count, covered / count};
    for (std::size_t k = 0; k < curves.size(); ++k) {
      curves[k].x.push_back(tokens);
      curves[k].y.push_back(accuracy[k]);
    }
    csv += fmt::format("{},{:.1f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}\n", n, tokens, single / count, best / count,
                       majority / count, weighted / count, covered / count);
  }
  ttscale::analysis::write_text_file("quickstart.csv", csv);
  ttscale::analysis::write_text_file(
      "quickstart.svg",
      ttscale::analysis::svg_line_plot(curves, {.title = "Toy arithmetic: accuracy vs compute (N = 1, 4, 16, 64)",
                                                .x_label = "tokens per problem",
                                                .y_label = "accuracy",
                                                .y_min = 0.0,
                                                .y_max = 1.0}));
  fmt::print(
      "\n1 sample: accuracy of the first sample alone. pass@N: some sample is right (an oracle's ceiling).\n"
      "Majority voting saturates below pass@N: on hard problems a systematic wrong answer out-polls the right one.\n"
      "Wrote quickstart.csv and quickstart.svg (accuracy vs tokens).\n");
  return 0;
}
