// ttscale/search_context.hpp: the bookkeeping every strategy shares.
//
// A strategy's header should read like its paper's pseudo-code; everything
// else lives here, once: the trajectory tree, the budget and exact accounting,
// random streams, batching and threads, error context, and the final
// selection. A strategy creates one search_context, asks it to extend
// trajectories and score them round by round, and finishes with a selection
// policy:
//
//   search_context ctx("best_of_n", prompt, options.budget, options.exec, draw_seed(rng));
//   auto children = ctx.extend(gen, live, keys);   // one batched round
//   ctx.score_steps(prm, children);                // one batched PRM round
//   return ctx.finish(std::move(candidates), select::best);  // stop reason derived
//
// Guarantees:
//  - extend/score split a round into calls of at most exec.batch_size items
//    and run them on exec.threads threads (only for generators/verifiers that
//    opt in through enable_concurrent_calls); outputs never depend on either.
//  - generator and verifier call limits are never exceeded: a round that
//    would exceed them is cut to its first items (the returned span is
//    shorter, and the cut is recorded); token and wall-time limits are checked
//    by should_stop() between rounds. The context records why the search
//    stopped and finish() reports it.
//  - a throwing generator or verifier becomes generator_failure /
//    verifier_failure naming the strategy and the items, with the original
//    exception nested and the accounting up to and including the failed call.
//  - a NaN or infinite score becomes invalid_score naming the item.
//  - run(body): every ttscale::error that leaves the strategy's body after
//    its first generator or verifier call carries the exact accounting
//    (error::spent()), whoever raised it — a kernel, a selection policy, an
//    aggregator or a weight source, which know nothing of the search.
//  - release: for a generator with a release hook (releasing_generator, e.g.
//    an engine that keeps a KV-cache sequence per node), the context tracks
//    the nodes the generator has seen (prefixes and children of its calls).
//    release(nodes) tells it, once per node, that the search will never
//    extend them again; finish() and the destructor (error paths) release
//    whatever is still live, so every node the generator saw is released
//    exactly once. Extending a released node is a strategy bug and throws.
//  - an optional search_trace (record_to) sees every generated node, every
//    score and the strategy's keep/prune decisions (mark); without one each
//    hook is a single pointer test per round.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/answer.hpp>
#include <ttscale/budget.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/kept_round_buffers.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/parallel.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/stream_engines.hpp>
#include <ttscale/random.hpp>
#include <ttscale/result.hpp>
#include <ttscale/selection.hpp>
#include <ttscale/trace.hpp>
#include <ttscale/trajectory.hpp>
#include <ttscale/verifier.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE

namespace detail {
/// Throws Failure("<context>: <what the failure said>", spent) with `failure`
/// nested in it, so a caller can reach the original with std::rethrow_if_nested.
template <class Failure>
[[noreturn]] void rethrow_nested(const std::exception_ptr& failure, const std::string& context,
                                 const accounting& spent) {
  std::string message = "a non-std exception";
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
  }
  try {
    std::rethrow_exception(failure);
  } catch (...) {
    std::throw_with_nested(Failure(context + ": " + message, spent));
  }
}
}  // namespace detail

namespace detail {
/// The look-ahead batch (beam search's and the entropic filter's): each
/// unfinished entry of `nodes` into `picked`, its index into `index`, and its
/// random stream key_of(i) into `keys`, all three replaced.
template <class KeyOf>
void gather_unfinished(std::span<const trajectory> nodes, KeyOf key_of, std::vector<trajectory>& picked,
                       std::vector<std::size_t>& index, std::vector<stream_key>& keys) {
  picked.clear();
  index.clear();
  keys.clear();
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].finished()) {
      picked.push_back(nodes[i]);
      index.push_back(i);
      keys.push_back(key_of(i));
    }
}
}  // namespace detail

/// How batched calls run.
struct execution {
  /// At most this many trajectories per generator or verifier call; 0 = a
  /// whole round in one call (what a batching engine wants).
  std::size_t batch_size = 0;
  /// Calls of one round run on this many threads; > 1 requires a generator /
  /// verifier that opts in (enable_concurrent_calls).
  unsigned threads = 1;
};

/// Where a search starts — a prompt (a new tree) or an existing trajectory (a
/// nested search continues it, in a copy of its own) — and where its tree
/// lives: `tree_memory` supplies the trajectory tree's nodes and text
/// (nullptr = recycled_tree_memory(): operator new, freed trees' blocks kept
/// per thread for the next search, so search after search does not fault
/// fresh pages in); it must outlive the returned result, which owns the tree.
/// A pool of your own works too: `best_of_n(gen, prm, search_start(prompt,
/// &pool), options, rng)`.
struct search_start {
  search_start(std::string p, std::pmr::memory_resource* memory = nullptr)
      : prompt(std::move(p)), tree_memory(memory) {}
  search_start(std::string_view p, std::pmr::memory_resource* memory = nullptr) : prompt(p), tree_memory(memory) {}
  search_start(const char* p, std::pmr::memory_resource* memory = nullptr) : prompt(p), tree_memory(memory) {}
  search_start(const trajectory& t, std::pmr::memory_resource* memory = nullptr) : prefix(t), tree_memory(memory) {}

  std::string prompt;
  trajectory prefix;  // valid() when starting from a trajectory
  std::pmr::memory_resource* tree_memory = nullptr;
};

template <budget_policy Budget = budget>
class search_context {
 public:
  search_context(const search_context&) = delete;  // the generator's live nodes are released once
  search_context& operator=(const search_context&) = delete;
  ~search_context() {
    try {
      release_all();
    } catch (...) {  // a throwing release hook cannot be reported from here
    }
    detail::kept_round_buffers::give_back(buffers_);
  }

  search_context(std::string_view strategy, search_start start, Budget limits, execution exec, std::uint64_t seed)
      : name_(strategy), budget_(std::move(limits)), exec_(exec), seed_(seed),
        started_(std::chrono::steady_clock::now()) {
    if (start.prefix.valid()) {
      copied_prefix copy = copy_prefix(start.prefix, start.tree_memory);
      tree_ = std::shared_ptr<trajectory_tree>(std::move(copy.tree));
      root_ = copy.leaf;
    } else {
      tree_ = std::make_shared<trajectory_tree>(std::move(start.prompt), start.tree_memory);
      root_ = tree_->root();
    }
    detail::require_at_least(name_, "exec.threads", exec_.threads, 1);
    if (auto why = budget_.exhausted_by(accounting{}))
      throw budget_exhausted(name_ + ": the budget is already spent (" + std::string(to_string(*why)) +
                                 ") before any work",
                             accounting{});
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] trajectory root() const noexcept { return root_; }
  [[nodiscard]] trajectory_tree& tree() noexcept { return *tree_; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  [[nodiscard]] const execution& exec() const noexcept { return exec_; }
  [[nodiscard]] const Budget& limits() const noexcept { return budget_; }
  /// The random stream for `key` in this search.
  [[nodiscard]] random_engine engine(stream_key key) const noexcept { return random_engine(seed_, key); }

  /// What was spent so far, wall time included.
  [[nodiscard]] const accounting& spent() {
    spent_.wall_time = std::chrono::steady_clock::now() - started_;
    return spent_;
  }

  /// Records this search into `trace` from now on (nullptr: no tracing, the
  /// default; each hook then costs one pointer test per round). The trace
  /// starts over with this search's root.
  void record_to(search_trace* trace) {
    trace_ = trace;
    if (trace_) trace_->begin(name_, tree_, root_);
  }
  /// Whether a trace records this search: a strategy may skip work that only
  /// the trace reads (e.g. a status per node for mark()).
  [[nodiscard]] bool records_trace() const noexcept { return trace_ != nullptr; }
  /// Records a strategy's decision about nodes in the trace, if any.
  void mark(std::span<const trajectory> nodes, trace_status status) {
    if (trace_) trace_->mark(nodes, status);
  }
  void mark(const trajectory& node, trace_status status) {
    if (trace_) trace_->mark(node, status);
  }

  /// Charges work done outside extend/score (a strategy that runs the
  /// generator on its own threads, e.g. first-finish search); wall_time is ignored.
  void charge(accounting work) {
    work.wall_time = {};
    spent_ += work;
  }

  /// Throws invalid_argument "<strategy>: <message>".
  [[noreturn]] void fail_argument(const std::string& message) const { throw invalid_argument(name_ + ": " + message); }

  /// Runs a strategy's body and returns what it returns. A ttscale::error
  /// leaving it once work has started (a generator or verifier call was made)
  /// gets this search's exact accounting attached, if its thrower did not
  /// know the search; errors before any work keep spent() == nullptr.
  template <class Body>
  decltype(auto) run(Body&& body) {
    try {
      return std::forward<Body>(body)();
    } catch (error& e) {
      if (spent_.generator_calls > 0 || spent_.verifier_calls > 0) e.attach_spent(spent());
      throw;
    }
  }

  // Why the search stops. The context records it, so a strategy never
  // juggles reasons: extend() and the score calls record the call limit that
  // cut their round, admit_samples() the sample limit that admitted fewer
  // candidates than asked, should_stop() the budget limit it finds, stop() a
  // strategy's own reason. The first recorded reason stands; finish() reports
  // the sample limit first (the search ran with fewer candidates than asked),
  // then the first cut, then depth_limit when no candidate finished, else
  // completed.

  /// Whether the search must stop now: a round was cut by a call limit, the
  /// strategy called stop(), or the budget (tokens, calls, time) is spent,
  /// which is then recorded. The sample limit stops only new candidates.
  [[nodiscard]] bool should_stop() {
    if (!cut_) cut_ = stop_check();
    return cut_.has_value();
  }

  /// Records a strategy's own reason to stop (early_stop, first_finished,
  /// expansion_limit, ...) unless a reason is already recorded.
  void stop(stop_reason why) noexcept {
    if (!cut_) cut_ = why;
  }

  /// The first reason recorded by a cut round, should_stop() or stop(); nullopt
  /// while the search may go on. (An admission cut is not one: the candidates
  /// admitted still run.)
  [[nodiscard]] std::optional<stop_reason> cut() const noexcept { return cut_; }

  /// What finish() reports for a search whose candidates did (not) finish.
  [[nodiscard]] stop_reason stop_reason_for(bool any_finished) const noexcept {
    if (admission_cut_) return stop_reason::sample_limit;
    if (cut_) return *cut_;
    return any_finished ? stop_reason::completed : stop_reason::depth_limit;
  }

  /// Whether the budget allows more work on the candidates already started
  /// (the sample limit only stops new candidates); the reached limit if not.
  /// `pending` is work done but not yet charged (e.g. first-finish threads'
  /// running total). A probe: it reads the clock and records nothing.
  [[nodiscard]] std::optional<stop_reason> stop_check(const accounting& pending = {}) const {
    accounting probe = spent_;
    probe += pending;
    probe.samples = 0;
    probe.wall_time = std::chrono::steady_clock::now() - started_;
    return budget_.exhausted_by(probe);
  }

  /// Starts up to `wanted` new candidates as the sample limit allows; charges
  /// and returns how many (fewer than wanted is recorded: the search reports
  /// sample_limit). `multiple_of` > 1 admits whole groups only (e.g. a DVTS
  /// subtree of M samples, an A* expansion of K): the count is rounded down to
  /// a multiple.
  std::size_t admit_samples(std::size_t wanted, std::size_t multiple_of = 1) {
    std::size_t admitted = 0;
    for (; admitted < wanted; ++admitted) {
      accounting probe{};
      probe.samples = spent_.samples + admitted;
      if (budget_.exhausted_by(probe) == stop_reason::sample_limit) {
        admission_cut_ = true;
        break;
      }
    }
    if (multiple_of > 1) admitted -= admitted % multiple_of;
    spent_.samples += admitted;
    return admitted;
  }

  /// One batched round: extends prefixes[i] by one step drawn with the
  /// stream `keys[i]`; appends the steps and returns the children, in order.
  /// Fewer children than prefixes means the generator-call limit cut the round.
  /// A prefix that is not a node of this search's tree is invalid_argument,
  /// before any call (so is, in score_steps, a node to score).
  template <generator G>
  std::vector<trajectory> extend(G& gen, std::span<const trajectory> prefixes, std::span<const stream_key> keys) {
    std::vector<trajectory> children;
    extend(gen, prefixes, keys, children);
    return children;
  }

  /// As above into `children` (replaced; it must not hold `prefixes`): a
  /// strategy passing the same vector every round allocates nothing once it
  /// has grown.
  template <generator G>
  void extend(G& gen, std::span<const trajectory> prefixes, std::span<const stream_key> keys,
              std::vector<trajectory>& children) {
    if (keys.size() != prefixes.size())
      throw size_mismatch(name_ + ": " + std::to_string(keys.size()) + " stream keys for " +
                          std::to_string(prefixes.size()) + " prefixes");
    const std::span<random_engine> engines = buffers_.engine_slots(keys.size());
    kernels::stream_engines(seed_, keys, engines);
    extend(gen, prefixes, engines, children);
  }

  /// As above with caller-held engines, which are advanced in place (for
  /// strategies that keep one stream per candidate across rounds).
  template <generator G>
  std::vector<trajectory> extend(G& gen, std::span<const trajectory> prefixes, std::span<random_engine> engines) {
    std::vector<trajectory> children;
    extend(gen, prefixes, engines, children);
    return children;
  }

  /// As above into `children` (replaced; it must not hold `prefixes`).
  template <generator G>
  void extend(G& gen, std::span<const trajectory> prefixes, std::span<random_engine> engines,
              std::vector<trajectory>& children) {
    if (engines.size() != prefixes.size())
      throw size_mismatch(name_ + ": " + std::to_string(engines.size()) + " engines for " +
                          std::to_string(prefixes.size()) + " prefixes");
    require_own_nodes(prefixes, "prefixes");
    require_concurrency<G>("generator");
    if constexpr (releasing_generator<G>) track_engine_nodes(gen, prefixes);
    const detail::chunk_plan plan = plan_calls(prefixes.size(), stop_reason::generator_call_limit,
                                               &accounting::generator_calls);
    // The round's steps go into a buffer kept across rounds (extend_and_account
    // resets each slot): a generator assigning out[i].text reuses the string's
    // capacity from earlier rounds instead of allocating one per node.
    const std::span<step> out = buffers_.step_slots(plan.items);
    charged_.assign(plan.chunks(), accounting{});
    detail::run_chunks(
        plan, exec_.threads,
        [&](std::size_t c, std::size_t b, std::size_t e) {
          charged_[c].generator_calls = 1;  // a call that throws still counts as made
          charged_[c] = extend_and_account(gen, prefixes.subspan(b, e - b), engines.subspan(b, e - b),
                                           out.subspan(b, e - b));
        },
        failures_);
    for (const accounting& a : charged_) {
      accounting add = a;
      add.wall_time = {};
      spent_ += add;
    }
    bool failed = false;
    for (const std::exception_ptr& f : failures_) failed |= f != nullptr;
    // A failed round appends nothing — except, for a releasing generator, the
    // steps of its calls that succeeded: they hold engine state, so they
    // become nodes that are released when the search unwinds.
    children.resize(plan.items);
    std::size_t appended = 0;
    if (!failed || releasing_generator<G>) {
      for (std::size_t c = 0; c < plan.chunks(); ++c) {
        if (failures_[c]) continue;
        const std::size_t b = plan.begin(c), count = plan.end(c) - b;
        tree_->append(prefixes.subspan(b, count), std::span<const step>(out).subspan(b, count),
                      std::span<trajectory>(children).subspan(appended, count), detail::parents_checked);
        appended += count;
      }
    }
    children.resize(appended);
    if constexpr (releasing_generator<G>) mark_live(children);
    rethrow_first<generator_failure>(failures_, plan, "generator");
    if (plan.items < prefixes.size()) stop(stop_reason::generator_call_limit);
    if (trace_) trace_->generated(children);
  }

  /// Tells the generator, if it has a release hook, that the search will
  /// never extend these nodes again (pruned, resampled away, finished,
  /// abandoned). Each node is released once: nodes already released, and
  /// nodes the generator never saw, are skipped. One hook call per release.
  void release(std::span<const trajectory> nodes) {
    if (!release_hook_) return;
    // The buffer is moved out while the hook runs, so that a release()
    // reached again from inside the hook cannot overwrite the list it reads.
    std::vector<trajectory> dropped = std::move(release_buffer_);
    dropped.clear();
    for (const trajectory& t : nodes) {
      const node_id id = t.id();
      if (id < engine_nodes_.size() && engine_nodes_[id] == node_live) {
        engine_nodes_[id] = node_released;
        dropped.push_back(t);
      }
    }
    if (!dropped.empty()) release_hook_(release_target_, dropped);
    release_buffer_ = std::move(dropped);
  }
  void release(const trajectory& node) { release(std::span<const trajectory>(&node, 1)); }
  /// Releases every live node except those in `keep` (e.g. particle Gibbs
  /// between sweeps: all but the root and the next reference's path).
  void release_all_except(std::span<const trajectory> keep) {
    if (!release_hook_) return;
    std::vector<bool> kept(engine_nodes_.size(), false);
    for (const trajectory& t : keep)
      if (t.id() < kept.size()) kept[t.id()] = true;
    std::vector<trajectory> live;
    for (std::size_t id = 0; id < engine_nodes_.size(); ++id)
      if (engine_nodes_[id] == node_live && !kept[id]) live.push_back(tree_->at(static_cast<node_id>(id)));
    release(live);
  }

  /// How many nodes the generator has seen and not yet been told to release.
  [[nodiscard]] std::size_t live_engine_nodes() const noexcept {
    std::size_t n = 0;
    for (std::uint8_t s : engine_nodes_) n += s == node_live ? 1 : 0;
    return n;
  }

  /// One batched PRM round: scores the newest step of each node, records it in
  /// the tree (trajectory::step_score) and returns the scores. Fewer scores than
  /// nodes means the verifier-call limit cut the round.
  template <process_verifier V>
  std::vector<double> score_steps(V& prm, std::span<const trajectory> nodes) {
    std::vector<double> scores;
    score_steps(prm, nodes, scores);
    return scores;
  }

  /// As above into `scores` (replaced): a strategy passing the same vector
  /// every round allocates nothing once it has grown.
  template <process_verifier V>
  void score_steps(V& prm, std::span<const trajectory> nodes, std::vector<double>& scores) {
    require_own_nodes(nodes, "nodes");
    call_verifier<V>(nodes, verifier_items_per_score(prm), "process verifier",
                     [&](auto part, auto out) { prm.score_steps(part, out); }, scores);
    for (std::size_t i = 0; i < scores.size(); ++i) tree_->set_score(nodes[i].id(), scores[i]);
    if (trace_) trace_->scored(nodes, scores);
  }

  /// One batched ORM round over finished trajectories; returns the scores
  /// (fewer than given if the verifier-call limit cut the round).
  template <outcome_verifier V>
  std::vector<double> score_outcomes(V& orm, std::span<const trajectory> finished) {
    std::vector<double> scores;
    call_verifier<V>(finished, verifier_items_per_score(orm), "outcome verifier",
                     [&](auto part, auto out) { orm.score_outcomes(part, out); }, scores);
    return scores;
  }

  /// Whether release() does anything (the generator has a release hook): a
  /// strategy may skip collecting what to release when it does not.
  [[nodiscard]] bool releases_nodes() const noexcept { return release_hook_ != nullptr; }

  /// Applies the selection policy and packages the result; the stop reason
  /// is derived from what was recorded (see "Why the search stops").
  template <class Answer, class Policy>
    requires selection_policy<Policy, Answer>
  search_result<Answer> finish(std::vector<candidate<Answer>> candidates, const Policy& policy) {
    release_all();
    search_result<Answer> r;
    choice<Answer> chosen = policy(std::span<const candidate<Answer>>(candidates));
    bool any_finished = false;
    for (const candidate<Answer>& c : candidates) any_finished |= c.finished();
    if (trace_) {
      for (const candidate<Answer>& c : candidates)
        if (c.finished()) trace_->mark(c.path, trace_status::finished);
      if (chosen.index) trace_->mark_chosen(candidates[*chosen.index].path);
    }
    r.tree = tree_;
    r.candidates = std::move(candidates);
    r.chosen_index = chosen.index;
    r.answer = std::move(chosen.answer);
    r.totals = std::move(chosen.totals);
    r.spent = spent();
    r.stopped = stop_reason_for(any_finished);
    for (const candidate<Answer>& c : r.candidates) r.abstained += c.finished() && !c.answer ? 1 : 0;
    return r;
  }

 private:
  static constexpr std::uint8_t node_unseen = 0, node_live = 1, node_released = 2;

  template <class G>
  void track_engine_nodes(G& gen, std::span<const trajectory> prefixes) {
    if (!release_hook_) {
      release_target_ = &gen;
      release_hook_ = [](void* g, std::span<const trajectory> dropped) { static_cast<G*>(g)->release(dropped); };
    }
    for (const trajectory& p : prefixes)
      if (p.id() < engine_nodes_.size() && engine_nodes_[p.id()] == node_released)
        throw error(name_ + ": node " + std::to_string(p.id()) +
                    " was extended after it was released (a bug in the strategy: please report it)");
    mark_live(prefixes);
  }
  void mark_live(std::span<const trajectory> nodes) {
    for (const trajectory& t : nodes) {
      if (t.id() >= engine_nodes_.size()) engine_nodes_.resize(std::max<std::size_t>(t.id() + 1, 2 * engine_nodes_.size()), node_unseen);
      if (engine_nodes_[t.id()] == node_unseen) engine_nodes_[t.id()] = node_live;
    }
  }
  void release_all() { release_all_except({}); }

  template <class T>
  void require_concurrency(const char* what) const {
    if (exec_.threads > 1 && !enable_concurrent_calls<T>)
      fail_argument(std::string("exec.threads is ") + std::to_string(exec_.threads) + " but the " + what +
                    " is not marked thread-safe (add `static constexpr bool thread_safe = true;` or "
                    "specialise ttscale::enable_concurrent_calls) — use exec.threads = 1");
  }

  /// Every node must be one of this search's tree: a handle of another tree
  /// (or an empty one) would be extended or scored with this tree's ids, a
  /// silent wrong answer. One branch-free pass; the error names the first.
  void require_own_nodes(std::span<const trajectory> nodes, const char* what) const {
    bool foreign = false;
    for (const trajectory& t : nodes) foreign |= !t.belongs_to(*tree_);
    if (!foreign) [[likely]]
      return;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (!nodes[i].belongs_to(*tree_))
        fail_argument(std::string(what) + "[" + std::to_string(i) + "] is " +
                      (nodes[i].valid() ? "a node of another search's tree" : "an empty trajectory handle") +
                      " (pass this search's nodes: ctx.root() and what extend returned)");
  }

  /// Splits `items` into calls of exec.batch_size and cuts the round to the
  /// calls the budget still allows for the counter `field`.
  detail::chunk_plan plan_calls(std::size_t items, stop_reason limit, std::uint64_t accounting::*field) {
    detail::chunk_plan plan{items, exec_.batch_size == 0 ? std::max<std::size_t>(items, 1) : exec_.batch_size};
    std::size_t allowed = 0;
    for (; allowed < plan.chunks(); ++allowed) {
      accounting probe = spent();
      probe.samples = 0;
      probe.*field += allowed;
      if (budget_.exhausted_by(probe) == limit) break;
    }
    plan.items = std::min(items, allowed * plan.chunk_size);
    return plan;
  }

  template <class V, class Call>
  void call_verifier(std::span<const trajectory> items, std::uint64_t items_per_score, const char* what, Call call,
                     std::vector<double>& scores) {
    require_concurrency<V>(what);
    const detail::chunk_plan plan = plan_calls(items.size(), stop_reason::verifier_call_limit,
                                               &accounting::verifier_calls);
    scores.assign(plan.items, std::numeric_limits<double>::quiet_NaN());
    detail::run_chunks(
        plan, exec_.threads,
        [&](std::size_t, std::size_t b, std::size_t e) {
          call(items.subspan(b, e - b), std::span<double>(scores).subspan(b, e - b));
        },
        failures_);
    spent_.verifier_calls += plan.chunks();
    spent_.verifier_items += plan.items * items_per_score;  // an ensemble of k judgments costs k per item
    rethrow_first<verifier_failure>(failures_, plan, what);
    if (plan.items < items.size()) stop(stop_reason::verifier_call_limit);
    for (std::size_t i = 0; i < scores.size(); ++i)
      if (!std::isfinite(scores[i]))
        throw invalid_score(name_ + ": " + what + " returned " + detail::number_text(scores[i]) + " for item " +
                                std::to_string(i) + " of the round (node " + std::to_string(items[i].id()) +
                                "); scores must be finite",
                            spent());
  }

  template <class Failure>
  void rethrow_first(const std::vector<std::exception_ptr>& failures, const detail::chunk_plan& plan,
                     const char* what) {
    for (std::size_t c = 0; c < failures.size(); ++c) {
      if (!failures[c]) continue;
      detail::rethrow_nested<Failure>(failures[c],
                                      name_ + ": the " + what + " threw on items [" + std::to_string(plan.begin(c)) +
                                          ", " + std::to_string(plan.end(c)) + ") of a round of " +
                                          std::to_string(plan.items),
                                      spent());
    }
  }

  std::string name_;
  Budget budget_;
  execution exec_;
  std::uint64_t seed_;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<trajectory_tree> tree_;
  trajectory root_;
  accounting spent_;
  search_trace* trace_ = nullptr;
  std::optional<stop_reason> cut_;  // the first recorded reason to stop
  bool admission_cut_ = false;      // the sample limit admitted fewer candidates than asked
  // Release bookkeeping, used only with a releasing_generator.
  void (*release_hook_)(void*, std::span<const trajectory>) = nullptr;
  void* release_target_ = nullptr;
  std::vector<std::uint8_t> engine_nodes_;  // by node id: unseen / live / released
  // Per-round scratch, grown once and reused: a round allocates nothing.
  // extend's output slots and engines: the last search's on this thread, given
  // back at the end (detail/kept_round_buffers.hpp).
  detail::round_buffers buffers_ = detail::kept_round_buffers::take();
  std::vector<accounting> charged_;            // per call of a round
  std::vector<std::exception_ptr> failures_;   // per call of a round
  std::vector<trajectory> release_buffer_;     // what release() hands the hook
};

TTSCALE_END_NAMESPACE
