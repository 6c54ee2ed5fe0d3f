// bench/machine.hpp: the line every benchmark prints first — which machine a
// figure comes from (CPU model, hardware threads, the SIMD it has) and how
// loaded it was.
#pragma once

#include <fmt/format.h>

#include <fstream>
#include <string>
#include <thread>

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

}  // namespace ttscale_bench
