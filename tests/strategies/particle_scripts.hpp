// Scripts shared by the particle-method tests (particle_filter, entropic
// particle filter, particle Gibbs).
#pragma once

#include <ttscale/toy/scripted.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace particle_test {

/// Four scripts of `steps` steps of one token each, the last one finished
/// with \boxed{script}. The scripted generator gives slot s script s in round
/// 0 (root extensions in call order), and a particle's script index rides in
/// engine_state, so copies continue their ancestor's script.
inline std::vector<ttscale::toy::script> four_scripts(std::size_t steps) {
  std::vector<ttscale::toy::script> out(4);
  for (std::size_t s = 0; s < 4; ++s) {
    const char digit = static_cast<char>('0' + s);
    for (std::size_t d = 0; d + 1 < steps; ++d) {
      std::string text(1, 's');  // "s<script>d<depth> " (built with +=: GCC 12 warns on operator+ chains)
      text += digit;
      text += 'd';
      text += static_cast<char>('0' + d);
      text += ' ';
      out[s].push_back(ttscale::toy::scripted_step(text, false, 1));
    }
    std::string last = "\\boxed{";
    last += digit;
    last += '}';
    out[s].push_back(ttscale::toy::scripted_step(last, true, 1));
  }
  return out;
}

/// The script a scripted particle follows.
inline std::size_t script_of(const ttscale::trajectory& t) { return static_cast<std::size_t>(t.last_step().engine_state); }

}  // namespace particle_test
