// Google Benchmark for the llama.cpp adapter (ttscale/adapters/llama_cpp.hpp) on a
// random-weight LLaMA model large enough that decoding is the cost, with baselines
// measured in the same run:
//   (a) beam search and the particle filter at N = 4, 16, 64, with prefix sharing
//       (forks copy their parent's KV sequence) and without (generator_options::
//       share_prefixes = false: every item re-decodes its whole path, as an engine
//       without prefix caching does). Counters: generated tokens per second, tokens
//       decoded, the shared fraction (decoded tokens sharing saves / decoded tokens
//       without sharing) and, on the sharing run, x_no_sharing = its tokens/s over
//       the no-sharing run's (the no-sharing run goes first).
//   (b) where a search's time goes: in llama_decode, in the adapter outside it
//       (sampling, logits copies, token text), in the reward model, and in the
//       strategy itself (the rest) — the strategy's own overhead as a share of
//       llama_decode time. llama_decode time is measured by interposing
//       llama_decode in this binary (below): the engine has no decode-time counter.
//   (c) 16 searches at once (16 threads, one shared engine whose ticks merge into
//       one llama_decode, a generator and a reward model each; beam search N = 4 on
//       16 different problems) against the same 16 one after the other on one
//       engine: problems per second and their ratio.
// The reward model is a cheap step-confidence PRM (exp of the newest step's mean
// token log-probability), so that what is measured is the generator and the engine.
// Prompts are grade-school math word problems with instructions, ~200 tokens each,
// a different one for every run and search.
//
// The model is written at start-up into <build>/models by make_tiny_model if missing
// (never committed). Default: n_embd 384, 6 layers (34 M parameters, 136 MB F32;
// ~0.02 GFLOP per prefilled token, ~0.045 per sampled token with the output layer),
// chosen so that the whole run takes about 3 minutes on a shared 2-core machine (the
// no-sharing runs at N = 64 are 2/3 of it); `--large` uses make_tiny_model's
// benchmark-size example instead (n_embd 1024, 8 layers: 156 M parameters, 0.62 GB,
// ~0.25 GFLOP per sampled token; about 8x slower, ~25 minutes there). Decoding uses ONE
// thread: llama.cpp's CPU threads spin at barriers, and on a loaded machine more
// threads than idle cores make a decode many times slower. Each benchmark runs one
// search per repetition (Iterations(1), time = the search's own wall time).
// Both settings run on the same engine, whose KV cache is unified (one cell pool for
// every sequence): llama.cpp's attention then spans the used cells of all sequences,
// so at N = 64 the no-sharing baseline (~28k cells) also pays attention over the other
// paths' cells — part of the speed-up there is that, not only the prefill saved.
//
// Run (prints the machine first, the tables last):
//   build/llbench/bench/llama_cpp_bench [--large] [--benchmark_repetitions=3]
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/particle_filter.hpp>

#include "report.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>

namespace lc = ttscale::llama_cpp;
using clock_type = std::chrono::steady_clock;

// --- llama_decode time, measured from outside --------------------------------------
// This definition interposes libllama's: the engine's calls land here and are
// forwarded to the real one (dlsym RTLD_NEXT), timed.
namespace {
std::atomic<std::int64_t> decode_nanoseconds{0};
}
extern "C" int32_t llama_decode(llama_context* ctx, llama_batch batch) {
  using decode_fn = int32_t (*)(llama_context*, llama_batch);
  static const auto real = reinterpret_cast<decode_fn>(dlsym(RTLD_NEXT, "llama_decode"));
  if (real == nullptr) std::abort();
  const auto start = clock_type::now();
  const int32_t rc = real(ctx, batch);
  decode_nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count();
  return rc;
}

namespace {

constexpr std::int32_t decode_threads = 1;
constexpr std::size_t steps = 2;           // rounds of each search
constexpr std::uint32_t step_tokens = 10;  // tokens per step (at most; "\n" ends one earlier)
constexpr std::size_t beam_width = 4;

const lc::model* bench_model = nullptr;

// --- inputs --------------------------------------------------------------------------
// Grade-school math word problems with the instructions a reasoning prompt carries.
std::string problem(std::size_t k) {
  static const char* const names[] = {"Maria", "Tom", "Aisha", "Kenji", "Lucia", "Omar", "Greta", "Sam"};
  static const char* const items[] = {"apples", "notebooks", "tickets", "cupcakes"};
  const std::size_t a = 12 + 7 * (k % 9), b = 3 + k % 5, c = 2 + k % 4, d = 5 + 3 * (k % 6);
  return fmt::format(
      "You are a careful math tutor. Solve the problem below step by step, one short step per line, and "
      "check each step before you go on. End with the final answer on its own line as 'The answer is N.'\n\n"
      "Problem {}: {} runs a small stall at the weekend market. On Saturday morning {} had {} {} in stock. "
      "Every hour from 9 a.m. until noon, {} customers came by, and each of them bought {} {}. At noon a "
      "supplier delivered {} more boxes, each holding {} {}. In the afternoon {} sold half of what was left "
      "and gave {} {} to a neighbour. The {} cost {} dollars each to buy and "
      "sell for {} dollars more than that. How many {} does {} have at the end of the day, and how much profit "
      "did the sales of the day make?\n\nSolution:\n",
      k + 1, names[k % 8], names[k % 8], 10 * a, items[k % 4], b, c, items[k % 4], c + 1, d, items[k % 4], names[k % 8],
      b + 1, items[k % 4], items[k % 4], c, b, items[k % 4], names[k % 8]);
}

// exp(mean token log-probability of the newest step): a PRM that costs nothing.
struct step_confidence_prm {
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const ttscale::step_view& s = prefixes[i].last_step();
      out[i] = s.tokens == 0 ? 0.5 : std::exp(s.logprob / static_cast<double>(s.tokens));
    }
  }
};

// Forwards to a generator / verifier and adds up the time spent in it.
struct timed_generator {
  lc::generator& gen;
  std::chrono::nanoseconds& spent;
  void extend(std::span<const ttscale::trajectory> p, std::span<ttscale::random_engine> e,
              std::span<ttscale::step> out) {
    const auto start = clock_type::now();
    gen.extend(p, e, out);
    spent += clock_type::now() - start;
  }
  void release(std::span<const ttscale::trajectory> nodes) { gen.release(nodes); }
};
struct timed_prm {
  step_confidence_prm prm;
  std::chrono::nanoseconds& spent;
  void score_steps(std::span<const ttscale::trajectory> p, std::span<double> out) {
    const auto start = clock_type::now();
    prm.score_steps(p, out);
    spent += clock_type::now() - start;
  }
};

lc::generator_options generator_options(bool share) {
  return {.step_delimiter = "\n",
          .max_step_tokens = step_tokens,
          .sampling = {.temperature = 0.8, .top_p = 0.95},
          .share_prefixes = share};
}

// --- what each run measured (medians over repetitions go in the tables) -------------
struct sample {
  double seconds = 0, tokens = 0, decoded = 0, decodes = 0, decode_s = 0, extend_s = 0, verify_s = 0;
};
std::map<std::string, std::vector<sample>> samples;

// median_of(key, f): the median of f over the key's samples.
template <class F>
double median_of(const std::string& key, F f) {
  return ttscale_bench::median_of(samples[key], f);
}

enum class strategy { beam, particle };
const char* name_of(strategy s) { return s == strategy::beam ? "beam" : "particle"; }
std::string key_of(strategy s, std::size_t n, bool share) {
  return fmt::format("{}/N={}/{}", name_of(s), n, share ? "sharing" : "no_sharing");
}

// (a) and (b): one search of `s` with N = n.
void search_benchmark(benchmark::State& state, strategy s, std::size_t n, bool share) {
  std::size_t run = 0;
  for (auto _ : state) {
    // Cells: without sharing every live item and kept node holds its whole path.
    const std::uint32_t per_path = 320 + steps * step_tokens;
    lc::engine e(*bench_model, {.n_ctx = static_cast<std::uint32_t>(2 * n + 2) * per_path,
                                .n_seq_max = static_cast<std::uint32_t>(2 * n + 8),
                                .n_batch = 512,
                                .n_threads = decode_threads});
    lc::generator llama_gen(e, generator_options(share));
    std::chrono::nanoseconds extend_time{0}, verify_time{0};
    timed_generator gen{llama_gen, extend_time};
    timed_prm prm{{}, verify_time};
    std::mt19937_64 rng(1000 + run);
    const std::string prompt = problem(run++ + 3 * n + (s == strategy::beam ? 0 : 1));
    const std::int64_t decode_before = decode_nanoseconds.load();
    ttscale::accounting spent;
    if (s == strategy::beam) {
      spent = ttscale::beam_search(
                  gen, prm, prompt,
                  ttscale::beam_search_options{.n = n, .beam_width = std::min(beam_width, n), .max_depth = steps}, rng)
                  .spent;
    } else {
      spent =
          ttscale::particle_filter(gen, prm, prompt, ttscale::particle_filter_options{.n = n, .max_steps = steps}, rng)
              .spent;
    }
    const lc::engine_stats st = e.stats();
    sample x;
    x.seconds = std::chrono::duration<double>(spent.wall_time).count();
    x.tokens = static_cast<double>(spent.tokens);
    x.decoded = static_cast<double>(st.decoded_tokens);
    x.decodes = static_cast<double>(st.decodes);
    x.decode_s = static_cast<double>(decode_nanoseconds.load() - decode_before) * 1e-9;
    x.extend_s = std::chrono::duration<double>(extend_time).count();
    x.verify_s = std::chrono::duration<double>(verify_time).count();
    state.SetIterationTime(x.seconds);
    state.counters["tok_per_s"] = x.tokens / x.seconds;
    state.counters["tokens"] = x.tokens;
    state.counters["decoded"] = x.decoded;
    state.counters["decodes"] = x.decodes;
    state.counters["in_decode"] = x.decode_s / x.seconds;
    state.counters["strategy_per_decode"] = (x.seconds - x.extend_s - x.verify_s) / x.decode_s;
    if (e.sequences_in_use() != 0) state.SkipWithError("KV sequences left after the search");
    samples[key_of(s, n, share)].push_back(x);
  }
  if (share) {  // the no-sharing run of the same cell ran just before
    const std::string base = key_of(s, n, false), mine = key_of(s, n, true);
    if (!samples[base].empty()) {
      const auto tps = [](const sample& x) { return x.tokens / x.seconds; };
      state.counters["x_no_sharing"] = median_of(mine, tps) / median_of(base, tps);
      state.counters["shared_fraction"] = 1.0 - median_of(mine, [](const sample& x) { return x.decoded; }) /
                                                    median_of(base, [](const sample& x) { return x.decoded; });
    }
  }
}

// (c): 16 beam searches (N = 4) on 16 problems, all at once or one after the other.
constexpr std::size_t problems = 16;
void sixteen_benchmark(benchmark::State& state, bool concurrent) {
  for (auto _ : state) {
    lc::engine e(*bench_model, {.n_ctx = 12288, .n_seq_max = 160, .n_batch = 512, .n_threads = decode_threads});
    std::vector<std::uint64_t> tokens(problems);
    auto solve = [&](std::size_t k) {
      lc::generator gen(e, generator_options(true));
      step_confidence_prm prm;
      std::mt19937_64 rng(500 + k);
      tokens[k] = ttscale::beam_search(gen, prm, problem(100 + k),
                                       ttscale::beam_search_options{.n = 4, .beam_width = 2, .max_depth = steps}, rng)
                      .spent.tokens;
    };
    const auto start = clock_type::now();
    if (concurrent) {
      std::vector<std::jthread> threads;
      for (std::size_t k = 0; k < problems; ++k) threads.emplace_back(solve, k);
    } else {
      for (std::size_t k = 0; k < problems; ++k) solve(k);
    }
    sample x;
    x.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (std::uint64_t t : tokens) x.tokens += static_cast<double>(t);
    x.decodes = static_cast<double>(e.stats().decodes);
    x.decoded = static_cast<double>(e.stats().decoded_tokens);
    state.SetIterationTime(x.seconds);
    state.counters["problems_per_s"] = static_cast<double>(problems) / x.seconds;
    state.counters["tok_per_s"] = x.tokens / x.seconds;
    state.counters["decodes"] = x.decodes;
    samples[concurrent ? "sixteen/concurrent" : "sixteen/sequential"].push_back(x);
  }
  if (concurrent && !samples["sixteen/sequential"].empty())
    state.counters["x_sequential"] = median_of("sixteen/sequential", [](const sample& x) { return x.seconds; }) /
                                     median_of("sixteen/concurrent", [](const sample& x) { return x.seconds; });
}

// --- machine, model, tables --------------------------------------------------------
std::string ensure_model(bool large) {
  const std::string path =
      std::string(TTSCALE_BENCH_MODEL_DIR) + (large ? "/bench-llama-1024x8.gguf" : "/bench-llama-384x6.gguf");
  const char* shape = large ? "--embd 1024 --layers 8 --heads 16 --kv-heads 4 --ff 2816"
                            : "--embd 384 --layers 6 --heads 6 --kv-heads 2 --ff 1024";
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(TTSCALE_BENCH_MODEL_DIR);
    const std::string command = fmt::format("'{}' '{}' '{}' {} --ctx 4096 --seed 7", TTSCALE_MAKE_TINY_MODEL,
                                            TTSCALE_BENCH_VOCAB, path + ".part", shape);
    fmt::print("writing the benchmark model: {}\n", command);
    if (std::system(command.c_str()) != 0) throw std::runtime_error("make_tiny_model failed: " + command);
    std::filesystem::rename(path + ".part", path);
  }
  fmt::print("model: {} ({:.0f} MB; {}; LLaMA 1/2 vocabulary of 32000 tokens, random F32 weights)\n", path,
             static_cast<double>(std::filesystem::file_size(path)) / 1e6, shape);
  return path;
}

void print_search_tables(std::span<const std::size_t> ns) {
  fmt::print(
      "\n(a) generated tokens per second, with and without prefix sharing "
      "(medians; {} steps of <= {} tokens, prompt ~{} tokens)\n",
      steps, step_tokens, bench_model->tokenize(problem(0), true).size());
  fmt::print("{:<9} {:>3} | {:>10} {:>10} {:>8} | {:>9} {:>9} {:>7} {:>10}\n", "strategy", "N", "sharing", "no-share",
             "speed-up", "decoded", "decoded", "shared", "predicted");
  fmt::print("{:<9} {:>3} | {:>10} {:>10} {:>8} | {:>9} {:>9} {:>7} {:>10}\n", "", "", "tok/s", "tok/s", "", "sharing",
             "no-share", "frac.", "1/(1-f)");
  for (strategy s : {strategy::beam, strategy::particle})
    for (std::size_t n : ns) {
      const std::string a = key_of(s, n, true), b = key_of(s, n, false);
      if (samples[a].empty() || samples[b].empty()) continue;
      const auto tps = [](const sample& x) { return x.tokens / x.seconds; };
      const auto dec = [](const sample& x) { return x.decoded; };
      const double f = 1.0 - median_of(a, dec) / median_of(b, dec);
      fmt::print("{:<9} {:>3} | {:>10.1f} {:>10.1f} {:>7.2f}x | {:>9.0f} {:>9.0f} {:>6.1f}% {:>9.2f}x\n", name_of(s), n,
                 median_of(a, tps), median_of(b, tps), median_of(a, tps) / median_of(b, tps), median_of(a, dec),
                 median_of(b, dec), 100 * f, 1 / (1 - f));
    }
  fmt::print("\n(b) where a search's time goes (sharing runs; medians of shares of the search's wall time)\n");
  fmt::print("{:<9} {:>3} | {:>8} {:>11} {:>8} {:>9} | {:>18}\n", "strategy", "N", "decode", "adapter", "PRM",
             "strategy", "strategy / decode");
  for (strategy s : {strategy::beam, strategy::particle})
    for (std::size_t n : ns) {
      const std::string a = key_of(s, n, true);
      if (samples[a].empty()) continue;
      const double decode = median_of(a, [](const sample& x) { return x.decode_s / x.seconds; });
      const double adapter = median_of(a, [](const sample& x) { return (x.extend_s - x.decode_s) / x.seconds; });
      const double prm = median_of(a, [](const sample& x) { return x.verify_s / x.seconds; });
      const double strat =
          median_of(a, [](const sample& x) { return (x.seconds - x.extend_s - x.verify_s) / x.seconds; });
      fmt::print("{:<9} {:>3} | {:>7.2f}% {:>10.2f}% {:>7.3f}% {:>8.3f}% | {:>17.4f}%\n", name_of(s), n, 100 * decode,
                 100 * adapter, 100 * prm, 100 * strat, 100 * strat / decode);
    }
}

void print_concurrency_table() {
  if (!samples["sixteen/concurrent"].empty() && !samples["sixteen/sequential"].empty()) {
    const auto pps = [](const sample& x) { return static_cast<double>(problems) / x.seconds; };
    const auto decodes = [](const sample& x) { return x.decodes; };
    const double c = median_of("sixteen/concurrent", pps), q = median_of("sixteen/sequential", pps);
    fmt::print("\n(c) 16 beam searches (N = 4, width 2) on 16 problems, one engine\n");
    fmt::print("  concurrent (16 threads): {:.3f} problems/s, {:.0f} llama_decode calls\n", c,
               median_of("sixteen/concurrent", decodes));
    fmt::print("  one after the other:     {:.3f} problems/s, {:.0f} llama_decode calls\n", q,
               median_of("sixteen/sequential", decodes));
    fmt::print("  concurrent / sequential: {:.2f}x\n", c / q);
  }
}

void print_tables() {
  const std::size_t ns[] = {4, 16, 64};
  bool searched = false;  // (a) and (b) ran (not filtered out)
  for (strategy s : {strategy::beam, strategy::particle})
    for (std::size_t n : ns) searched = searched || !samples[key_of(s, n, true)].empty();
  if (searched) print_search_tables(ns);
  print_concurrency_table();
}

}  // namespace

int main(int argc, char** argv) {
  bool large = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--large") == 0) {
      large = true;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  ttscale_bench::print_machine();
  lc::load_backends(TTSCALE_LLAMA_CPP_BACKEND_DIR);
  const lc::model model(ensure_model(large));
  bench_model = &model;
  fmt::print("llama.cpp: {} decode thread (n_threads = {}), n_batch 512\n", decode_threads, decode_threads);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (strategy s : {strategy::beam, strategy::particle})
    for (std::size_t n : {4, 16, 64})
      for (bool share : {false, true})  // the baseline first: the sharing run reports the ratio
        benchmark::RegisterBenchmark(key_of(s, n, share).c_str(), search_benchmark, s, n, share)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
  for (bool concurrent : {false, true})
    benchmark::RegisterBenchmark(concurrent ? "sixteen_searches/concurrent" : "sixteen_searches/sequential",
                                 sixteen_benchmark, concurrent)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  print_tables();
  benchmark::Shutdown();
}
