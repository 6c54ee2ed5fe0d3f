// strategies_bench: per-round overhead of the step-level search strategies,
// model excluded (issue #4).
//
// The generator and the PRM cost (almost) nothing: the generator returns an
// empty one-token step that never finishes, the PRM a score hashed from the
// node id. Every strategy runs a fixed number of rounds with N live
// candidates per round, so time / rounds is what the library spends per
// round: search_context's batched extend and score (tree appends, accounting,
// score checks) plus the strategy's own selection and bookkeeping. The
// baseline runs the same rounds with only the search_context calls (what any
// strategy pays). beam_search_traced shows the cost of recording a trace
// (off by default: one pointer test per round).
// Target (issue #4): below 20 us per round at N = 256, at most linear in N
// (compare ns_per_candidate_round across N).
//
// With text (issue #14): beam_search_text runs the same search with steps of
// ~40 characters (text_world.hpp) and a PRM that reads the newest step only
// (last_step) or builds each prefix's whole text (full_text, what an HTTP
// reward model must send), with the tree on fresh, recycled (the default) or
// reused memory (reused_memory.hpp).
// Target (issue #14): <= 15 us per round at N = 256 cold, with text.
//
//   build/<dir>/bench/strategies_bench --benchmark_counters_tabular=true
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/trace.hpp>

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
constexpr std::size_t rounds = 32;  // the per-search tree set-up is amortised over them

struct endless_free_generator {
  void extend(std::span<const trajectory>, std::span<random_engine>, std::span<step> out) const {
    for (step& s : out) s.tokens = 1;
  }
};
struct hashed_free_prm {
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i)  // Fibonacci hashing: a different score in (0, 1) per node
      out[i] = (static_cast<double>((prefixes[i].id() * 0x9e3779b97f4a7c15ULL) >> 11) + 0.5) * 0x1.0p-53;
  }
};

void per_round_counters(benchmark::State& state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n * rounds));
  state.counters["us_per_round"] = benchmark::Counter(static_cast<double>(rounds) * 1e-6,
                                                      benchmark::Counter::kIsIterationInvariantRate |
                                                          benchmark::Counter::kInvert);
  state.counters["ns_per_candidate_round"] = benchmark::Counter(
      static_cast<double>(n * rounds), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class Run>
void run_rounds(benchmark::State& state, Run run) {
  const auto n = static_cast<std::size_t>(state.range(0));
  endless_free_generator gen;
  hashed_free_prm prm;
  std::mt19937_64 rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(run(gen, prm, n, rng));
  per_round_counters(state, n);
}

// What any strategy pays: one batched extend and one batched score per round;
// with ReuseMemory the tree's memory is reused across searches (search_start::tree_memory).
template <bool ReuseMemory>
void baseline_extend_and_score(benchmark::State& state) {
  reused_memory memory(ReuseMemory ? std::size_t{256} << 20 : 0);
  run_rounds(state, [&](auto& gen, auto& prm, std::size_t n, auto&) {
    search_context<> ctx("baseline", search_start("Q", ReuseMemory ? memory.rewound() : nullptr), budget{}, execution{}, 1);
    std::vector<trajectory> live(n, ctx.root());
    std::vector<stream_key> keys(n);
    for (std::size_t t = 0; t < rounds; ++t) {
      for (std::size_t i = 0; i < n; ++i) keys[i] = {i, t};
      live = ctx.extend(gen, live, keys);
      benchmark::DoNotOptimize(ctx.score_steps(prm, live));
    }
    return live.size();
  });
}

void beam_search_reused_memory(benchmark::State& state) {
  reused_memory memory(std::size_t{256} << 20);
  run_rounds(state, [&](auto& gen, auto& prm, std::size_t n, auto& rng) {
    return beam_search(gen, prm, search_start("Q", memory.rewound()),
                       beam_search_options{.n = n, .beam_width = 4, .max_depth = rounds}, rng)
        .spent.steps;
  });
}

void beam_search_rounds(benchmark::State& state) {
  run_rounds(state, [](auto& gen, auto& prm, std::size_t n, auto& rng) {
    return beam_search(gen, prm, "Q", beam_search_options{.n = n, .beam_width = 4, .max_depth = rounds}, rng).spent.steps;
  });
}

void beam_search_traced(benchmark::State& state) {
  search_trace trace;
  run_rounds(state, [&](auto& gen, auto& prm, std::size_t n, auto& rng) {
    return beam_search(gen, prm, "Q", beam_search_options{.n = n, .beam_width = 4, .max_depth = rounds, .trace = &trace}, rng)
        .spent.steps;
  });
}

// Beam search with ~40-character steps; Prm reads the newest step or every
// prefix's whole text; Memory: where the tree lives (reused_memory.hpp).
template <class Gen, class Prm, tree_memory_mode Memory>
void beam_search_text(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  reused_memory memory(Memory == tree_memory_mode::reused ? std::size_t{256} << 20 : 0);
  text_world::models<Gen, Prm> m;
  std::mt19937_64 rng(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(beam_search(m.gen, m.prm, search_start(text_world::prompt, memory.for_mode(Memory)),
                                         beam_search_options{.n = n, .beam_width = 4, .max_depth = rounds}, rng)
                                 .spent.steps);
  benchmark::DoNotOptimize(m.checksum);
  per_round_counters(state, n);
}

// The same-run baseline of beam_search_text: the toy models' own work alone, what
// any caller of these models pays without ttscale. Per round: one generator call
// filling N steps (the sentences) and one PRM call over N prefixes of depth one
// (the PRM reads the newest step only, so depth does not change its cost). The
// engines are seeded plainly and the output slots reused; nothing a search
// library adds runs (no stream derivation, tree append, checks or selection).
// The beam round minus this is the library's share.
template <class Gen, class Prm>
void beam_models_alone(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  text_world::models<Gen, Prm> m;
  trajectory_tree tree{std::string(text_world::prompt)};
  std::vector<trajectory> prefixes;
  for (std::size_t i = 0; i < n; ++i) prefixes.push_back(tree.append(0, step{std::string(text_world::sentences[i % 16]), 10, 0.0, false, 0}));
  std::vector<random_engine> engines(n);
  std::vector<step> out(n);
  std::vector<double> scores(n);
  std::uint64_t seed = 1;
  for (auto _ : state) {
    for (std::size_t t = 0; t < rounds; ++t) {
      for (std::size_t i = 0; i < n; ++i) engines[i] = random_engine(seed++);
      m.gen.extend(prefixes, engines, out);
      m.prm.score_steps(prefixes, scores);
      benchmark::DoNotOptimize(scores.data());
    }
  }
  benchmark::DoNotOptimize(m.checksum);
  per_round_counters(state, n);
}

void dvts_rounds(benchmark::State& state) {
  run_rounds(state, [](auto& gen, auto& prm, std::size_t n, auto& rng) {
    return dvts(gen, prm, "Q", dvts_options{.n = n, .beam_width = 4, .max_depth = rounds}, rng).spent.steps;
  });
}

void a_star_rounds(benchmark::State& state) {
  // N/4 states popped per round, 4 continuations each: N items per round after the first.
  run_rounds(state, [](auto& gen, auto& prm, std::size_t n, auto& rng) {
    return a_star(gen, prm, "Q",
                  a_star_options{.continuations = 4, .expansions = 1 + (rounds - 1) * (n / 4),
                                 .expansions_per_round = n / 4, .max_depth = 1000},
                  rng)
        .spent.steps;
  });
}

void first_finish_rounds(benchmark::State& state) {
  run_rounds(state, [](auto& gen, auto&, std::size_t n, auto& rng) {
    return first_finish(gen, "Q", first_finish_options{.n = n, .max_steps = rounds}, rng).spent.steps;
  });
}

void adaptive_consistency_rounds(benchmark::State& state) {
  run_rounds(state, [](auto& gen, auto&, std::size_t n, auto& rng) {
    return adaptive_consistency(gen, "Q",
                                adaptive_consistency_options{.initial_batch = n, .max_samples = n, .max_steps = rounds}, rng)
        .spent.steps;
  });
}
}  // namespace

BENCHMARK_TEMPLATE(baseline_extend_and_score, false)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(baseline_extend_and_score, true)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(beam_search_rounds)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(beam_search_reused_memory)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_models_alone, text_world::empty_step_generator, text_world::id_prm)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_models_alone, text_world::sentence_generator, text_world::last_step_prm)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::fresh)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::recycled)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::empty_step_generator, text_world::id_prm, tree_memory_mode::reused)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::fresh)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::recycled)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::last_step_prm, tree_memory_mode::reused)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::full_text_prm, tree_memory_mode::recycled)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::full_text_into_buffer_prm, tree_memory_mode::recycled)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::full_text_prm, tree_memory_mode::reused)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(beam_search_text, text_world::sentence_generator, text_world::full_text_into_buffer_prm, tree_memory_mode::reused)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(beam_search_traced)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(dvts_rounds)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(a_star_rounds)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(first_finish_rounds)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(adaptive_consistency_rounds)->Arg(16)->Arg(256)->Arg(4096)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) { return ttscale_bench::run_benchmarks_on_this_machine(argc, argv); }
