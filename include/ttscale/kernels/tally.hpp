// ttscale/kernels/tally.hpp: (weighted) vote counting over 64-bit answer hashes.
//
// Majority and weighted-majority voting (self-consistency, Wang et al. 2023; weighted
// best-of-N) reduce to: sum the weight of each distinct answer key, pick the largest.
// tally() uses an open-addressing hash table (linear probing, splitmix64 finaliser, load
// <= 1/2) kept in a caller-owned `tally_workspace`: it allocates only when the workspace
// must grow, so a strategy calling it every step allocates once. O(n) expected time.
// There is no SIMD path: the work is hash-table probes, bound by memory latency, not
// arithmetic. `scalar::tally` is the O(n * distinct) linear-search reference.
//
// Winner: the key with the largest total weight (count when unweighted); ties go to the
// key that appears FIRST in `keys`. Totals are accumulated in double.
// Errors: empty keys -> invalid_argument (no winner); keys/weights size differ ->
// size_mismatch; a NaN or infinite weight -> invalid_score naming its index. Negative
// finite weights are accepted (e.g. log-probabilities used as scores).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/error_text.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// One distinct answer: its key, total weight, number of votes and first position.
struct tally_entry {
  std::uint64_t key = 0;
  double weight = 0.0;
  std::size_t count = 0;
  std::size_t first = 0;
  friend bool operator==(const tally_entry&, const tally_entry&) = default;
};

/// Result of tally(): the winner and a view of every entry in order of first appearance.
/// `entries` points into the workspace and is valid until its next use.
struct tally_result {
  std::uint64_t winner = 0;
  double winner_weight = 0.0;
  std::size_t winner_count = 0;
  std::span<const tally_entry> entries;
};

class tally_workspace;
namespace detail {
template <class W>
tally_result tally_into(std::span<const std::uint64_t> keys, const W* weights, tally_workspace& ws);
}  // namespace detail

/// Reusable storage for tally(); grows (allocates) only when a call needs more room.
class tally_workspace {
 public:
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size() / 2; }

 private:
  template <class W>
  friend tally_result detail::tally_into(std::span<const std::uint64_t>, const W*, tally_workspace&);
  std::vector<tally_entry> entries_;
  std::vector<std::uint32_t> slots_;  // entry index + 1; 0 = empty
};

namespace detail {
inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The hash-table tally behind every overload, into the caller's workspace.
template <class W>
inline tally_result tally_into(std::span<const std::uint64_t> keys, const W* weights, tally_workspace& ws) {
  const std::size_t n = keys.size();
  if (n == 0) throw invalid_argument("tally: keys is empty (no winner)");
  if (n > 0x7fffffffu) throw invalid_argument("tally: more than 2^31 keys");
  if constexpr (!std::is_same_v<W, void>) {
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isfinite(weights[i]))
        throw invalid_score(index_name("tally", "weights", i) + " is " + value_text(weights[i]) + " (must be finite)");
  }
  std::size_t table = 16;
  while (table < 2 * n) table *= 2;
  if (ws.slots_.size() < table) ws.slots_.resize(table);
  table = ws.slots_.size();
  std::fill(ws.slots_.begin(), ws.slots_.begin() + static_cast<std::ptrdiff_t>(table), 0u);
  ws.entries_.clear();
  ws.entries_.reserve(n);
  const std::size_t mask = table - 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t key = keys[i];
    double wt = 1.0;
    if constexpr (!std::is_same_v<W, void>) wt = static_cast<double>(weights[i]);
    std::size_t s = mix64(key) & mask;
    while (true) {
      const std::uint32_t e = ws.slots_[s];
      if (e == 0) {
        ws.slots_[s] = static_cast<std::uint32_t>(ws.entries_.size() + 1);
        ws.entries_.push_back({key, wt, 1, i});
        break;
      }
      tally_entry& t = ws.entries_[e - 1];
      if (t.key == key) {
        t.weight += wt;
        ++t.count;
        break;
      }
      s = (s + 1) & mask;
    }
  }
  const tally_entry* best = &ws.entries_[0];
  for (const tally_entry& e : ws.entries_)
    if (e.weight > best->weight) best = &e;  // strict: ties keep the earlier key
  return {best->key, best->weight, best->count, std::span<const tally_entry>(ws.entries_)};
}

}  // namespace detail

/// Weighted tally: totals of `weights` per distinct key.
inline tally_result tally(std::span<const std::uint64_t> keys, std::span<const float> weights, tally_workspace& ws) {
  if (keys.size() != weights.size())
    throw size_mismatch("tally: " + std::to_string(keys.size()) + " keys but " + std::to_string(weights.size()) +
                        " weights");
  return detail::tally_into<float>(keys, weights.data(), ws);
}
inline tally_result tally(std::span<const std::uint64_t> keys, std::span<const double> weights, tally_workspace& ws) {
  if (keys.size() != weights.size())
    throw size_mismatch("tally: " + std::to_string(keys.size()) + " keys but " + std::to_string(weights.size()) +
                        " weights");
  return detail::tally_into<double>(keys, weights.data(), ws);
}
/// Unweighted tally (majority vote): every key counts 1.
inline tally_result tally(std::span<const std::uint64_t> keys, tally_workspace& ws) {
  return detail::tally_into<void>(keys, nullptr, ws);
}

namespace scalar {
/// Reference result: owns its entries (allocates).
struct tally_result {
  std::uint64_t winner = 0;
  double winner_weight = 0.0;
  std::size_t winner_count = 0;
  std::vector<tally_entry> entries;
};
}  // namespace scalar

namespace detail {
// The scalar reference: linear search over the distinct keys, O(n * distinct).
template <class W>
inline scalar::tally_result reference_tally(std::span<const std::uint64_t> keys, const W* weights) {
  if (keys.empty()) throw invalid_argument("tally: keys is empty (no winner)");
  scalar::tally_result r;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    double wt = 1.0;
    if constexpr (!std::is_same_v<W, void>) {
      if (!std::isfinite(weights[i]))
        throw invalid_score(index_name("tally", "weights", i) + " is " + value_text(weights[i]) + " (must be finite)");
      wt = static_cast<double>(weights[i]);
    }
    bool found = false;
    for (tally_entry& e : r.entries)
      if (e.key == keys[i]) {
        e.weight += wt;
        ++e.count;
        found = true;
        break;
      }
    if (!found) r.entries.push_back({keys[i], wt, 1, i});
  }
  std::size_t b = 0;
  for (std::size_t i = 1; i < r.entries.size(); ++i)
    if (r.entries[i].weight > r.entries[b].weight) b = i;
  r.winner = r.entries[b].key;
  r.winner_weight = r.entries[b].weight;
  r.winner_count = r.entries[b].count;
  return r;
}
}  // namespace detail

namespace scalar {
inline tally_result tally(std::span<const std::uint64_t> keys, std::span<const float> weights) {
  if (keys.size() != weights.size()) throw size_mismatch("tally: keys and weights differ in size");
  return kernels::detail::reference_tally<float>(keys, weights.data());
}
inline tally_result tally(std::span<const std::uint64_t> keys, std::span<const double> weights) {
  if (keys.size() != weights.size()) throw size_mismatch("tally: keys and weights differ in size");
  return kernels::detail::reference_tally<double>(keys, weights.data());
}
inline tally_result tally(std::span<const std::uint64_t> keys) {
  return kernels::detail::reference_tally<void>(keys, nullptr);
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
