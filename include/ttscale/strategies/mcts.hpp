// ttscale/strategies/mcts.hpp: Monte Carlo tree search over reasoning steps,
// with the process reward model as the value function.
//
// The MCTS of LLM reasoning — RAP / llm-reasoners (Hao et al. 2023, "Reasoning
// with Language Model is Planning with World Model", arXiv 2305.14992, sec.
// 3.3), rStar (Qi et al. 2024, arXiv 2408.06195, sec. 3.2), ReST-MCTS* (Zhang
// et al. 2024, arXiv 2406.03816, sec. 3.2) and OpenR (Wang et al. 2024, arXiv
// 2410.09671; its vanilla MCTS) — on the round API (search_round.hpp). A node
// is a partial solution, an action one sampled step; each simulation
//
//   loop until `expansions` simulations ran, the budget is spent, or every
//   node is exhausted:
//     select S leaves (S = simulations_per_round): from the root, descend to
//       the child of greatest tree-policy score among the not-exhausted ones
//         uct:  Q(c) + c * sqrt(ln N(p) / N(c))                   (UCT, Kocsis & Szepesvari 2006)
//         puct: Q(c) + c * P(c) * sqrt(N(p)) / (1 + N(c))         (PUCT, as AlphaZero / OpenR)
//       until an unexpanded node; each selected path counts one virtual visit
//     expand each leaf into K children                    (ONE batched generator call for S*K)
//     v(child) <- PRM aggregate of the child's path        (ONE batched PRM call)
//       or, with rollout_depth > 0, roll the child on to completion (at most
//       rollout_depth steps, every rollout step scored) and take the PRM score
//       of the rollout's last step: a terminal value when it finished
//     back up: N(a) += 1, W(a) += v(child) for the child and every ancestor a
//   return selection(every finished node and finished rollout)
//
// Value and backup. Q(c) = W(c) / N(c) (mcts_backup::mean, default, as
// rStar and OpenR), or the largest value in c's subtree (mcts_backup::max,
// RAP's optional max-over-future-rewards Q). A new node is evaluated once,
// when it is created, so N(c) counts the evaluated nodes of c's subtree (c
// included) and N(c) >= 1 for every child ever compared: UCT needs no
// infinite "unvisited" bonus, and a new node's value is its PRM score as in
// OpenR and ReST-MCTS* (the PRM value initialises the node).
//
// Prior P (PUCT only): mcts_prior::uniform gives P(c) = 1 / |siblings|;
// mcts_prior::step_logprob gives P = softmax over the siblings of their
// steps' log-probabilities (step::logprob, the sum over the step's tokens),
// the policy's own preference among what it sampled, as AlphaZero-style
// LLM search uses the policy's probabilities (TS-LLM, Feng et al. 2023,
// arXiv 2309.17179; OpenR). A generator reporting no log-probabilities
// (all 0) gives the uniform prior.
//
// Batched simulations and virtual visits. S simulations per round select
// their leaves one after another before anything is generated; each
// selection adds one virtual visit to every node of its path (the root and
// the leaf included), which the exploration terms count (N + virtual) and Q
// does not (no value is assumed, so the rule holds for any PRM scale) — so
// the next simulation of the round prefers less-visited siblings (the
// virtual loss of parallel MCTS, Chaslot et al. 2008, without a loss value).
// A leaf selected m times in a round is expanded m times (m*K children; its
// streams continue through expansion::first_child, so none repeats). With
// S = 1 this is sequential MCTS. Ties go to the earliest-created child; the
// result is a pure function of the seed and the options — the same whatever
// exec.batch_size or exec.threads.
//
// Terminal nodes and exhaustion. A finished node is terminal: never
// expanded, its value is its PRM score; so is an unfinished node at
// max_depth (steps from the start). A node is exhausted when it is terminal
// or when it was expanded and all its children are exhausted; exhausted
// nodes are never selected, so the search cannot spin in a solved subtree,
// and when the root is exhausted the search ends (completed). An expanded
// node is never expanded again (no progressive widening: K children per
// node, S simulations' worth at most in its own round).
//
// Budget: `expansions` simulations (each K samples: the sample limit admits
// whole expansions), stop_reason::expansion_limit when they are spent before
// the tree is exhausted; or the ordinary budget (tokens, calls, samples,
// time), checked before each round (a token limit may be exceeded by one
// round). Final answer: every finished node reached (tree nodes and finished
// rollouts) is a candidate scored by options.aggregate; options.selection
// picks one — select::best by default, the best-value finished path, as
// rStar's and OpenR's MCTS return.
//
// Release (releasing_generator): an expanded node is released by its round
// (it is never expanded again), finished nodes and rollout steps as they are
// done, unfinished nodes at max_depth when created, the rest at finish().
//
// Defaults (K = 2, 24 expansions, UCT with c = 0.05, mean backup, S = 1)
// were chosen on toy problems (levels 4-5, problem seed 7, noisy PRM of AUC
// 0.9) disjoint from the test's: K = 3 or 4 spends its expansions in breadth
// and rarely reaches a finished node within the same tokens, and c in
// 0 .. 0.2 (UCT) or 0.1 .. 1 (PUCT) all did within 5 points of the best;
// larger c explores more than the PRM's noise warrants. S > 1 batches, but
// a tree grows at most one level per round, so S = 1 reaches finished nodes
// soonest for a given number of expansions (with S = 2 or 4 and 24
// expansions, few problems of 6-7 steps finish at all).
//
// Cost per round: one generator call for S*K items and one PRM call for S*K
// items (plus one of each per rollout step with rollouts); selection is
// O(S * depth * K) tree-policy evaluations; backup O(S * K * depth).
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
#include <ttscale/search_round.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// Where PUCT's prior P over a node's children comes from.
enum class mcts_prior {
  uniform,       ///< P = 1 / number of siblings
  step_logprob,  ///< P = softmax of the siblings' step log-probabilities
};

/// How a node's Q summarises the values backed up through it.
enum class mcts_backup {
  mean,  ///< Q = W / N, the mean value of the subtree's evaluated nodes
  max,   ///< Q = the largest value in the subtree
};

/// Tree policies: score(q, prior, n_parent, n_child) of a child; the child
/// of greatest score is descended into. n_parent and n_child include the
/// round's virtual visits; n_child >= 1.
namespace mcts_selection {
/// UCT: Q + c * sqrt(ln N(parent) / N(child)); the prior is ignored.
struct uct {
  double c = 0.05;  ///< exploration constant (finite, >= 0); default tuned for PRM values in [0, 1]
  double operator()(double q, double, std::size_t n_parent, std::size_t n_child) const noexcept {
    return q + c * std::sqrt(std::log(static_cast<double>(n_parent)) / static_cast<double>(n_child));
  }
};
/// PUCT: Q + c * P * sqrt(N(parent)) / (1 + N(child)).
struct puct {
  double c = 0.3;                       ///< exploration constant (finite, >= 0); default tuned as uct's
  mcts_prior prior = mcts_prior::uniform;
  double operator()(double q, double p, std::size_t n_parent, std::size_t n_child) const noexcept {
    return q + c * p * std::sqrt(static_cast<double>(n_parent)) / (1.0 + static_cast<double>(n_child));
  }
};
}  // namespace mcts_selection

/// A tree policy scores a child from (Q, P, N(parent), N(child)).
template <class P>
concept mcts_tree_policy = std::regular_invocable<const P&, double, double, std::size_t, std::size_t> &&
                           std::convertible_to<std::invoke_result_t<const P&, double, double, std::size_t, std::size_t>,
                                               double>;

/// One node of the search tree when the search ended (mcts_options::statistics).
struct mcts_node_statistics {
  node_id id = 0;           ///< the node in the result's trajectory tree
  node_id parent = 0;       ///< its parent (the start node is its own)
  std::size_t visits = 0;   ///< N: evaluated nodes in its subtree, itself included (the start: not itself)
  double q = 0.0;           ///< Q: mean (or max) backed-up value; 0 for an unvisited start
  double prior = 1.0;       ///< P among its siblings (uniform unless PUCT with mcts_prior::step_logprob)
  bool exhausted = false;   ///< terminal, or every child exhausted: never selected again
};

template <class Select = select::best_t, mcts_tree_policy TreePolicy = mcts_selection::uct,
          step_aggregator Aggregate = aggregate::last_t, answer_extractor Extract = boxed_answer,
          budget_policy Budget = budget>
struct mcts_options {
  std::size_t children = 2;               ///< K: children per expansion (>= 1)
  std::size_t expansions = 24;            ///< simulations (leaf expansions) at most (>= 1)
  std::size_t simulations_per_round = 1;  ///< S: leaves selected and expanded per batched round (>= 1)
  std::size_t max_depth = 40;             ///< nodes this many steps from the start are not expanded (>= 1)
  std::size_t rollout_depth = 0;          ///< 0: v = the new node's PRM score; > 0: roll out at most this many steps
  TreePolicy tree_policy{};               ///< mcts_selection::uct{.c}, mcts_selection::puct{.c, .prior}, or a callable
  mcts_backup backup = mcts_backup::mean; ///< Q: mean (default) or max of the backed-up values
  Select selection{};                     ///< final selection policy among the finished nodes
  Aggregate aggregate{};                  ///< a node's value and a candidate's score from its step scores
  Extract extract{};                      ///< answer extraction
  execution exec{};                       ///< batching and threads
  Budget budget{};                        ///< limits; the search stops at the first one reached
  search_trace* trace = nullptr;          ///< optional: record the search tree here
  /// Optional: receives every tree node's statistics, in creation order (rollout steps are not tree nodes).
  std::vector<mcts_node_statistics>* statistics = nullptr;
};

namespace detail {

struct mcts_node {
  trajectory state;
  std::size_t parent = 0;             // index of the parent node (the root is its own)
  std::vector<std::size_t> children;  // in creation order
  std::size_t depth = 0;              // steps from the search's start
  std::size_t visits = 0;             // N: evaluated nodes in the subtree
  std::size_t virtual_visits = 0;     // this round's selections through the node
  double value_sum = 0.0;             // W
  double value_max = -std::numeric_limits<double>::infinity();
  double prior = 1.0;                 // P among its siblings
  bool exhausted = false;             // terminal, or expanded with every child exhausted
};

/// The search statistics beside the trajectory tree: selection by a tree
/// policy with virtual visits, backup, priors and exhaustion.
class mcts_tree {
 public:
  mcts_tree(const trajectory& root, mcts_backup backup) : backup_(backup) {
    nodes_.emplace_back();
    nodes_.back().state = root;
  }

  [[nodiscard]] const mcts_node& operator[](std::size_t i) const { return nodes_[i]; }
  [[nodiscard]] bool exhausted() const noexcept { return nodes_[0].exhausted; }

  [[nodiscard]] double q(const mcts_node& n) const noexcept {
    return backup_ == mcts_backup::max ? n.value_max : n.value_sum / static_cast<double>(n.visits);
  }

  /// One simulation's descent: the leaf it reaches (the caller checked the
  /// root is not exhausted). The path's virtual visits are added after the
  /// descent, so a simulation sees only the earlier simulations' ones.
  template <class Policy>
  std::size_t select_leaf(const Policy& policy) {
    std::size_t at = 0;
    while (!nodes_[at].children.empty()) {
      const mcts_node& p = nodes_[at];
      std::size_t best = 0;
      double best_score = -std::numeric_limits<double>::infinity();
      for (std::size_t c : p.children) {
        const mcts_node& n = nodes_[c];
        if (n.exhausted) continue;
        const double s = policy(q(n), n.prior, p.visits + p.virtual_visits, n.visits + n.virtual_visits);
        if (best == 0 || s > best_score) best = c, best_score = s;  // ties: the earliest child
      }
      if (best == 0)  // an expanded node with no live child is exhausted (end_round): unreachable
        throw error("mcts: a node with no selectable child was not marked exhausted (a bug: please report it)");
      at = best;
    }
    for (std::size_t v = at;; v = nodes_[v].parent) {
      ++nodes_[v].virtual_visits;
      if (v == 0) break;
    }
    return at;
  }

  /// The statistics of every node, in creation order.
  [[nodiscard]] std::vector<mcts_node_statistics> statistics() const {
    std::vector<mcts_node_statistics> out;
    out.reserve(nodes_.size());
    for (const mcts_node& n : nodes_)
      out.push_back({n.state.id(), nodes_[n.parent].state.id(), n.visits, n.visits ? q(n) : 0.0, n.prior, n.exhausted});
    return out;
  }

  /// Appends a child of `parent`; `terminal` nodes are exhausted at once.
  std::size_t add(std::size_t parent, const trajectory& state, bool terminal) {
    mcts_node& n = nodes_.emplace_back();
    n.state = state;
    n.parent = parent;
    n.depth = nodes_[parent].depth + 1;
    n.exhausted = terminal;
    nodes_[parent].children.push_back(nodes_.size() - 1);
    return nodes_.size() - 1;
  }

  /// N += 1 and W += value for `node` and every ancestor.
  void backup(std::size_t node, double value) {
    for (std::size_t at = node;; at = nodes_[at].parent) {
      ++nodes_[at].visits;
      nodes_[at].value_sum += value;
      nodes_[at].value_max = std::max(nodes_[at].value_max, value);
      if (at == 0) break;
    }
  }

  /// After a round's backup: clears the virtual visits, sets the priors of
  /// the expanded leaves' children, and marks exhausted every expanded leaf
  /// (and ancestor) whose children are all exhausted.
  void end_round(std::span<const std::size_t> expanded, mcts_prior prior) {
    for (mcts_node& n : nodes_) n.virtual_visits = 0;
    for (std::size_t leaf : expanded) {
      const std::vector<std::size_t>& kids = nodes_[leaf].children;
      double top = -std::numeric_limits<double>::infinity(), total = 0.0;
      for (std::size_t c : kids) top = std::max(top, nodes_[c].state.last_step().logprob);
      for (std::size_t c : kids)
        total += nodes_[c].prior =
            prior == mcts_prior::uniform ? 1.0 : std::exp(nodes_[c].state.last_step().logprob - top);
      for (std::size_t c : kids) nodes_[c].prior /= total;
      for (std::size_t at = leaf; all_children_exhausted(at); at = nodes_[at].parent) {
        nodes_[at].exhausted = true;
        if (at == 0) break;
      }
    }
  }

 private:
  std::vector<mcts_node> nodes_;
  mcts_backup backup_;

  [[nodiscard]] bool all_children_exhausted(std::size_t at) const {
    const mcts_node& n = nodes_[at];
    if (n.exhausted || n.children.empty()) return false;
    return std::all_of(n.children.begin(), n.children.end(), [&](std::size_t c) { return nodes_[c].exhausted; });
  }
};

template <class Policy>
mcts_prior prior_of(const Policy& policy) {
  if constexpr (requires { { policy.prior } -> std::convertible_to<mcts_prior>; })
    return policy.prior;
  else
    return mcts_prior::uniform;
}

template <class Options, budget_policy B>
void check_mcts_options(const search_context<B>& ctx, const Options& options) {
  require_at_least(ctx.name(), "options.children", options.children, 1);
  require_at_least(ctx.name(), "options.expansions", options.expansions, 1);
  require_at_least(ctx.name(), "options.simulations_per_round", options.simulations_per_round, 1);
  require_at_least(ctx.name(), "options.max_depth", options.max_depth, 1);
  if constexpr (requires { { options.tree_policy.c } -> std::convertible_to<double>; }) {
    const double c = options.tree_policy.c;
    if (!(c >= 0.0) || !std::isfinite(c))
      ctx.fail_argument("options.tree_policy.c must be finite and >= 0 (got " + number_text(c) + ")");
  }
}

/// Rolls the unfinished `children` on (at most options.rollout_depth steps,
/// every step PRM-scored as best-of-N scores its samples); values[i] becomes
/// the PRM score of child i's rollout end. Finished, scored rollout ends are
/// appended to `finished`; unfinished ends are released. Returns how many
/// rollouts ran (their stream indices start at `first_index`).
template <generator G, process_verifier V, budget_policy B>
std::size_t mcts_rollouts(search_context<B>& ctx, G& gen, V& prm, std::span<const trajectory> children,
                          std::span<double> values, std::vector<trajectory>& finished, std::size_t first_index,
                          std::size_t rollout_depth) {
  std::vector<trajectory> starts;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < children.size(); ++i)
    if (!children[i].finished()) starts.push_back(children[i]), which.push_back(i);
  if (starts.empty()) return 0;
  const auto score_round = [&](std::span<const trajectory> rolled, std::span<const std::size_t>) {
    (void)ctx.score_steps(prm, rolled);  // a cut round is recorded: the rollout stops
    return true;
  };
  const rollout_state state = rollout(ctx, gen, std::span<const trajectory>(starts), first_index, rollout_depth,
                                      score_round);
  std::vector<trajectory> ends;
  for (std::size_t r = 0; r < starts.size(); ++r) {
    const trajectory& end = state.leaves[r];
    if (end.id() == starts[r].id() || std::isnan(end.step_score())) continue;  // not rolled, or unscored
    values[which[r]] = end.step_score();
    if (end.finished()) finished.push_back(end);
    else ends.push_back(end);
  }
  ctx.release(ends);  // a rollout end is never extended again
  return starts.size();
}

}  // namespace detail

/// MCTS with the PRM as value; see the header comment. Throws
/// invalid_argument naming "mcts" and the option for children, expansions,
/// simulations_per_round or max_depth = 0 and for an exploration constant c
/// that is negative, infinite or NaN; budget_exhausted if the budget is
/// already spent; generator_failure / verifier_failure if they throw;
/// invalid_score for a NaN or infinite PRM score.
template <generator G, process_verifier V, class Select, class TreePolicy, step_aggregator Aggregate,
          answer_extractor Extract, budget_policy Budget, std::uniform_random_bit_generator Engine>
  requires selection_policy<Select, answer_of<Extract>> && mcts_tree_policy<TreePolicy>
[[nodiscard]] search_result<answer_of<Extract>> mcts(
    G& gen, V& prm, search_start start, const mcts_options<Select, TreePolicy, Aggregate, Extract, Budget>& options,
    Engine& rng) {
  search_context<Budget> ctx("mcts", std::move(start), options.budget, options.exec, draw_seed(rng));
  return ctx.run([&] {
    detail::check_mcts_options(ctx, options);
    ctx.record_to(options.trace);
    const std::size_t k = options.children;
    detail::mcts_tree tree(ctx.root(), options.backup);
    std::vector<trajectory> finished;
    std::size_t simulations = 0, rollouts = 0;
    std::vector<expansion> plan;  // the round's buffers, reused round after round
    step_round round;
    while (!tree.exhausted()) {  // an exhausted root: every path was explored to its end
      if (simulations >= options.expansions) {
        ctx.stop(stop_reason::expansion_limit);
        break;
      }
      if (ctx.should_stop()) break;
      // Selection: S descents by the tree policy, spread by virtual visits.
      std::vector<std::size_t> leaves(std::min(options.simulations_per_round, options.expansions - simulations));
      for (std::size_t& leaf : leaves) leaf = tree.select_leaf(options.tree_policy);
      leaves.resize(ctx.admit_samples(leaves.size() * k, k) / k);  // whole expansions only
      if (leaves.empty()) break;
      // Expansion: K children per selection, one generator and one PRM call.
      plan.clear();
      for (std::size_t leaf : leaves) plan.push_back({tree[leaf].state, k, tree[leaf].children.size()});
      for (const expansion& e : plan) ctx.mark(e.parent, trace_status::kept);
      expand_and_score(ctx, gen, prm, std::span<const expansion>(plan), 0, options.aggregate,
                       parent_release::released, round);
      simulations += leaves.size();
      // Value: the new node's PRM score, or its rollout's terminal score.
      std::vector<double> values = round.scores;
      if (options.rollout_depth > 0)
        rollouts += detail::mcts_rollouts(ctx, gen, prm, round.children, values, finished, rollouts,
                                          options.rollout_depth);
      // Backup: each new node's value along its path to the root.
      for (std::size_t i = 0; i < round.children.size(); ++i) {
        const trajectory& child = round.children[i];
        const std::size_t parent = leaves[round.from[i]];
        const bool too_deep = tree[parent].depth + 1 >= options.max_depth;
        tree.backup(tree.add(parent, child, child.finished() || too_deep), values[i]);
        if (child.finished()) finished.push_back(child);
        else if (too_deep) ctx.release(child);  // never expanded
      }
      tree.end_round(leaves, detail::prior_of(options.tree_policy));
      if (ctx.cut()) break;
    }
    if (options.statistics) *options.statistics = tree.statistics();
    return finish_step_search(ctx, std::span<const trajectory>(finished), options);
  });
}

TTSCALE_END_NAMESPACE
