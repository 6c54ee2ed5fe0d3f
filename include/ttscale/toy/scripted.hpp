// ttscale/toy/scripted.hpp: scripted generators and verifiers for exact tests.
//
// scripted_generator replays fixed completions, so a test knows every step a
// strategy will see; it also records every call's batch size, which is how a
// test proves a strategy is batch-first. function_prm / function_orm wrap a
// callable as a process / outcome verifier (a score per trajectory) and count
// their calls. None of these is thread-safe.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace toy {

/// A completion for scripted_generator: its steps in order (the last one
/// should be finished, or the candidate runs until the strategy's step limit).
using script = std::vector<step>;

/// A step with `tokens` tokens (default: one per whitespace-separated word).
inline step scripted_step(std::string text, bool finished = false, std::uint32_t tokens = 0, double logprob = 0.0) {
  if (tokens == 0) {
    bool in_word = false;
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++tokens;
      in_word = !space;
    }
  }
  return step{std::move(text), tokens, logprob, finished, 0};
}

/// Replays scripts. A trajectory at the root is assigned script
/// (k mod scripts.size()), k counting root extensions in call order; deeper
/// trajectories continue their script (its index rides in engine_state). Past
/// the end of a script it repeats the last step unfinished ("never finishes").
class scripted_generator {
 public:
  explicit scripted_generator(std::vector<script> scripts) : scripts_(std::move(scripts)) {
    if (scripts_.empty()) throw invalid_argument("scripted_generator: no scripts");
    for (std::size_t i = 0; i < scripts_.size(); ++i)
      if (scripts_[i].empty()) throw invalid_argument("scripted_generator: script " + std::to_string(i) + " is empty");
  }

  void extend(std::span<const trajectory> prefixes, std::span<random_engine>, std::span<step> out) {
    batch_sizes.push_back(prefixes.size());
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const trajectory& p = prefixes[i];
      const std::size_t which = p.is_root() ? next_root_++ % scripts_.size()
                                            : static_cast<std::size_t>(p.last_step().engine_state);
      const script& s = scripts_[which];
      const std::size_t depth = p.depth();
      if (depth < s.size()) {
        out[i] = s[depth];
      } else {
        out[i] = s.back();
        out[i].finished = false;
      }
      out[i].engine_state = static_cast<std::int64_t>(which);
    }
  }

  std::vector<std::size_t> batch_sizes;  ///< one entry per call: how many prefixes it extended

 private:
  std::vector<script> scripts_;
  std::size_t next_root_ = 0;
};

/// A process verifier from `score(const trajectory&) -> double` (the newest step's score).
template <class F>
struct function_prm {
  F score;
  std::vector<std::size_t> batch_sizes{};
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    batch_sizes.push_back(prefixes.size());
    for (std::size_t i = 0; i < prefixes.size(); ++i) out[i] = score(prefixes[i]);
  }
};
template <class F>
function_prm(F) -> function_prm<F>;

/// An outcome verifier from `score(const trajectory&) -> double`.
template <class F>
struct function_orm {
  F score;
  std::vector<std::size_t> batch_sizes{};
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) {
    batch_sizes.push_back(finished.size());
    for (std::size_t i = 0; i < finished.size(); ++i) out[i] = score(finished[i]);
  }
};
template <class F>
function_orm(F) -> function_orm<F>;

}  // namespace toy
TTSCALE_END_NAMESPACE
