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
    const double hs = w.hit(s), hb = w.hit(b);
    out.strategy_rate += hs;
    out.baseline_rate += hb;
    out.strategy_nfe += static_cast<double>(s.spent.tokens);
    out.baseline_nfe += static_cast<double>(b.spent.tokens);
    d.push_back(hs - hb);
  }
  const double p = static_cast<double>(seeds);
  out.strategy_rate /= p;
  out.baseline_rate /= p;
  out.strategy_nfe /= p;
  out.baseline_nfe /= p;
  out.difference = out.strategy_rate - out.baseline_rate;
  double ss = 0;
  for (double x : d) ss += (x - out.difference) * (x - out.difference);
  out.standard_error = std::sqrt(ss / (p - 1) / p);
  return out;
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
