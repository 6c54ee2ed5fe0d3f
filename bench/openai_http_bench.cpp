// Google Benchmark for the OpenAI-compatible HTTP adapter
// (ttscale/adapters/openai_http.hpp) against real llama-server processes on
// 127.0.0.1, serving the trained arithmetic policy of models/ (real text: a
// step is a line of the compact notation, ~10 tokens):
//   beam search (beam width 4) and the particle filter at N = 16 and 64, with
//   1, 4 and 16 requests in flight, on one server and on two. The baseline is
//   the same search with 1 request in flight on one server, in the same run:
//   x_serial = its wall time over this one's. Every configuration does the
//   same work — same seeds, so the same requests and the same results,
//   whatever the concurrency and the endpoint (the adapter's determinism) —
//   so the ratios compare like with like.
// Counters: requests, tokens, wall time, x_serial, and the adapter's own CPU
// time per request (CPU time of the searching thread inside extend: building
// JSON, curl, parsing; the servers' time is not in it).
//
// Servers: each llama-server runs ONE thread with 16 slots and continuous
// batching, so one server uses one core and two use both cores of a 2-core
// machine: "two servers" is the adapter spreading requests over two
// endpoints as over two machines. The reward model is a free in-process PRM
// that hashes the path's text, so that what is measured is generation over
// HTTP — and not the log-probabilities: llama-server's batched decode rounds
// them differently (~1e-5) depending on which requests share a batch, which
// a PRM reading them turns into a different search. Texts do not change
// (checked: 960 seeded requests under 16-way concurrency gave the serial
// texts), so every configuration must choose the same answers: the
// same_as_serial counter checks it.
//
// Run (prints the machine first, the table last; ~3 minutes on 2 cores):
//   build/<dir>/bench/openai_http_bench [--benchmark_repetitions=3]
#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#include "report.hpp"
#include "openai_http/llama_server_process.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace oh = ttscale::openai_http;

namespace {

constexpr std::size_t problems_per_run = 2;

std::unique_ptr<ttscale_test::llama_server_process> server_a, server_b;
std::vector<ttscale::toy::arithmetic_problem> problems;

// A PRM that costs nothing and reads only the text: a hash of the path.
struct text_hash_prm {
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      out[i] = static_cast<double>(prefixes[i].path_hash() % 10007) / 10007.0;
  }
};

enum class strategy { beam, particle };
const char* name_of(strategy s) { return s == strategy::beam ? "beam" : "particle"; }

struct cell {
  strategy s;
  std::size_t n, in_flight, servers;
  [[nodiscard]] std::string key() const {
    return fmt::format("{}/N={}/in_flight={}/servers={}", name_of(s), n, in_flight, servers);
  }
  [[nodiscard]] std::string baseline() const { return cell{s, n, 1, 1}.key(); }
};

struct sample {
  double seconds = 0, requests = 0, tokens = 0, cpu_per_request_us = 0;
  std::vector<std::string> chosen;  // each search's chosen text
};
std::map<std::string, std::vector<sample>> samples;

// median_of(key, f): the median of f over the key's samples.
template <class F>
double median_of(const std::string& key, F f) {
  return ttscale_bench::median_of(samples[key], f);
}

void search_benchmark(benchmark::State& state, cell c) {
  for (auto _ : state) {
    std::vector<std::string> endpoints{server_a->base_url()};
    if (c.servers == 2) endpoints.push_back(server_b->base_url());
    oh::transport link({.endpoints = endpoints, .max_in_flight = c.in_flight});
    oh::generator gen(link, {.step_delimiter = "\n", .max_step_tokens = 16, .finish_strings = {"."},
                             .sampling = {.temperature = 1.0}});
    (void)gen.server();  // the probe is not part of the search
    text_hash_prm prm;
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t tokens = 0;
    sample x;
    for (std::size_t k = 0; k < problems_per_run; ++k) {
      std::mt19937_64 rng(100 + k);
      const std::string prompt = ttscale::toy::compact_prompt(problems[k]);
      auto note = [&](const auto& r) {
        tokens += r.spent.tokens;
        x.chosen.push_back(r.has_choice() ? r.chosen().path.text() : std::string("(none)"));
      };
      if (c.s == strategy::beam)
        note(ttscale::beam_search(gen, prm, prompt, ttscale::beam_search_options{.n = c.n, .beam_width = 4, .max_depth = 8},
                                  rng));
      else
        note(ttscale::particle_filter(gen, prm, prompt, ttscale::particle_filter_options{.n = c.n, .max_steps = 8}, rng));
    }
    x.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    x.requests = static_cast<double>(link.stats().requests);
    x.tokens = static_cast<double>(tokens);
    x.cpu_per_request_us = gen.stats().cpu_seconds / x.requests * 1e6;
    state.SetIterationTime(x.seconds);
    state.counters["requests"] = x.requests;
    state.counters["tokens"] = x.tokens;
    state.counters["adapter_cpu_us_per_request"] = x.cpu_per_request_us;
    if (link.stats().max_in_flight_seen > c.in_flight) state.SkipWithError("more requests in flight than the bound");
    if (!samples[c.baseline()].empty())
      state.counters["same_as_serial"] = x.chosen == samples[c.baseline()].front().chosen ? 1.0 : 0.0;
    samples[c.key()].push_back(std::move(x));
  }
  if (c.key() != c.baseline() && !samples[c.baseline()].empty())
    state.counters["x_serial"] = median_of(c.baseline(), [](const sample& x) { return x.seconds; }) /
                                 median_of(c.key(), [](const sample& x) { return x.seconds; });
}

void print_table(const std::vector<cell>& cells) {
  fmt::print("\nWall time of {} searches (median), speed-up over 1 request in flight on one server, and the\n"
             "adapter's own CPU time per request:\n\n",
             problems_per_run);
  fmt::print("| strategy | N | in flight | servers | requests | wall s | speed-up | adapter CPU us/request | same answers as serial |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (const cell& c : cells) {
    const std::string k = c.key();
    if (samples[k].empty()) continue;
    const double s = median_of(k, [](const sample& x) { return x.seconds; });
    bool same = true;
    for (const sample& x : samples[k]) same = same && x.chosen == samples[c.baseline()].front().chosen;
    fmt::print("| {} | {} | {} | {} | {:.0f} | {:.2f} | {:.2f}x | {:.0f} | {} |\n", name_of(c.s), c.n, c.in_flight,
               c.servers, median_of(k, [](const sample& x) { return x.requests; }), s,
               median_of(c.baseline(), [](const sample& x) { return x.seconds; }) / s,
               median_of(k, [](const sample& x) { return x.cpu_per_request_us; }), same ? "yes" : "NO");
  }
}

}  // namespace

int main(int argc, char** argv) {
  ttscale_bench::print_machine();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string model = std::string(TTSCALE_MODELS_DIR) + "/arithmetic-policy.gguf";
  const ttscale_test::llama_server_options options{.model = model, .parallel = 16, .ctx_per_slot = 256, .threads = 1};
  server_a = std::make_unique<ttscale_test::llama_server_process>(options);
  server_b = std::make_unique<ttscale_test::llama_server_process>(options);
  fmt::print("llama-server x2 ({}), 16 slots and 1 thread each; model {}\n", TTSCALE_LLAMA_SERVER, model);
  problems = ttscale::toy::make_problems({.count = problems_per_run, .min_level = 3, .max_level = 3, .seed = 5});

  std::vector<cell> cells;
  for (strategy s : {strategy::beam, strategy::particle})
    for (std::size_t n : {16, 64})
      for (std::size_t servers : {1, 2})
        for (std::size_t in_flight : {1, 4, 16}) {
          if (servers == 2 && in_flight == 1) continue;  // one request at a time uses one server anyway
          cells.push_back({s, n, in_flight, servers});
        }
  for (const cell& c : cells)
    benchmark::RegisterBenchmark(c.key().c_str(), search_benchmark, c)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  print_table(cells);
  benchmark::Shutdown();
  server_a.reset();
  server_b.reset();
}
