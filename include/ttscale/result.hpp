// ttscale/result.hpp: what every strategy returns.
//
// A search_result holds every candidate the strategy produced (in creation
// order, with its score and extracted answer), which one was chosen and the
// chosen answer, the per-answer vote totals when a vote decided, the exact
// accounting and why the search stopped. It owns the trajectory tree, so the
// candidates' trajectory handles stay valid as long as the result lives.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <class Answer>
struct candidate {
  trajectory path{};               ///< the candidate's trajectory (finished or not)
  /// The score selection ranks by (aggregated PRM, ORM, or a weight); NaN if unscored.
  double score = std::numeric_limits<double>::quiet_NaN();
  std::optional<Answer> answer;    ///< extracted answer; nullopt if none (abstains)

  [[nodiscard]] bool finished() const noexcept { return path.finished(); }
};

/// One answer's total in a vote.
template <class Answer>
struct answer_total {
  Answer answer{};
  double total = 0.0;          ///< votes, or summed (log-)weights
  std::size_t count = 0;       ///< candidates that gave this answer
  std::size_t first_index = 0; ///< lowest candidate index with this answer
};

template <class Answer>
struct search_result {
  std::shared_ptr<const trajectory_tree> tree;   ///< owns every candidate's trajectory
  std::vector<candidate<Answer>> candidates;     ///< in creation order
  std::optional<std::size_t> chosen_index;       ///< into candidates; nullopt if none could be chosen
  std::optional<Answer> answer;                  ///< the chosen answer
  std::vector<answer_total<Answer>> totals;      ///< per-answer vote totals (votes only), by first appearance
  accounting spent;
  stop_reason stopped = stop_reason::completed;

  [[nodiscard]] bool has_choice() const noexcept { return chosen_index.has_value(); }
  /// The chosen candidate; throws no_candidate if none was chosen.
  [[nodiscard]] const candidate<Answer>& chosen() const {
    if (!chosen_index)
      throw no_candidate("search_result: no candidate was chosen (stopped: " + std::string(to_string(stopped)) +
                         ", " + std::to_string(candidates.size()) + " candidates)");
    return candidates[*chosen_index];
  }
};

TTSCALE_END_NAMESPACE
