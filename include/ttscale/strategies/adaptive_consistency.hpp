// ttscale/strategies/adaptive_consistency.hpp: adaptive self-consistency —
// sample until the vote is decided.
//
// Aggarwal, Madaan, Yang & Mausam 2023 ("Let's Sample Step by Step:
// Adaptive-Consistency for Efficient Reasoning and Coding with LLMs", sec. 3):
// self-consistency (Wang et al. 2023) with a fixed N wastes samples on easy
// questions; instead sample in growing batches and stop as soon as a
// stopping rule says the majority answer is settled:
//  - beta_rule{confidence}: the Beta-posterior probability that the leading
//    answer (v1 votes) beats the runner-up (v2 votes),
//    P = 1 - I_0.5(v1 + 1, v2 + 1), reaches `confidence` (their default 0.95);
//  - agreement_rule{threshold}: the leading answer's share v1 / (answered
//    samples) reaches `threshold` (with at least `min_votes` votes).
//
//   b <- initial_batch
//   while sampled < max_samples:
//     start min(b, max_samples - sampled) samples; step them in lockstep     (ONE call per round)
//       after every round, count the answers of the samples finished so far
//       if rule(v1, v2, answered): cancel the batch's unfinished samples; stop
//     b <- ceil(b * growth)
//   return selection(finished samples)                                          (select::majority by default)
//
// The rule is checked after every round, so a batch stops as soon as the
// rule holds (outstanding samples are cancelled: their tokens so far are
// charged, they do not vote). Sample i always draws streams (i, depth), so
// the first m samples are the same whatever the batch schedule; same seed,
// same result for any batch size and thread count. Candidates are the
// finished samples in finish order (round, then index). stop_reason:
// early_stop if the rule held, completed if max_samples were drawn without
// it holding, depth_limit if nothing finished, or a budget limit.
//
// Cost: at most max_samples samples; O(distinct answers) per check.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/strategies/detail/adaptive_consistency_beta.hpp>
#include <ttscale/trace.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// The vote so far: the top two answer counts and how many samples answered.
struct vote_state {
  std::size_t leader = 0;     ///< v1: votes of the leading answer
  std::size_t runner_up = 0;  ///< v2: votes of the second answer (0 if none)
  std::size_t answered = 0;   ///< finished samples with an answer
};

/// A stopping rule: true once the vote is settled.
template <class R>
concept stopping_rule = std::predicate<const R&, const vote_state&>;

/// Stop once P(leader is the majority) = 1 - I_0.5(v1 + 1, v2 + 1) >= confidence.
struct beta_rule {
  double confidence = 0.95;
  bool operator()(const vote_state& v) const {
    return v.answered > 0 && detail::beta_majority_probability(v.leader, v.runner_up) >= confidence;
  }
};

/// Stop once the leader's share of answered samples is >= threshold and it has >= min_votes votes.
struct agreement_rule {
  double threshold = 0.8;
  std::size_t min_votes = 3;
  bool operator()(const vote_state& v) const {
    return v.answered > 0 && v.leader >= min_votes &&
           static_cast<double>(v.leader) >= threshold * static_cast<double>(v.answered);
  }
};

template <stopping_rule Rule = beta_rule, class Select = select::majority_t, answer_extractor Extract = boxed_answer,
          budget_policy Budget = budget>
struct adaptive_consistency_options {
  std::size_t initial_batch = 4;   ///< first batch size (>= 1)
  double growth = 2.0;             ///< each batch is ceil(previous * growth) (>= 1)
  std::size_t max_samples = 64;    ///< never more samples than this (>= 1)
  std::size_t max_steps = 64;      ///< steps per sample before it is abandoned (>= 1)
  Rule rule{};                     ///< when the vote is settled
  Select selection{};              ///< final selection among the finished samples
  Extract extract{};               ///< answer extraction
  execution exec{};                ///< batching and threads
  Budget budget{};                 ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;   ///< optional: record the samples here
};

/// Adaptive self-consistency; see the header comment. Throws invalid_argument
/// for initial_batch = 0, growth < 1 or not finite, max_samples = 0,
/// max_steps = 0; budget_exhausted if the budget is already spent;
/// generator_failure if the generator throws.
template <generator G, stopping_rule Rule, class Select, answer_extractor Extract, budget_policy Budget,
          std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>>
[[nodiscard]] search_result<answer_of<Extract>> adaptive_consistency(
    G& gen, search_start start, const adaptive_consistency_options<Rule, Select, Extract, Budget>& options,
    Engine& rng) {
  using answer = answer_of<Extract>;
  search_context<Budget> ctx("adaptive_consistency", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::require_at_least(ctx.name(), "options.initial_batch", options.initial_batch, 1);
    if (!(options.growth >= 1.0) || !std::isfinite(options.growth))
      ctx.fail_argument("options.growth must be finite and >= 1 (got " + detail::number_text(options.growth) + ")");
    detail::require_at_least(ctx.name(), "options.max_samples", options.max_samples, 1);
    detail::require_at_least(ctx.name(), "options.max_steps", options.max_steps, 1);
    ctx.record_to(options.trace);

    std::vector<candidate<answer>> candidates;
    std::unordered_map<answer, std::size_t> votes;
    vote_state vote;
    bool settled = false;
    auto count = [&](const trajectory& finished) {
      candidate<answer> c;
      c.path = finished;
      c.answer = options.extract(finished);
      if (c.answer) {
        ++votes[*c.answer];
        ++vote.answered;
        vote.leader = 0;
        vote.runner_up = 0;
        for (const auto& [a, n] : votes) {
          if (n > vote.leader) {
            vote.runner_up = vote.leader;
            vote.leader = n;
          } else if (n > vote.runner_up) {
            vote.runner_up = n;
          }
        }
      }
      candidates.push_back(std::move(c));
    };

    std::size_t sampled = 0;
    double batch = static_cast<double>(options.initial_batch);
    while (sampled < options.max_samples && !settled && !ctx.cut()) {
      const std::size_t want = std::min(options.max_samples - sampled, static_cast<std::size_t>(std::ceil(batch)));
      const std::size_t admitted = ctx.admit_samples(want);
      if (admitted == 0) break;
      auto observe = [&](std::span<const trajectory> children, std::span<const std::size_t>) {
        for (const trajectory& c : children)
          if (c.finished()) count(c);
        settled = options.rule(std::as_const(vote));
        return !settled;  // settled: the rollout records early_stop
      };
      rollout_state state = rollout(ctx, gen, admitted, sampled, options.max_steps, observe);
      for (const trajectory& leaf : state.leaves)
        if (!leaf.finished() && leaf.id() != ctx.root().id()) {  // abandoned: later batches start at the root
          ctx.mark(leaf, trace_status::pruned);
          ctx.release(leaf);
        }
      sampled += admitted;
      if (admitted < want) break;  // the sample limit: no further batch
      batch = std::min(batch * options.growth, static_cast<double>(options.max_samples));
    }
    return ctx.finish(std::move(candidates), options.selection);
  });
}

TTSCALE_END_NAMESPACE
