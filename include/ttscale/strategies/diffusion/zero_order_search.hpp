// ttscale/strategies/diffusion/zero_order_search.hpp: zero-order search over
// a diffusion sampler's initial noise (Ma et al. 2025, "Inference-Time
// Scaling for Diffusion Models beyond Scaling Denoising Steps", arXiv
// 2501.09732, sec. 3.2 "Zero-Order Search").
//
// Random search (best-of-N over initial noises: the library's best_of_n)
// draws every noise independently; zero-order search instead searches near
// the best noise so far, a derivative-free hill climb in noise space:
//
//   pivot p ~ N(0, I)
//   for i = 1..iterations:
//     y_j = p + lambda u_j, u_j uniform on the unit sphere, j = 1..N   (the pivot's lambda-neighbourhood)
//     x_j = sampler(y_j); s_j = verifier(x_j)                            (one batched rollout, one batched call)
//     p <- y_{argmax s}                                                  (the paper: the best candidate is the new pivot)
//   return the best sample seen
//
// We draw the candidates on the neighbourhood's boundary |y - p| = lambda, so
// every step moves exactly lambda (the tests check it); the paper's
// neighbourhood is a ball of radius lambda around the pivot.
// The sampler should be deterministic given its noise (DDIM or the flow ODE)
// for the neighbourhood to mean anything, but any noise_space_generator
// works. Samples: N * iterations; with a K-step sampler, N * iterations * K
// NFEs (result.spent.tokens). Random streams: the pivot from stream
// (zero_order_pivot, 0), candidate j of iteration i from (i, j), its
// denoising from rollout's streams — independent of batching and threads.
// Cost per iteration: one rollout of N candidates (one generator call per
// level), one verifier call for N, O(N d) to draw the neighbourhood.
#pragma once

#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/strategies/diffusion/search_over_paths.hpp>  // detail::roll_out_appended
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <concepts>
#include <numbers>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// A generator whose samples are a function of an initial noise the caller
/// chooses: `from_noise(z)` returns the step (to append to the root) that
/// holds noise z of dimension `noise_dimension()`.
template <class G>
concept noise_space_generator = generator<G> && requires(G& g, std::span<const double> z) {
  { g.noise_dimension() } -> std::convertible_to<std::size_t>;
  { g.from_noise(z) } -> std::same_as<step>;
};

template <budget_policy Budget = budget>
struct zero_order_search_options {
  std::size_t n = 8;             ///< N: candidates per iteration (>= 1)
  std::size_t iterations = 4;    ///< iterations (>= 1)
  double lambda = 0.5;           ///< neighbourhood radius in noise space (finite, > 0)
  std::size_t max_steps = 1000;  ///< denoising steps per candidate before it is abandoned (>= 1)
  execution exec{};              ///< batching and threads
  Budget budget{};               ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr; ///< optional: record the search tree
};

namespace detail {
inline constexpr std::uint64_t zero_order_pivot = std::uint64_t{1} << 61;

/// d standard normal draws (Box-Muller, the same on every platform).
inline std::vector<double> standard_normal_vector(random_engine& rng, std::size_t d) {
  std::vector<double> z(d);
  for (double& v : z) {
    const double u1 = 1.0 - rng.uniform();  // (0, 1]: a finite log; drawn first, then u2
    const double u2 = rng.uniform();
    v = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  return z;
}
}  // namespace detail

/// Zero-order search; see the header comment. Throws invalid_argument naming
/// "zero_order_search", the option and its value for n, iterations or
/// max_steps of 0, or a lambda that is not finite and > 0; invalid_score for
/// a NaN or infinite verifier score (naming the item and node).
template <noise_space_generator G, outcome_verifier V, budget_policy Budget, std::uniform_random_bit_generator Engine>
[[nodiscard]] search_result<std::string> zero_order_search(G& gen, V& verifier, search_start start,
                                                           const zero_order_search_options<Budget>& o, Engine& rng) {
  search_context<Budget> ctx("zero_order_search", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.n", o.n, 1);
    detail::require_at_least(ctx.name(), "options.iterations", o.iterations, 1);
    detail::require_at_least(ctx.name(), "options.max_steps", o.max_steps, 1);
    if (!(o.lambda > 0.0) || !std::isfinite(o.lambda))
      ctx.fail_argument("options.lambda must be finite and > 0 (got " + detail::number_text(o.lambda) + ")");
    ctx.record_to(o.trace);
    const std::size_t d = gen.noise_dimension();
    random_engine pivot_stream = ctx.engine({detail::zero_order_pivot, 0});
    std::vector<double> pivot = detail::standard_normal_vector(pivot_stream, d);

    std::vector<candidate<std::string>> candidates;
    for (std::size_t it = 0; it < o.iterations; ++it) {
      if (ctx.should_stop()) break;
      const std::size_t n = ctx.admit_samples(o.n);
      if (n == 0) break;
      std::vector<std::vector<double>> noises(n);
      std::vector<trajectory> starts;
      for (std::size_t j = 0; j < n; ++j) {
        random_engine draw = ctx.engine({it, j});
        noises[j] = detail::standard_normal_vector(draw, d);
        double norm = 0.0;
        for (double u : noises[j]) norm += u * u;
        norm = std::sqrt(norm);
        for (std::size_t i = 0; i < d; ++i) noises[j][i] = pivot[i] + o.lambda * noises[j][i] / norm;
        starts.push_back(ctx.tree().append(ctx.root().id(), gen.from_noise(noises[j])));
      }
      const std::vector<trajectory> leaves = detail::roll_out_appended(ctx, gen, starts, it * o.n, o.max_steps);
      if (ctx.cut()) break;
      std::vector<trajectory> finished;
      std::vector<std::size_t> which;
      for (std::size_t j = 0; j < leaves.size(); ++j)
        if (leaves[j].finished()) finished.push_back(leaves[j]), which.push_back(j);
      const std::vector<double> scores = ctx.score_outcomes(verifier, finished);
      for (std::size_t k = 0; k < scores.size(); ++k) candidates.push_back({finished[k], scores[k], std::nullopt});
      if (ctx.cut() || scores.empty()) break;
      pivot = noises[which[keep_best(scores, 1)[0]]];
    }
    return ctx.finish(std::move(candidates), select::best);
  });
}

TTSCALE_END_NAMESPACE
