// ttscale/strategies/diffusion/search_over_paths.hpp: search over sampling
// paths with re-noising (Ma et al. 2025, "Inference-Time Scaling for
// Diffusion Models beyond Scaling Denoising Steps", arXiv 2501.09732,
// sec. 3.2 "Search over Paths").
//
// A beam search over denoising levels whose branching is re-noising: each
// kept path goes back up the forward process a few levels (new noise, so M
// different continuations) and is denoised further than it went back:
//
//   paths <- N initial noises, each denoised `start_steps` levels  (the paper's sigma)
//   while some path is not a finished sample:
//     for each path p, j < M:  q_pj <- renoise(p, forward levels)         (Delta_f; no NFE)
//     denoise every q_pj `backward` levels (> forward)                      (Delta_b; batched)
//     score each with the process reward (on x0_hat; on the sample at the end)
//     paths <- the N best                                                   (ties: lowest index)
//   return the best finished path
//
// Every round makes backward - forward levels of progress, so it ends after
// about (K - start_steps) / (backward - forward) rounds; NFEs per round are
// N * M * (backward + 1) (a re-noised state is evaluated once more), which
// result.spent.tokens counts exactly. Written on the public round API
// (search_context, rollout, keep_best). The generator must be a
// renoising_generator (toy::diffusion::diffusion_sampler is one).
//
// Random streams: the j-th re-noising of node p draws from stream (p, j);
// denoising after round r uses rollout's streams with first_index r * N * M;
// the initial paths are rollout candidates 0..N-1 — so results never depend
// on batch size or threads. Cost per round: one generator call per level for
// N * M items, one reward call for N * M items, O(N M log N) selection.
#pragma once

#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/search_round.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// A generator that can move a node back up the noise levels:
/// `renoise(node, levels, rng)` returns the step (to append to `node`) that
/// holds the re-noised state; the search then extends it.
template <class G>
concept renoising_generator = generator<G> && requires(G& g, const trajectory& t, std::size_t levels, random_engine& rng) {
  { g.renoise(t, levels, rng) } -> std::same_as<step>;
};

namespace detail {
/// Rolls nodes the strategy appended from generator-made steps (re-noised
/// states, chosen noises) `max_steps` steps on (rollout's streams from
/// first_index) and returns the leaves. The starts are released after: by the
/// context if the generator extended them, else — the context never saw them
/// (a round cut before reaching them) — through the generator's own hook.
template <generator G, budget_policy B>
std::vector<trajectory> roll_out_appended(search_context<B>& ctx, G& gen, std::span<const trajectory> starts,
                                          std::size_t first_index, std::size_t max_steps) {
  std::vector<trajectory> leaves = rollout(ctx, gen, starts, first_index, max_steps).leaves;
  if constexpr (releasing_generator<G>) {
    std::vector<trajectory> never;
    for (std::size_t i = 0; i < starts.size(); ++i)
      if (i >= leaves.size() || leaves[i] == starts[i]) never.push_back(starts[i]);
    if (!never.empty()) gen.release(never);
  }
  ctx.release(starts);
  return leaves;
}
}  // namespace detail

template <budget_policy Budget = budget>
struct search_over_paths_options {
  std::size_t n = 4;            ///< N: paths kept (>= 1)
  std::size_t m = 4;            ///< M: re-noisings of each path per round (>= 1)
  std::size_t start_steps = 10; ///< levels denoised before the first round (>= 1)
  std::size_t forward = 2;      ///< Delta_f: levels re-noised per round (>= 1)
  std::size_t backward = 4;     ///< Delta_b: levels denoised per round (> forward)
  std::size_t max_rounds = 1000;///< rounds before unfinished paths are abandoned (>= 1)
  execution exec{};             ///< batching and threads
  Budget budget{};              ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;///< optional: record the search tree
};

/// Search over paths; see the header comment. Throws invalid_argument naming
/// "search_over_paths", the option and its value for n, m, start_steps,
/// forward or max_rounds of 0, or backward <= forward; invalid_score for a
/// NaN or infinite reward; otherwise as beam_search.
template <renoising_generator G, process_verifier V, budget_policy Budget, std::uniform_random_bit_generator Engine>
[[nodiscard]] search_result<std::string> search_over_paths(G& gen, V& reward, search_start start,
                                                           const search_over_paths_options<Budget>& o, Engine& rng) {
  search_context<Budget> ctx("search_over_paths", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.n", o.n, 1);
    detail::require_at_least(ctx.name(), "options.m", o.m, 1);
    detail::require_at_least(ctx.name(), "options.start_steps", o.start_steps, 1);
    detail::require_at_least(ctx.name(), "options.forward", o.forward, 1);
    detail::require_at_least(ctx.name(), "options.max_rounds", o.max_rounds, 1);
    if (o.backward <= o.forward)
      ctx.fail_argument("options.backward must exceed options.forward (got backward " + std::to_string(o.backward) +
                        ", forward " + std::to_string(o.forward) + "): a round must make progress");
    ctx.record_to(o.trace);
    const std::size_t n = ctx.admit_samples(o.n);
    std::vector<trajectory> paths = rollout(ctx, gen, n, 0, o.start_steps).leaves;
    std::vector<double> scores(paths.size(), std::numeric_limits<double>::quiet_NaN());
    {  // paths that are already samples (start_steps >= K) compete with their final reward
      std::vector<trajectory> done;
      std::vector<std::size_t> where;
      for (std::size_t i = 0; i < paths.size(); ++i)
        if (paths[i].finished()) done.push_back(paths[i]), where.push_back(i);
      if (!done.empty() && !ctx.cut()) {
        const std::vector<double> s = ctx.score_steps(reward, done);
        for (std::size_t k = 0; k < s.size(); ++k) scores[where[k]] = s[k];
      }
    }
    for (std::size_t round = 0; round < o.max_rounds && !ctx.cut(); ++round) {
      bool all_finished = true;
      for (const trajectory& p : paths) all_finished &= p.finished();
      if (all_finished || ctx.should_stop()) break;
      // Re-noise: M continuations of every unfinished path (a finished one competes as it is).
      std::vector<trajectory> starts, kept;
      std::vector<double> kept_scores;
      for (std::size_t i = 0; i < paths.size(); ++i) {
        if (paths[i].finished()) {
          kept.push_back(paths[i]);
          kept_scores.push_back(scores[i]);
          continue;
        }
        for (std::size_t j = 0; j < o.m; ++j) {
          random_engine noise = ctx.engine({paths[i].id(), j});
          starts.push_back(ctx.tree().append(paths[i].id(), gen.renoise(paths[i], o.forward, noise)));
        }
      }
      std::vector<trajectory> unfinished;
      for (const trajectory& p : paths)
        if (!p.finished()) unfinished.push_back(p);
      ctx.release(unfinished);  // re-noised: never extended again
      const std::vector<trajectory> leaves = detail::roll_out_appended(ctx, gen, starts, round * o.n * o.m, o.backward);
      if (ctx.cut()) {
        paths = kept;
        scores = kept_scores;
        break;
      }
      const std::vector<double> leaf_scores = ctx.score_steps(reward, leaves);
      if (ctx.cut()) {
        paths = kept;
        scores = kept_scores;
        break;
      }
      std::vector<trajectory> pool = kept;
      std::vector<double> pool_scores = kept_scores;
      pool.insert(pool.end(), leaves.begin(), leaves.end());
      pool_scores.insert(pool_scores.end(), leaf_scores.begin(), leaf_scores.end());
      const std::vector<std::size_t> keep = keep_best(pool_scores, n);
      std::vector<bool> is_kept(pool.size(), false);
      paths.clear();
      scores.clear();
      for (std::size_t k : keep) {
        is_kept[k] = true;
        paths.push_back(pool[k]);
        scores.push_back(pool_scores[k]);
      }
      std::vector<trajectory> pruned;
      for (std::size_t i = 0; i < pool.size(); ++i)
        if (!is_kept[i]) pruned.push_back(pool[i]);
      ctx.mark(pruned, trace_status::pruned);
      ctx.mark(paths, trace_status::kept);
      ctx.release(pruned);
    }
    std::vector<candidate<std::string>> candidates;
    for (std::size_t i = 0; i < paths.size(); ++i)
      if (paths[i].finished() && !std::isnan(scores[i])) candidates.push_back({paths[i], scores[i], std::nullopt});
    return ctx.finish(std::move(candidates), select::best);
  });
}

TTSCALE_END_NAMESPACE
