// particle_filtering: accuracy against tokens of the particle methods and the
// search baselines on hard toy problems (levels 4-5), at equal compute.
//
// Particle filtering (Puri et al. 2025) samples the PRM-weighted posterior
// instead of keeping the PRM's top candidates, so an imperfect PRM prunes
// good partial solutions less often than beam search does. Rows:
//   best_of_n         N independent samples, the best by the PRM's last score
//   beam_search M=4   keep N/4 beams, expand each 4 ways (Snell et al. 2024)
//   particle_filter   N particles, logit weights, systematic resampling every round
//   particle_filter ESS<N/2   the same, resampling only when ESS < N/2
//   entropic_pf       entropic annealing + one-step look-ahead (2x the steps)
//   entropic_pf EA only   entropic annealing without look-ahead (1x the steps)
//   particle_gibbs    3 sweeps of (N+2)/3 particles (about N samples), ancestor
//                     sampling on the toy world's Markov state
// Methods cost different tokens for the same N: read accuracy against the
// tokens/prob column (mean tokens per problem), not against N. Each accuracy
// has its binomial standard error sqrt(p (1 - p) / P). The PRM is the toy
// world's noisy_prm (AUC given); pass "overconfident" to use the sharpened
// over-confident PRM (toy/overconfident_prm.hpp) instead, where the entropic
// filter's annealing matters. The table is also written to particle_filtering.csv, and
// the curves to particle_filtering.svg.
//
// Usage: particle_filtering [problems=200] [prm_auc=0.9] [seed=1] [noisy|overconfident]
#include <ttscale.hpp>

#include <ttscale/analysis/svg_plot.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {
using namespace ttscale;

struct measurement {
  std::string method;
  std::size_t n = 0;
  double tokens_per_problem = 0;
  double accuracy = 0;
  double standard_error = 0;
  double prm_items_per_problem = 0;
};

// Runs `method` (a callable (gen, prm, problem, n, rng) -> result) over the
// problems with PRM `Prm` and returns the accuracy and mean cost.
template <class Prm, class Method>
measurement measure(std::string name, std::size_t n, const std::vector<toy::arithmetic_problem>& problems, double auc,
                    std::uint64_t seed, Method method) {
  std::size_t right = 0;
  accounting spent;
  for (const auto& p : problems) {
    toy::arithmetic_generator gen(p);
    Prm prm(p, {.auc = auc, .seed = seed + 17});
    std::mt19937_64 rng(seed * 1000003 + p.id);
    const auto r = method(gen, prm, p, n, rng);
    right += r.has_choice() && toy::is_correct(p, r.chosen().path);
    spent += r.spent;
  }
  const double count = static_cast<double>(problems.size());
  measurement m{std::move(name), n, static_cast<double>(spent.tokens) / count, static_cast<double>(right) / count, 0,
                static_cast<double>(spent.verifier_items) / count};
  m.standard_error = std::sqrt(m.accuracy * (1 - m.accuracy) / count);
  return m;
}

template <class Prm>
std::vector<measurement> run_all(const std::vector<toy::arithmetic_problem>& problems, double auc, std::uint64_t seed) {
  const std::vector<std::size_t> compute{4, 8, 16, 32, 64};
  std::vector<measurement> rows;
  const auto started = std::chrono::steady_clock::now();
  const auto progress = [&](std::size_t done, std::size_t total) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (elapsed > 2.0)
      fmt::print(stderr, "\r[{}/{}] {:.1f} s elapsed, about {:.0f} s left   ", done, total, elapsed,
                 elapsed / static_cast<double>(done) * static_cast<double>(total - done));
  };
  const std::size_t total = 7 * compute.size();
  for (const std::size_t n : compute) {
    rows.push_back(measure<Prm>("best_of_n", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return best_of_n(g, prm, p.prompt(), best_of_n_options{.n = k}, rng);
    }));
    progress(rows.size(), total);
    rows.push_back(measure<Prm>("beam_search M=4", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return beam_search(g, prm, p.prompt(), beam_search_options{.n = k, .beam_width = std::min<std::size_t>(4, k)}, rng);
    }));
    progress(rows.size(), total);
    rows.push_back(measure<Prm>("particle_filter", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return particle_filter(g, prm, p.prompt(), particle_filter_options{.n = k}, rng);
    }));
    progress(rows.size(), total);
    rows.push_back(measure<Prm>("particle_filter ESS<N/2", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return particle_filter(g, prm, p.prompt(),
                             particle_filter_options{.n = k, .resample_when = resample_when::ess_below{0.5}}, rng);
    }));
    progress(rows.size(), total);
    rows.push_back(measure<Prm>("entropic_pf", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return entropic_particle_filter(g, prm, p.prompt(), entropic_particle_filter_options{.n = k}, rng);
    }));
    progress(rows.size(), total);
    rows.push_back(measure<Prm>("entropic_pf EA only", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return entropic_particle_filter(g, prm, p.prompt(), entropic_particle_filter_options{.n = k, .look_ahead = 0}, rng);
    }));
    progress(rows.size(), total);
    // n + 2 (n - 1) = 3n - 2 samples over 3 sweeps: about k.
    rows.push_back(measure<Prm>("particle_gibbs 3 sweeps", n, problems, auc, seed, [](auto& g, auto& prm, auto& p, std::size_t k, auto& rng) {
      return particle_gibbs(g, prm, p.prompt(),
                            particle_gibbs_options{.n = std::max<std::size_t>(2, (k + 2) / 3), .sweeps = 3,
                                                   .ancestor_sampling = ancestor_state::engine_state},
                            rng);
    }));
    progress(rows.size(), total);
  }
  fmt::print(stderr, "\n");
  return rows;
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t problem_count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
  const double auc = argc > 2 ? std::strtod(argv[2], nullptr) : 0.9;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const bool overconfident = argc > 4 && std::string_view(argv[4]) == "overconfident";
  const auto problems = toy::make_problems({.count = problem_count, .min_level = 4, .max_level = 5, .seed = seed});

  const std::vector<measurement> rows = overconfident ? run_all<toy::overconfident_prm>(problems, auc, seed)
                                                      : run_all<toy::noisy_prm>(problems, auc, seed);
  fmt::print("particle_filtering: {} toy problems (levels 4-5), {} PRM with AUC {:.2f}, seed {}\n", problems.size(),
             overconfident ? "over-confident" : "noisy", auc, seed);
  fmt::print("Compare accuracy at EQUAL tokens/prob, not at equal N.\n\n");
  fmt::print("{:<24} {:>3} | {:>11} | {:>8} {:>6} | {:>9}\n", "method", "N", "tokens/prob", "accuracy", "+-se",
             "PRM items");
  fmt::print("{:-<24}-{:-<3}-+-{:-<11}-+-{:-<8}-{:-<6}-+-{:-<9}\n", "", "", "", "", "", "");
  std::string csv = "method,n,tokens_per_problem,accuracy,standard_error,prm_items_per_problem\n";
  for (const measurement& m : rows) {
    fmt::print("{:<24} {:>3} | {:>11.0f} | {:>8.3f} {:>6.3f} | {:>9.1f}\n", m.method, m.n, m.tokens_per_problem,
               m.accuracy, m.standard_error, m.prm_items_per_problem);
    csv += fmt::format("{},{},{:.1f},{:.4f},{:.4f},{:.1f}\n", m.method, m.n, m.tokens_per_problem, m.accuracy,
                       m.standard_error, m.prm_items_per_problem);
  }
  ttscale::analysis::write_text_file("particle_filtering.csv", csv);
  // The same curves as a picture: accuracy against tokens per problem.
  std::vector<ttscale::analysis::plot_series> curves;
  for (const measurement& m : rows) ttscale::analysis::add_point(curves, m.method, m.tokens_per_problem, m.accuracy);
  ttscale::analysis::write_text_file(
      "particle_filtering.svg", ttscale::analysis::svg_line_plot(curves, {.title = "Particle methods on hard toy problems (levels 4-5)",
                                                          .x_label = "tokens per problem",
                                                          .y_label = "accuracy",
                                                          .y_min = 0.0,
                                                          .y_max = 1.0}));
  fmt::print("\nwrote particle_filtering.csv ({} rows) and particle_filtering.svg (accuracy vs tokens)\n", rows.size());
}
