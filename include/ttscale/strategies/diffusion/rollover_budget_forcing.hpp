// ttscale/strategies/diffusion/rollover_budget_forcing.hpp: Rollover Budget
// Forcing (RBF; Kim et al. 2025, "Inference-Time Scaling for Flow Models via
// Stochastic Generation and Rollover Budget Forcing", arXiv 2503.19385,
// sec. 5).
//
// Particle methods spend the same number of particles (NFEs) at every
// denoising step, but how many draws it takes to find a better continuation
// varies from step to step. RBF gives each step a quota of NFEs and moves on
// as soon as a candidate beats the current state's reward, rolling the unused
// quota over to the next step:
//
//   x <- start; r <- -inf; carry <- 0
//   for each denoising step while x is not a finished sample:
//     quota <- budget_per_step + carry; used <- 0
//     repeat: c_j ~ sampler(. | x) (one candidate per call, stream (x, j))
//             used += NFEs of c_j (at least 1);  s_j <- reward(x0_hat(c_j))
//             stop at the first s_j > r (an improvement), or when used >= quota
//     carry <- quota - used (0 if overspent);  x <- the best c_j; r <- its reward
//   return x
//
// With a stochastic sampler (the flow SDE / VP-SDE conversions of the same
// paper, toy::diffusion::sampler_kind::flow_sde / flow_vp_sde) candidates
// differ; a candidate whose text equals an earlier sibling's shows the step is
// deterministic (an ODE, or every sampler's last step here), so RBF takes it
// and moves on rather than spend the quota on copies (our choice; the paper
// runs RBF only on stochastic samplers). The first step's reward bar is -inf:
// the first candidate is taken. Total NFEs are at most about
// K * budget_per_step + (NFEs of one candidate) for a K-step sampler; the
// result's accounting is exact. Candidates are drawn one at a time (the
// sequential search the method is), so each step costs one generator call and
// one reward call per candidate. Cost: O(1) per candidate besides the model.
#pragma once

#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <budget_policy Budget = budget>
struct rollover_budget_forcing_options {
  std::size_t budget_per_step = 4;  ///< NFE quota of each denoising step before roll-over (>= 1)
  std::size_t max_steps = 1000;     ///< denoising steps before an unfinished search is abandoned (>= 1)
  execution exec{};                 ///< batching (calls here are of one item) and threads
  Budget budget{};                  ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;    ///< optional: record the search tree
};

/// What each denoising step of RBF did (for tests and plots).
struct rollover_step {
  std::size_t quota = 0;       ///< budget_per_step + the carried-over NFEs
  std::size_t used = 0;        ///< NFEs spent (a candidate counts at least 1)
  std::size_t candidates = 0;  ///< candidates drawn
  bool improved = false;       ///< a candidate beat the previous reward
  double reward = 0.0;         ///< the reward of the state moved to
};

template <class Answer>
struct rollover_search_result : search_result<Answer> {
  std::vector<rollover_step> steps;
};

/// RBF; see the header comment. Throws invalid_argument naming
/// "rollover_budget_forcing", the option and its value for budget_per_step
/// or max_steps of 0; invalid_score for a NaN or infinite reward.
template <generator G, process_verifier V, budget_policy Budget, std::uniform_random_bit_generator Engine>
[[nodiscard]] rollover_search_result<std::string> rollover_budget_forcing(
    G& gen, V& reward, search_start start, const rollover_budget_forcing_options<Budget>& o, Engine& rng) {
  search_context<Budget> ctx("rollover_budget_forcing", std::move(start), o.budget, o.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.budget_per_step", o.budget_per_step, 1);
    detail::require_at_least(ctx.name(), "options.max_steps", o.max_steps, 1);
    ctx.record_to(o.trace);
    std::vector<rollover_step> record;
    trajectory x = ctx.root();
    double r = -std::numeric_limits<double>::infinity();
    std::size_t carry = 0;
    const bool admitted = ctx.admit_samples(1) == 1;
    for (std::size_t depth = 0; admitted && depth < o.max_steps && !x.finished(); ++depth) {
      rollover_step s{.quota = o.budget_per_step + carry};
      std::optional<trajectory> best;
      double best_reward = -std::numeric_limits<double>::infinity();
      std::unordered_set<std::uint64_t> seen;
      while (!ctx.should_stop()) {
        const trajectory prefix[] = {x};
        const stream_key key[] = {{x.id(), s.candidates}};
        const std::vector<trajectory> child = ctx.extend(gen, prefix, key);
        if (child.empty()) break;
        ++s.candidates;
        s.used += std::max<std::size_t>(1, child[0].last_step().tokens);
        const std::vector<double> score = ctx.score_steps(reward, child);
        if (score.empty()) break;
        const bool repeat = !seen.insert(child[0].path_hash()).second;
        if (!best || score[0] > best_reward) {
          if (best) ctx.release(*best);
          best = child[0];
          best_reward = score[0];
        } else {
          ctx.release(child[0]);
        }
        if (score[0] > r) s.improved = true;
        if (s.improved || repeat || s.used >= s.quota) break;
      }
      if (!best) break;
      carry = s.quota > s.used ? s.quota - s.used : 0;
      ctx.mark(x, trace_status::kept);
      ctx.release(x);
      x = *best;
      r = best_reward;
      s.reward = r;
      record.push_back(s);
      if (ctx.cut()) break;
    }
    std::vector<candidate<std::string>> candidates;
    if (x.finished()) candidates.push_back({x, r, std::nullopt});
    rollover_search_result<std::string> out;
    static_cast<search_result<std::string>&>(out) = ctx.finish(std::move(candidates), select::best);
    out.steps = std::move(record);
    return out;
  });
}

TTSCALE_END_NAMESPACE
