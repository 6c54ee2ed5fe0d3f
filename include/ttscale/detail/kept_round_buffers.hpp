// ttscale/detail/kept_round_buffers.hpp: the per-round buffers of finished
// searches, kept per thread for the next search.
//
// search_context::extend writes a round's steps into slots it keeps from
// round to round (a generator assigning out[i].text reuses the string's
// capacity) and derives the round's engines into a buffer it keeps too. Both
// used to go with the search_context, so every search malloc'd them again:
// N strings of a step's text (40 characters are past the small-string
// buffer) and N engines, freed at its end. At N = 256 with 40-character steps
// that was ~0.8 µs of a ~15 µs beam round once spread over 32 rounds; at
// N = 65,536 the 6 MB of slots and engines came from mmap and faulted in again
// at every search (bench/README-kernels.md, "Bulk appends").
//
// A search takes this thread's kept buffers when it starts and gives its own
// back when it ends, cut to the slots it used, where they are kept if they
// hold at most `kept_round_bytes` (the strings' capacity counted).
// Nothing is shared between threads, nothing locks; a thread's buffers are
// freed when it exits. Not observable: extend_and_account resets every slot
// before a generator sees it, and the engines are overwritten before use.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

/// The most bytes of round buffers a thread keeps between searches (a
/// 65,536-slot round with 40-character steps is ~9 MB).
inline constexpr std::size_t kept_round_bytes = std::size_t{16} << 20;

struct round_buffers {
  std::vector<step> steps;            ///< extend's output slots
  std::vector<random_engine> engines; ///< extend's engines for stream keys
  std::size_t steps_used = 0;         ///< the most slots one round of this search used

  /// The first n step slots (grown if needed; texts keep their capacity).
  std::span<step> step_slots(std::size_t n) {
    if (steps.size() < n) steps.resize(n);
    steps_used = std::max(steps_used, n);
    return std::span<step>(steps).first(n);
  }
  /// n engine slots.
  std::span<random_engine> engine_slots(std::size_t n) {
    engines.resize(n);
    return engines;
  }
};

class kept_round_buffers {
 public:
  /// This thread's kept buffers (empty if none, or during thread exit).
  static round_buffers take() noexcept {
    kept_round_buffers* k = of_this_thread();
    return k ? std::exchange(k->kept_, round_buffers{}) : round_buffers{};
  }
  /// Keeps a finished search's buffers for the next search on this thread,
  /// cut to the slots it used (so a small search after a large one does not
  /// carry the large one's slots), if they hold at most kept_round_bytes;
  /// otherwise they are freed with `b`. O(slots used).
  static void give_back(round_buffers& b) noexcept {
    kept_round_buffers* k = of_this_thread();
    if (!k) return;
    b.steps.resize(std::min(b.steps.size(), b.steps_used));  // shrinking: no allocation
    std::size_t bytes = b.steps.capacity() * sizeof(step) + b.engines.capacity() * sizeof(random_engine);
    for (step& s : b.steps) {
      bytes += s.text.capacity();  // clear() keeps it
      s.text.clear();              // no text of a finished search stays behind
    }
    if (bytes > kept_round_bytes) return;
    b.steps_used = 0;
    k->kept_ = std::move(b);
  }

 private:
  kept_round_buffers() = default;
  ~kept_round_buffers() { alive_ = false; }
  static kept_round_buffers* of_this_thread() noexcept {
    thread_local kept_round_buffers k;
    return alive_ ? &k : nullptr;
  }
  round_buffers kept_;
  // Trivially destructible, so it stays readable after `k` is destroyed.
  static inline thread_local bool alive_ = true;
};

}  // namespace detail
TTSCALE_END_NAMESPACE
