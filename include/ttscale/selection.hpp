// ttscale/selection.hpp: final-selection policies shared by every strategy.
//
// After a search, one policy picks the answer from the candidates:
//  - select::best                  highest score (best-of-N, Cobbe et al. 2021);
//  - select::majority              most frequent answer (self-consistency,
//                                  Wang et al. 2023);
//  - select::weighted_majority     answer with the largest summed score
//                                  ("best-of-N weighted", Snell et al. 2024
//                                  sec. 5.1; Li et al. 2023);
//  - select::log_weighted_majority answer with the largest log-sum-exp of
//                                  scores read as log-weights (e.g. the path
//                                  log-probability: perplexity-consistency
//                                  style voting without RPC's deduplication
//                                  and pruning — select::rpc,
//                                  selection/rpc.hpp, is the full method).
// Only finished candidates take part; votes count only candidates with an
// answer (the others abstain); score-based policies skip unscored candidates
// (score NaN: e.g. the verifier-call budget ran out before they were scored)
// and reject infinite scores with invalid_score. Tie-break, everywhere: among equal totals the
// answer whose first candidate has the lowest index wins; among equal scores
// the lowest candidate index wins. The chosen candidate of a vote is the
// highest-scored candidate with the winning answer (the first one for an
// unweighted majority). Complexity O(n) expected (hashing answers).
//
// A policy is any callable `choice<Answer> p(std::span<const candidate<Answer>>)`.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/result.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

template <class Answer>
struct choice {
  std::optional<std::size_t> index;           ///< chosen candidate; nullopt if none eligible
  std::optional<Answer> answer;               ///< chosen answer
  std::vector<answer_total<Answer>> totals;   ///< per-answer totals (votes only)
};

template <class P, class Answer>
concept selection_policy = requires(const P& p, std::span<const candidate<Answer>> c) {
  { p(c) } -> std::same_as<choice<Answer>>;
};

namespace detail {
/// Whether candidate i has a score to rank by: NaN means unscored (skipped),
/// an infinity is an error.
inline bool is_scored(double s, std::size_t i, const char* policy) {
  if (std::isinf(s))
    throw invalid_score(std::string("select::") + policy + ": candidate " + std::to_string(i) + " has score " +
                        detail::number_text(s) + " (scores must be finite)");
  return !std::isnan(s);
}

/// Highest-scored candidate among `indices` (ties: lowest index).
template <class Answer, class Indices>
std::optional<std::size_t> best_scored(std::span<const candidate<Answer>> c, const Indices& indices,
                                       const char* policy) {
  std::optional<std::size_t> best;
  for (std::size_t i : indices) {
    if (!is_scored(c[i].score, i, policy)) continue;
    if (!best || c[i].score > c[*best].score) best = i;
  }
  return best;
}

/// Groups finished, answered candidates that pass `eligible` by answer, in
/// order of first appearance.
template <class Answer, class Eligible>
std::vector<std::vector<std::size_t>> group_by_answer(std::span<const candidate<Answer>> c,
                                                      std::vector<answer_total<Answer>>& totals,
                                                      Eligible eligible) {
  std::unordered_map<Answer, std::size_t> slot;
  std::vector<std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c[i].finished() || !c[i].answer || !eligible(i)) continue;
    auto [it, inserted] = slot.try_emplace(*c[i].answer, totals.size());
    if (inserted) {
      totals.push_back({*c[i].answer, 0.0, 0, i});
      members.emplace_back();
    }
    totals[it->second].count += 1;
    members[it->second].push_back(i);
  }
  return members;
}

/// Runs a vote among `eligible` candidates: `total_of(members)` gives an
/// answer's total; the winner has the largest total (ties: first appearance);
/// `pick(members)` picks its candidate.
template <class Answer, class Eligible, class TotalOf, class Pick>
choice<Answer> vote(std::span<const candidate<Answer>> c, Eligible eligible, TotalOf total_of, Pick pick) {
  choice<Answer> out;
  const auto members = group_by_answer(c, out.totals, eligible);
  std::optional<std::size_t> winner;
  for (std::size_t a = 0; a < out.totals.size(); ++a) {
    out.totals[a].total = total_of(members[a]);
    if (!winner || out.totals[a].total > out.totals[*winner].total) winner = a;
  }
  if (winner) {
    out.answer = out.totals[*winner].answer;
    out.index = pick(members[*winner]);
  }
  return out;
}
}  // namespace detail

namespace select {

struct best_t {
  template <class Answer>
  choice<Answer> operator()(std::span<const candidate<Answer>> c) const {
    std::vector<std::size_t> finished;
    for (std::size_t i = 0; i < c.size(); ++i)
      if (c[i].finished()) finished.push_back(i);
    choice<Answer> out;
    out.index = detail::best_scored(c, finished, "best");
    if (out.index) out.answer = c[*out.index].answer;
    return out;
  }
};

struct majority_t {
  template <class Answer>
  choice<Answer> operator()(std::span<const candidate<Answer>> c) const {
    return detail::vote(
        c, [](std::size_t) { return true; },
        [](const std::vector<std::size_t>& m) { return static_cast<double>(m.size()); },
        [](const std::vector<std::size_t>& m) { return m.front(); });
  }
};

struct weighted_majority_t {
  template <class Answer>
  choice<Answer> operator()(std::span<const candidate<Answer>> c) const {
    return detail::vote(
        c, [&](std::size_t i) { return detail::is_scored(c[i].score, i, "weighted_majority"); },
        [&](const std::vector<std::size_t>& m) {
          double sum = 0.0;
          for (std::size_t i : m) sum += c[i].score;
          return sum;
        },
        [&](const std::vector<std::size_t>& m) { return *detail::best_scored(c, m, "weighted_majority"); });
  }
};

struct log_weighted_majority_t {
  template <class Answer>
  choice<Answer> operator()(std::span<const candidate<Answer>> c) const {
    constexpr double minus_inf = -std::numeric_limits<double>::infinity();
    bool any_finite = false;
    std::vector<double> scores;  // one answer's log-weights, in candidate order
    auto result = detail::vote(
        c,
        [&](std::size_t i) {
          if (c[i].score == std::numeric_limits<double>::infinity())
            throw invalid_score("select::log_weighted_majority: candidate " + std::to_string(i) +
                                " has log-weight +inf");
          return !std::isnan(c[i].score);
        },
        [&](const std::vector<std::size_t>& m) {
          scores.clear();
          bool zero_weight = true;
          for (std::size_t i : m) {
            scores.push_back(c[i].score);
            zero_weight = zero_weight && c[i].score == minus_inf;
          }
          // Every member has zero weight: a total of -inf, not the kernel's error.
          if (zero_weight) return minus_inf;
          any_finite = true;
          return kernels::scalar::logsumexp(std::span<const double>(scores));
        },
        [&](const std::vector<std::size_t>& m) {
          std::size_t best = m.front();
          for (std::size_t i : m)
            if (c[i].score > c[best].score) best = i;
          return best;
        });
    if (!result.totals.empty() && !any_finite)
      throw invalid_score("select::log_weighted_majority: every log-weight is -inf (" +
                          std::to_string(result.totals.size()) + " answers), so no answer has weight");
    return result;
  }
};

inline constexpr best_t best{};
inline constexpr majority_t majority{};
inline constexpr weighted_majority_t weighted_majority{};
inline constexpr log_weighted_majority_t log_weighted_majority{};

}  // namespace select

TTSCALE_END_NAMESPACE
