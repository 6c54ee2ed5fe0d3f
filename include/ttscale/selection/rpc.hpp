// ttscale/selection/rpc.hpp: select::rpc, Reasoning-pruning Perplexity
// Consistency (Zhou et al. 2025, "A Theoretical Study on Bridging Internal
// Probability and Self-Consistency for LLM Reasoning", NeurIPS 2025;
// arXiv 2502.00511), a selection policy over the candidates' own
// log-probabilities (trajectory::logprob()), usable wherever a policy is
// (e.g. best_of_n_options{.selection = select::rpc}). No verifier score is read.
//
// Perplexity Consistency (PC). Self-consistency estimates an answer's
// confidence by counting samples (Proposition 2: estimation error
// p(1 - p) / n, linear in n); PC instead sums the model's probability of each
// DISTINCT sampled reasoning path that reaches the answer,
//   p_PC(y | x) = sum over t in Set(t_1 .. t_n) of [g(t) = y] p(t | x),
// which keeps self-consistency's model error while its estimation error falls
// exponentially in n (Theorem 4) — unless the answer's paths have low
// probability, the case Reasoning Pruning removes.
//
// Reasoning Pruning (RP, Theorem 7). Paths of low probability are dropped
// before PC sums. Following the authors' implementation (WNJXYK/RPC,
// compute_rpc.py), the probabilities p_i of all voting paths are modelled as a
// two-component Weibull mixture (detail/weibull_mixture.hpp), and path i is
// pruned when both
//   P(low component | p_i) > low_component_threshold   (0.5 there: "p1 < p2"), and
//   p_i < mean_j p_j                                     (the safeguard);
// the safeguard never prunes a path at or above the mean probability, so the
// most probable path always survives and samples with no spread (e.g. every
// log-probability equal) lose nothing. low_component_threshold = 1 turns
// pruning off (plain PC).
//
// p(t | x): `probability` picks what a path's probability is.
//  - per_token (default): exp(logprob / tokens), the inverse perplexity — what
//    the authors' implementation uses (mean token log-probability) and what
//    gives the method its name;
//  - whole_path: exp(logprob), the sequence probability p(t | x) of the
//    paper's analysis (longer paths then weigh exponentially less).
// Sums are log-sum-exps (kernels::scalar::logsumexp) and the mixture is fitted
// to p_i / max_j p_j from log-probabilities (it is scale-equivariant), so a
// whole-path probability of exp(-5000) neither underflows nor changes the fit.
//
// Semantics, as for the other votes (selection.hpp): only finished candidates
// with an answer vote (the others abstain, and do not enter the fit either; the
// implementation fits every sampled path, unparsable ones included). Two
// candidates are the same path when their path_hash() and then their full
// text (prompt and steps) are equal; pruning comes first, then each distinct
// kept path adds one term (its copies still count in `count`). Copies of one
// path normally share a log-probability; if a generator's do not (the toy
// world draws log-probability noise per sample), the first kept copy's stands
// for the path, where the implementation would add each distinct value. choice.totals[a].total is log p_PC of answer a over its kept distinct
// paths (-inf if all were pruned); the largest total wins, ties going to the
// answer that appeared first (lowest candidate index); the chosen candidate is
// the winning answer's most probable kept path (ties: lowest index).
// Log-probabilities: -inf is probability 0 (the path adds nothing and is left
// out of the fit); NaN or +inf is invalid_score naming the candidate; a
// per_token candidate with 0 tokens and a finite log-probability has no mean
// and is invalid_score too; if every voter has log-probability -inf no answer
// has probability and that is invalid_score as well. Bad options are
// invalid_argument naming select::rpc, the option and the value.
//
// When the log-probabilities carry no signal, PC alone is no worse than a
// majority vote, but pruning is: it assumes the low-probability mode is wrong
// reasoning, and otherwise discards votes at random (tests/selection/
// rpc_test.cpp: with log-probabilities shuffled among the toy model's paths,
// majority beats RPC at N = 8). Use low_component_threshold = 1 for a model
// whose probabilities are not known to separate right from wrong paths.
//
// Complexity: O(n) expected for grouping and PC, plus the fit when some path
// lies below the mean: O(n) per EM iteration (at most max_fit_iterations).
// Deterministic: the same candidates give the same choice.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/result.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/selection/detail/weibull_mixture.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace select {

/// What a path's probability p(t | x) is for select::rpc.
enum class rpc_probability {
  per_token,   ///< exp(logprob / tokens): inverse perplexity (the authors' implementation)
  whole_path,  ///< exp(logprob): the sequence probability of the paper's analysis
};

/// Reasoning-pruning Perplexity Consistency; see the header comment.
struct rpc_t {
  rpc_probability probability = rpc_probability::per_token;
  /// A path below the mean probability is pruned when its posterior
  /// probability of the low Weibull component exceeds this; in [0, 1]
  /// (0.5: the more likely component decides; 1: no pruning, plain PC).
  double low_component_threshold = 0.5;
  /// EM iterations of the mixture fit (>= 1).
  std::size_t max_fit_iterations = 500;

  template <class Answer>
  choice<Answer> operator()(std::span<const candidate<Answer>> c) const {
    constexpr double minus_inf = -std::numeric_limits<double>::infinity();
    check_options();

    // Each voter's log p(t | x); NaN marks candidates that do not vote.
    std::vector<double> log_p(c.size(), std::numeric_limits<double>::quiet_NaN());
    std::vector<double> fit_u;  // finite log p of the voters, shifted below
    std::vector<std::size_t> fit_index;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (!c[i].finished() || !c[i].answer) continue;
      log_p[i] = path_log_probability(c[i].path, i);
      if (log_p[i] != minus_inf) {
        fit_u.push_back(log_p[i]);
        fit_index.push_back(i);
      }
    }

    // Reasoning Pruning.
    std::vector<char> pruned(c.size(), 0);
    if (fit_u.size() >= 2 && low_component_threshold < 1.0) {
      const double top = kernels::scalar::max(std::span<const double>(fit_u));
      for (double& u : fit_u) u -= top;  // p / max p: the mixture is scale-equivariant
      // log of the mean probability: with every p equal it is exactly log(n/n) = 0,
      // so no path counts as below the mean.
      const double log_mean = kernels::scalar::log_mean_exp(std::span<const double>(fit_u));
      bool any_below = false;
      for (double u : fit_u) any_below = any_below || u < log_mean;
      if (any_below) {
        const detail::weibull_mixture m = detail::fit_weibull_mixture(fit_u, max_fit_iterations);
        for (std::size_t j = 0; j < fit_u.size(); ++j)
          pruned[fit_index[j]] =
              fit_u[j] < log_mean && detail::low_membership(m, fit_u[j]) > low_component_threshold;
      }
    }

    // Perplexity Consistency over distinct kept paths.
    auto kept = [&](std::size_t i) { return log_p[i] != minus_inf && !pruned[i]; };
    bool any_finite = false;
    std::vector<double> terms;
    std::unordered_multimap<std::uint64_t, std::size_t> seen;  // an answer's distinct paths, by path hash
    auto result = detail::vote(
        c, [](std::size_t) { return true; },
        [&](const std::vector<std::size_t>& members) {
          terms.clear();
          seen.clear();
          for (std::size_t i : members) {
            if (!kept(i) || duplicate_of_any(c, seen, i)) continue;
            seen.emplace(c[i].path.path_hash(), i);
            terms.push_back(log_p[i]);
          }
          if (terms.empty()) return minus_inf;
          any_finite = true;
          return kernels::scalar::logsumexp(std::span<const double>(terms));
        },
        [&](const std::vector<std::size_t>& members) {
          std::size_t most_probable = members.front();
          bool found = false;
          for (std::size_t i : members)
            if (kept(i) && (!found || log_p[i] > log_p[most_probable])) {
              most_probable = i;
              found = true;
            }
          return most_probable;
        });
    if (!result.totals.empty() && !any_finite)
      throw invalid_score("select::rpc: every log-probability is -inf (" + std::to_string(result.totals.size()) +
                          " answers), so no answer has probability");
    return result;
  }

 private:
  void check_options() const {
    if (!(low_component_threshold >= 0.0 && low_component_threshold <= 1.0))
      throw invalid_argument("select::rpc: low_component_threshold must be in [0, 1] (got " +
                             ttscale::detail::number_text(low_component_threshold) + ")");
    if (probability != rpc_probability::per_token && probability != rpc_probability::whole_path)
      throw invalid_argument("select::rpc: probability must be per_token or whole_path (got " +
                             std::to_string(static_cast<int>(probability)) + ")");
    ttscale::detail::require_at_least("select::rpc", "max_fit_iterations", max_fit_iterations, 1);
  }

  [[nodiscard]] double path_log_probability(const trajectory& t, std::size_t i) const {
    const double lp = t.logprob();
    if (std::isnan(lp) || lp == std::numeric_limits<double>::infinity())
      throw invalid_score("select::rpc: candidate " + std::to_string(i) + " has log-probability " +
                          ttscale::detail::number_text(lp) + " (must be a number below +inf)");
    if (probability == rpc_probability::whole_path || lp == -std::numeric_limits<double>::infinity()) return lp;
    if (t.tokens() == 0)
      throw invalid_score("select::rpc: candidate " + std::to_string(i) + " has 0 tokens and log-probability " +
                          ttscale::detail::number_text(lp) +
                          ", so no per-token log-probability (use probability = whole_path)");
    return lp / static_cast<double>(t.tokens());
  }

  template <class Answer>
  static bool duplicate_of_any(std::span<const candidate<Answer>> c,
                               const std::unordered_multimap<std::uint64_t, std::size_t>& seen, std::size_t i) {
    const trajectory& t = c[i].path;
    const auto [first, last] = seen.equal_range(t.path_hash());
    for (auto it = first; it != last; ++it) {
      const trajectory& s = c[it->second].path;
      if (s.depth() != t.depth()) continue;
      if (s == t || s.text() == t.text()) return true;  // the hash is 64 bits: confirm on the text
    }
    return false;
  }
};

inline constexpr rpc_t rpc{};

}  // namespace select
TTSCALE_END_NAMESPACE
