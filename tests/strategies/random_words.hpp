// Test support shared by the step-search tests: a generator whose every step
// is a random word from the item's stream, and a PRM that is a fixed
// pseudo-random function of the whole path.
#pragma once

#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ttscale::testing {

/// Every step is a distinct random word from its stream, 1-4 tokens; the
/// trajectory finishes (answer = word mod 3) at `finish_depth`, or earlier
/// when the word is a multiple of `finish_one_in` (0: never early).
struct random_word_generator {
  static constexpr bool thread_safe = true;
  std::size_t finish_depth = 3;
  std::uint64_t finish_one_in = 0;
  void extend(std::span<const trajectory> p, std::span<random_engine> e, std::span<step> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::uint64_t word = e[i]() % 1000000;
      out[i].text = std::to_string(word);  // (not "w" + ...: GCC 12's -Wrestrict false positive)
      out[i].text += ' ';
      out[i].tokens = 1 + static_cast<std::uint32_t>(word % 4);
      out[i].finished = p[i].depth() + 1 >= finish_depth || (finish_one_in > 0 && word % finish_one_in == 0);
      if (out[i].finished) {
        out[i].text += "\\boxed{";
        out[i].text += std::to_string(word % 3);
        out[i].text += '}';
      }
    }
  }
};

/// A PRM score that is a fixed pseudo-random function of the whole path.
inline double path_score(const trajectory& t) { return static_cast<double>(t.path_hash() % 1000) / 1000.0; }

}  // namespace ttscale::testing
