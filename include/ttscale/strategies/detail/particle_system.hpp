// ttscale/strategies/detail/particle_system.hpp: one sweep of a particle
// filter, shared by particle_filter, entropic_particle_filter and
// particle_gibbs (a conditional sweep with a reference trajectory), and the
// packaging of the particles into candidates.
//
// A sweep, round t = 0, 1, ... (Puri et al. 2025, Alg. 1; conditional version:
// Andrieu, Doucet & Holenstein 2010, sec. 4.3), one function a phase:
//   propagate         x_i <- ctx.extend(gen, unfinished x_i)     one batched call, stream (slot, t)
//   graft_reference   particle Gibbs: x_0 takes the reference's given step t
//   look_ahead        [ePF: k more steps from each x_i, kept out of the population]
//   weigh             r_i <- ctx.score_steps(prm, x_i or successor), lw_i += weight(r_i)
//   reweigh_finished  finished_particles::compete: lw_i += weight(final r_i)
//   stop if nothing is unfinished or t is the last round (no final resampling)
//   temper            T <- temperature(t, ESS(lw)/n), ESS(lw / T)
//   if trigger(ESS(lw / T), n):
//     draw_ancestors     a ~ resample(scheme, lw / T), slot-kept (sample_reference_ancestor:
//                        particle Gibbs' ancestor sampling)
//     move_to_ancestors  x_i <- x_{a_i}, lw_i <- 0
//     release_dropped
// The phases share one sweep_workspace (the round's scratch). The random stream
// of the resampling at round t is ctx.engine({particle_stream, sweep << 32 | t});
// generation uses ({slot | sweep << 32}, t | lookahead << 32).
// So the result never depends on batch size or thread count.
// Cost per round, model excluded: O(n) (two ESS passes, one resampling, one
// slot-keeping pass); no allocation once the buffers are warm, except the
// ancestors recorded in particle_round and what search_context allocates.
#pragma once

#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/detail/stream_keys.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/ess.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/strategies/detail/particle_resampling.hpp>
#include <ttscale/strategies/detail/particle_weights.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

/// What one round of a particle method did (for tests, plots and diagnostics).
struct particle_round {
  std::size_t sweep = 0;          ///< particle Gibbs sweep (0 for the filters)
  std::size_t round = 0;          ///< t, from 0
  std::size_t competing = 0;      ///< particles taking part in resampling
  double ess = 0.0;               ///< ESS of the tempered weights lw / T, in [1, competing]
  double ess_untempered = 0.0;    ///< ESS of lw (what the entropic temperature reads)
  double temperature = 1.0;       ///< T used this round
  bool all_zero = false;          ///< every weight was 0: uniform fallback used
  bool resampled = false;
  std::size_t distinct_ancestors = 0;  ///< distinct particles with offspring (if resampled)
  /// ancestors[slot] = the slot whose particle this slot now continues (if
  /// resampled; the identity for particles that did not take part).
  std::vector<std::uint32_t> ancestors;
  /// particle Gibbs: the slot the reference's ancestor was drawn from (ancestor sampling).
  std::optional<std::uint32_t> reference_ancestor;
};

/// A search_result with the particle methods' per-round record.
template <class Answer>
struct particle_search_result : search_result<Answer> {
  std::vector<particle_round> rounds;
};

namespace detail {

struct particle_state {
  std::vector<trajectory> paths;     ///< by slot
  std::vector<double> log_weights;   ///< accumulated since the last resampling (untempered)
  std::vector<double> rewards;       ///< reward of the last weighting, NaN if none
  double temperature = 1.0;          ///< the last temperature, used to normalise at the end

  void reset(trajectory root, std::size_t n) {
    paths.assign(n, root);
    log_weights.assign(n, 0.0);
    rewards.assign(n, std::numeric_limits<double>::quiet_NaN());
    temperature = 1.0;
  }
};

/// The reference trajectory of a conditional sweep (particle Gibbs).
struct particle_reference {
  std::vector<trajectory> nodes;  ///< nodes[d] = the reference after d + 1 steps
  /// state_of(path) -> key: the reference may move to an ancestor whose key
  /// equals its own (ancestor sampling); nullptr disables it.
  std::uint64_t (*state_of)(const trajectory&) = nullptr;
};

/// What a sweep needs besides the particles: the policies and the shape.
/// Built with designated initialisers, e.g. {.log_weight = w, .scheme = s,
/// .trigger = when, .temperature = schedule, .max_steps = 64}.
template <log_weight_source Weight, kernels::resampling_scheme Scheme, resample_trigger Trigger,
          finished_particle_policy Finished, temperature_schedule Temperature>
struct sweep_plan {
  using weight_type = Weight;
  using schedule_type = Temperature;

  Weight log_weight{};        ///< reward -> incremental log-weight
  Scheme scheme{};            ///< resampling scheme (kernels)
  Trigger trigger{};          ///< trigger(ess, competing) -> resample this round
  Temperature temperature{};  ///< temperature(round, ess_fraction) -> T; see temperature_schedule
  std::size_t max_steps = 1;  ///< rounds
  std::size_t look_ahead = 0; ///< LaM: weigh a particle by its successor this many steps ahead
  std::size_t sweep = 0;      ///< particle Gibbs sweep: the high half of the stream keys
  /// Particle Gibbs with later sweeps: any ancestor of a final particle may
  /// become the next reference, whose nodes later sweeps extend again, so
  /// extended ancestors are not released during the sweep (the strategy
  /// releases all but the reference when the sweep ends).
  bool keep_ancestry = false;

  [[nodiscard]] std::uint64_t sweep_bits() const noexcept { return static_cast<std::uint64_t>(sweep) << 32; }
};

/// Particle `slot`'s incremental log-weight from the score r of its newest
/// node. A score outside the weight source's domain raises invalid_score
/// naming the strategy, the particle, the node and the value (the source
/// itself knows only the value), with the accounting so far.
template <class Weight, budget_policy B>
double particle_log_weight(search_context<B>& ctx, const Weight& source, double r, const trajectory& node,
                           std::size_t slot) {
  try {
    return source.log_weight(r, node);
  } catch (const invalid_score& e) {
    throw invalid_score(ctx.name() + ": particle " + std::to_string(slot) + " (node " + std::to_string(node.id()) +
                            "): " + e.what(),
                        ctx.spent());
  }
}

template <class Temperature>
double checked_temperature(const Temperature& temperature, std::size_t round, double ess_fraction,
                           const std::string& who) {
  const double t = temperature(round, ess_fraction);
  if (!(t > 0.0) || !std::isfinite(t))
    throw invalid_argument(who + ": temperature at round " + std::to_string(round) + " is " + detail::number_text(t) +
                           " (must be finite and > 0)");
  return t;
}

/// lw / T into `out`; all -inf becomes uniform (returns true then).
inline bool tempered_log_weights(std::span<const double> lw, double temperature, std::vector<double>& out) {
  out.resize(lw.size());
  bool any = false;
  const double inv = 1.0 / temperature;
  for (std::size_t i = 0; i < lw.size(); ++i) {
    out[i] = lw[i] * inv;
    any |= out[i] > -std::numeric_limits<double>::infinity();
  }
  if (!any) out.assign(lw.size(), 0.0);
  return !any;
}

/// The scratch of one sweep: what each phase hands the next, in buffers that
/// are reused from round to round (no allocation once warm, except the
/// vectors search_context returns).
struct sweep_workspace {
  std::vector<std::uint32_t> live;       ///< free unfinished slots, ascending: the round's propagation
  bool ref_active = false;               ///< the reference takes its next given step this round
  bool score_ref = false;                ///< ... onto a new (grafted) node, which the PRM scores
  trajectory ref_child;                  ///< the reference's node this round
  std::vector<trajectory> prefixes;      ///< the nodes a generator call extends
  std::vector<stream_key> keys;          ///< their random streams
  std::vector<trajectory> children;      ///< the new nodes of `live`, in order
  std::vector<trajectory> weigh_nodes;   ///< look-ahead: what is weighed, a child or its successor
  std::vector<std::uint32_t> weigh_slot; ///< look-ahead: the slot of each weigh_nodes entry
  std::vector<std::size_t> extended;     ///< look-ahead: the weigh_nodes entries extended this step
  std::vector<trajectory> ahead;         ///< look-ahead: their successors
  std::vector<trajectory> to_score;      ///< the PRM's batch
  std::vector<double> scores;            ///< its scores (NaN without a PRM)
  std::vector<double> increments;        ///< their log-weight increments, where the source weighs a batch
  std::vector<std::uint32_t> competing;  ///< the slots taking part in resampling, ascending
  std::vector<double> lw_competing;      ///< their untempered log-weights, if not every slot competes
  std::vector<double> tempered;          ///< their lw / T (uniform if all -inf)
  std::vector<std::uint32_t> outputs;    ///< competing indices that draw an ancestor
  particle_resampler resampler;
  sample_one_workspace reference_pick;   ///< ancestor sampling's draw
  std::vector<trajectory> old_paths;     ///< after a move: the population before it, by slot (move_to_ancestors)
  std::vector<double> old_rewards;
  std::vector<trajectory> dropped;       ///< particles resampling dropped, to release
  std::vector<std::uint64_t> held;       ///< release_dropped: a bit per node id, all clear between uses
};

/// The round's free unfinished slots and whether the reference steps; false
/// when nothing is left to extend (the sweep is over).
inline bool collect_live(const particle_state& st, const particle_reference* ref, std::size_t t, sweep_workspace& ws) {
  // Branch-free compaction (whether a particle has finished is data, and
  // push_back's capacity check kept the end pointer in memory).
  ws.live.resize(st.paths.size());
  std::size_t count = 0;
  for (std::uint32_t s = 0; s < st.paths.size(); ++s) {
    ws.live[count] = s;
    count += !st.paths[s].finished() && !(ref && s == 0) ? 1 : 0;
  }
  ws.live.resize(count);
  ws.ref_active = ref && !st.paths[0].finished() && t < ref->nodes.size();
  ws.score_ref = false;
  return !ws.live.empty() || ws.ref_active;
}

/// Propagate (Alg. 1, x_i <- x_i + step ~ generator(x_i)): one batched call
/// extends every unfinished free particle, slot s on stream (s | sweep << 32, t).
template <budget_policy B, generator G, class Plan>
void propagate(search_context<B>& ctx, G& gen, particle_state& st, const Plan& plan, std::size_t t,
               sweep_workspace& ws) {
  ws.prefixes.resize(ws.live.size());
  ws.keys.resize(ws.live.size());
  for (std::size_t j = 0; j < ws.live.size(); ++j) {
    ws.prefixes[j] = st.paths[ws.live[j]];
    ws.keys[j] = {ws.live[j] | plan.sweep_bits(), t};
  }
  ctx.extend(gen, ws.prefixes, ws.keys, ws.children);
  for (std::size_t j = 0; j < ws.children.size(); ++j) st.paths[ws.live[j]] = ws.children[j];
  // Release: the extended parents (each is extended in this one round;
  // duplicates from resampling all were) and the children that finished.
  if (!ctx.releases_nodes()) return;
  if (!plan.keep_ancestry) ctx.release(std::span<const trajectory>(ws.prefixes).first(ws.children.size()));
  for (std::size_t j = 0; j < ws.children.size(); ++j)
    if (ws.children[j].finished()) ctx.release(ws.children[j]);
}

/// Conditional sweep (Andrieu, Doucet & Holenstein 2010, sec. 4.3): slot 0's
/// step t is the reference's, given, not generated. Reuse the reference's
/// node, or graft the step onto the ancestor that ancestor sampling chose (a
/// new node, which `weigh` scores).
template <budget_policy B, class Plan>
void graft_reference(search_context<B>& ctx, particle_state& st, const Plan&, const particle_reference& ref,
                     std::size_t t, sweep_workspace& ws) {
  const trajectory expected_parent = t == 0 ? ctx.root() : ref.nodes[t - 1];
  if (st.paths[0] == expected_parent) {
    ws.ref_child = ref.nodes[t];
  } else {
    ws.ref_child = ctx.tree().append(st.paths[0].id(), ref.nodes[t].last_step());
  }
  st.paths[0] = ws.ref_child;
  ws.score_ref = Plan::weight_type::uses_reward && std::isnan(ws.ref_child.step_score());
}

/// Look-ahead modulation (ePF, LaM; Giannone et al. 2025): each new particle
/// is weighed by its successor `look_ahead` steps ahead, drawn on stream
/// (slot | sweep << 32, t | step << 32) and kept out of the population.
template <budget_policy B, generator G, class Plan>
void look_ahead(search_context<B>& ctx, G& gen, const Plan& plan, std::size_t t, sweep_workspace& ws) {
  if (plan.look_ahead == 0) return;  // the children themselves are weighed (weighed_nodes)
  ws.weigh_nodes.assign(ws.children.begin(), ws.children.end());
  ws.weigh_slot.assign(ws.live.begin(), ws.live.end());
  for (std::size_t la = 1; la <= plan.look_ahead; ++la) {
    gather_unfinished(
        ws.weigh_nodes,
        [&](std::size_t j) {
          return stream_key{ws.weigh_slot[j] | plan.sweep_bits(), t | (static_cast<std::uint64_t>(la) << 32)};
        },
        ws.prefixes, ws.extended, ws.keys);
    if (ws.prefixes.empty()) break;
    ctx.extend(gen, ws.prefixes, ws.keys, ws.ahead);
    if (la > 1) ctx.release(std::span<const trajectory>(ws.prefixes).first(ws.ahead.size()));  // look-ahead-only nodes
    if (ctx.cut()) return;
    for (std::size_t q = 0; q < ws.ahead.size(); ++q) ws.weigh_nodes[ws.extended[q]] = ws.ahead[q];
  }
}

/// The nodes `weigh` scores and their slots: the new particles (ws.children of
/// ws.live, extended in this order), or their look-ahead successors.
template <class Plan>
std::span<const trajectory> weighed_nodes(const Plan& plan, const sweep_workspace& ws) {
  return plan.look_ahead > 0 ? std::span<const trajectory>(ws.weigh_nodes) : std::span<const trajectory>(ws.children);
}
template <class Plan>
std::span<const std::uint32_t> weighed_slots(const Plan& plan, const sweep_workspace& ws) {
  return plan.look_ahead > 0 ? std::span<const std::uint32_t>(ws.weigh_slot) : std::span<const std::uint32_t>(ws.live);
}

/// Weigh (Alg. 1, r_i <- PRM(x_i); lw_i += weight(r_i), i.e. w_t = w_{t-1} G_t):
/// one batched PRM call over the weighed nodes and a grafted reference node.
template <budget_policy B, class V, class Plan>
void weigh(search_context<B>& ctx, V* prm, particle_state& st, const Plan& plan, sweep_workspace& ws) {
  const std::span<const trajectory> nodes = weighed_nodes(plan, ws);
  const std::span<const std::uint32_t> slots = weighed_slots(plan, ws);
  if constexpr (!Plan::weight_type::uses_reward) {
    ws.scores.assign(nodes.size() + (ws.score_ref ? 1 : 0), std::numeric_limits<double>::quiet_NaN());
  } else {
    if (ws.score_ref) {
      ws.to_score.assign(nodes.begin(), nodes.end());
      ws.to_score.push_back(ws.ref_child);
    }
    ctx.score_steps(*prm, ws.score_ref ? std::span<const trajectory>(ws.to_score) : nodes, ws.scores);
    if (ctx.cut()) return;
  }
  // The round's increments at once where the source can (one vectorised log);
  // a reward outside its domain falls back to the per-particle form, which names it.
  bool batched = false;
  if constexpr (batched_log_weight_source<typename Plan::weight_type>) {
    ws.increments.resize(nodes.size());
    batched = plan.log_weight.log_weights(std::span<const double>(ws.scores).first(nodes.size()),
                                          std::span<double>(ws.increments));
  }
  for (std::size_t j = 0; j < nodes.size(); ++j) {
    const std::uint32_t s = slots[j];
    st.log_weights[s] +=
        batched ? ws.increments[j] : particle_log_weight(ctx, plan.log_weight, ws.scores[j], nodes[j], s);
    st.rewards[s] = ws.scores[j];
  }
  if (plan.look_ahead > 0)
    for (std::size_t j = 0; j < nodes.size(); ++j)
      if (nodes[j].id() != st.paths[slots[j]].id()) ctx.release(nodes[j]);  // a look-ahead leaf, done
  if (ws.ref_active) {
    const double r = ws.score_ref ? ws.scores.back() : ws.ref_child.step_score();
    st.log_weights[0] += particle_log_weight(ctx, plan.log_weight, r, ws.ref_child, 0);
    st.rewards[0] = r;
  }
}

/// finished_particles::compete (the published code of Puri et al. 2025):
/// finished particles are re-weighted with their final step's weight every
/// round (`live` is ascending, so one merge finds the slots `weigh` skipped).
template <budget_policy B, class Plan>
void reweigh_finished(search_context<B>& ctx, particle_state& st, const Plan& plan, const sweep_workspace& ws) {
  if (ws.live.size() == st.paths.size()) return;  // every slot was weighed this round
  std::size_t j = 0;
  for (std::uint32_t s = 0; s < st.paths.size(); ++s) {
    const bool in_live = j < ws.live.size() && ws.live[j] == s;
    j += in_live;
    if (!in_live && !(ws.ref_active && s == 0) && st.paths[s].finished())
      st.log_weights[s] += particle_log_weight(ctx, plan.log_weight, st.rewards[s], st.paths[s], s);
  }
}

inline bool any_unfinished(const particle_state& st) {
  bool any = false;
  for (const trajectory& p : st.paths) any |= !p.finished();
  return any;
}

/// indices = first, first + 1, ..., last - 1; nothing is written when it
/// already is (it is only ever filled here, so its size and front tell).
inline void assign_range(std::vector<std::uint32_t>& indices, std::uint32_t first, std::size_t last) {
  if (indices.size() == last - first && (indices.empty() || indices.front() == first)) return;
  indices.resize(last - first);
  for (std::size_t k = 0; k < indices.size(); ++k) indices[k] = static_cast<std::uint32_t>(first + k);
}

/// The slots that take part in resampling (every slot, or the unfinished ones
/// with finished_particles::stay_fixed) and their log-weights (st's own when
/// every slot competes); empty if none.
template <class Finished>
std::span<const double> collect_competing(const particle_state& st, sweep_workspace& ws) {
  if constexpr (Finished::competes) {
    assign_range(ws.competing, 0, st.paths.size());
    return st.log_weights;
  } else {
    ws.competing.clear();
    for (std::uint32_t s = 0; s < st.paths.size(); ++s)
      if (!st.paths[s].finished()) ws.competing.push_back(s);
    ws.lw_competing.resize(ws.competing.size());
    for (std::size_t k = 0; k < ws.competing.size(); ++k) ws.lw_competing[k] = st.log_weights[ws.competing[k]];
    return ws.lw_competing;
  }
}

/// The resampling distribution softmax(lw / T) (Alg. 1's softmax with a
/// temperature) as ws.tempered, and the round's record: T from the schedule
/// (after ESS(lw) if it reads the ESS, ePF's entropic annealing) and ESS(lw / T).
template <budget_policy B, class Plan>
particle_round temper(const search_context<B>& ctx, particle_state& st, const Plan& plan, std::size_t t,
                      std::span<const double> lw_competing, sweep_workspace& ws) {
  constexpr bool reads_ess = schedule_reads_ess<typename Plan::schedule_type>;
  particle_round rec;
  rec.sweep = plan.sweep;
  rec.round = t;
  rec.competing = ws.competing.size();
  rec.all_zero = tempered_log_weights(lw_competing, 1.0, ws.tempered);
  double ess_fraction = std::numeric_limits<double>::quiet_NaN();
  if constexpr (reads_ess) {
    rec.ess_untempered = kernels::effective_sample_size(std::span<const double>(ws.tempered));
    ess_fraction = rec.ess_untempered / static_cast<double>(ws.competing.size());
  }
  rec.temperature = checked_temperature(plan.temperature, t, ess_fraction, ctx.name());
  st.temperature = rec.temperature;
  if (rec.temperature != 1.0) tempered_log_weights(lw_competing, rec.temperature, ws.tempered);
  rec.ess = kernels::effective_sample_size(std::span<const double>(ws.tempered));
  if constexpr (!reads_ess)  // lw itself has a finite entry unless all_zero (then tempered is lw's fallback)
    rec.ess_untempered = rec.temperature == 1.0 || rec.all_zero
                             ? rec.ess
                             : kernels::effective_sample_size(lw_competing);
  return rec;
}

/// Ancestor sampling (Lindsten, Jordan & Schon 2014, eq. 9) with the
/// transition term 1[state(x_i) = state(x*)]: paths of the reference's state
/// continue its next step with probability proportional to their weights.
inline void sample_reference_ancestor(const particle_reference& ref, const particle_state& st, sweep_workspace& ws,
                                      random_engine& rng, particle_round& rec) {
  const std::uint64_t key = ref.state_of(st.paths[0]);
  const std::size_t a = sample_one(
      ws.tempered, [&](std::size_t k) { return ref.state_of(st.paths[ws.competing[k]]) == key; }, rng,
      ws.reference_pick);
  if (a < ws.competing.size()) {
    ws.resampler.ancestors[0] = static_cast<std::uint32_t>(a);
    rec.reference_ancestor = ws.competing[a];
  }
}

/// Resample (Alg. 1, a ~ resample(softmax(lw / T))): the competing slots draw
/// their ancestors with `scheme` on stream (particle_resampling, sweep << 32 | t),
/// survivors keeping their slots. Conditional resampling (particle Gibbs)
/// keeps the reference in slot 0, competing index 0, whose ancestor only
/// ancestor sampling may change. Returns whether it was conditional.
template <budget_policy B, class Plan>
bool draw_ancestors(search_context<B>& ctx, const particle_state& st, const Plan& plan, const particle_reference* ref,
                    std::size_t t, sweep_workspace& ws, particle_round& rec) {
  const bool conditional = ref && ws.competing.front() == 0;
  assign_range(ws.outputs, conditional ? 1 : 0, ws.competing.size());
  random_engine rng = ctx.engine({stream_tag::particle_resampling, plan.sweep_bits() | t});
  rec.distinct_ancestors = ws.resampler.resample(plan.scheme, ws.tempered, ws.outputs, rng);
  if (conditional && ref->state_of) sample_reference_ancestor(*ref, st, ws, rng, rec);
  return conditional;
}

/// x_i <- x_{a_i}, lw_i <- 0 for the competing slots; the trace marks the
/// particles resampling dropped as pruned, the others as kept. The new
/// population is gathered beside the old one, which ws.old_paths and
/// ws.old_rewards hold afterwards (a swap, not a copy of the old).
template <budget_policy B>
void move_to_ancestors(search_context<B>& ctx, particle_state& st, bool conditional, sweep_workspace& ws,
                       particle_round& rec) {
  const std::vector<std::uint32_t>& offspring = ws.resampler.offspring;
  if (ctx.records_trace())
    for (std::size_t k = 0; k < ws.competing.size(); ++k)
      ctx.mark(st.paths[ws.competing[k]],
               offspring[k] > 0 || (conditional && k == 0) ? trace_status::kept : trace_status::pruned);
  const std::size_t n = st.paths.size();
  const bool everyone = ws.competing.size() == n;  // competing is then 0, 1, ..., n - 1
  rec.ancestors.resize(n);
  if (!everyone) {  // the slots that do not compete keep their particles
    for (std::uint32_t s = 0; s < n; ++s) rec.ancestors[s] = s;
    ws.old_paths.assign(st.paths.begin(), st.paths.end());
    ws.old_rewards.assign(st.rewards.begin(), st.rewards.end());
  } else {
    ws.old_paths.resize(n);
    ws.old_rewards.resize(n);
  }
  std::vector<trajectory>& next_paths = ws.old_paths;  // the old population once swapped
  std::vector<double>& next_rewards = ws.old_rewards;
  for (std::size_t k = 0; k < ws.competing.size(); ++k) {
    const std::uint32_t slot = ws.competing[k], from = ws.competing[ws.resampler.ancestors[k]];
    rec.ancestors[slot] = from;
    next_paths[slot] = st.paths[from];
    next_rewards[slot] = st.rewards[from];
    st.log_weights[slot] = 0.0;
  }
  st.paths.swap(next_paths);
  st.rewards.swap(next_rewards);
}

/// The particles resampling dropped (held by no slot now) are never extended
/// again, and none of them is an ancestor of a survivor: release them.
template <budget_policy B>
void release_dropped(search_context<B>& ctx, const particle_state& st, bool conditional, sweep_workspace& ws) {
  if (!ctx.releases_nodes()) return;
  ws.dropped.clear();
  for (std::size_t k = 0; k < ws.competing.size(); ++k)
    if (ws.resampler.offspring[k] == 0 && !(conditional && k == 0)) ws.dropped.push_back(ws.old_paths[ws.competing[k]]);
  if (ws.dropped.empty()) return;
  // A dropped node may still be held by another slot (a finished particle
  // copied earlier): one bit per node id, set and cleared again, O(n) rather
  // than sorting the held ids.
  ws.held.resize((ctx.tree().size() + 63) / 64, 0);
  for (const trajectory& p : st.paths) ws.held[p.id() / 64] |= std::uint64_t{1} << (p.id() % 64);
  std::erase_if(ws.dropped, [&](const trajectory& d) { return (ws.held[d.id() / 64] >> (d.id() % 64)) & 1; });
  for (const trajectory& p : st.paths) ws.held[p.id() / 64] = 0;
  ctx.release(ws.dropped);
}

/// Runs one sweep on `st` (already reset at the root); `ref` makes it a
/// conditional sweep. A budget limit or a cut round stops it (ctx.cut() says which).
template <budget_policy B, generator G, class V, class Weight, class Scheme, class Trigger, class Finished,
          class Temperature>
void run_particle_sweep(search_context<B>& ctx, G& gen, V* prm, particle_state& st,
                        const sweep_plan<Weight, Scheme, Trigger, Finished, Temperature>& plan,
                        const particle_reference* ref, std::vector<particle_round>& rounds) {
  sweep_workspace ws;
  for (std::size_t t = 0; t < plan.max_steps; ++t) {
    if (!collect_live(st, ref, t, ws) || ctx.should_stop()) return;
    propagate(ctx, gen, st, plan, t, ws);
    if (ctx.cut()) return;
    if (ws.ref_active) graft_reference(ctx, st, plan, *ref, t, ws);
    look_ahead(ctx, gen, plan, t, ws);
    if (ctx.cut()) return;
    weigh(ctx, prm, st, plan, ws);
    if (ctx.cut()) return;
    if constexpr (Finished::competes) reweigh_finished(ctx, st, plan, ws);
    if (!any_unfinished(st) || t + 1 == plan.max_steps) break;  // no resampling after the last weighing
    const std::span<const double> lw_competing = collect_competing<Finished>(st, ws);
    if (lw_competing.empty()) continue;
    particle_round rec = temper(ctx, st, plan, t, lw_competing, ws);
    rec.resampled = resample_fires(plan.trigger, rec.ess, ws.competing.size(), t);
    if (rec.resampled) {
      const bool conditional = draw_ancestors(ctx, st, plan, ref, t, ws, rec);
      move_to_ancestors(ctx, st, conditional, ws, rec);
      release_dropped(ctx, st, conditional, ws);
    }
    rounds.push_back(std::move(rec));
  }
}

/// Normalised weights softmax(lw / T) of every slot (uniform if all are 0),
/// by kernels::softmax: within its documented bound of the exact value (a few
/// ulps against the former std::exp and division by the sum).
inline std::vector<double> normalised_weights(const particle_state& st) {
  std::vector<double> tempered, w(st.log_weights.size());
  tempered_log_weights(st.log_weights, st.temperature, tempered);
  if (!tempered.empty()) kernels::softmax(std::span<const double>(tempered), std::span<double>(w));
  return w;
}

/// Appends one candidate per slot: the path, its answer if finished, and the
/// score the policy asks for (normalised weight times `weight_share`, or reward).
template <answer_extractor Extract, class Score>
void append_particle_candidates(const particle_state& st, const Extract& extract, Score, double weight_share,
                                std::vector<candidate<answer_of<Extract>>>& out) {
  const std::vector<double> w = normalised_weights(st);
  for (std::size_t s = 0; s < st.paths.size(); ++s) {
    candidate<answer_of<Extract>> c;
    c.path = st.paths[s];
    if (c.path.finished()) c.answer = extract(c.path);
    if constexpr (std::same_as<Score, particle_score::last_reward_t>) {
      c.score = st.rewards[s];
    } else {
      c.score = w[s] * weight_share;
    }
    out.push_back(std::move(c));
  }
}

/// Checks the options every particle method shares; throws invalid_argument
/// "<strategy>: options.<field> ..." naming the bad value.
template <budget_policy B, class Weight, class Trigger>
void validate_particle_options(const search_context<B>& ctx, std::size_t n, std::size_t max_steps,
                               const Weight& weight, const Trigger& trigger) {
  detail::require_at_least(ctx.name(), "options.n", n, 1);
  if (n > std::numeric_limits<std::uint32_t>::max())
    ctx.fail_argument("options.n must be below 2^32 (got " + std::to_string(n) + ")");
  detail::require_at_least(ctx.name(), "options.max_steps", max_steps, 1);
  if constexpr (requires { trigger.fraction; }) {
    if (!(trigger.fraction >= 0.0 && trigger.fraction <= 1.0))
      ctx.fail_argument("options.resample_when.fraction must be in [0, 1] (got " + detail::number_text(trigger.fraction) +
                        ")");
  }
  if constexpr (requires { trigger.rounds; })
    detail::require_at_least(ctx.name(), "options.resample_when.rounds", trigger.rounds, 1);
  if constexpr (requires { weight.epsilon; }) {
    if (!(weight.epsilon > 0.0 && weight.epsilon < 0.5))
      ctx.fail_argument("options.log_weight.epsilon must be in (0, 0.5) (got " + detail::number_text(weight.epsilon) + ")");
  }
}

template <budget_policy B>
void validate_temperature(const search_context<B>& ctx, const linear_temperature& t) {
  if (!(t.start > 0.0 && std::isfinite(t.start) && t.end > 0.0 && std::isfinite(t.end)))
    ctx.fail_argument("options.temperature must have finite start and end > 0 (got " + detail::number_text(t.start) +
                      " -> " + detail::number_text(t.end) + ")");
}

/// The body of particle_filter and entropic_particle_filter: admit n
/// particles, run one sweep, package the particles as candidates, select.
template <budget_policy B, generator G, class V, class Weight, class Scheme, class Trigger, class Finished,
          class Temperature, answer_extractor Extract, class Score, class Select>
particle_search_result<answer_of<Extract>> filter_and_select(
    search_context<B>& ctx, G& gen, V* prm, std::size_t n,
    const sweep_plan<Weight, Scheme, Trigger, Finished, Temperature>& plan, const Extract& extract, Score score,
    const Select& selection) {
  const std::size_t admitted = ctx.admit_samples(n);
  particle_state st;
  st.reset(ctx.root(), admitted);
  std::vector<particle_round> rounds;
  if (admitted > 0) {
    run_particle_sweep(ctx, gen, prm, st, plan, nullptr, rounds);
  }
  std::vector<candidate<answer_of<Extract>>> candidates;
  if (admitted > 0) append_particle_candidates(st, extract, score, 1.0, candidates);
  particle_search_result<answer_of<Extract>> r;
  static_cast<search_result<answer_of<Extract>>&>(r) = ctx.finish(std::move(candidates), selection);
  r.rounds = std::move(rounds);
  return r;
}

}  // namespace detail
TTSCALE_END_NAMESPACE
