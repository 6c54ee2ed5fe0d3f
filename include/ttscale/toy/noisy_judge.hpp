// ttscale/toy/noisy_judge.hpp: a SIMULATED stochastic judge over the toy
// arithmetic world — what a weak generative verifier looks like to a
// verifier ensemble (ttscale/verifiers/ensemble.hpp): each sampled judgment
// is noisy, several judgments of one item are partly independent, so more
// judgments help, up to the part of the error they share.
//
// One judgment of an item scores
//
//   sigmoid(mu * right + sqrt(rho) * z_item + sqrt(1 - rho) * z_seed),   z ~ N(0, 1)
//
// where right is whether the finished answer is correct (judge_outcomes) or
// every step so far is correct (judge_steps), z_item is drawn from (params.seed,
// the item's path hash) — the same for every judgment of that text, the
// judge's persistent opinion of it — and z_seed from the judgment's seed alone.
// The noise has unit variance, so, as in toy::noisy_orm, mu = sqrt(2) *
// Phi^-1(auc) makes `auc` the exact probability that ONE judgment of a random
// right item outscores one of a random wrong item. `item_correlation` = rho
// in [0, 1] is the share of the noise no number of judgments averages away:
// 0 (the default) makes judgments independent given the item, so an
// ensemble's mean converges to a perfect separator; 1 makes every judgment
// equal (a deterministic reward model; an ensemble then buys nothing).
// Judgments through the vote aggregation say "right" when the score is at
// least 0.5, i.e. mu * right + noise >= 0.
//
// Everything is deterministic given the seeds; the judge is thread-safe.
// Cost: O(1) per judgment.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/trajectory.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace toy {

struct judge_params {
  double auc = 0.7;               ///< of one judgment: P(right item's judgment > wrong item's), in [0.5, 1)
  double item_correlation = 0.0;  ///< share of the noise variance fixed per item text, in [0, 1]
  std::uint64_t seed = 0;         ///< seed of the per-item part: a different seed is a different judge
};

/// The simulated stochastic judge; see the header comment.
class noisy_judge {
 public:
  static constexpr bool thread_safe = true;

  noisy_judge(const arithmetic_problem& p, judge_params params)
      : problem_(&p), seed_(params.seed), mu_(detail::separation_for_auc(params.auc, "toy::noisy_judge")) {
    const double rho = params.item_correlation;
    if (!(rho >= 0.0 && rho <= 1.0))
      throw invalid_argument("toy::noisy_judge: item_correlation must be in [0, 1] (got " +
                             ttscale::detail::number_text(rho) + ")");
    item_weight_ = std::sqrt(rho);
    seed_weight_ = std::sqrt(1.0 - rho);
  }

  void judge_outcomes(std::span<const trajectory> finished, std::span<const std::uint64_t> seeds,
                      std::span<double> out) const {
    require_sizes(finished.size(), seeds.size(), out.size());
    for (std::size_t i = 0; i < finished.size(); ++i)
      out[i] = judgment(0x0c33, finished[i], seeds[i], is_correct(*problem_, finished[i]));
  }
  void judge_steps(std::span<const trajectory> prefixes, std::span<const std::uint64_t> seeds,
                   std::span<double> out) const {
    require_sizes(prefixes.size(), seeds.size(), out.size());
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      out[i] = judgment(0x0d44, prefixes[i], seeds[i], prefix_correct(*problem_, prefixes[i]));
  }

 private:
  static void require_sizes(std::size_t items, std::size_t seeds, std::size_t out) {
    if (items != seeds || items != out)
      throw size_mismatch("toy::noisy_judge: " + std::to_string(items) + " items, " + std::to_string(seeds) +
                          " seeds and " + std::to_string(out) + " outputs");
  }

  double judgment(std::uint64_t salt, const trajectory& t, std::uint64_t seed, bool right) const {
    random_engine item_noise(seed_, {salt, t.path_hash()});
    random_engine judgment_noise(seed);
    const double z = item_weight_ * detail::standard_normal(item_noise) +
                     seed_weight_ * detail::standard_normal(judgment_noise);
    return detail::sigmoid(mu_ * (right ? 1.0 : 0.0) + z);
  }

  const arithmetic_problem* problem_;
  std::uint64_t seed_;
  double mu_;
  double item_weight_ = 0.0;
  double seed_weight_ = 1.0;
};

}  // namespace toy
TTSCALE_END_NAMESPACE
