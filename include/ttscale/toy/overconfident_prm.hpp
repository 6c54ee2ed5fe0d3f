// ttscale/toy/overconfident_prm.hpp: an over-confident process reward model
// for the toy world — right ranking, wrong calibration.
//
// Real PRMs often give near-certain scores early in a solution (Giannone et
// al. 2025, arXiv 2510.05825, sec. 1: "overconfident scores early in the
// reasoning process"), which makes a particle filter's weights degenerate.
// overconfident_prm reproduces that on top of toy::noisy_prm: it takes the
// noisy PRM's score s = sigmoid(mu * [prefix right] + z) and sharpens it,
//     score = sigmoid(sharpness * logit(s)) = sigmoid(sharpness * (mu * [right] + z)),
// a monotone map, so the AUC (the ranking quality) is exactly the noisy PRM's,
// but the scores saturate at 0 or 1 from the very first step: with the default
// sharpness 4 a score is below 0.02 or above 0.98 unless |mu * [right] + z| < 1,
// which holds for most steps (mu = 1.81 at auc 0.9). Under logit or log weights, weight ratios are the
// noisy PRM's raised to the power `sharpness`, so one particle takes nearly
// all the mass. O(1) per scored step; thread-safe and deterministic like
// noisy_prm.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/trajectory.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace toy {

struct overconfident_prm_params {
  double auc = 0.9;          ///< ranking quality of the underlying noisy_prm, in [0.5, 1)
  double sharpness = 4.0;    ///< logit multiplier (> 0; 1 = the noisy PRM itself)
  std::uint64_t seed = 0;    ///< noise seed of the underlying noisy_prm
};

class overconfident_prm {
 public:
  static constexpr bool thread_safe = true;

  overconfident_prm(const arithmetic_problem& p, overconfident_prm_params params)
      : inner_(p, {.auc = params.auc, .seed = params.seed}), sharpness_(params.sharpness) {
    if (!(sharpness_ > 0.0 && std::isfinite(sharpness_)))
      throw invalid_argument("toy::overconfident_prm: sharpness must be finite and > 0 (got " +
                             ttscale::detail::number_text(sharpness_) + ")");
  }

  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    inner_.score_steps(prefixes, out);
    for (double& s : out) s = detail::sigmoid(sharpness_ * (std::log(s) - std::log1p(-s)));
  }

 private:
  noisy_prm inner_;
  double sharpness_;
};

}  // namespace toy
TTSCALE_END_NAMESPACE
