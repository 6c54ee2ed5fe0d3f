// ttscale/toy/scripted.hpp: scripted generators and verifiers for exact tests.
//
// scripted_generator replays fixed completions, so a test knows every step a
// strategy will see; it also records every call's batch size, which is how a
// test proves a strategy is batch-first (it is not thread-safe).
// function_prm / function_orm are ttscale::process_verifier_from /
// outcome_verifier_from (ttscale/from_function.hpp: any shape those accept)
// plus a record of the batch sizes of the first `recorded_calls_limit`
// calls and a count of all calls: memory stays bounded however long a search
// runs, and with the `concurrent_calls` tag they are thread-safe. A program
// that only needs a verifier from a lambda uses the ttscale:: adapters.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/from_function.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <mutex>
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

namespace detail {
/// What function_prm / function_orm record: the batch sizes of the first
/// recorded_calls_limit calls and the count of all calls, under a mutex.
/// Copying copies the record, not the mutex.
class call_record {
 public:
  static constexpr std::size_t recorded_calls_limit = 4096;

  call_record() = default;
  call_record(const call_record& other) : batch_sizes(other.batch_sizes), calls(other.calls) {}
  call_record& operator=(const call_record& other) {
    if (this != &other) {
      batch_sizes = other.batch_sizes;
      calls = other.calls;
    }
    return *this;
  }

  std::vector<std::size_t> batch_sizes{};  ///< items per call, for the first recorded_calls_limit calls
  std::size_t calls = 0;                   ///< every call

 protected:
  void record(std::size_t batch) {
    std::lock_guard lock(mutex_);
    if (batch_sizes.size() < recorded_calls_limit) batch_sizes.push_back(batch);
    ++calls;
  }

 private:
  std::mutex mutex_;
};
}  // namespace detail

/// A process verifier from `score` (e.g. `double(const trajectory&)`, the
/// newest step's score; any shape process_verifier_from accepts) that
/// records its calls in `batch_sizes` and `calls`.
template <class F, call_policy Calls = sequential_calls_t>
class function_prm : public detail::call_record {
 public:
  static constexpr bool thread_safe = std::same_as<Calls, concurrent_calls_t>;

  explicit function_prm(F score, Calls = Calls{}) : verifier_(std::move(score)) {}

  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    record(prefixes.size());
    verifier_.score_steps(prefixes, out);
  }

 private:
  function_process_verifier<F, Calls> verifier_;
};

/// An outcome verifier from `score` (e.g. `double(const trajectory&)`; any
/// shape outcome_verifier_from accepts) that records its calls as function_prm does.
template <class F, call_policy Calls = sequential_calls_t>
class function_orm : public detail::call_record {
 public:
  static constexpr bool thread_safe = std::same_as<Calls, concurrent_calls_t>;

  explicit function_orm(F score, Calls = Calls{}) : verifier_(std::move(score)) {}

  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) {
    record(finished.size());
    verifier_.score_outcomes(finished, out);
  }

 private:
  function_outcome_verifier<F, Calls> verifier_;
};

}  // namespace toy
TTSCALE_END_NAMESPACE
