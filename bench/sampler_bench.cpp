// Google Benchmark for ttscale/kernels/sample_logits.hpp: one token drawn from a 32,000-
// and a 152,064-token logits vector under the settings people use, against baselines
// measured in the same process:
//   scalar_twin  kernels::scalar::sample_logits (the plain reference: scalar loops, a sort
//                of the candidate prefix)
//   full_sort    the textbook sampler: sort every token by logit, softmax in double,
//                top-k / top-p / min-p on the sorted array, temperature, inverse CDF
//   (llama.cpp's llama_sampler_chain joins here once the adapter's benchmark links it.)
// Counters: ns_per_token (thread CPU time of one draw over the whole vocabulary), and for
// the kernel x_scalar_twin and x_full_sort: the baseline's time over the kernel's, timed
// back to back right after the run (kernel, twin, full sort, kernel; the kernel's two
// bursts averaged), so the changing load of a shared machine cancels out of the ratios.
// Inputs, like a language model's logits: a N(0, 2.5^2) body plus 1-8 tokens 6 to 16
// above it (confident and uncertain steps alike), a pool of 8 vectors per vocabulary; each
// iteration picks one at random (xoshiro) and a uniform from ttscale::random_engine.
// Run (medians of 3; the context names the CPU and whether it has AVX2 / AVX-512F):
//   cmake -S . -B build/perf -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-march=native
//   cmake --build build/perf --target sampler_bench -j2
//   build/perf/bench/sampler_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true --benchmark_min_time=0.3
#include <ttscale/kernels/sample_logits.hpp>
#include <ttscale/random.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <time.h>

#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
#include <llama.h>
#endif

namespace k = ttscale::kernels;

namespace {

constexpr std::size_t pool_size = 8;

double cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

struct logits_pool {
  std::vector<std::vector<float>> x;
  explicit logits_pool(std::size_t n) {
    std::mt19937_64 g(n);
    std::normal_distribution<double> body(0.0, 2.5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t p = 0; p < pool_size; ++p) {
      std::vector<float> v(n);
      for (auto& e : v) e = static_cast<float>(body(g));
      const std::size_t spikes = 1 + g() % 8;
      for (std::size_t s = 0; s < spikes; ++s) v[g() % n] = static_cast<float>(6.0 + 10.0 * u(g));
      x.push_back(std::move(v));
    }
  }
};
logits_pool& get_pool(std::size_t n) {
  static std::map<std::size_t, logits_pool> pools;
  auto it = pools.find(n);
  if (it == pools.end()) it = pools.emplace(n, logits_pool(n)).first;
  return it->second;
}

// The textbook sampler: a full sort, then the definitions on the sorted array (double).
// Its exponential is the scalar one of the library (as the twin's): glibc's std::exp,
// called from this -march=native program after AVX-512 code, pays an SSE/AVX transition
// penalty on some machines (~25x here), which would flatter the kernel.
inline double scalar_exp(double z) {
  return ttscale::kernels::detail::exp_reg<ttscale::kernels::detail::ops<double, ttscale::kernels::detail::isa_scalar>>(
      z);
}
struct full_sort_sampler {
  std::vector<std::int32_t> order;
  std::vector<double> w;
  k::sampled_token operator()(const std::vector<float>& x, const k::sampling_params& p, double u) {
    order.resize(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
      const float xa = x[std::size_t(a)], xb = x[std::size_t(b)];
      return xa > xb || (xa == xb && a < b);
    });
    const double m = x[std::size_t(order[0])];
    w.resize(x.size());
    double total = 0;
    for (std::size_t j = 0; j < x.size(); ++j) total += w[j] = scalar_exp(double(x[std::size_t(order[j])]) - m);
    std::size_t len = x.size();
    if (p.top_k > 0 && p.top_k < len) len = p.top_k;
    std::size_t kept = len;
    if (p.top_p < 1) {
      double s = 0, cum = 0;
      for (std::size_t j = 0; j < len; ++j) s += w[j];
      for (std::size_t j = 0; j < len; ++j)
        if ((cum += w[j]) >= p.top_p * s) {
          kept = j + 1;
          break;
        }
    }
    if (p.min_p > 0) {
      const float cut = float(m) + std::log(float(p.min_p));
      std::size_t j = 0;
      while (j < kept && x[std::size_t(order[j])] >= cut) ++j;
      kept = j;
    }
    k::sampled_token r;
    std::size_t pick = 0;
    double z = 1;
    if (p.temperature > 0) {
      z = 0;
      for (std::size_t j = 0; j < kept; ++j)
        z += w[j] = scalar_exp((double(x[std::size_t(order[j])]) - m) / p.temperature);
      const double target = u * z;
      double cum = 0;
      pick = kept - 1;
      for (std::size_t j = 0; j < kept; ++j)
        if ((cum += w[j]) > target) {
          pick = j;
          break;
        }
    }
    r.token = order[pick];
    const double d = double(x[std::size_t(r.token)]) - m;
    r.logprob = d - std::log(total);
    r.sampling_logprob = p.temperature > 0 ? d / p.temperature - std::log(z) : 0.0;
    return r;
  }
};

struct setting {
  const char* name;
  k::sampling_params params;
};
const std::vector<setting> settings = {
    {"pure(T=1)", {1.0, 0, 1.0, 0.0}},  // an unbiased sample: test-time scaling's default
    {"llama_default(T=.8,k=40,p=.95,min_p=.05)", {0.8, 40, 0.95, 0.05}},
    {"top_p(T=.7,p=.9)", {0.7, 0, 0.9, 0.0}},  // Hugging Face / vLLM style
    {"qwen(T=.6,k=20,p=.95)", {0.6, 20, 0.95, 0.0}},
    {"min_p(T=1,min_p=.1)", {1.0, 0, 1.0, 0.1}},
    {"greedy(T=0)", {0.0, 0, 1.0, 0.0}},
};

enum class impl { kernel, twin, full_sort, llama_chain };

#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
// llama.cpp's own sampler chain with the same settings (top_k, top_p, min_p,
// temp, then dist; greedy at T = 0), as common_sampler_init builds it: the
// baseline the issue names. Each draw fills a llama_token_data_array from the
// logits, as llama.cpp's sampling does per token.
struct llama_chain_sampler {
  llama_sampler* chain = nullptr;
  std::vector<llama_token_data> cur;
  llama_chain_sampler(const k::sampling_params& p, std::size_t n) : cur(n) {
    chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (p.temperature == 0.0) {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy());
      return;
    }
    llama_sampler_chain_add(chain, llama_sampler_init_top_k(static_cast<int32_t>(p.top_k)));
    llama_sampler_chain_add(chain, llama_sampler_init_top_p(static_cast<float>(p.top_p), 1));
    llama_sampler_chain_add(chain, llama_sampler_init_min_p(static_cast<float>(p.min_p), 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(static_cast<float>(p.temperature)));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(1234));
  }
  llama_chain_sampler(const llama_chain_sampler&) = delete;
  llama_chain_sampler& operator=(const llama_chain_sampler&) = delete;
  ~llama_chain_sampler() { llama_sampler_free(chain); }
  std::int32_t operator()(std::span<const float> x) {
    for (std::size_t i = 0; i < x.size(); ++i) cur[i] = {static_cast<llama_token>(i), x[i], 0.0f};
    llama_token_data_array arr{cur.data(), x.size(), -1, false};
    llama_sampler_apply(chain, &arr);
    return arr.data[arr.selected].id;
  }
};
#endif

// One draw per call, input and uniform picked at random.
struct runner {
  std::size_t n;
  k::sampling_params params;
  impl which;
  k::sampling_workspace ws;
  full_sort_sampler sorter;
  ttscale::random_engine rng{42};
  std::int64_t sink = 0;
#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
  std::unique_ptr<llama_chain_sampler> chain;
#endif
  runner(std::size_t n_, k::sampling_params p, impl w) : n(n_), params(p), which(w), ws(n_) {
#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
    if (w == impl::llama_chain) chain = std::make_unique<llama_chain_sampler>(p, n_);
#endif
  }
  void draw() {
    auto& x = get_pool(n).x[rng() >> 61];
    const double u = rng.uniform();
    k::sampled_token r;
    switch (which) {
      case impl::kernel: r = k::sample_logits(x, params, u, ws); break;
      case impl::twin: r = k::scalar::sample_logits(x, params, u, ws); break;
      case impl::full_sort: r = sorter(x, params, u); break;
      case impl::llama_chain:
#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
        r.token = (*chain)(x);
#endif
        break;
    }
    sink += r.token;
  }
};

// Mean CPU time of one draw over a burst of at least `budget_ns` and 3 draws.
double burst_ns(runner& r, double budget_ns) {
  r.draw();  // warm: workspace, pool, branch predictors
  int draws = 0;
  const double t0 = cpu_ns();
  double t = t0;
  do {
    r.draw();
    ++draws;
    t = cpu_ns();
  } while (t - t0 < budget_ns || draws < 3);
  return (t - t0) / draws;
}

void register_all(std::size_t n) {
  for (const auto& s : settings) {
    const auto reg = [&](const char* label, impl which) {
      benchmark::RegisterBenchmark(fmt::format("sample_logits/{}/{}/{}", label, n, s.name).c_str(),
                                   [n, p = s.params, which](benchmark::State& state) {
                                     runner r(n, p, which);
                                     std::int64_t it = 0;
                                     const double t0 = cpu_ns();
                                     for (auto _ : state) {
                                       r.draw();
                                       ++it;
                                     }
                                     state.counters["ns_per_token"] = (cpu_ns() - t0) / double(it);
                                     if (which == impl::kernel) {
                                       runner twin(n, p, impl::twin), sort(n, p, impl::full_sort);
                                       const double k0 = burst_ns(r, 2e7);
                                       const double tw = burst_ns(twin, 5e7), fs = burst_ns(sort, 5e7);
                                       const double kernel = 0.5 * (k0 + burst_ns(r, 2e7));
                                       state.counters["x_scalar_twin"] = tw / kernel;
                                       state.counters["x_full_sort"] = fs / kernel;
                                       benchmark::DoNotOptimize(twin.sink + sort.sink);
#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
                                       // The baseline: llama.cpp's chain, timed back to back too.
                                       runner chain(n, p, impl::llama_chain);
                                       state.counters["x_llama_chain"] = burst_ns(chain, 5e7) / kernel;
                                       benchmark::DoNotOptimize(chain.sink);
#endif
                                     }
                                     benchmark::DoNotOptimize(r.sink);
                                     state.SetItemsProcessed(it * std::int64_t(n));  // logits read
                                   })
          ->Unit(benchmark::kMicrosecond);
    };
    reg("kernel", impl::kernel);
    reg("scalar_twin", impl::twin);
    reg("full_sort", impl::full_sort);
#if defined(TTSCALE_LLAMA_CPP_BACKEND_DIR)
    reg("llama_chain", impl::llama_chain);
#endif
  }
}

// Which machine: the CPU's model name and whether it has AVX2 / AVX-512F, in the context.
void describe_machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "?", flags;
  while (std::getline(cpuinfo, line)) {
    if (model == "?" && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line;
  }
  const auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; };
  benchmark::AddCustomContext("cpu_model", model);
  benchmark::AddCustomContext("cpu_avx2", has("avx2") ? "yes" : "no");
  benchmark::AddCustomContext("cpu_avx512f", has("avx512f") ? "yes" : "no");
  benchmark::AddCustomContext("kernel_isa", std::string(ttscale::kernels::isa_name(ttscale::kernels::active_isa())));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  describe_machine();
  for (const std::size_t n : {std::size_t(32000), std::size_t(152064)}) register_all(n);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
