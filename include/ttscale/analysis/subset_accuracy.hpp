// ttscale/analysis/subset_accuracy.hpp: best-of-k and majority-of-k accuracy
// at every k <= n from one pool of n samples per problem.
//
// Running best-of-N and majority vote afresh for every N wastes samples: the
// accuracy a rule would have with k samples is its expected accuracy on a
// uniformly random k-subset of a larger pool of n i.i.d. samples, which is
// unbiased for the same reason pass@k is (pass_at_k.hpp). So one run of 64
// samples per problem gives the whole curve k = 1..64.
//
// - best-of-k (the sample with the highest verifier score wins) has a closed
//   form: sort the pool by score, descending; the sample at rank j (1-based) is
//   the top of a random k-subset iff it is in the subset and the other k - 1
//   come from the n - j below it, with probability
//     w_j(k) = C(n - j, k - 1) / C(n, k),
//   computed as the running product w_1 = k/n, w_{j+1} = w_j·(n - j - k + 1)/(n - j),
//   which never overflows (it underflows to 0 harmlessly). O(n log n) to rank
//   the pool once, then O(n - k) per k.
// - majority-of-k (the most frequent answer among the subset wins; Wang et al.
//   2023's self-consistency) and weighted-majority-of-k (each answer's votes
//   weighted by their scores; Snell et al. 2024, sec. 5.1) have no such form,
//   so they are averaged over every k-subset when there are at most
//   `max_exact_subsets` of them (O(C(n, k)·k); with n = 64 and the default
//   20,000 that is k <= 2 and k >= 62), and otherwise over `draws` random
//   k-subsets (O(draws·k), weighted O(draws·n)), reporting the Monte-Carlo
//   standard error.
//
// Ties are broken uniformly at random, and the estimate is the exact
// expectation over that choice (not a draw): tied top scores give the mean
// correctness of the tied samples; tied vote totals give the fraction of the
// tied answers that are correct. Averaged over the order in which i.i.d.
// samples arrive, the strategies' own rule ("ties go to the first",
// selection.hpp) picks each tied choice equally often, so this matches it. A sample without an answer
// abstains from votes; a subset in which nobody votes counts as wrong.
// Weighted totals are summed in pool order, and only exactly equal totals tie.
//
// Curves over problems carry a percentile-bootstrap interval over problems
// (bootstrap.hpp); it takes the per-problem estimates as given, so Monte-Carlo
// noise enters it only through the spread between problems, and is also
// reported on its own (`monte_carlo_error`).
#pragma once

#include <ttscale/analysis/bootstrap.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

/// One sample of a problem's pool.
struct pool_sample {
  double score = 0;                      ///< verifier score (best-of-k, weighted vote); finite
  std::optional<std::int64_t> answer{};  ///< answer id; nullopt: no answer, so the sample abstains from votes
  bool correct = false;                  ///< whether this sample is right (equal answers must agree)
};

struct subset_vote_options {
  std::uint64_t max_exact_subsets = 20'000;  ///< average over every k-subset when C(n, k) is at most this
  std::uint64_t draws = 2'000;               ///< otherwise, over this many random k-subsets (>= 2)
  std::uint64_t seed = 0;                    ///< Monte-Carlo streams: (seed, {problem, k})
};

/// One problem's expected accuracy at one k.
struct subset_estimate {
  double accuracy = 0;
  double standard_error = 0;  ///< Monte-Carlo standard error; 0 when exact
  bool exact = true;          ///< every k-subset was enumerated (or the closed form was used)
};

/// Mean accuracy over problems at one k, with its bootstrap interval.
struct subset_accuracy_point {
  std::uint64_t k = 0;
  estimate_interval accuracy{};
  double monte_carlo_error = 0;  ///< standard error of the mean from Monte-Carlo problems (0 when all exact)
  bool exact = true;             ///< every problem's estimate was exact
};

namespace detail {

inline std::string problem_prefix(const char* where, std::optional<std::size_t> problem) {
  return std::string(where) + (problem ? ": problem " + std::to_string(*problem) : std::string()) + ": ";
}

inline void check_k(std::uint64_t k, std::size_t n, const char* where, std::optional<std::size_t> problem) {
  if (k < 1 || k > n) {
    if (problem && k >= 1)
      throw invalid_argument(std::string(where) + ": problem " + std::to_string(*problem) + " has " +
                             std::to_string(n) + " samples, fewer than k " + std::to_string(k) +
                             " (every problem needs at least k samples)");
    throw invalid_argument(problem_prefix(where, problem) + "k must be in [1, n] (got k " + std::to_string(k) +
                           ", n " + std::to_string(n) + ")");
  }
}

inline void check_scores(std::span<const pool_sample> pool, const char* where, std::optional<std::size_t> problem) {
  for (std::size_t i = 0; i < pool.size(); ++i)
    if (!std::isfinite(pool[i].score))
      throw invalid_argument(problem_prefix(where, problem) + "sample " + std::to_string(i) + " has score " +
                             ttscale::detail::number_text(pool[i].score) + " (scores must be finite)");
}

/// Correctness by rank (score descending), each replaced by the mean over its
/// tie group: the expectation under a uniformly random tie-break.
inline std::vector<double> ranked_correctness(std::span<const pool_sample> pool) {
  std::vector<std::size_t> order(pool.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return pool[a].score > pool[b].score; });
  std::vector<double> ranked(pool.size());
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin;
    double correct = 0;
    while (end < order.size() && pool[order[end]].score == pool[order[begin]].score)
      correct += pool[order[end++]].correct ? 1.0 : 0.0;
    std::fill(ranked.begin() + static_cast<std::ptrdiff_t>(begin), ranked.begin() + static_cast<std::ptrdiff_t>(end),
              correct / static_cast<double>(end - begin));
    begin = end;
  }
  return ranked;
}

/// sum_j w_j(k)·ranked[j-1] with w_j(k) = C(n-j, k-1)/C(n, k), 1 <= k <= n.
inline double best_of_k_ranked(std::span<const double> ranked, std::uint64_t k) {
  const auto n = static_cast<std::uint64_t>(ranked.size());
  double w = static_cast<double>(k) / static_cast<double>(n), sum = 0;
  for (std::uint64_t j = 1; j <= n - k + 1; ++j) {
    sum += w * ranked[j - 1];
    // The weights only decrease; what is left is below any double's resolution.
    if (j == n - k + 1 || w < std::numeric_limits<double>::min()) break;
    w *= static_cast<double>(n - j - k + 1) / static_cast<double>(n - j);
  }
  return sum;
}

/// C(n, k) if it is at most `cap`, else nullopt; never overflows (an
/// intermediate product that would overflow counts as above any cap, which is
/// exact for caps below 2^64 / n).
inline std::optional<std::uint64_t> binomial_at_most(std::uint64_t n, std::uint64_t k, std::uint64_t cap) noexcept {
  k = std::min(k, n - k);
  std::uint64_t c = 1;  // C(n, i), non-decreasing in i for i <= n/2
  for (std::uint64_t i = 0; i < k; ++i) {
    if (c > std::numeric_limits<std::uint64_t>::max() / (n - i)) return std::nullopt;
    c = c * (n - i) / (i + 1);  // exact: C(n, i)·(n - i) = C(n, i + 1)·(i + 1)
    if (c > cap) return std::nullopt;
  }
  return c;
}

/// A pool as the vote sees it: each sample's answer as a dense group number
/// (-1: abstains) and its vote weight.
struct vote_pool {
  std::vector<std::int64_t> group;
  std::vector<double> weight;
  std::vector<char> group_correct;  // char, not vector<bool>: read once per vote
  bool weighted = false;  ///< weights are scores, so members must be summed in pool order
};

inline vote_pool make_vote_pool(std::span<const pool_sample> pool, bool weighted, const char* where,
                                std::optional<std::size_t> problem) {
  if (weighted) check_scores(pool, where, problem);
  vote_pool v;
  v.weighted = weighted;
  v.group.assign(pool.size(), -1);
  v.weight.assign(pool.size(), 1.0);
  std::vector<std::size_t> answered;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool[i].answer) answered.push_back(i);
    if (weighted) v.weight[i] = pool[i].score;
  }
  std::stable_sort(answered.begin(), answered.end(),
                   [&](std::size_t a, std::size_t b) { return *pool[a].answer < *pool[b].answer; });
  for (std::size_t at = 0; at < answered.size(); ++at) {
    const std::size_t i = answered[at];
    if (at == 0 || *pool[i].answer != *pool[answered[at - 1]].answer) {
      v.group_correct.push_back(pool[i].correct);
    } else if (pool[i].correct != v.group_correct.back()) {
      const std::size_t first = answered[at - 1];
      throw invalid_argument(problem_prefix(where, problem) + "answer " + std::to_string(*pool[i].answer) +
                             " is marked " + (pool[first].correct ? "correct" : "wrong") + " in sample " +
                             std::to_string(first) + " and " + (pool[i].correct ? "correct" : "wrong") +
                             " in sample " + std::to_string(i));
    }
    v.group[i] = static_cast<std::int64_t>(v.group_correct.size()) - 1;
  }
  return v;
}

/// Expected correctness of one subset's vote (uniform tie-break), reusing its
/// buffers between subsets.
class vote_tally {
 public:
  explicit vote_tally(const vote_pool& v) : v_(v), total_(v.group_correct.size(), 0.0), seen_(total_.size(), 0) {
    touched_.reserve(total_.size());
  }

  /// `members` in increasing order when weighted, so totals add in pool order
  /// (unit votes sum exactly in any order).
  double operator()(std::span<const std::size_t> members) {
    touched_.clear();
    for (std::size_t i : members) {
      const std::int64_t g = v_.group[i];
      if (g < 0) continue;
      const auto gi = static_cast<std::size_t>(g);
      if (!seen_[gi]) seen_[gi] = 1, touched_.push_back(gi);
      total_[gi] += v_.weight[i];
    }
    if (touched_.empty()) return 0.0;  // nobody voted: no answer, so wrong
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t g : touched_) top = std::max(top, total_[g]);
    double tied = 0, tied_correct = 0;
    for (std::size_t g : touched_) {
      if (total_[g] == top) tied += 1, tied_correct += v_.group_correct[g] ? 1.0 : 0.0;
      total_[g] = 0, seen_[g] = 0;
    }
    return tied_correct / tied;
  }

 private:
  const vote_pool& v_;
  std::vector<double> total_;
  std::vector<char> seen_;
  std::vector<std::size_t> touched_;
};

inline subset_estimate vote_of_k(const vote_pool& v, std::uint64_t k, const subset_vote_options& o,
                                 std::uint64_t stream) {
  const std::size_t n = v.group.size();
  vote_tally tally(v);
  std::vector<std::size_t> members(static_cast<std::size_t>(k));
  if (const std::optional<std::uint64_t> subsets = binomial_at_most(n, k, o.max_exact_subsets)) {
    std::iota(members.begin(), members.end(), std::size_t{0});
    double sum = 0;
    for (;;) {  // every k-subset in lexicographic order
      sum += tally(members);
      std::size_t i = members.size();
      while (i > 0 && members[i - 1] == n - members.size() + (i - 1)) --i;
      if (i == 0) break;
      ++members[i - 1];
      for (std::size_t j = i; j < members.size(); ++j) members[j] = members[j - 1] + 1;
    }
    return {sum / static_cast<double>(*subsets), 0.0, true};
  }
  random_engine rng(o.seed, stream_key{stream, k});
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // A partial Fisher-Yates shuffle of any permutation makes its first m
  // entries a uniform m-subset and the rest a uniform (n - m)-subset, so
  // shuffle only min(k, n - k) entries.
  const std::size_t shuffled = std::min<std::size_t>(k, n - k);
  const auto first = order.begin() + static_cast<std::ptrdiff_t>(k <= n - k ? 0 : shuffled);
  std::vector<char> chosen(v.weighted ? n : 0, 0);
  double mean = 0, squares = 0;  // Welford's running mean and sum of squared deviations
  for (std::uint64_t d = 0; d < o.draws; ++d) {
    for (std::size_t i = 0; i < shuffled; ++i) std::swap(order[i], order[i + uniform_below(rng, n - i)]);
    if (v.weighted) {  // pool order in O(n), not a sort
      for (auto it = first; it != first + static_cast<std::ptrdiff_t>(k); ++it) chosen[*it] = 1;
      std::size_t at = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (chosen[i]) members[at++] = i, chosen[i] = 0;
    } else {
      std::copy(first, first + static_cast<std::ptrdiff_t>(k), members.begin());
    }
    const double value = tally(members), delta = value - mean;
    mean += delta / static_cast<double>(d + 1);
    squares += delta * (value - mean);
  }
  const double draws = static_cast<double>(o.draws);
  return {mean, std::sqrt(squares / (draws - 1) / draws), false};
}

inline void check_vote_options(const subset_vote_options& o, const char* where) {
  ttscale::detail::require_at_least(where, "options.draws", o.draws, 2);
}

inline subset_estimate vote_accuracy(std::span<const pool_sample> pool, std::uint64_t k, bool weighted,
                                     const subset_vote_options& o, const char* where) {
  check_vote_options(o, where);
  check_k(k, pool.size(), where, std::nullopt);
  return vote_of_k(make_vote_pool(pool, weighted, where, std::nullopt), k, o, 0);
}

/// A curve from `per_problem(p, problem) -> callable(k) -> subset_estimate`.
template <class Problems, class PerProblem>
std::vector<subset_accuracy_point> subset_curve(const Problems& problems, std::span<const std::uint64_t> ks,
                                                const bootstrap_options& b, const char* where,
                                                PerProblem per_problem) {
  check_bootstrap_options(b, where);
  if (problems.empty()) throw invalid_argument(std::string(where) + ": no problems (need at least one)");
  for (std::size_t p = 0; p < problems.size(); ++p)
    for (std::uint64_t k : ks) check_k(k, problems[p].size(), where, p);
  if (ks.empty()) return {};
  std::vector<double> table(problems.size() * ks.size()), variance(ks.size(), 0.0);
  std::vector<bool> exact(ks.size(), true);
  for (std::size_t p = 0; p < problems.size(); ++p) {
    auto at_k = per_problem(p, problems[p]);
    for (std::size_t j = 0; j < ks.size(); ++j) {
      const subset_estimate e = at_k(ks[j]);
      table[p * ks.size() + j] = e.accuracy;
      variance[j] += e.standard_error * e.standard_error;
      exact[j] = exact[j] && e.exact;
    }
  }
  const std::vector<estimate_interval> intervals = bootstrap_columns(table, ks.size(), b, where);
  std::vector<subset_accuracy_point> out(ks.size());
  const auto count = static_cast<double>(problems.size());
  for (std::size_t j = 0; j < ks.size(); ++j) out[j] = {ks[j], intervals[j], std::sqrt(variance[j]) / count, exact[j]};
  return out;
}

}  // namespace detail

/// The expected correctness of the highest-scored sample of a uniformly random
/// k-subset of `pool` (ties: uniformly random), exactly, by the closed form
/// above. k = 1 gives the pool's mean correctness; k = n the top sample's.
/// With an oracle score (1 when correct, else 0) it equals pass_at_k.
/// Relative error about (n - k + 1)·2^-52 at most (the running product).
///
/// Throws invalid_argument unless 1 <= k <= pool.size() and every score is finite.
[[nodiscard]] inline double best_of_k_accuracy(std::span<const pool_sample> pool, std::uint64_t k) {
  constexpr const char* where = "analysis::best_of_k_accuracy";
  detail::check_k(k, pool.size(), where, std::nullopt);
  detail::check_scores(pool, where, std::nullopt);
  return detail::best_of_k_ranked(detail::ranked_correctness(pool), k);
}

/// The expected correctness of the plurality answer of a uniformly random
/// k-subset of `pool` (ties between answers: uniformly random; abstainers do
/// not vote; a subset with no vote is wrong). Exact when C(n, k) <=
/// options.max_exact_subsets; otherwise the mean over options.draws random
/// subsets from the stream (options.seed, {0, k}) — the stream problem 0 of a
/// curve uses — with its standard error.
///
/// Throws invalid_argument unless 1 <= k <= pool.size() and options.draws >= 2,
/// or when two samples with the same answer disagree on `correct`.
[[nodiscard]] inline subset_estimate majority_of_k_accuracy(std::span<const pool_sample> pool, std::uint64_t k,
                                                            const subset_vote_options& options = {}) {
  return detail::vote_accuracy(pool, k, false, options, "analysis::majority_of_k_accuracy");
}

/// As majority_of_k_accuracy, but each vote counts its sample's score and the
/// answer with the largest total wins (exactly equal totals tie). Scores may
/// be negative, as in select::weighted_majority; they must be finite.
[[nodiscard]] inline subset_estimate weighted_majority_of_k_accuracy(std::span<const pool_sample> pool,
                                                                     std::uint64_t k,
                                                                     const subset_vote_options& options = {}) {
  return detail::vote_accuracy(pool, k, true, options, "analysis::weighted_majority_of_k_accuracy");
}

/// best_of_k_accuracy at each k in `ks` (in the order given), averaged over
/// problems, with a bootstrap interval over problems. Every problem needs at
/// least k samples (an error otherwise, as in coverage_curve: skipping would
/// change the problem set between k).
[[nodiscard]] inline std::vector<subset_accuracy_point> best_of_k_curve(
    std::span<const std::vector<pool_sample>> problems, std::span<const std::uint64_t> ks,
    const bootstrap_options& bootstrap = {}) {
  constexpr const char* where = "analysis::best_of_k_curve";
  return detail::subset_curve(problems, ks, bootstrap, where, [&](std::size_t p, const std::vector<pool_sample>& pool) {
    detail::check_scores(pool, where, p);
    return [ranked = detail::ranked_correctness(pool)](std::uint64_t k) {
      return subset_estimate{detail::best_of_k_ranked(ranked, k), 0.0, true};
    };
  });
}

/// majority_of_k_accuracy at each k in `ks`, averaged over problems, with a
/// bootstrap interval; problem p's Monte-Carlo stream is (options.seed, {p, k}).
[[nodiscard]] inline std::vector<subset_accuracy_point> majority_of_k_curve(
    std::span<const std::vector<pool_sample>> problems, std::span<const std::uint64_t> ks,
    const subset_vote_options& options = {}, const bootstrap_options& bootstrap = {}) {
  constexpr const char* where = "analysis::majority_of_k_curve";
  detail::check_vote_options(options, where);
  return detail::subset_curve(problems, ks, bootstrap, where, [&](std::size_t p, const std::vector<pool_sample>& pool) {
    return [v = detail::make_vote_pool(pool, false, where, p), &options, p](std::uint64_t k) {
      return detail::vote_of_k(v, k, options, p);
    };
  });
}

/// weighted_majority_of_k_accuracy at each k in `ks`, averaged over problems,
/// with a bootstrap interval; streams as in majority_of_k_curve.
[[nodiscard]] inline std::vector<subset_accuracy_point> weighted_majority_of_k_curve(
    std::span<const std::vector<pool_sample>> problems, std::span<const std::uint64_t> ks,
    const subset_vote_options& options = {}, const bootstrap_options& bootstrap = {}) {
  constexpr const char* where = "analysis::weighted_majority_of_k_curve";
  detail::check_vote_options(options, where);
  return detail::subset_curve(problems, ks, bootstrap, where, [&](std::size_t p, const std::vector<pool_sample>& pool) {
    return [v = detail::make_vote_pool(pool, true, where, p), &options, p](std::uint64_t k) {
      return detail::vote_of_k(v, k, options, p);
    };
  });
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
