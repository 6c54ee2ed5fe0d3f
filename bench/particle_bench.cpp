// particle_bench: per-round overhead of the particle methods, model excluded.
//
// The generator and the PRM cost (almost) nothing: the generator returns an
// empty one-token step, the PRM a score hashed from the node id. What remains
// is what the library spends per round: search_context's batched extend and
// score (tree appends, accounting, the score check), the weights, two ESS
// passes, the resampling kernel and the slot-keeping pass. The baseline runs
// the same rounds with only the search_context calls (what any strategy pays);
// PF - baseline is the particle machinery itself; resampling_step times the
// particle step alone (weights, ESS, resampling, slot keeping, path gather).
// Target (issue #5): below 2 us + 5 ns per particle per round.
//
// With text (issue #14): particle_filter_text runs the filter with steps of
// ~40 characters (text_world.hpp) and a PRM that reads the newest step only
// (last_step) or builds each prefix's whole text (full_text, what an HTTP
// reward model must send), with the tree on fresh, recycled (the default) or
// reused memory (reused_memory.hpp), at N from 64 to 65,536. Target (issue #14): <= 2 us + 10 ns * N per round, linear in N.
//
//   build/<dir>/bench/particle_bench --benchmark_counters_tabular=true
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/particle_filter.hpp>

#include <benchmark/benchmark.h>

#include "report.hpp"
#include "reused_memory.hpp"
#include "text_world.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

using namespace ttscale;

namespace {
struct free_generator {
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) const {
    for (step& s : out) s.tokens = 1;
  }
};
struct free_prm {
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    // Fibonacci hashing of the node id: a score in (0, 1), different per node.
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      out[i] = (static_cast<double>((prefixes[i].id() * 0x9e3779b97f4a7c15ULL) >> 11) + 0.5) * 0x1.0p-53;
  }
};

std::size_t rounds_for(std::size_t n) { return n >= 65536 ? 8 : 16; }

void report(benchmark::State& state, std::size_t n, std::size_t rounds) {
  const double per_iteration = static_cast<double>(n * rounds);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n * rounds));
  state.counters["rounds"] = static_cast<double>(rounds);
  state.counters["ns_per_particle_round"] =
      benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["us_per_round"] =
      benchmark::Counter(static_cast<double>(rounds) * 1e-6,
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// What every strategy pays: one batched extend and one batched score per round.
void baseline_context_rounds(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t rounds = rounds_for(n);
  free_generator gen;
  free_prm prm;
  std::vector<stream_key> keys(n);
  for (auto _ : state) {
    search_context<> ctx("baseline", "Q", budget{}, execution{}, 1);
    std::vector<trajectory> live(n, ctx.root());
    for (std::size_t t = 0; t < rounds; ++t) {
      for (std::size_t i = 0; i < n; ++i) keys[i] = {i, t};
      live = ctx.extend(gen, live, keys);
      benchmark::DoNotOptimize(ctx.score_steps(prm, live));
    }
  }
  report(state, n, rounds);
}

// The particle filter with the tree's memory reused across searches
// (execution::memory): the steady state of a caller running many searches.
void particle_filter_reused_memory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t rounds = rounds_for(n);
  free_generator gen;
  free_prm prm;
  std::mt19937_64 rng(1);
  reused_memory memory(std::size_t{512} << 20);
  for (auto _ : state) {
    auto r = particle_filter(gen, prm, search_start("Q", memory.rewound()),
                             particle_filter_options{.n = n, .max_steps = rounds}, rng);
    benchmark::DoNotOptimize(r.chosen_index);
  }
  report(state, n, rounds);
}

// The particle filter with ~40-character steps; Prm reads the newest step or
// every prefix's whole text; Memory: where the tree lives (reused_memory.hpp).
template <class Gen, class Prm, tree_memory_mode Memory>
void particle_filter_text(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t rounds = rounds_for(n);
  text_world::models<Gen, Prm> m;
  std::mt19937_64 rng(1);
  reused_memory memory(Memory == tree_memory_mode::reused ? std::size_t{1} << 30 : 0);
  for (auto _ : state) {
    auto r = particle_filter(m.gen, m.prm, search_start(text_world::prompt, memory.for_mode(Memory)),
                             particle_filter_options{.n = n, .max_steps = rounds}, rng);
    benchmark::DoNotOptimize(r.chosen_index);
  }
  benchmark::DoNotOptimize(m.checksum);
  report(state, n, rounds);
}

// One strategy run of `rounds` rounds over n particles per iteration.
template <class Run>
void strategy_rounds(benchmark::State& state, Run run) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t rounds = rounds_for(n);
  free_generator gen;
  free_prm prm;
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto r = run(gen, prm, n, rounds, rng);
    benchmark::DoNotOptimize(r.chosen_index);
  }
  report(state, n, rounds);
}

template <class Weight, class Trigger>
auto particle_filter_with = [](free_generator& gen, free_prm& prm, std::size_t n, std::size_t rounds, auto& rng) {
  return particle_filter(gen, prm, "Q",
                         particle_filter_options<Weight, kernels::systematic_t, Trigger>{.n = n, .max_steps = rounds},
                         rng);
};
auto entropic_filter = [](free_generator& gen, free_prm& prm, std::size_t n, std::size_t rounds, auto& rng) {
  return entropic_particle_filter(gen, prm, "Q",
                                  entropic_particle_filter_options{.n = n, .max_steps = rounds, .look_ahead = 0}, rng);
};
// The particle step alone, no search_context: weights -> ESS -> systematic
// resampling -> slot keeping -> path gather, on random log-weights (redrawn
// every iteration, outside the timing). What the particle methods add to a
// round, minus the bookkeeping every strategy shares.
void resampling_step(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  trajectory_tree tree("Q");
  std::vector<trajectory> paths(n), old_paths(n);
  for (std::size_t i = 0; i < n; ++i) paths[i] = tree.append(0, step{});
  std::vector<double> lw(n), tempered;
  std::vector<std::uint32_t> outputs(n);
  for (std::size_t i = 0; i < n; ++i) outputs[i] = static_cast<std::uint32_t>(i);
  detail::particle_resampler resampler;
  random_engine noise(7), rng(8);
  for (auto _ : state) {
    state.PauseTiming();
    for (double& x : lw) x = 4.0 * noise.uniform();
    state.ResumeTiming();
    detail::tempered_log_weights(lw, 1.0, tempered);
    const double ess = kernels::effective_sample_size(std::span<const double>(tempered));
    benchmark::DoNotOptimize(ess);
    resampler.resample(kernels::systematic, tempered, outputs, rng);
    old_paths.swap(paths);
    for (std::size_t i = 0; i < n; ++i) paths[i] = old_paths[resampler.ancestors[i]];
    benchmark::DoNotOptimize(paths.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
  state.counters["ns_per_particle_round"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
}  // namespace

BENCHMARK(resampling_step)->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
BENCHMARK(baseline_context_rounds)->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(strategy_rounds, particle_filter/logit/every_round,
                  particle_filter_with<log_weight_from::logit_reward_t, resample_when::every_round_t>)
    ->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(strategy_rounds, particle_filter/reward/ess_below,
                  particle_filter_with<log_weight_from::reward_t, resample_when::ess_below>)
    ->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
BENCHMARK(particle_filter_reused_memory)->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);
#define TTSCALE_TEXT_SIZES ->Arg(64)->Arg(1024)->Arg(4096)->Arg(16384)->Arg(65536)->Unit(benchmark::kMicrosecond)
BENCHMARK_TEMPLATE(particle_filter_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::fresh) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::recycled) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::reused) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::fresh) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::recycled) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::reused) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::full_text_prm, tree_memory_mode::recycled) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::full_text_into_buffer_prm, tree_memory_mode::recycled) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::full_text_prm, tree_memory_mode::reused) TTSCALE_TEXT_SIZES;
BENCHMARK_TEMPLATE(particle_filter_text, text_world::sentence_generator, text_world::full_text_into_buffer_prm, tree_memory_mode::reused) TTSCALE_TEXT_SIZES;
BENCHMARK_CAPTURE(strategy_rounds, entropic_particle_filter, entropic_filter)
    ->Arg(64)->Arg(1024)->Arg(65536)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) { return ttscale_bench::run_benchmarks_on_this_machine(argc, argv); }
