#include <ttscale/strategies/detail/particle_resampling.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace ttscale;

namespace {
// Slot keeping by its definition: an output position whose particle has
// offspring keeps it; the remaining copies, ancestor by ancestor in ascending
// order, fill the freed positions in ascending order.
std::vector<std::uint32_t> kept_by_definition(std::size_t n, const std::vector<std::uint32_t>& drawn,
                                              const std::vector<std::uint32_t>& outputs) {
  std::vector<std::uint32_t> counts(n, 0), ancestors(n), freed;
  for (std::uint32_t a : drawn) ++counts[a];
  for (std::uint32_t p = 0; p < n; ++p) ancestors[p] = p;
  for (std::uint32_t p : outputs) {
    if (counts[p] > 0) --counts[p];
    else freed.push_back(p);
  }
  std::size_t next = 0;
  for (std::uint32_t a = 0; a < n; ++a)
    for (; counts[a] > 0; --counts[a]) ancestors[freed[next++]] = a;
  return ancestors;
}
}  // namespace

TEST_CASE("keep_slots: survivors keep their slots, the other copies fill the freed ones in order",
          "[particle_resampling]") {
  std::uint64_t seed = 3;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  detail::particle_resampler r;
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, std::size_t{1000}}) {
    for (const bool conditional : {false, true}) {
      if (conditional && n == 1) continue;
      for (int trial = 0; trial < 20; ++trial) {
        // The outputs: every position, or all but the reference at 0 (particle Gibbs).
        std::vector<std::uint32_t> outputs;
        for (std::uint32_t p = conditional ? 1 : 0; p < n; ++p) outputs.push_back(p);
        // Ancestors drawn from a few heavy particles (trial-dependent), ascending, as the kernel returns them.
        const std::size_t heavy = 1 + next() % n;
        r.drawn.resize(outputs.size());
        for (std::uint32_t& a : r.drawn) a = static_cast<std::uint32_t>(next() % heavy * (n / heavy));
        std::sort(r.drawn.begin(), r.drawn.end());
        const std::vector<std::uint32_t> drawn = r.drawn;
        const std::size_t distinct = r.keep_slots(n, outputs);
        INFO("n " << n << ", conditional " << conditional << ", trial " << trial);
        CHECK(r.ancestors == kept_by_definition(n, drawn, outputs));
        std::vector<std::uint32_t> unique = drawn;
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        CHECK(distinct == unique.size());
        for (std::uint32_t a = 0; a < n; ++a)
          CHECK(r.offspring[a] == static_cast<std::uint32_t>(std::count(drawn.begin(), drawn.end(), a)));
        // The multiset of the outputs' ancestors is the kernel's.
        std::vector<std::uint32_t> assigned;
        for (std::uint32_t p : outputs) assigned.push_back(r.ancestors[p]);
        std::sort(assigned.begin(), assigned.end());
        CHECK(assigned == drawn);
      }
    }
  }
}
