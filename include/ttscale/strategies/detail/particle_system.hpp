// ttscale/strategies/detail/particle_system.hpp: one sweep of a particle
// filter, shared by particle_filter, entropic_particle_filter and
// particle_gibbs (a conditional sweep with a reference trajectory), and the
// packaging of the particles into candidates.
//
// A sweep, round t = 0, 1, ... (Puri et al. 2025, Alg. 1; conditional version:
// Andrieu, Doucet & Holenstein 2010, sec. 4.3):
//   x_i <- ctx.extend(gen, unfinished x_i)          one batched call, stream (slot, t)
//   [look-ahead: k more steps from each x_i, kept out of the population]
//   r_i <- ctx.score_steps(prm, x_i or successor)   one batched call
//   lw_i += weight(r_i)                             finished competing particles too
//   stop if nothing is unfinished or t is the last round (no final resampling)
//   T <- temperature(t, ESS(lw)/n)
//   if trigger(ESS(lw / T), n):  a ~ resample(scheme, lw / T), slot-kept; lw <- 0
// The random stream of the resampling at round t is ctx.engine({particle_stream,
// sweep << 32 | t}); generation uses ({slot | sweep << 32}, t | lookahead << 32).
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
  /// paths[s].finished(), kept beside the handles so a round never reads the
  /// tree for it (at large N every node read is a cache miss).
  std::vector<char> finished;
  double temperature = 1.0;          ///< the last temperature, used to normalise at the end

  void reset(trajectory root, std::size_t n) {
    paths.assign(n, root);
    finished.assign(n, root.finished() ? 1 : 0);
    log_weights.assign(n, 0.0);
    rewards.assign(n, std::numeric_limits<double>::quiet_NaN());
    temperature = 1.0;
  }
};

/// The reference trajectory of a conditional sweep (particle Gibbs).
struct particle_reference {
  std::vector<trajectory> nodes;  ///< nodes[d] = the reference after d + 1 steps
  /// state_of(path) -> key: the reference may move to an ancestor whose key
  /// equals its own (ancestor sampling); returns nothing to disable it.
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

/// Runs one sweep on `st` (already reset at the root). Returns the budget
/// limit that stopped it, if any.
template <budget_policy B, generator G, class V, class Weight, class Scheme, class Trigger, class Finished,
          class Temperature>
std::optional<stop_reason> run_particle_sweep(search_context<B>& ctx, G& gen, V* prm, particle_state& st,
                                              const sweep_plan<Weight, Scheme, Trigger, Finished, Temperature>& plan,
                                              const particle_reference* ref, std::vector<particle_round>& rounds) {
  const std::size_t n = st.paths.size();
  const std::uint64_t sweep_bits = plan.sweep_bits();
  particle_resampler resampler;
  std::vector<std::uint32_t> live, competing, outputs;
  std::vector<trajectory> prefixes, weigh_nodes, to_score, old_paths;
  std::vector<stream_key> keys;
  std::vector<double> lw_competing, tempered, old_rewards;
  std::vector<char> old_finished;
  std::vector<std::size_t> weigh_slot;
  trajectory ref_child;

  for (std::size_t t = 0; t < plan.max_steps; ++t) {
    live.clear();
    for (std::uint32_t s = 0; s < n; ++s)
      if (!st.finished[s] && !(ref && s == 0)) live.push_back(s);
    const bool ref_active = ref && !st.finished[0] && t < ref->nodes.size();
    if (live.empty() && !ref_active) return std::nullopt;
    if (auto why = ctx.stop_check()) return why;

    // Propagate: one batched generator call for every unfinished free particle.
    prefixes.clear();
    keys.clear();
    for (std::uint32_t s : live) {
      prefixes.push_back(st.paths[s]);
      keys.push_back({s | sweep_bits, t});
    }
    const std::vector<trajectory> children = ctx.extend(gen, prefixes, keys);
    for (std::size_t j = 0; j < children.size(); ++j) {
      st.paths[live[j]] = children[j];
      st.finished[live[j]] = children[j].finished() ? 1 : 0;
    }
    // Release: the extended parents (each is extended in this one round;
    // duplicates from resampling all were) and the children that finished.
    if (!plan.keep_ancestry) ctx.release(std::span<const trajectory>(prefixes).first(children.size()));
    for (const trajectory& c : children)
      if (c.finished()) ctx.release(c);
    if (children.size() < live.size()) return stop_reason::generator_call_limit;

    // The reference's step t is given: reuse its node, or graft the step onto
    // the ancestor that ancestor sampling chose (a new node, to be scored).
    bool score_ref = false;
    if (ref_active) {
      const trajectory expected_parent = t == 0 ? ctx.root() : ref->nodes[t - 1];
      if (st.paths[0] == expected_parent) {
        ref_child = ref->nodes[t];
      } else {
        ref_child = ctx.tree().append(st.paths[0].id(), ref->nodes[t].last_step());
      }
      st.paths[0] = ref_child;
      st.finished[0] = ref_child.finished() ? 1 : 0;
      score_ref = Weight::uses_reward && std::isnan(ref_child.step_score());
    }

    // Look-ahead modulation: weigh each particle by a successor k steps ahead.
    weigh_nodes.assign(children.begin(), children.end());
    weigh_slot.assign(live.begin(), live.end());
    for (std::size_t la = 1; la <= plan.look_ahead; ++la) {
      prefixes.clear();
      keys.clear();
      std::vector<std::size_t> which;
      for (std::size_t j = 0; j < weigh_nodes.size(); ++j)
        if (!weigh_nodes[j].finished()) {
          prefixes.push_back(weigh_nodes[j]);
          keys.push_back({weigh_slot[j] | sweep_bits, t | (static_cast<std::uint64_t>(la) << 32)});
          which.push_back(j);
        }
      if (prefixes.empty()) break;
      const std::vector<trajectory> ahead = ctx.extend(gen, prefixes, keys);
      if (la > 1) ctx.release(std::span<const trajectory>(prefixes).first(ahead.size()));  // look-ahead-only nodes
      if (ahead.size() < prefixes.size()) return stop_reason::generator_call_limit;
      for (std::size_t q = 0; q < ahead.size(); ++q) weigh_nodes[which[q]] = ahead[q];
    }

    // Weigh: one batched PRM call.
    std::vector<double> scores;
    if constexpr (!Weight::uses_reward) {
      scores.assign(weigh_nodes.size() + (score_ref ? 1 : 0), std::numeric_limits<double>::quiet_NaN());
    } else {
      to_score.assign(weigh_nodes.begin(), weigh_nodes.end());
      if (score_ref) to_score.push_back(ref_child);
      scores = ctx.score_steps(*prm, to_score);
      if (scores.size() < to_score.size()) return stop_reason::verifier_call_limit;
    }
    for (std::size_t j = 0; j < weigh_nodes.size(); ++j) {
      const std::size_t s = weigh_slot[j];
      st.log_weights[s] += particle_log_weight(ctx, plan.log_weight, scores[j], weigh_nodes[j], s);
      st.rewards[s] = scores[j];
      if (weigh_nodes[j].id() != st.paths[s].id()) ctx.release(weigh_nodes[j]);  // a look-ahead leaf, done
    }
    if (ref_active) {
      const double r = score_ref ? scores.back() : ref_child.step_score();
      st.log_weights[0] += particle_log_weight(ctx, plan.log_weight, r, ref_child, 0);
      st.rewards[0] = r;
    }
    if constexpr (Finished::competes) {
      // Finished particles compete with their final step's weight, every round
      // (`live` is ascending, so one merge finds the slots not weighed above).
      std::size_t j = 0;
      for (std::uint32_t s = 0; s < n; ++s) {
        const bool in_live = j < live.size() && live[j] == s;
        j += in_live;
        if (!in_live && !(ref_active && s == 0) && st.finished[s])
          st.log_weights[s] += particle_log_weight(ctx, plan.log_weight, st.rewards[s], st.paths[s], s);
      }
    }

    bool any_unfinished = false;
    for (char f : st.finished) any_unfinished |= f == 0;
    if (!any_unfinished || t + 1 == plan.max_steps) break;

    // Resample (Alg. 1, "resample with softmax weights"), if the trigger fires.
    competing.clear();
    for (std::uint32_t s = 0; s < n; ++s)
      if (Finished::competes || !st.finished[s]) competing.push_back(s);
    if (competing.empty()) continue;
    lw_competing.resize(competing.size());
    for (std::size_t k = 0; k < competing.size(); ++k) lw_competing[k] = st.log_weights[competing[k]];
    particle_round rec;
    rec.sweep = plan.sweep;
    rec.round = t;
    rec.competing = competing.size();
    const double n_competing = static_cast<double>(competing.size());
    rec.all_zero = tempered_log_weights(lw_competing, 1.0, tempered);
    if constexpr (schedule_reads_ess<Temperature>) {
      rec.ess_untempered = kernels::effective_sample_size(std::span<const double>(tempered));
      rec.temperature = checked_temperature(plan.temperature, t, rec.ess_untempered / n_competing, ctx.name());
    } else {
      rec.temperature = checked_temperature(plan.temperature, t, std::numeric_limits<double>::quiet_NaN(), ctx.name());
    }
    st.temperature = rec.temperature;
    if (rec.temperature != 1.0) tempered_log_weights(lw_competing, rec.temperature, tempered);
    rec.ess = kernels::effective_sample_size(std::span<const double>(tempered));
    if constexpr (!schedule_reads_ess<Temperature>)  // lw itself has a finite entry unless all_zero (then tempered is lw's fallback)
      rec.ess_untempered = rec.temperature == 1.0 || rec.all_zero
                               ? rec.ess
                               : kernels::effective_sample_size(std::span<const double>(lw_competing));
    rec.resampled = plan.trigger(rec.ess, competing.size());
    if (rec.resampled) {
      // Conditional resampling keeps the reference (slot 0, competing index 0).
      const bool conditional = ref && !competing.empty() && competing.front() == 0;
      outputs.clear();
      for (std::uint32_t k = conditional ? 1 : 0; k < competing.size(); ++k) outputs.push_back(k);
      random_engine rng = ctx.engine({stream_tag::particle_resampling, sweep_bits | t});
      rec.distinct_ancestors = resampler.resample(plan.scheme, tempered, outputs, rng);
      old_paths.assign(st.paths.begin(), st.paths.end());
      old_rewards.assign(st.rewards.begin(), st.rewards.end());
      old_finished.assign(st.finished.begin(), st.finished.end());
      if (conditional && ref->state_of) {
        // Ancestor sampling (Lindsten et al. 2014, eq. 9) with the transition
        // term 1[state(x_i) = state(x*)]: paths of the same state continue
        // the reference's next step with the same probability.
        const std::uint64_t key = ref->state_of(old_paths[0]);
        const std::size_t a = sample_one(
            tempered, [&](std::size_t k) { return ref->state_of(old_paths[competing[k]]) == key; }, rng);
        if (a < competing.size()) {
          resampler.ancestors[0] = static_cast<std::uint32_t>(a);
          rec.reference_ancestor = competing[a];
        }
      }
      // Trace: the particles resampling dropped are pruned, the others kept.
      for (std::size_t k = 0; k < competing.size(); ++k)
        ctx.mark(old_paths[competing[k]], resampler.offspring[k] > 0 || (conditional && k == 0) ? trace_status::kept
                                                                                                : trace_status::pruned);
      rec.ancestors.resize(n);
      for (std::uint32_t s = 0; s < n; ++s) rec.ancestors[s] = s;
      for (std::size_t k = 0; k < competing.size(); ++k) {
        const std::uint32_t from = competing[resampler.ancestors[k]];
        rec.ancestors[competing[k]] = from;
        st.paths[competing[k]] = old_paths[from];
        st.rewards[competing[k]] = old_rewards[from];
        st.finished[competing[k]] = old_finished[from];
        st.log_weights[competing[k]] = 0.0;
      }
      // The particles resampling dropped (held by no slot now) are never
      // extended again, and none of them is an ancestor of a survivor.
      std::vector<trajectory> dropped;
      for (std::size_t k = 0; k < competing.size(); ++k)
        if (resampler.offspring[k] == 0 && !(conditional && k == 0)) dropped.push_back(old_paths[competing[k]]);
      if (!dropped.empty()) {
        std::vector<node_id> held;
        for (const trajectory& p : st.paths) held.push_back(p.id());
        std::sort(held.begin(), held.end());
        std::erase_if(dropped, [&](const trajectory& d) { return std::binary_search(held.begin(), held.end(), d.id()); });
        ctx.release(dropped);
      }
    }
    rounds.push_back(std::move(rec));
  }
  return std::nullopt;
}

/// Normalised weights softmax(lw / T) of every slot (uniform if all are 0).
inline std::vector<double> normalised_weights(const particle_state& st) {
  std::vector<double> w;
  tempered_log_weights(st.log_weights, st.temperature, w);
  double hi = -std::numeric_limits<double>::infinity();
  for (double x : w) hi = std::max(hi, x);
  double sum = 0.0;
  for (double& x : w) sum += (x = std::exp(x - hi));
  for (double& x : w) x /= sum;
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
    if (const std::optional<stop_reason> why = run_particle_sweep(ctx, gen, prm, st, plan, nullptr, rounds))
      ctx.stop(*why);
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
