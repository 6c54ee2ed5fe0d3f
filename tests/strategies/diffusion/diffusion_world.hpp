// What the diffusion strategies' tests share: the toy world (a 4-component
// ring in 2-D, component 0 the target with weight 0.1, the exact model and
// the exact verifier), paired comparisons of hit rates over seeds, and the
// check that a seed gives the same result whatever the execution.
//
// Paired comparison: both strategies run on seed i (their own engines seeded
// with i) and d_i = [strategy hit] - [baseline hit]; the standard error of
// the mean difference is sd(d) / sqrt(P). "Beats" means the mean difference
// exceeds 3 standard errors (one-sided false alarm ~0.1% under no effect).
#pragma once

#include <ttscale/search_context.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/diffusion/sampler.hpp>
#include <ttscale/toy/diffusion/verifiers.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ttscale::testing {

struct diffusion_world {
  toy::diffusion::gaussian_mixture data = toy::diffusion::make_ring_mixture({});
  toy::diffusion::score_model model{data};
  toy::diffusion::gaussian_reward exact = toy::diffusion::gaussian_reward::of_component(data, 0);

  [[nodiscard]] toy::diffusion::diffusion_sampler sampler(toy::diffusion::sampler_kind kind, std::size_t steps) const {
    return toy::diffusion::diffusion_sampler(model, {.kind = kind, .steps = steps});
  }
  /// Whether a result's chosen sample belongs to the target component.
  template <class Result>
  [[nodiscard]] bool hit(const Result& r) const {
    return r.has_choice() && toy::diffusion::hits_component(data, 0, r.chosen().path);
  }
};

struct mean_and_error {
  double mean = 0, standard_error = 0;
};

/// The mean of d and its standard error sd(d) / sqrt(|d|).
inline mean_and_error mean_with_standard_error(const std::vector<double>& d) {
  mean_and_error out;
  const double count = static_cast<double>(d.size());
  for (double x : d) out.mean += x / count;
  double ss = 0;
  for (double x : d) ss += (x - out.mean) * (x - out.mean);
  out.standard_error = std::sqrt(ss / (count - 1) / count);
  return out;
}

struct paired_hits {
  double strategy_rate = 0, baseline_rate = 0;
  double strategy_nfe = 0, baseline_nfe = 0;  // mean NFEs (tokens) per seed
  double difference = 0, standard_error = 0;
};

/// strategy(seed) and baseline(seed) return search results; seeds 0..P-1.
template <class Strategy, class Baseline>
paired_hits compare_hit_rates(const diffusion_world& w, std::size_t seeds, const Strategy& strategy,
                              const Baseline& baseline) {
  paired_hits out;
  std::vector<double> d;
  for (std::size_t seed = 0; seed < seeds; ++seed) {
    const auto s = strategy(seed);
    const auto b = baseline(seed);
    const double p = static_cast<double>(seeds);
    out.strategy_rate += w.hit(s) / p;
    out.baseline_rate += w.hit(b) / p;
    out.strategy_nfe += static_cast<double>(s.spent.tokens) / p;
    out.baseline_nfe += static_cast<double>(b.spent.tokens) / p;
    d.push_back(double(w.hit(s)) - double(w.hit(b)));
  }
  const mean_and_error e = mean_with_standard_error(d);
  out.difference = e.mean;
  out.standard_error = e.standard_error;
  return out;
}

/// search(gen, rng) against random search — best_of_n with n samples and the
/// exact verifier — on a fresh `kind` sampler of `steps` steps per run,
/// paired over `seeds` seeds.
template <class Search>
paired_hits against_random_search(const diffusion_world& w, toy::diffusion::sampler_kind kind, std::size_t steps,
                                  std::size_t seeds, std::size_t n, const Search& search) {
  auto run = [&](std::size_t seed, const auto& how) {
    toy::diffusion::diffusion_sampler gen = w.sampler(kind, steps);
    std::mt19937_64 rng(seed);
    return how(gen, rng);
  };
  return compare_hit_rates(
      w, seeds, [&](std::size_t seed) { return run(seed, search); },
      [&](std::size_t seed) {
        return run(seed, [&](toy::diffusion::diffusion_sampler& gen, std::mt19937_64& rng) {
          return best_of_n(gen, w.exact, "", best_of_n_options{.n = n, .max_steps = steps}, rng);
        });
      });
}

/// run(exec, rng) -> result: the same seed gives the same chosen sample and
/// the same NFEs for one call per batch, batches of 3 on 2 threads, batches of 7.
template <class Run>
void check_same_across_executions(const Run& run) {
  std::vector<std::string> texts;
  std::vector<std::uint64_t> tokens;
  for (execution exec : {execution{}, execution{.batch_size = 3, .threads = 2}, execution{.batch_size = 7}}) {
    std::mt19937_64 rng(42);
    const auto r = run(exec, rng);
    texts.push_back(r.has_choice() ? r.chosen().path.text() : "");
    tokens.push_back(r.spent.tokens);
  }
  CHECK(!texts[0].empty());
  CHECK(texts[0] == texts[1]);
  CHECK(texts[0] == texts[2]);
  CHECK(tokens[0] == tokens[1]);
  CHECK(tokens[0] == tokens[2]);
}

/// A reward that is NaN for every item (bad input).
struct nan_reward {
  void score_steps(std::span<const trajectory>, std::span<double> out) const {
    for (double& v : out) v = std::nan("");
  }
  void score_outcomes(std::span<const trajectory>, std::span<double> out) const {
    for (double& v : out) v = std::nan("");
  }
};

}  // namespace ttscale::testing
