// The release hook (generator.hpp, releasing_generator): every strategy tells
// the generator, once per node, when it will never extend that node again,
// never extends a node after releasing it, releases everything by the end
// (also when the search fails), and releases promptly enough that the live
// set stays near the strategy's width (what a KV-cache engine needs).
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/mcts.hpp>
#include <ttscale/strategies/nested.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/strategies/particle_gibbs.hpp>
#include <ttscale/strategies/rebase.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace ttscale;

namespace {
// A random "reasoner" that records what it saw and what it was told to
// release. Every step it produces gets a unique engine_state (> 0), so a
// produced step can be followed into whichever node (and tree) holds it.
class recording_generator {
 public:
  static constexpr bool thread_safe = true;

  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const node_key key = key_of(prefixes[i]);
      if (released_nodes_.contains(key)) violations_.push_back({key, "extended after its release"});
      seen_prefixes_.insert(key);
      if (prefixes[i].last_step().engine_state == 0 && live_root_keys_.insert(key).second) ++live_roots_;
      random_engine& e = engines[i];
      const bool done = prefixes[i].depth() >= 1 && e() % 10 < 3;
      step s;
      s.text = done ? " \\boxed{" + std::to_string(e() % 3) + "}" : " s" + std::to_string(e() % 1000);
      s.tokens = 2;
      s.finished = done;
      s.engine_state = ++produced_;
      out[i] = std::move(s);
      ++live_steps_;
    }
    peak_live_ = std::max(peak_live_, live_steps_ + live_roots_);
  }

  void release(std::span<const trajectory> nodes) {
    std::lock_guard lock(mutex_);
    ++release_calls_;
    for (const trajectory& t : nodes) {
      const node_key key = key_of(t);
      if (!released_nodes_.insert(key).second) violations_.push_back({key, "released twice"});
      const std::int64_t id = t.last_step().engine_state;
      if (id == 0) {
        if (live_root_keys_.erase(key) > 0) --live_roots_;
      } else if (released_steps_.insert(id).second) {
        --live_steps_;
      }
    }
  }

  /// Checks the whole contract after a search whose own tree was `outer`.
  /// Node identity is (tree address, node id), which is unique only while a
  /// tree lives: private trees (first-finish threads, completion samplers,
  /// nested searches) come and go and may reuse an address, so the per-node
  /// checks are made on the search's own tree, which lives throughout; every
  /// tree is covered by the counts (each produced step released, no root
  /// left live).
  void check_all_released(const trajectory_tree* outer) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, what] : violations_)
      if (key.first == outer) FAIL_CHECK("node " << key.second << " " << what);
    for (const node_key& k : seen_prefixes_)
      if (k.first == outer && !released_nodes_.contains(k)) FAIL_CHECK("prefix node " << k.second << " was never released");
    CHECK(released_steps_.size() == static_cast<std::size_t>(produced_));  // every step it produced came back
    CHECK(live_steps_ == 0);
    CHECK(live_roots_ == 0);
  }
  [[nodiscard]] std::int64_t peak_live() const { return peak_live_; }
  [[nodiscard]] std::int64_t produced() const { return produced_; }
  [[nodiscard]] std::size_t release_calls() const { return release_calls_; }

 private:
  using node_key = std::pair<const trajectory_tree*, node_id>;
  static node_key key_of(const trajectory& t) { return {&t.tree(), t.id()}; }

  mutable std::mutex mutex_;
  std::set<node_key> seen_prefixes_, released_nodes_, live_root_keys_;
  std::set<std::int64_t> released_steps_;
  std::vector<std::pair<node_key, std::string>> violations_;
  std::int64_t produced_ = 0, live_steps_ = 0, live_roots_ = 0, peak_live_ = 0;
  std::size_t release_calls_ = 0;
};
static_assert(releasing_generator<recording_generator>);

struct hash_prm {
  static constexpr bool thread_safe = true;
  void score_steps(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = static_cast<double>(p[i].path_hash() % 1000) / 1000.0;
  }
};
struct hash_orm {
  void score_outcomes(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = static_cast<double>(p[i].path_hash() % 997) / 997.0;
  }
};
}  // namespace

TEST_CASE("every strategy releases each node once, never a live one, and all by the end", "[release]") {
  recording_generator gen;
  hash_prm prm;
  hash_orm orm;
  std::mt19937_64 rng(7);
  constexpr std::size_t n = 8;
  // The bound on live nodes: the strategy's width and its parents, not its history.
  std::int64_t width_bound = 2 * n + 2;
  const trajectory_tree* outer = nullptr;  // the search's own tree
  auto own = [&](const auto& result) { outer = result.tree.get(); };

  SECTION("best_of_n, ORM") { own(best_of_n(gen, orm, "Q", best_of_n_options{.n = n, .max_steps = 20}, rng)); }
  SECTION("best_of_n, PRM") { own(best_of_n(gen, prm, "Q", best_of_n_options{.n = n, .max_steps = 20}, rng)); }
  SECTION("majority_vote") { own(majority_vote(gen, "Q", vote_options{.n = n, .max_steps = 20}, rng)); }
  SECTION("weighted_majority_vote") {
    own(weighted_majority_vote(gen, prm, "Q", vote_options{.n = n, .max_steps = 20}, rng));
  }
  SECTION("beam_search") {
    own(beam_search(gen, prm, "Q", beam_search_options{.n = n, .beam_width = 2, .max_depth = 20}, rng));
  }
  SECTION("beam_search with look-ahead and duplicate filtering") {
    own(beam_search(gen, prm, "Q",
                      beam_search_options{.n = n, .beam_width = 2, .max_depth = 20, .lookahead = 2,
                                          .filter_duplicates = true},
                      rng));
    width_bound = 3 * n + 2;  // look-ahead leaves live until scored
  }
  SECTION("dvts") { own(dvts(gen, prm, "Q", dvts_options{.n = n, .beam_width = 2, .max_depth = 20}, rng)); }
  SECTION("a_star") {
    // A* keeps its open set: the bound is the states it pushed, not N.
    own(a_star(gen, prm, "Q", a_star_options{.continuations = 4, .expansions = 12}, rng));
    width_bound = 4 * 12 + 1;
  }
  SECTION("rebase") { own(rebase(gen, prm, "Q", rebase_options{.n = n, .max_depth = 20}, rng)); }
  SECTION("mcts") {
    // MCTS keeps its unexpanded leaves: the bound is the nodes it created, not N.
    own(mcts(gen, prm, "Q", mcts_options{.children = 3, .expansions = 12}, rng));
    width_bound = 3 * 12 + 1;
  }
  SECTION("mcts, batched simulations with rollouts") {
    own(mcts(gen, prm, "Q",
             mcts_options{.children = 2, .expansions = 12, .simulations_per_round = 3, .rollout_depth = 4}, rng));
    width_bound = 2 * 12 + 2 * 3 + 1;  // the tree's leaves and one round's rollout ends
  }
  SECTION("first_finish, lockstep") {
    own(first_finish(gen, "Q", first_finish_options{.n = n, .k = 2, .max_steps = 20}, rng));
  }
  SECTION("first_finish, threads") {
    own(first_finish(gen, "Q", first_finish_options{.n = n, .k = 2, .max_steps = 20, .mode = first_finish_mode::threads},
                       rng));
    width_bound = 3 * n;  // n private roots, their steps, and the replay is never shown to the generator
  }
  SECTION("adaptive_consistency") {
    own(adaptive_consistency(gen, "Q", adaptive_consistency_options{.max_samples = 32, .max_steps = 20}, rng));
    width_bound = 2 * 32 + 2;
  }
  SECTION("particle_filter") {
    own(particle_filter(gen, prm, "Q", particle_filter_options{.n = n, .max_steps = 20}, rng));
  }
  SECTION("particle_filter, ESS-triggered, finished particles fixed") {
    own(particle_filter(gen, prm, "Q",
                          particle_filter_options{.n = n, .max_steps = 20,
                                                  .resample_when = resample_when::ess_below{0.5},
                                                  .finished = finished_particles::stay_fixed},
                          rng));
  }
  SECTION("entropic_particle_filter with look-ahead") {
    own(entropic_particle_filter(gen, prm, "Q", entropic_particle_filter_options{.n = n, .max_steps = 20, .look_ahead = 2},
                                   rng));
    width_bound = 3 * n + 2;
  }
  SECTION("particle_gibbs, 3 sweeps") {
    own(particle_gibbs(gen, prm, "Q", particle_gibbs_options{.n = n, .max_steps = 10, .sweeps = 3}, rng));
    width_bound = n * 10 + 10 + 2;  // a sweep keeps its particles' ancestry (any may become the reference)
  }
  SECTION("nested: majority over beam searches") {
    auto beams = as_sampler([&](search_start start, random_engine& r) {
      return beam_search(gen, prm, std::move(start), beam_search_options{.n = 4, .beam_width = 2, .max_depth = 10}, r);
    });
    own(majority_vote(beams, "Q", vote_options{.n = 3, .max_steps = 1}, rng));
  }
  SECTION("best_of_n over a completion sampler") {
    auto whole = as_completion_sampler(gen, 20);
    own(best_of_n(whole, orm, "Q", best_of_n_options{.n = n, .max_steps = 1}, rng));
  }
  SECTION("a search that fails releases what it held") {
    struct failing_prm {
      int calls = 0;
      void score_steps(std::span<const trajectory>, std::span<double> out) {
        if (++calls == 3) throw std::runtime_error("PRM down");
        for (double& o : out) o = 0.5;
      }
    } failing;
    CHECK_THROWS_AS(beam_search(gen, failing, "Q", beam_search_options{.n = n, .beam_width = 2, .max_depth = 20}, rng),
                    verifier_failure);
  }
  REQUIRE(gen.produced() > 0);
  gen.check_all_released(outer);
  CHECK(gen.peak_live() <= width_bound);
}

TEST_CASE("a generator without a release hook costs nothing and sees no call", "[release]") {
  struct plain {
    void extend(std::span<const trajectory> p, std::span<random_engine>, std::span<step> out) const {
      for (std::size_t i = 0; i < p.size(); ++i) out[i] = step{"x", 1, 0.0, p[i].depth() >= 2, 0};
    }
  } gen;
  STATIC_REQUIRE_FALSE(releasing_generator<decltype(gen)>);
  hash_prm prm;
  std::mt19937_64 rng(1);
  const auto r = beam_search(gen, prm, "Q", beam_search_options{.n = 4, .beam_width = 2}, rng);
  CHECK(r.spent.generator_calls == 3);
}

TEST_CASE("the context refuses to extend a released node", "[release]") {
  recording_generator gen;
  search_context ctx("test", "P", budget{}, execution{}, 1);
  const trajectory root[1] = {ctx.root()};
  const stream_key key[1] = {{0, 0}};
  const auto children = ctx.extend(gen, root, key);
  CHECK(ctx.live_engine_nodes() == 2);
  ctx.release(root[0]);
  ctx.release(root[0]);  // idempotent: the generator hears of it once
  CHECK(gen.release_calls() == 1);
  CHECK(ctx.live_engine_nodes() == 1);
  CHECK_THROWS_WITH(ctx.extend(gen, root, key), Catch::Contains("extended after it was released"));
}
