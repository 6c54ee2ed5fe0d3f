// ttscale/strategies/detail/step_search.hpp: the round shared by the
// step-level searches (beam search, DVTS, A*): expand a set of parents into
// children with ONE batched generator call, optionally roll look-ahead steps,
// score the new steps with ONE batched PRM call, aggregate the scores; plus
// deterministic / Gumbel top-k selection and packaging finished nodes as
// candidates. Users never include this header.
//
// Random streams: the j-th child of a parent node p in a round is drawn from
// stream (p, j) (j counts over every occurrence of p in the round, so a node
// expanded n ways — or by several DVTS subtrees — gets n distinct streams);
// look-ahead steps from node q use (q, lookahead_child). Node ids are
// deterministic (appends happen in request order), so results never depend on
// batch size or thread count.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/top_k.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/detail/aggregated_score.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// One parent and how many children to draw from it this round.
struct expansion {
  trajectory parent;
  std::size_t children = 0;
};

struct step_round {
  std::vector<trajectory> children;   ///< scored children, grouped by expansion, in order
  std::vector<std::size_t> from;      ///< children[i] came from expansions[from[i]]
  std::vector<double> scores;         ///< aggregated score of each child's path
  std::optional<stop_reason> cut;     ///< set if a call limit cut the round (children then holds only the scored ones)
};

/// One round: extend every expansion's parent `children` times (one batched
/// generator call), roll `lookahead` more steps from each unfinished child
/// (one call per look-ahead step; Snell et al. 2024, sec. 5.2 "lookahead
/// search": the step is judged by the PRM score at the end of the roll-out),
/// then score (one batched PRM call) and aggregate.
template <generator G, process_verifier V, step_aggregator Aggregate, budget_policy B>
step_round expand_and_score(search_context<B>& ctx, G& gen, V& prm, std::span<const expansion> expansions,
                            std::size_t lookahead, const Aggregate& aggregate) {
  step_round round;
  std::vector<trajectory> prefixes;
  std::vector<stream_key> keys;
  std::vector<std::size_t> from;
  std::unordered_map<node_id, std::size_t> next_child;  // child counter per parent within the round
  for (std::size_t e = 0; e < expansions.size(); ++e) {
    std::size_t& j = next_child[expansions[e].parent.id()];
    for (std::size_t c = 0; c < expansions[e].children; ++c, ++j) {
      prefixes.push_back(expansions[e].parent);
      keys.push_back({expansions[e].parent.id(), j});
      from.push_back(e);
    }
  }
  std::vector<trajectory> children = ctx.extend(gen, prefixes, keys);
  if (children.size() < prefixes.size()) round.cut = stop_reason::generator_call_limit;
  // Every parent is expanded in one round only (beam, DVTS and A* never
  // expand a node twice): the engine may drop it now.
  std::vector<trajectory> parents;
  for (const expansion& e : expansions) parents.push_back(e.parent);
  ctx.release(parents);
  from.resize(children.size());

  // Look-ahead: leaves[i] is the node whose PRM score judges children[i].
  std::vector<trajectory> leaves = children;
  for (std::size_t step = 0; step < lookahead && !round.cut; ++step) {
    std::vector<trajectory> rolling;
    std::vector<std::size_t> which;
    std::vector<stream_key> roll_keys;
    for (std::size_t i = 0; i < leaves.size(); ++i)
      if (!leaves[i].finished()) {
        rolling.push_back(leaves[i]);
        which.push_back(i);
        roll_keys.push_back({leaves[i].id(), lookahead_child});
      }
    if (rolling.empty()) break;
    const std::vector<trajectory> rolled = ctx.extend(gen, rolling, roll_keys);
    if (step > 0) ctx.release(std::span<const trajectory>(rolling).first(rolled.size()));  // look-ahead-only nodes
    for (std::size_t r = 0; r < rolled.size(); ++r) leaves[which[r]] = rolled[r];
    if (rolled.size() < rolling.size()) round.cut = stop_reason::generator_call_limit;
  }

  const std::vector<double> leaf_scores = ctx.score_steps(prm, leaves);
  if (leaf_scores.size() < leaves.size()) round.cut = stop_reason::verifier_call_limit;
  // Look-ahead leaves only judged their child; finished children are never expanded.
  std::vector<trajectory> done;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (leaves[i].id() != children[i].id()) done.push_back(leaves[i]);
    if (children[i].finished()) done.push_back(children[i]);
  }
  ctx.release(done);
  children.resize(leaf_scores.size());
  from.resize(leaf_scores.size());
  round.scores.resize(children.size());
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (leaves[i].id() != children[i].id()) ctx.tree().set_score(children[i].id(), leaf_scores[i]);
    round.scores[i] = checked_aggregated_score(ctx, children[i], aggregate, "node", children[i].id());
  }
  round.children = std::move(children);
  round.from = std::move(from);
  return round;
}

/// Indices (into `scores`) of the `k` to keep: the k largest, ties to the
/// lowest index (temperature == 0), or k drawn without replacement with
/// probabilities softmax(score / temperature) by the Gumbel-top-k trick
/// (Kool et al. 2019): keys score/T + Gumbel noise, then the k largest keys.
inline std::vector<std::size_t> keep_best(std::span<const double> scores, std::size_t k, double temperature,
                                          random_engine& rng) {
  k = std::min(k, scores.size());
  std::vector<std::size_t> keep(k);
  if (k == 0) return keep;
  if (temperature == 0.0) {
    kernels::top_k(scores, keep);
    return keep;
  }
  std::vector<double> keyed(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double u = 1.0 - rng.uniform();  // (0, 1]
    keyed[i] = scores[i] / temperature - std::log(-std::log(u) + std::numeric_limits<double>::min());
  }
  kernels::top_k(keyed, keep);
  return keep;
}

/// Finished nodes as candidates: score = aggregated step score, answer extracted.
template <answer_extractor Extract, step_aggregator Aggregate>
std::vector<candidate<answer_of<Extract>>> finished_candidates(std::span<const trajectory> finished,
                                                                const Extract& extract, const Aggregate& aggregate) {
  std::vector<candidate<answer_of<Extract>>> out(finished.size());
  for (std::size_t i = 0; i < finished.size(); ++i) {
    out[i].path = finished[i];
    out[i].score = aggregated_score(finished[i], aggregate);
    out[i].answer = extract(finished[i]);
  }
  return out;
}

/// Ends a step-level search: the finished nodes become candidates and the
/// selection policy picks one. The stop reason is, in order: the sample
/// limit if it admitted fewer candidates than asked, the limit that stopped
/// the loop, depth_limit if nothing finished, else completed.
template <class Options, budget_policy B>
auto finish_step_search(search_context<B>& ctx, std::span<const trajectory> finished, const Options& options,
                        std::optional<stop_reason> stopped, std::optional<stop_reason> admission_cut = std::nullopt) {
  if (admission_cut) stopped = admission_cut;
  if (!stopped && finished.empty()) stopped = stop_reason::depth_limit;
  auto candidates = finished_candidates(finished, options.extract, options.aggregate);
  return ctx.finish(std::move(candidates), options.selection, stopped.value_or(stop_reason::completed));
}

/// Validates the N / M shape shared by beam search and DVTS: N >= 1, M >= 1,
/// M divides N (the search-and-learn recipe asserts n % beam_width == 0; we
/// throw rather than silently round, so a sweep never runs a different N
/// than it reports).
template <budget_policy B>
void require_beam_shape(const search_context<B>& ctx, std::size_t n, std::size_t m, std::size_t max_depth) {
  detail::require_at_least(ctx.name(), "options.n", n, 1);
  detail::require_at_least(ctx.name(), "options.beam_width", m, 1);
  if (n % m != 0)
    ctx.fail_argument("options.beam_width (" + std::to_string(m) + ") must divide options.n (" + std::to_string(n) +
                      "): the search keeps n / beam_width beams and expands each beam_width ways");
  detail::require_at_least(ctx.name(), "options.max_depth", max_depth, 1);
}

}  // namespace detail
TTSCALE_END_NAMESPACE
