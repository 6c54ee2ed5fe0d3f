// ttscale/verifiers/ensemble.hpp: verifier ensembles — verification scaled
// like generation, by sampling k judgments per item and aggregating them.
//
// A generative judge (an LLM asked "is this correct?", with a thought first)
// is stochastic: sampled at temperature > 0 it gives a different judgment
// each time, and several judgments of one item are worth more than one.
// GenRM-CoT samples K verification rationales and averages the probability of
// "Yes" over them (Zhang et al. 2024, "Generative Verifiers: Reward Modeling
// as Next-Token Prediction", majority voting at test time); DeepSeek-GRM
// samples k principle + critique judgments and sums their pointwise scores
// ("voting with generated rewards"; a meta RM may first keep the best of
// them — Liu et al. 2025, "Inference-Time Scaling for Generalist Reward
// Modeling"); J1 scales its thinking judge the same way, aggregating sampled
// verdicts or scores (Whitehouse et al. 2025, "J1: Incentivizing Thinking in
// LLM-as-a-Judge via Reinforcement Learning"). verifier_ensemble is that
// recipe over any stochastic judge:
//
//   for each item i, judgment j in 0..k-1:  s_ij = judge(item_i; seed_ij)   (one batched call of n*k)
//   score_i = aggregation(s_i0 .. s_i(k-1))                        (mean, sum, vote, or your own)
//
// A stochastic judge is batch-first like every verifier, and takes one seed
// per item, which must fully determine its judgment (a server: the request's
// sampling seed):
//
//   struct my_judge {
//     void judge_outcomes(std::span<const ttscale::trajectory> finished,
//                         std::span<const std::uint64_t> seeds, std::span<double> out);
//     void judge_steps(std::span<const ttscale::trajectory> prefixes,   // optional: a process judge
//                      std::span<const std::uint64_t> seeds, std::span<double> out);
//   };
//
// The ensemble is an outcome_verifier when its judge has judge_outcomes, a
// process_verifier when it has judge_steps, both when it has both. Seeds:
// judgment j of an item is seeded judgment_seed(options.seed, item, j), a
// function of the ensemble's seed, the item's node id and path hash, and j
// only — so a score never depends on batch size, order or threads, and
// judgment j is the same whatever k (common random numbers: an ensemble of 4
// sees the first 4 judgments of an ensemble of 16). Scoring the same node
// twice gives the same score.
//
// Cost: one judge call of n*k items per call of n items; judgments_per_item()
// = k, so a search charges k verifier_items per scored item (verifier.hpp,
// verifier_items_per_score) and one verifier_call per batched call. Errors:
// k = 0 is invalid_argument; a NaN or infinite judgment, or a non-finite
// aggregate, is invalid_score naming the ensemble, the item, its node and the
// value (inside a search it arrives nested in verifier_failure, as any
// verifier's exception does). Thread-safe iff the judge is.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// Judges finished trajectories: out[i] is one sampled judgment of finished[i]
/// under seeds[i] (the same seed, the same judgment).
template <class J>
concept outcome_judge = requires(J& j, std::span<const trajectory> finished, std::span<const std::uint64_t> seeds,
                                 std::span<double> out) { j.judge_outcomes(finished, seeds, out); };

/// Judges the newest step of prefixes, one sampled judgment per seed.
template <class J>
concept process_judge = requires(J& j, std::span<const trajectory> prefixes, std::span<const std::uint64_t> seeds,
                                 std::span<double> out) { j.judge_steps(prefixes, seeds, out); };

/// Either kind: what verifier_ensemble samples from.
template <class J>
concept stochastic_judge = outcome_judge<J> || process_judge<J>;

/// Combines one item's k judgments (in judgment order) into its score.
template <class A>
concept judgment_aggregator = std::regular_invocable<const A&, std::span<const double>> &&
                              std::convertible_to<std::invoke_result_t<const A&, std::span<const double>>, double>;

namespace judgments {
/// Mean of the judgments: GenRM-CoT's average P(Yes) over sampled rationales
/// (Zhang et al. 2024), J1's mean pointwise score. Its scale does not depend on k.
struct mean_t {
  double operator()(std::span<const double> s) const noexcept {
    double sum = 0.0;
    for (double x : s) sum += x;
    return s.empty() ? 0.0 : sum / static_cast<double>(s.size());
  }
};
/// Sum of the judgments: DeepSeek-GRM's voting, which adds k discrete
/// pointwise scores (Liu et al. 2025) and so widens the range of rewards.
/// Ranks items as mean_t does for one k; differs only in scale.
struct sum_t {
  double operator()(std::span<const double> s) const noexcept {
    double sum = 0.0;
    for (double x : s) sum += x;
    return sum;
  }
};
/// A vote over verdicts: a judgment at or above `threshold` approves the item
/// (for a judge of P(correct), 0.5 means "says yes"); the score is the share
/// of approving judgments, in [0, 1] — majority voting over verdicts, kept as
/// a fraction so it also ranks items. Throws invalid_argument for a NaN threshold.
struct vote_t {
  double threshold = 0.5;
  double operator()(std::span<const double> s) const {
    if (std::isnan(threshold)) throw invalid_argument("judgments::vote: threshold is nan");
    std::size_t yes = 0;
    for (double x : s) yes += x >= threshold ? 1 : 0;
    return s.empty() ? 0.0 : static_cast<double>(yes) / static_cast<double>(s.size());
  }
};
inline constexpr mean_t mean{};
inline constexpr sum_t sum{};
inline constexpr vote_t vote{};
}  // namespace judgments

template <judgment_aggregator Aggregation = judgments::mean_t>
struct ensemble_options {
  std::size_t k = 8;              ///< judgments per item (>= 1)
  Aggregation aggregation{};      ///< judgments::mean, sum, vote_t{.threshold}, or your own
  std::uint64_t seed = 0;         ///< a different seed is an independent draw of every judgment
};

/// The seed of judgment j of `item` in an ensemble seeded `seed`: a function
/// of (seed, node id, path hash, j) only, so judgment j of an item is the same
/// whatever k, batch or order.
[[nodiscard]] inline std::uint64_t judgment_seed(std::uint64_t seed, const trajectory& item, std::uint64_t j) noexcept {
  return derive_seed(derive_seed(seed, {item.path_hash(), item.id()}), {j, 0});
}

/// k sampled judgments per item, aggregated; see the header comment. Holds the
/// judge by reference: it must outlive the ensemble.
template <stochastic_judge Judge, judgment_aggregator Aggregation = judgments::mean_t>
class verifier_ensemble {
 public:
  static constexpr bool thread_safe = enable_concurrent_calls<Judge>;

  /// Throws invalid_argument "verifier_ensemble: options.k must be at least 1 (got 0)" for k = 0.
  verifier_ensemble(Judge& judge, ensemble_options<Aggregation> options) : judge_(&judge), options_(options) {
    detail::require_at_least(name, "options.k", options_.k, std::size_t{1});
  }
  verifier_ensemble(Judge&&, ensemble_options<Aggregation>) = delete;  // the judge would dangle

  void score_outcomes(std::span<const trajectory> finished, std::span<double> out)
    requires outcome_judge<Judge>
  {
    score(finished, out, [this](auto items, auto seeds, auto judged) { judge_->judge_outcomes(items, seeds, judged); });
  }
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out)
    requires process_judge<Judge>
  {
    score(prefixes, out, [this](auto items, auto seeds, auto judged) { judge_->judge_steps(items, seeds, judged); });
  }

  /// k: what one score costs in judge passes (read by verifier_items_per_score).
  [[nodiscard]] std::size_t judgments_per_item() const noexcept { return options_.k; }
  [[nodiscard]] const ensemble_options<Aggregation>& options() const noexcept { return options_; }
  [[nodiscard]] Judge& judge() const noexcept { return *judge_; }

  static constexpr const char* name = "verifier_ensemble";

 private:
  template <class Call>
  void score(std::span<const trajectory> items, std::span<double> out, Call call_judge) const {
    if (items.size() != out.size())
      throw size_mismatch(std::string(name) + ": " + std::to_string(items.size()) + " items but " +
                          std::to_string(out.size()) + " outputs");
    if (items.empty()) return;
    const std::size_t k = options_.k;
    if (items.size() > std::numeric_limits<std::size_t>::max() / k)
      throw invalid_argument(std::string(name) + ": " + std::to_string(items.size()) + " items times k = " +
                             std::to_string(k) + " judgments overflow a size");
    // Item-major: item i's judgments are [i*k, (i+1)*k), in judgment order.
    std::vector<trajectory> expanded;
    expanded.reserve(items.size() * k);
    std::vector<std::uint64_t> seeds(items.size() * k);
    for (std::size_t i = 0; i < items.size(); ++i)
      for (std::size_t j = 0; j < k; ++j) {
        expanded.push_back(items[i]);
        seeds[i * k + j] = judgment_seed(options_.seed, items[i], j);
      }
    std::vector<double> judged(expanded.size(), std::numeric_limits<double>::quiet_NaN());
    call_judge(std::span<const trajectory>(expanded), std::span<const std::uint64_t>(seeds), std::span<double>(judged));
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::span<const double> mine = std::span<const double>(judged).subspan(i * k, k);
      for (std::size_t j = 0; j < k; ++j)
        if (!std::isfinite(mine[j]))
          throw invalid_score(std::string(name) + ": judgment " + std::to_string(j) + " of item " + std::to_string(i) +
                              " (node " + std::to_string(items[i].id()) + ") is " + detail::number_text(mine[j]) +
                              "; a judge must return finite scores");
      out[i] = static_cast<double>(options_.aggregation(mine));
      if (!std::isfinite(out[i]))
        throw invalid_score(std::string(name) + ": the aggregation returned " + detail::number_text(out[i]) +
                            " for item " + std::to_string(i) + " (node " + std::to_string(items[i].id()) + ")");
    }
  }

  Judge* judge_;
  ensemble_options<Aggregation> options_;
};

TTSCALE_END_NAMESPACE
