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
  /// Finished candidates whose answer the extractor could not find (they do
  /// not vote; a score-based policy may still choose one, with no answer).
  std::size_t abstained = 0;

  [[nodiscard]] bool has_choice() const noexcept { return chosen_index.has_value(); }
  /// Candidates that finished (only these take part in the selection).
  [[nodiscard]] std::size_t finished_count() const noexcept {
    std::size_t n = 0;
    for (const candidate<Answer>& c : candidates) n += c.finished() ? 1 : 0;
    return n;
  }
  /// Whether candidates finished but every one abstained: the extractor found
  /// no answer in any of them (e.g. boxed_answer on completions that contain
  /// no \boxed{...}) — a vote then has nothing to count, whatever `stopped` says.
  [[nodiscard]] bool all_abstained() const noexcept { return abstained > 0 && abstained == finished_count(); }
  /// The chosen candidate; throws no_candidate if none was chosen.
  [[nodiscard]] const candidate<Answer>& chosen() const {
    if (!chosen_index)
      throw no_candidate("search_result: no candidate was chosen (stopped: " + std::string(to_string(stopped)) +
                         ", " + std::to_string(candidates.size()) + " candidates, " +
                         std::to_string(finished_count()) + " finished, " + std::to_string(abstained) +
                         " abstained: no answer extracted)");
    return candidates[*chosen_index];
  }
};

TTSCALE_END_NAMESPACE
