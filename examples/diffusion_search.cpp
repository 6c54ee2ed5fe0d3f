// diffusion_search: test-time scaling of diffusion and flow samplers on the
// toy diffusion world (include/ttscale/toy/diffusion/), where the truth is
// known. The data is a ring of 4 Gaussians in 2-D; the user wants samples of
// component 0, which holds 10% of the mass. Every strategy spends network
// evaluations (NFEs, counted as tokens) and is compared with random search —
// best-of-N over initial noises, the library's best_of_n — at equal NFEs:
//
//   random_search       best_of_n, DDPM                          N * K NFEs
//   fk_steering         particle filter with the difference potential, DDPM, k = N particles
//   search_over_paths   1 path, M = N/2 re-noisings per round, DDPM (about N * K NFEs)
//   zero_order          DDIM, N/4 candidates x 4 iterations, lambda = 0.5
//   random_search_flow  best_of_n on the flow model with VP-SDE conversion (RBF's baseline)
//   rbf                 rollover budget forcing, quota N NFEs per step, same flow sampler
//
// with three verifiers: the exact one (log-density of component 0), a noisy
// classifier (AUC 0.8), and a wrong one (component 0's density moved 55% of
// the way to component 1), where more search raises the verifier's reward
// while the hit rate falls (the over-optimisation of Ma et al. 2025, sec. 4).
// Columns: mean NFEs per run, the verifier's own reward and the exact reward
// of the chosen sample, the hit rate (chosen sample in component 0) and its
// binomial standard error. Written to diffusion_search.csv and plotted to
// diffusion_search_<verifier>.svg (hit rate against NFEs); the 2-D scatter of
// samples without search and after FK steering goes to diffusion_scatter.svg.
// A last table times one NFE at d = 2, 16, 64.
//
// Usage: diffusion_search [seeds=200] [steps=20]
#include <ttscale/analysis/svg_plot.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/diffusion/fk_steering.hpp>
#include <ttscale/strategies/diffusion/rollover_budget_forcing.hpp>
#include <ttscale/strategies/diffusion/search_over_paths.hpp>
#include <ttscale/strategies/diffusion/zero_order_search.hpp>
#include <ttscale/toy/diffusion/sampler.hpp>
#include <ttscale/toy/diffusion/verifiers.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace ttscale;
using namespace ttscale::toy::diffusion;

struct row {
  std::string strategy, verifier;
  std::size_t n = 0;
  double nfe = 0, verifier_reward = 0, exact_reward = 0, hit_rate = 0, hit_se = 0;
};

/// One run: the chosen trajectory's finished sample (or nothing) and the NFEs spent.
struct outcome {
  std::optional<vector> sample;
  double nfe = 0;
};

template <class Result>
outcome outcome_of(const Result& r) {
  outcome o;
  o.nfe = static_cast<double>(r.spent.tokens);
  if (r.has_choice()) o.sample = sample_of(r.chosen().path);
  return o;
}

/// A verifier of the table: both an outcome and a process reward.
struct any_reward {
  std::function<double(std::span<const double>)> score;
  void score_outcomes(std::span<const trajectory> items, std::span<double> out) const {
    for (std::size_t i = 0; i < items.size(); ++i) out[i] = score(sample_of(items[i]));
  }
  void score_steps(std::span<const trajectory> items, std::span<double> out) const {
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto x = estimate_of(items[i]);
      if (!x) throw invalid_argument("any_reward: node without an estimate");
      out[i] = score(*x);
    }
  }
};

using strategy_fn = std::function<outcome(const score_model&, any_reward&, std::size_t n, std::size_t steps, std::mt19937_64&)>;

std::string svg_scatter(const gaussian_mixture& data, const std::vector<vector>& left, const std::vector<vector>& right,
                        const std::string& left_title, const std::string& right_title) {
  const char* colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
  const double panel = 360, pad = 30, lo = -5, hi = 5;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"13\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      2 * panel + 3 * pad, panel + 2 * pad + 30);
  auto draw = [&](const std::vector<vector>& points, double x0, const std::string& title) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x0 + panel / 2, pad, title);
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", x0,
                       pad + 10, panel, panel);
    auto px = [&](double v) { return x0 + (v - lo) / (hi - lo) * panel; };
    auto py = [&](double v) { return pad + 10 + (1 - (v - lo) / (hi - lo)) * panel; };
    for (std::size_t k = 0; k < data.size(); ++k)  // the components' 2-sigma circles
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"none\" stroke=\"{}\" stroke-dasharray=\"4 3\"/>\n",
                         px(data[k].mean[0]), py(data[k].mean[1]), 2 * data[k].stddev / (hi - lo) * panel, colours[k % 4]);
    for (const vector& x : points)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.2\" fill=\"{}\" fill-opacity=\"0.7\"/>\n", px(x[0]),
                         py(x[1]), colours[data.nearest_component(x) % 4]);
  };
  draw(left, pad, left_title);
  draw(right, 2 * pad + panel, right_title);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#444\">colour = the component a sample belongs to; red (right) is the target, 10% of the data</text>\n",
                     pad, panel + 2 * pad + 20);
  return svg + "</svg>\n";
}
}  // namespace

int main(int argc, char** argv) {
  const std::size_t seeds = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200;
  const std::size_t steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20;
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  const gaussian_reward exact = gaussian_reward::of_component(data, 0);
  const gaussian_reward wrong = gaussian_reward::misplaced(data, 0, 1, 0.55);
  const noisy_classifier classifier(data, 0, {.auc = 0.8, .seed = 3});

  const std::vector<std::pair<std::string, strategy_fn>> strategies{
      {"random_search", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::ddpm, .steps = k});
         return outcome_of(best_of_n(gen, v, "", best_of_n_options{.n = n, .max_steps = k}, rng));
       }},
      {"fk_steering", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::ddpm, .steps = k});
         return outcome_of(fk_steering(gen, v, "", fk_steering_options{.n = n}, rng));
       }},
      {"search_over_paths", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::ddpm, .steps = k});
         const search_over_paths_options o{.n = 1, .m = std::max<std::size_t>(1, n / 2), .start_steps = 4, .forward = 2, .backward = 4};
         return outcome_of(search_over_paths(gen, v, "", o, rng));
       }},
      {"zero_order", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::ddim, .steps = k});
         const std::size_t per = std::max<std::size_t>(1, n / 4);
         return outcome_of(zero_order_search(gen, v, "", zero_order_search_options{.n = per, .iterations = n / per, .lambda = 0.5}, rng));
       }},
      {"random_search_flow", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::flow_vp_sde, .steps = k});
         return outcome_of(best_of_n(gen, v, "", best_of_n_options{.n = n, .max_steps = k}, rng));
       }},
      {"rbf", [](const score_model& m, any_reward& v, std::size_t n, std::size_t k, std::mt19937_64& rng) {
         diffusion_sampler gen(m, {.kind = sampler_kind::flow_vp_sde, .steps = k});
         return outcome_of(rollover_budget_forcing(gen, v, "", rollover_budget_forcing_options{.budget_per_step = n}, rng));
       }},
  };
  const std::vector<std::pair<std::string, any_reward>> verifiers{
      {"exact", {[&](std::span<const double> x) { return exact(x); }}},
      {"classifier_auc0.8", {[&](std::span<const double> x) { return classifier(x); }}},
      {"wrong", {[&](std::span<const double> x) { return wrong(x); }}},
  };

  std::vector<row> rows;
  for (auto [verifier_name, verifier] : verifiers) {
    fmt::print("\nverifier: {} ({} seeds, K = {} steps; hit = chosen sample in component 0, prior 0.10)\n", verifier_name,
               seeds, steps);
    fmt::print("{:<20} {:>4} {:>8} {:>10} {:>10} {:>14}\n", "strategy", "N", "NFEs", "v.reward", "exact.rew", "hit rate");
    std::vector<analysis::plot_series> curves;
    for (const auto& [name, run] : strategies) {
      for (std::size_t n : {1, 2, 4, 8, 16, 32}) {
        row r{name, verifier_name, n};
        for (std::size_t seed = 0; seed < seeds; ++seed) {
          std::mt19937_64 rng(seed);
          const outcome o = run(model, verifier, n, steps, rng);
          r.nfe += o.nfe;
          if (!o.sample) continue;
          r.verifier_reward += verifier.score(*o.sample);
          r.exact_reward += exact(*o.sample);
          r.hit_rate += data.nearest_component(*o.sample) == 0;
        }
        const double p = static_cast<double>(seeds);
        r.nfe /= p, r.verifier_reward /= p, r.exact_reward /= p, r.hit_rate /= p;
        r.hit_se = std::sqrt(r.hit_rate * (1 - r.hit_rate) / p);
        fmt::print("{:<20} {:>4} {:>8.1f} {:>10.3f} {:>10.2f} {:>8.3f}±{:.3f}\n", name, n, r.nfe, r.verifier_reward,
                   r.exact_reward, r.hit_rate, r.hit_se);
        analysis::add_point(curves, name, r.nfe, r.hit_rate, r.hit_rate - 2 * r.hit_se, r.hit_rate + 2 * r.hit_se);
        rows.push_back(r);
      }
    }
    analysis::write_text_file("diffusion_search_" + verifier_name + ".svg",
                              analysis::svg_line_plot(curves, {.title = "Toy diffusion world, verifier: " + verifier_name,
                                                               .x_label = "NFEs per sample (network evaluations)",
                                                               .y_label = "hit rate (component 0), band: 2 se",
                                                               .y_min = 0.0,
                                                               .y_max = 1.0}));
  }
  std::string csv = "strategy,verifier,n,nfe,verifier_reward,exact_reward,hit_rate,hit_se\n";
  for (const row& r : rows)
    csv += fmt::format("{},{},{},{},{},{},{},{}\n", r.strategy, r.verifier, r.n, r.nfe, r.verifier_reward, r.exact_reward,
                       r.hit_rate, r.hit_se);
  analysis::write_text_file("diffusion_search.csv", csv);

  // The picture: 400 plain DDPM samples, and 400 FK-steered samples (k = 8 particles, exact verifier).
  std::vector<vector> plain, steered;
  for (std::size_t seed = 0; seed < 400; ++seed) {
    diffusion_sampler gen(model, {.kind = sampler_kind::ddpm, .steps = steps});
    std::mt19937_64 a(seed), b(seed);
    plain.push_back(sample_of(best_of_n(gen, exact, "", best_of_n_options{.n = 1, .max_steps = steps}, a).chosen().path));
    steered.push_back(sample_of(fk_steering(gen, exact, "", fk_steering_options{.n = 8}, b).chosen().path));
  }
  analysis::write_text_file("diffusion_scatter.svg",
                            svg_scatter(data, plain, steered, "DDPM, no search (400 samples)",
                                        "FK steering, 8 particles, exact verifier (400 runs)"));

  // Cost of one NFE as the dimension grows (the ring in the first two coordinates).
  fmt::print("\ncost: FK steering, 8 particles, K = {} (wall time per NFE, search bookkeeping included)\n", steps);
  for (std::size_t d : {2, 16, 64}) {
    const gaussian_mixture world = make_ring_mixture({.dimension = d});
    const score_model m(world);
    const gaussian_reward reward = gaussian_reward::of_component(world, 0);
    double nfe = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t seed = 0; seed < 50; ++seed) {
      diffusion_sampler gen(m, {.kind = sampler_kind::ddpm, .steps = steps});
      std::mt19937_64 rng(seed);
      nfe += static_cast<double>(fk_steering(gen, reward, "", fk_steering_options{.n = 8}, rng).spent.tokens);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("d = {:>2}: {:.2f} us per NFE\n", d, 1e6 * seconds / nfe);
  }
  fmt::print("\nwrote diffusion_search.csv, diffusion_search_{{exact,classifier_auc0.8,wrong}}.svg, diffusion_scatter.svg\n");
}
