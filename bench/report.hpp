// bench/report.hpp: what benchmarks print — first the machine a figure comes
// from (CPU model, hardware threads, the SIMD it has, how loaded it was), and
// medians over repetitions for their tables.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace ttscale_bench {

inline void print_machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "?", flags;
  while (std::getline(cpuinfo, line)) {
    if (model == "?" && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line + " ";
  }
  std::string simd;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) simd += std::string(simd.empty() ? "" : " ") + f;
  std::ifstream loadavg("/proc/loadavg");
  std::string load;
  std::getline(loadavg, load);
  fmt::print("machine: {}, {} hardware threads; {}\nload average (1/5/15 min, runnable/total): {}\n", model,
             std::thread::hardware_concurrency(), simd.empty() ? "no AVX2" : simd, load);
}

/// The median (NaN for none).
inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// The median of f(x) over the samples.
template <class Sample, class F>
double median_of(const std::vector<Sample>& samples, F f) {
  std::vector<double> v;
  v.reserve(samples.size());
  for (const Sample& x : samples) v.push_back(f(x));
  return median(v);
}

}  // namespace ttscale_bench
