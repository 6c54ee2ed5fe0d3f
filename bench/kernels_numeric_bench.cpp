// Google Benchmark for ttscale/kernels: every kernel, its scalar reference and a memory-
// streaming baseline (a sum that reads the same bytes once) in one binary, float and
// double, N = 1e3, 1e4, 1e6. Counters:
//   ns_per_elem   time per element (per particle for resampling), from benchmark's clock
//   x_baseline    that time divided by the baseline's, measured at start-up for the same
//                 type and N in this process
// Inputs: log-weights ~ N(0, 5^2) with 1% -inf for the exp-based kernels; resampling uses
// realistic particle-filter weights (log-weights ~ N(0, 1), ESS ~ 0.37 N) and keeps the very
// uneven softmax of the N(0, 5^2) vectors (ESS ~ 6 at N = 1e6) as separate `extreme`
// benchmarks. Each resampling iteration picks its input at random from a pool of 8 vectors
// (xoshiro), the other kernels rotate through theirs, so no branch predictor learns one
// vector; the uniforms come from ttscale::random_engine.
// Instruction sets: the plain names run at the level the process picked (kernels::
// active_isa(): the CPU's best, or TTSCALE_ISA); at N = 1e6 every other level the CPU
// supports is measured too, forced with kernels::force_isa, as `name<T>/1000000@avx2` etc.,
// so one run compares every level with the scalar twins and the streaming baseline.
// Run (medians of 5):
//   build/perf/bench/kernels_numeric_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --benchmark_min_time=0.1
#include <ttscale/kernels/all.hpp>
#include <ttscale/random.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <time.h>

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

namespace {

constexpr std::size_t pool_size = 8;

// Thread CPU time, as benchmark's own counters use: on a shared 2-core machine wall time
// mostly measures the neighbours.
double cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

template <class T>
struct pool {
  std::vector<std::vector<T>> x;  // log-weights ~ N(0, 5^2) with 1% -inf
  std::vector<std::vector<T>> w;  // normalised weights (softmax of x): extreme, ESS ~ 6 of 1e6
  std::vector<std::vector<T>> xr;  // realistic log-weights ~ N(0, 1)
  std::vector<std::vector<T>> wr;  // their softmax (ESS ~ 0.37 N)
  explicit pool(std::size_t n) {
    std::mt19937_64 g(n);
    std::normal_distribution<double> nd(0, 5), n1(0, 1);
    for (std::size_t p = 0; p < pool_size; ++p) {
      std::vector<T> v(n);
      for (auto& e : v) e = (g() % 100 == 0) ? -std::numeric_limits<T>::infinity() : static_cast<T>(nd(g));
      v[0] = 0;
      std::vector<T> s(n);
      k::softmax(v, s);
      x.push_back(std::move(v));
      w.push_back(std::move(s));
      std::vector<T> vr(n), sr(n);
      for (auto& e : vr) e = static_cast<T>(n1(g));
      k::softmax(vr, sr);
      xr.push_back(std::move(vr));
      wr.push_back(std::move(sr));
    }
  }
};

template <class T>
pool<T>& get_pool(std::size_t n) {
  static std::map<std::size_t, pool<T>> pools;
  auto it = pools.find(n);
  if (it == pools.end()) it = pools.emplace(n, pool<T>(n)).first;
  return it->second;
}

// Streaming read of the same bytes: 4 independent vector accumulators, so the loop runs at
// memory (or L1/L2) bandwidth rather than at add latency.
template <class T>
T stream_sum(const std::vector<T>& x) {
  using Ops = kd::native_ops<T>;
  constexpr std::size_t w = Ops::width;
  auto a0 = Ops::set1(T(0)), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 4 * w <= x.size(); i += 4 * w) {
    a0 = Ops::add(a0, Ops::load(x.data() + i));
    a1 = Ops::add(a1, Ops::load(x.data() + i + w));
    a2 = Ops::add(a2, Ops::load(x.data() + i + 2 * w));
    a3 = Ops::add(a3, Ops::load(x.data() + i + 3 * w));
  }
  T lanes[kd::max_lanes];
  Ops::store_lanes(Ops::add(Ops::add(a0, a1), Ops::add(a2, a3)), lanes);
  T s = 0;
  for (std::size_t l = 0; l < w; ++l) s += lanes[l];
  for (; i < x.size(); ++i) s += x[i];
  return s;
}

std::map<std::pair<int, std::size_t>, double> baseline_ns;  // (sizeof T, N) -> ns/element

template <class T>
double measure_baseline(std::size_t n) {
  auto& p = get_pool<T>(n);
  const std::size_t reps = std::max<std::size_t>(64, 400'000'000 / (n * sizeof(T)));
  double best = 1e30;
  for (int trial = 0; trial < 5; ++trial) {
    const double t0 = cpu_ns();
    for (std::size_t r = 0; r < reps; ++r) benchmark::DoNotOptimize(stream_sum(p.x[r % pool_size]));
    const double t1 = cpu_ns();
    best = std::min(best, (t1 - t0) / double(reps * n));
  }
  return best;
}

// The level a benchmark forces (none: the process's own choice).
std::optional<k::isa> forced_level;

// Runs `body(iteration)` and sets the counters; the CPU-time measurement only feeds x_baseline.
template <class T, class Body>
void run(benchmark::State& state, std::size_t n, Body body) {
  const k::isa previous = k::active_isa();
  if (forced_level) k::force_isa(*forced_level);
  std::size_t it = 0;
  const double t0 = cpu_ns();
  for (auto _ : state) body(it++);
  const double t1 = cpu_ns();
  const double ns = (t1 - t0) / double(it * n);
  state.counters["ns_per_elem"] =
      benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["x_baseline"] = ns / baseline_ns[{int(sizeof(T)), n}];
  state.SetItemsProcessed(static_cast<std::int64_t>(it * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(it * n * sizeof(T)));
  k::force_isa(previous);
}

// Every kernel at N; with `level`, only the vectorised kernels, forced to that level and
// named with an "@level" suffix (the scalar twins and the baseline do not depend on it).
template <class T>
void register_all(std::size_t n, std::optional<k::isa> level = std::nullopt) {
  const std::string tn = sizeof(T) == 4 ? "float" : "double";
  const std::string suffix = level ? "@" + std::string(k::isa_name(*level)) : "";
  auto reg = [&](const std::string& name, std::function<void(benchmark::State&)> f) {
    if (level && (name.find("scalar::") != std::string::npos || name.starts_with("baseline"))) return;
    benchmark::RegisterBenchmark(fmt::format("{}<{}>/{}{}", name, tn, n, suffix).c_str(),
                                 [f, level](benchmark::State& s) {
                                   forced_level = level;
                                   f(s);
                                   forced_level.reset();
                                 })
        ->Unit(benchmark::kMicrosecond);
  };
  auto& p = get_pool<T>(n);
  auto out = std::make_shared<std::vector<T>>(n);
  auto idx = std::make_shared<std::vector<std::uint32_t>>(n);
  auto idx64 = std::make_shared<std::vector<std::int64_t>>(n);
  auto ws = std::make_shared<k::resample_workspace>();
  auto rng = std::make_shared<ttscale::random_engine>(42);
  // Random pool index per iteration (the index draw costs ~1 ns per call, not per element).
  auto pick = [rng](std::size_t) { return static_cast<std::size_t>((*rng)() >> 61); };
  static_assert(pool_size == 8);

  reg("baseline_stream_sum", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(stream_sum(p.x[i % pool_size])); });
  });
  reg("exp", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { k::exp(p.x[i % pool_size], *out); benchmark::ClobberMemory(); });
  });
  reg("scalar::exp", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { k::scalar::exp(p.x[i % pool_size], *out); benchmark::ClobberMemory(); });
  });
  reg("logsumexp", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::logsumexp(p.x[i % pool_size])); });
  });
  reg("scalar::logsumexp", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::logsumexp(p.x[i % pool_size])); });
  });
  reg("log_normalize", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::log_normalize(p.x[i % pool_size], *out)); });
  });
  reg("scalar::log_normalize", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::log_normalize(p.x[i % pool_size], *out)); });
  });
  reg("softmax", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::softmax(p.x[i % pool_size], *out, T(0.7))); });
  });
  reg("scalar::softmax", [&p, n, out](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::softmax(p.x[i % pool_size], *out, T(0.7))); });
  });
  reg("effective_sample_size", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::effective_sample_size(p.x[i % pool_size])); });
  });
  reg("scalar::effective_sample_size", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::effective_sample_size(p.x[i % pool_size])); });
  });
  reg("weight_entropy", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::weight_entropy(p.x[i % pool_size])); });
  });
  reg("scalar::weight_entropy", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::weight_entropy(p.x[i % pool_size])); });
  });
  reg("max", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::max(p.x[i % pool_size])); });
  });
  reg("argmax", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::argmax(p.x[i % pool_size])); });
  });
  reg("scalar::argmax", [&p, n](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { benchmark::DoNotOptimize(k::scalar::argmax(std::span<const T>(p.x[i % pool_size]))); });
  });
  reg("top_k16", [&p, n, idx](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t i) { k::top_k(p.x[i % pool_size], std::span(*idx).first(16)); benchmark::ClobberMemory(); });
  });
  // Resampling, M = N; time per particle. Pure functions take normalised weights.
  // Realistic weights (softmax of N(0, 1) log-weights) first, then the extreme set.
  for (const bool extreme : {false, true}) {
    const std::string tag = extreme ? "extreme:" : "";
    auto& W = extreme ? p.w : p.wr;
    auto& X = extreme ? p.x : p.xr;
    reg(tag + "systematic_resample(W,u)", [&W, n, idx, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::systematic_resample(W[pick(i)], rng->uniform(), *idx); benchmark::ClobberMemory(); });
    });
    reg(tag + "scalar::systematic_resample(W,u)", [&W, n, idx, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::scalar::systematic_resample(W[pick(i)], rng->uniform(), *idx); benchmark::ClobberMemory(); });
    });
    auto su = std::make_shared<std::vector<double>>(n);
    {
      ttscale::random_engine g(7);
      k::uniform_spacings(g, std::span<double>(*su));
    }
    reg(tag + "inverse_cdf(W,sorted_u)", [&W, n, idx, su, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::inverse_cdf(W[pick(i)], *su, *idx); benchmark::ClobberMemory(); });
    });
    reg(tag + "scalar::inverse_cdf(W,sorted_u)", [&W, n, idx, su, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::scalar::inverse_cdf(W[pick(i)], *su, *idx); benchmark::ClobberMemory(); });
    });
    reg(tag + "resample(systematic,logw,rng)", [&X, n, idx, ws, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::resample(k::systematic, X[pick(i)], *idx, *rng, *ws); benchmark::ClobberMemory(); });
    });
    reg(tag + "resample(multinomial,logw,rng)", [&X, n, idx, ws, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::resample(k::multinomial, X[pick(i)], *idx, *rng, *ws); benchmark::ClobberMemory(); });
    });
    reg(tag + "resample(stratified,logw,rng)", [&X, n, idx, ws, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::resample(k::stratified, X[pick(i)], *idx, *rng, *ws); benchmark::ClobberMemory(); });
    });
    reg(tag + "resample(residual,logw,rng)", [&X, n, idx, ws, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::resample(k::residual, X[pick(i)], *idx, *rng, *ws); benchmark::ClobberMemory(); });
    });
    reg(tag + "resample(ssp,logw,rng)", [&X, n, idx, ws, rng, pick](benchmark::State& s) {
      run<T>(s, n, [&](std::size_t i) { k::resample(k::ssp, X[pick(i)], *idx, *rng, *ws); benchmark::ClobberMemory(); });
    });
  }
  // Drawing the multinomial uniforms alone (M + 1 exponential spacings).
  auto sp = std::make_shared<std::vector<double>>(n);
  reg("uniform_spacings(rng)", [n, sp, rng](benchmark::State& s) {
    run<T>(s, n, [&](std::size_t) { k::uniform_spacings(*rng, std::span<double>(*sp)); benchmark::ClobberMemory(); });
  });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (std::size_t n : {std::size_t(1000), std::size_t(10000), std::size_t(1000000)}) {
    baseline_ns[{4, n}] = measure_baseline<float>(n);
    baseline_ns[{8, n}] = measure_baseline<double>(n);
  }
  for (std::size_t n : {std::size_t(1000), std::size_t(10000), std::size_t(1000000)}) {
    register_all<float>(n);
    register_all<double>(n);
  }
  // The other levels at N = 1e6, forced (same inputs, same binary).
  for (const k::isa level : {k::isa::scalar, k::isa::sse2, k::isa::avx2, k::isa::avx512, k::isa::neon})
    if (level != k::active_isa() && k::isa_supported(level)) {
      register_all<float>(1000000, level);
      register_all<double>(1000000, level);
    }
  fmt::print("kernels run at {} (best on this CPU: {})\n", k::isa_name(k::active_isa()), k::isa_name(k::best_isa()));
  fmt::print("baseline (streaming sum) ns/element: float {:.3f} {:.3f} {:.3f}; double {:.3f} {:.3f} {:.3f} (N = 1e3 1e4 1e6)\n",
             baseline_ns[{4, 1000}], baseline_ns[{4, 10000}], baseline_ns[{4, 1000000}], baseline_ns[{8, 1000}],
             baseline_ns[{8, 10000}], baseline_ns[{8, 1000000}]);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
