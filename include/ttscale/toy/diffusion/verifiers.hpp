// ttscale/toy/diffusion/verifiers.hpp: rewards for the toy diffusion world,
// usable as outcome verifiers (the final sample) and as process verifiers
// (the same reward on the Tweedie estimate x0_hat of an intermediate step,
// the "intermediate reward" of Singhal et al. 2025, sec. 3.2, and the
// verifier input of Ma et al. 2025).
//
//  - gaussian_reward: log N(x; center, stddev^2 I). of_component(data, k) is
//    the log-density of component k, the exact verifier for "sample from
//    component k"; misplaced(...) puts its centre elsewhere — a wrong
//    verifier, whose maximisation drifts away from the component (the
//    over-optimisation of Ma et al. 2025, sec. 4).
//  - noisy_classifier: sigmoid(mu * [x belongs to the target component] + z),
//    z ~ N(0, 1) drawn from a hash of (seed, x), so a sample always gets the
//    same score; mu = sqrt(2) Phi^-1(auc) makes `auc` the exact probability
//    that a random hit outscores a random miss (as toy::noisy_orm). "Belongs"
//    is the data's most likely component for x (gaussian_mixture::nearest_component).
// Both read x from the trajectory's text (estimate_of / sample_of), so they
// need no access to the sampler; a node without an estimate (a re-noised or
// noise node) raises invalid_argument naming it. Thread-safe. Cost: O(d) per
// item (O(C d) for the classifier).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/diffusion/mixture.hpp>
#include <ttscale/toy/diffusion/sampler.hpp>
#include <ttscale/trajectory.hpp>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

TTSCALE_BEGIN_NAMESPACE
namespace toy::diffusion {

namespace detail {
/// x0_hat of the newest step of `t` (the sample if finished), or invalid_argument naming `who` and the node.
inline vector estimate_or_throw(const trajectory& t, const char* who) {
  std::optional<vector> x = estimate_of(t);
  if (!x)
    throw invalid_argument(std::string("toy::diffusion::") + who + ": node " + std::to_string(t.id()) +
                           " has no Tweedie estimate (a noise or re-noised node is not scored)");
  return std::move(*x);
}

/// Scores each trajectory's x (sample or estimate) with `reward(x)`.
template <class Reward>
void score_each(std::span<const trajectory> items, std::span<double> out, const Reward& reward, const char* who) {
  for (std::size_t i = 0; i < items.size(); ++i) out[i] = reward(estimate_or_throw(items[i], who));
}
}  // namespace detail

class gaussian_reward {
 public:
  static constexpr bool thread_safe = true;

  gaussian_reward(vector center, double stddev) : center_(std::move(center)), stddev_(stddev) {
    if (!(stddev_ > 0.0) || !std::isfinite(stddev_))
      throw invalid_argument("toy::diffusion::gaussian_reward: stddev must be finite and > 0 (got " +
                             ttscale::detail::number_text(stddev_) + ")");
  }
  /// The log-density of component k of `data`: the exact verifier.
  static gaussian_reward of_component(const gaussian_mixture& data, std::size_t k) {
    return gaussian_reward(data[k].mean, data[k].stddev);
  }
  /// A wrong verifier: component k's density moved by `fraction` of the way
  /// towards component `towards`.
  static gaussian_reward misplaced(const gaussian_mixture& data, std::size_t k, std::size_t towards, double fraction) {
    vector c = data[k].mean;
    for (std::size_t i = 0; i < c.size(); ++i) c[i] += fraction * (data[towards].mean[i] - c[i]);
    return gaussian_reward(std::move(c), data[k].stddev);
  }

  [[nodiscard]] double operator()(std::span<const double> x) const {
    if (x.size() != center_.size())
      throw invalid_argument("toy::diffusion::gaussian_reward: a point of dimension " + std::to_string(x.size()) +
                             " for a reward of dimension " + std::to_string(center_.size()));
    return diffusion::detail::log_normal(x, center_, stddev_ * stddev_);
  }
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) const {
    detail::score_each(finished, out, *this, "gaussian_reward");
  }
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    detail::score_each(prefixes, out, *this, "gaussian_reward");
  }
  [[nodiscard]] const vector& center() const noexcept { return center_; }

 private:
  vector center_;
  double stddev_;
};

struct classifier_options {
  double auc = 0.9;        ///< P(a random hit outscores a random miss), in [0.5, 1)
  std::uint64_t seed = 0;  ///< the noise z is a hash of (seed, x)
};

class noisy_classifier {
 public:
  static constexpr bool thread_safe = true;

  noisy_classifier(const gaussian_mixture& data, std::size_t target, classifier_options o = {})
      : data_(&data), target_(target), seed_(o.seed),
        mu_(toy::detail::separation_for_auc(o.auc, "toy::diffusion::noisy_classifier")) {
    if (target >= data.size())
      throw invalid_argument("toy::diffusion::noisy_classifier: target " + std::to_string(target) + " of a mixture of " +
                             std::to_string(data.size()) + " components");
  }

  [[nodiscard]] double operator()(std::span<const double> x) const {
    std::uint64_t h = seed_ ^ 0x5eedc1a55ULL;
    for (double v : x) h = ttscale::detail::mix64(h ^ std::bit_cast<std::uint64_t>(v));
    random_engine rng(h);
    const double hit = data_->nearest_component(x) == target_ ? 1.0 : 0.0;
    return toy::detail::sigmoid(mu_ * hit + toy::detail::standard_normal(rng));
  }
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) const {
    detail::score_each(finished, out, *this, "noisy_classifier");
  }
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    detail::score_each(prefixes, out, *this, "noisy_classifier");
  }

 private:
  const gaussian_mixture* data_;
  std::size_t target_;
  std::uint64_t seed_;
  double mu_;
};

/// Whether the finished sample of `t` belongs to component `target` of `data`.
[[nodiscard]] inline bool hits_component(const gaussian_mixture& data, std::size_t target, const trajectory& t) {
  return data.nearest_component(sample_of(t)) == target;
}

}  // namespace toy::diffusion
TTSCALE_END_NAMESPACE
