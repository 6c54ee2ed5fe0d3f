// ttscale/search_round.hpp: the round primitives every step-level strategy is
// written with — the way to write a new strategy.
//
// A strategy is a function template that creates a search_context (the tree,
// the budget and exact accounting, random streams, batching, threads, error
// context, release of engine state, and why the search stopped) and then
// spends rounds. The primitives here are the rounds:
//
//   expand_and_score(ctx, gen, prm, plan, lookahead, aggregate)
//       extend each planned parent `children` times in ONE batched generator
//       call (optionally roll look-ahead steps), score the new steps in ONE
//       batched PRM call, aggregate each child's path score;
//   rollout(ctx, gen, starts, first_index, max_steps, observe)  (rollout.hpp)
//       run candidates from any nodes to completion in lockstep rounds;
//   keep_best(scores, k, temperature, rng)
//       the k best (ties to the lowest index) or k sampled ~ softmax(s / T);
//   finish_step_search(ctx, finished, options)
//       the finished nodes become candidates; options.selection picks one.
// and from search_context: admit_samples (the sample limit), should_stop
// (the other limits), stop (a strategy's own reason), release / mark (engine
// state and the trace). A strategy never records why it stopped: a round cut
// by a call limit, a spent budget or a call to stop() is recorded by the
// context, which reports it in the result. After any round, `if
// (ctx.cut()) break;` is all a loop needs.
//
// Worked example: greedy PRM-guided decoding — at each depth, sample K
// children of the current node and keep the best (the M = N case of beam
// search), in 19 lines:
//
//   template <generator G, process_verifier V, std::uniform_random_bit_generator Engine>
//   search_result<std::string> greedy_prm(G& gen, V& prm, search_start start, std::size_t k, Engine& rng) {
//     search_context<> ctx("greedy_prm", std::move(start), budget{}, execution{}, draw_seed(rng));
//     return ctx.run([&] {
//       const beam_search_options<> options;           // selection, aggregate, extract
//       std::vector<trajectory> finished;
//       trajectory node = ctx.root();
//       if (ctx.admit_samples(k) < k) return finish_step_search(ctx, finished, options);
//       for (std::size_t depth = 0; depth < 40 && !ctx.should_stop(); ++depth) {
//         const expansion plan[] = {{node, k}};
//         step_round round = expand_and_score(ctx, gen, prm, plan, 0, options.aggregate);
//         if (ctx.cut() || round.children.empty()) break;
//         node = round.children[keep_best(round.scores, 1)[0]];
//         if (node.finished()) { finished.push_back(node); break; }
//       }
//       return finish_step_search(ctx, finished, options);
//     });
//   }
//
// strategies/rebase.hpp is a complete strategy written this way (it is the
// README's "Writing a strategy" walk-through); beam_search.hpp, dvts.hpp,
// a_star.hpp and mcts.hpp use the same primitives.
//
// Random streams: the j-th child of a parent node p in a round is drawn from
// stream (p, j) (j counts over every occurrence of p in the round, so a node
// expanded n ways gets n distinct streams; across rounds, pass distinct
// `first_child` values if a node is expanded again in a later round); look-ahead
// steps from node q use (q, lookahead_child). Node ids are deterministic
// (appends happen in request order), so results never depend on batch size or
// thread count.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/top_k.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/rollout.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/detail/aggregated_score.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// One parent and how many children to draw from it this round.
struct expansion {
  trajectory parent;
  std::size_t children = 0;
  /// The index of the first child's random stream (parent, first_child): 0
  /// for a node expanded once; a node expanded again in a later round passes
  /// the number of children it already has, so no stream repeats (within one
  /// round, repeated parents continue each other's count by themselves).
  std::size_t first_child = 0;
};

namespace detail {
/// expand_and_score's scratch, kept in a step_round that a strategy reuses
/// from round to round (no allocation once the buffers have grown).
struct step_round_scratch {
  std::vector<trajectory> prefixes;      ///< the generator's batch: each parent once per child
  std::vector<stream_key> keys;          ///< their random streams
  std::vector<trajectory> parents;       ///< the expanded parents, to release
  std::vector<trajectory> leaves;        ///< leaves[i]: the node whose PRM score judges children[i]
  std::vector<trajectory> rolling;       ///< look-ahead: the leaves extended this step
  std::vector<std::size_t> which;        ///< ... their indices in leaves
  std::vector<stream_key> roll_keys;     ///< ... their streams
  std::vector<trajectory> rolled;        ///< ... their successors
  std::vector<double> leaf_scores;       ///< the PRM's scores of the leaves
  std::vector<trajectory> done;          ///< nodes to release after scoring
  std::vector<std::uint64_t> seen;       ///< a bit per node id: parent seen this round (all clear between rounds)
};
}  // namespace detail

/// What one expand_and_score round produced.
struct step_round {
  std::vector<trajectory> children;   ///< scored children, grouped by expansion, in order
  std::vector<std::size_t> from;      ///< children[i] came from expansions[from[i]]
  std::vector<double> scores;         ///< aggregated score of each child's path
  detail::step_round_scratch scratch; ///< expand_and_score's buffers, reused when the step_round is
};

/// How expand_and_score treats the parents after the round.
enum class parent_release {
  released,  ///< never expanded again (beam search, DVTS, A*): the engine may drop them
  kept,      ///< may be expanded again in a later round: the caller releases them
};

/// One round: extend every expansion's parent `children` times (one batched
/// generator call), roll `lookahead` more steps from each unfinished child
/// (one call per look-ahead step; Snell et al. 2024, sec. 5.2 "lookahead
/// search": the step is judged by the PRM score at the end of the roll-out),
/// then score (one batched PRM call) and aggregate. If a call limit cuts the
/// round, only the children that were generated and scored are returned and
/// ctx.cut() says which limit. Finished children and look-ahead nodes are
/// released; the parents too unless `parents` is parent_release::kept.
template <generator G, process_verifier V, step_aggregator Aggregate, budget_policy B>
step_round expand_and_score(search_context<B>& ctx, G& gen, V& prm, std::span<const expansion> expansions,
                            std::size_t lookahead, const Aggregate& aggregate,
                            parent_release parents = parent_release::released) {
  step_round round;
  expand_and_score(ctx, gen, prm, expansions, lookahead, aggregate, parents, round);
  return round;
}

/// As above into `round` (replaced): a strategy passing the same step_round
/// every round allocates nothing once its buffers have grown.
template <generator G, process_verifier V, step_aggregator Aggregate, budget_policy B>
void expand_and_score(search_context<B>& ctx, G& gen, V& prm, std::span<const expansion> expansions,
                      std::size_t lookahead, const Aggregate& aggregate, parent_release parents, step_round& round) {
  detail::step_round_scratch& ws = round.scratch;
  // A parent repeated within the round continues its own child count
  // (streams (p, j) never repeat). Repeats are rare (DVTS's first round): one
  // bit per node finds them; only then are the counters kept in a map.
  ws.seen.resize((ctx.tree().size() + 63) / 64, 0);
  bool repeated = false;
  for (const expansion& e : expansions) {
    const node_id id = e.parent.id();
    repeated |= ((ws.seen[id / 64] >> (id % 64)) & 1) != 0;
    ws.seen[id / 64] |= std::uint64_t{1} << (id % 64);
  }
  for (const expansion& e : expansions) ws.seen[e.parent.id() / 64] = 0;
  std::size_t items = 0;
  for (const expansion& e : expansions) items += e.children;
  ws.prefixes.resize(items);
  ws.keys.resize(items);
  round.from.resize(items);
  std::unordered_map<node_id, std::size_t> next_child;  // only when repeated
  for (std::size_t e = 0, i = 0; e < expansions.size(); ++e) {
    const trajectory& parent = expansions[e].parent;
    std::size_t first = expansions[e].first_child;
    if (repeated) first = next_child.try_emplace(parent.id(), first).first->second;
    for (std::size_t c = 0; c < expansions[e].children; ++c, ++i) {
      ws.prefixes[i] = parent;
      ws.keys[i] = {parent.id(), first + c};
      round.from[i] = e;
    }
    if (repeated) next_child[parent.id()] = first + expansions[e].children;
  }
  std::vector<trajectory>& children = round.children;
  ctx.extend(gen, ws.prefixes, ws.keys, children);
  if (parents == parent_release::released && ctx.releases_nodes()) {
    ws.parents.clear();
    for (const expansion& e : expansions) ws.parents.push_back(e.parent);
    ctx.release(ws.parents);
  }
  round.from.resize(children.size());

  // Look-ahead: leaves[i] is the node whose PRM score judges children[i].
  ws.leaves.assign(children.begin(), children.end());
  for (std::size_t step = 0; step < lookahead && !ctx.cut(); ++step) {
    detail::gather_unfinished(
        ws.leaves, [&](std::size_t i) { return stream_key{ws.leaves[i].id(), detail::lookahead_child}; }, ws.rolling,
        ws.which, ws.roll_keys);
    if (ws.rolling.empty()) break;
    ctx.extend(gen, ws.rolling, ws.roll_keys, ws.rolled);
    if (step > 0) ctx.release(std::span<const trajectory>(ws.rolling).first(ws.rolled.size()));  // look-ahead-only nodes
    for (std::size_t r = 0; r < ws.rolled.size(); ++r) ws.leaves[ws.which[r]] = ws.rolled[r];
  }

  ctx.score_steps(prm, ws.leaves, ws.leaf_scores);
  // Look-ahead leaves only judged their child; finished children are never expanded.
  if (ctx.releases_nodes()) {
    ws.done.clear();
    for (std::size_t i = 0; i < ws.leaves.size(); ++i) {
      if (ws.leaves[i].id() != children[i].id()) ws.done.push_back(ws.leaves[i]);
      if (children[i].finished()) ws.done.push_back(children[i]);
    }
    ctx.release(ws.done);
  }
  children.resize(ws.leaf_scores.size());
  round.from.resize(ws.leaf_scores.size());
  round.scores.resize(children.size());
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (ws.leaves[i].id() != children[i].id()) ctx.tree().set_score(children[i].id(), ws.leaf_scores[i]);
    round.scores[i] = detail::checked_aggregated_score(ctx, children[i], aggregate, "node", children[i].id());
  }
}

/// Indices (into `scores`) of the `k` to keep: the k largest, ties to the
/// lowest index (temperature == 0), or k drawn without replacement with
/// probabilities softmax(score / temperature) by the Gumbel-top-k trick
/// (Kool et al. 2019): keys score/T + Gumbel noise, then the k largest keys.
/// Written into `keep` (replaced); `keyed` holds the Gumbel keys: buffers a
/// strategy reuses from round to round.
inline void keep_best(std::span<const double> scores, std::size_t k, double temperature, random_engine& rng,
                      std::vector<std::size_t>& keep, std::vector<double>& keyed) {
  keep.resize(std::min(k, scores.size()));
  if (keep.empty()) return;
  if (temperature == 0.0) {
    kernels::top_k(scores, keep);
    return;
  }
  keyed.resize(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double u = 1.0 - rng.uniform();  // (0, 1]
    keyed[i] = scores[i] / temperature - std::log(-std::log(u) + std::numeric_limits<double>::min());
  }
  kernels::top_k(keyed, keep);
}

/// As above, returning the indices.
inline std::vector<std::size_t> keep_best(std::span<const double> scores, std::size_t k, double temperature,
                                          random_engine& rng) {
  std::vector<std::size_t> keep;
  std::vector<double> keyed;
  keep_best(scores, k, temperature, rng, keep, keyed);
  return keep;
}

/// The k largest scores' indices, ties to the lowest index (no randomness).
inline std::vector<std::size_t> keep_best(std::span<const double> scores, std::size_t k) {
  std::vector<std::size_t> keep(std::min(k, scores.size()));
  if (!keep.empty()) kernels::top_k(scores, keep);
  return keep;
}

/// Finished nodes as candidates: score = aggregated step score, answer extracted.
template <answer_extractor Extract, step_aggregator Aggregate>
std::vector<candidate<answer_of<Extract>>> finished_candidates(std::span<const trajectory> finished,
                                                                const Extract& extract, const Aggregate& aggregate) {
  std::vector<candidate<answer_of<Extract>>> out(finished.size());
  for (std::size_t i = 0; i < finished.size(); ++i) {
    out[i].path = finished[i];
    out[i].score = detail::aggregated_score(finished[i], aggregate);
    out[i].answer = extract(finished[i]);
  }
  return out;
}

/// Ends a step-level search: the finished nodes become candidates (scored by
/// options.aggregate, answers by options.extract) and options.selection picks
/// one; the stop reason is what the context recorded (search_context.hpp).
template <class Options, budget_policy B>
auto finish_step_search(search_context<B>& ctx, std::span<const trajectory> finished, const Options& options) {
  return ctx.finish(finished_candidates(finished, options.extract, options.aggregate), options.selection);
}

TTSCALE_END_NAMESPACE
