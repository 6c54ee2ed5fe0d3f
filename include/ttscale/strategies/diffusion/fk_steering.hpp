// ttscale/strategies/diffusion/fk_steering.hpp: Feynman–Kac steering of a
// diffusion sampler (Singhal et al. 2025, "A General Framework for
// Inference-time Scaling and Steering of Diffusion Models", arXiv 2501.06848).
//
// FK steering is a particle filter over denoising steps: k particles x_T..x_0
// are proposed by the sampler, weighted by potentials G_t built from
// intermediate rewards r(x_t) (here: the reward of the Tweedie estimate
// x0_hat, one of the paper's intermediate rewards, sec. 3.2), and
// resampled every `resampling_interval` steps; the product of the potentials
// tilts the samples towards exp(lambda r(x_0)) p(x_0). The potentials
// (sec. 3.1 and Table 1 of the paper), with r_{T+1} = 0:
//   difference  G_t = exp(lambda (r(x_t) - r(x_{t+1})))   (the product telescopes to exp(lambda r(x_0)))
//   max         G_t = exp(lambda max_{s >= t} r(x_s))
//   sum         G_t = exp(lambda sum_{s >= t} r(x_s))
// It is the library's particle_filter, unchanged: a potential is a
// log_weight_source whose incremental log-weight is log G_t (read from the
// rewards the tree records on the path), the resampling interval is
// resample_when::interval (weights multiply between resamplings, as in the
// paper), and the final pick is the particle with the highest reward.
// as_particle_filter_options(o) returns exactly the particle_filter_options
// that fk_steering runs; particle_filter(gen, reward, start, that, rng) gives
// the same result (the tests check it).
//
// Cost: as particle_filter — per denoising step one batched generator call
// and one batched reward call over the k particles, O(k) resampling; the
// max and sum potentials walk the path's recorded rewards (O(depth) each).
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/strategies/detail/particle_weights.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>

TTSCALE_BEGIN_NAMESPACE

/// FK steering's potentials as particle-filter weight sources: each returns
/// log G_t = lambda * (...) for the newest node, whose reward is r.
namespace fk_potential {
namespace detail {
/// Calls f(score) for every scored ancestor of `node` (newest first).
template <class F>
void for_each_ancestor_reward(const trajectory& node, F&& f) {
  for (trajectory t = node.parent(); !t.is_root(); t = t.parent())
    if (!std::isnan(t.step_score())) f(t.step_score());
}
}  // namespace detail

/// G_t = exp(lambda (r(x_t) - r(x_{t+1}))), r of the unscored start = 0.
struct difference {
  static constexpr bool uses_reward = true;
  double lambda = 1.0;
  [[nodiscard]] double log_weight(double r, const trajectory& node) const {
    double previous = 0.0;
    for (trajectory t = node.parent(); !t.is_root(); t = t.parent())
      if (!std::isnan(t.step_score())) {
        previous = t.step_score();
        break;
      }
    return lambda * (r - previous);
  }
};
/// G_t = exp(lambda max_{s >= t} r(x_s)).
struct max {
  static constexpr bool uses_reward = true;
  double lambda = 1.0;
  [[nodiscard]] double log_weight(double r, const trajectory& node) const {
    double m = r;
    detail::for_each_ancestor_reward(node, [&](double s) { m = std::max(m, s); });
    return lambda * m;
  }
};
/// G_t = exp(lambda sum_{s >= t} r(x_s)).
struct sum {
  static constexpr bool uses_reward = true;
  double lambda = 1.0;
  [[nodiscard]] double log_weight(double r, const trajectory& node) const {
    double total = r;
    detail::for_each_ancestor_reward(node, [&](double s) { total += s; });
    return lambda * total;
  }
};
}  // namespace fk_potential

template <log_weight_source Potential = fk_potential::difference,
          kernels::resampling_scheme Scheme = kernels::systematic_t, budget_policy Budget = budget>
struct fk_steering_options {
  std::size_t n = 8;                    ///< k: particles (>= 1)
  std::size_t max_steps = 1000;         ///< denoising steps before unfinished particles are abandoned (>= 1)
  Potential potential{};                ///< difference / max / sum, with lambda > 0
  std::size_t resampling_interval = 1;  ///< resample after every this many denoising steps (>= 1)
  Scheme resampling{};                  ///< resampling scheme (kernels)
  execution exec{};                     ///< batching and threads
  Budget budget{};                      ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;        ///< optional: record the search tree (resampled-away particles: pruned)
};

/// The particle_filter_options FK steering runs (see the header comment).
template <class Potential, class Scheme, class Budget>
[[nodiscard]] auto as_particle_filter_options(const fk_steering_options<Potential, Scheme, Budget>& o) {
  return particle_filter_options<Potential, Scheme, resample_when::interval, finished_particles::compete_t,
                                 particle_score::last_reward_t, select::best_t, boxed_answer, Budget>{
      .n = o.n,
      .max_steps = o.max_steps,
      .log_weight = o.potential,
      .resampling = o.resampling,
      .resample_when = {.rounds = o.resampling_interval},
      .temperature = {},
      .finished = {},
      .candidate_score = {},
      .selection = {},
      .extract = {},
      .exec = o.exec,
      .budget = o.budget,
      .trace = o.trace};
}

/// FK steering; see the header comment. Throws invalid_argument naming
/// "fk_steering", the option and the value for n = 0, max_steps = 0,
/// resampling_interval = 0 or a lambda that is not finite and > 0;
/// invalid_score for a NaN or infinite reward (naming the item and node);
/// otherwise as particle_filter.
template <generator G, process_verifier V, class Potential, class Scheme, budget_policy Budget,
          std::uniform_random_bit_generator Engine>
[[nodiscard]] particle_search_result<std::string> fk_steering(G& gen, V& reward, search_start start,
                                                              const fk_steering_options<Potential, Scheme, Budget>& o,
                                                              Engine& rng) {
  search_context<Budget> ctx("fk_steering", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.resampling_interval", o.resampling_interval, 1);
    if constexpr (requires { o.potential.lambda; }) {
      if (!(o.potential.lambda > 0.0) || !std::isfinite(o.potential.lambda))
        ctx.fail_argument("options.potential.lambda must be finite and > 0 (got " +
                          detail::number_text(o.potential.lambda) + ")");
    }
    return detail::particle_filter_body(ctx, gen, &reward, as_particle_filter_options(o));
  });
}

TTSCALE_END_NAMESPACE
