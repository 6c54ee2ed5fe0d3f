// Tests for ttscale/kernels/dispatch.hpp: the level chosen, forcing one, and the errors.
#include <ttscale/kernels/all.hpp>
#include <ttscale/kernels/dispatch.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace k = ttscale::kernels;

namespace {
const k::isa all_levels[] = {k::isa::scalar, k::isa::sse2, k::isa::avx2, k::isa::avx512, k::isa::neon};
}

TEST_CASE("the active level is TTSCALE_ISA's or the CPU's best, and supported", "[dispatch]") {
  const char* env = std::getenv("TTSCALE_ISA");
  const k::isa active = k::active_isa();
  CHECK(k::isa_supported(active));
  if (env == nullptr || *env == '\0')
    CHECK(active == k::best_isa());
  else
    CHECK(k::isa_name(active) == env);
  CHECK(k::isa_supported(k::isa::scalar) != k::isa_static);  // a static build has its one level only
  for (const k::isa level : all_levels)
    if (k::isa_supported(level)) CHECK(static_cast<int>(level) <= static_cast<int>(k::best_isa()));
}

TEST_CASE("force_isa runs every supported level and restores", "[dispatch]") {
  const k::isa before = k::active_isa();
  const std::vector<double> x = {0.5, -1.0, 2.0, -std::numeric_limits<double>::infinity(), 1.5};
  const double want = k::scalar::logsumexp(std::span<const double>(x));
  int levels = 0;
  for (const k::isa level : all_levels) {
    if (!k::isa_supported(level)) continue;
    k::force_isa(level);
    CHECK(k::active_isa() == level);
    CHECK(std::abs(k::logsumexp(std::span<const double>(x)) - want) <= 1e-15 * std::abs(want) + 1e-15);
    ++levels;
  }
  CHECK(levels >= 1);
  k::force_isa(before);
  CHECK(k::active_isa() == before);
}

TEST_CASE("forcing a level the CPU or build lacks throws, naming it and what is available", "[dispatch]") {
  const k::isa before = k::active_isa();
  for (const k::isa level : all_levels) {
    if (k::isa_supported(level)) continue;
    INFO("level " << k::isa_name(level));
    CHECK_THROWS_AS(k::force_isa(level), ttscale::invalid_argument);
    CHECK_THROWS_WITH(k::force_isa(level), Catch::Contains(std::string(k::isa_name(level))) &&
                                               Catch::Contains("available: " + std::string(k::isa_name(
                                                                                   k::isa_static ? k::best_isa()
                                                                                                 : k::isa::scalar))));
    CHECK(k::active_isa() == before);  // unchanged
  }
}

TEST_CASE("a static -march build has one level, and says how to force others", "[dispatch]") {
  int levels = 0;
  for (const k::isa level : all_levels) levels += k::isa_supported(level) ? 1 : 0;
  if (!k::isa_static) {
    CHECK(k::isa_supported(k::isa::scalar));  // a dispatching build can always drop to width 1
    return;
  }
  CHECK(levels == 1);
  CHECK(k::active_isa() == k::best_isa());
  k::force_isa(k::best_isa());  // its own level: accepted
  CHECK_THROWS_WITH(k::force_isa(k::isa::scalar), Catch::Contains("TTSCALE_KERNELS_RUNTIME_DISPATCH"));
}
