// ttscale/detail/stream_keys.hpp: every fixed stream key the strategies use,
// in one place, so none can coincide with another.
//
// A stream key is a pair (a, b) (random.hpp). Item streams use an item's
// number as `a`: a candidate index (rollout, first-finish), a node id
// (step-level searches), or a particle slot | sweep << 32 (particle methods,
// fewer than 2^30 sweeps). None of these reaches bit 62 (rollouts from
// nodes set bit 62, below) or bit 63, so the strategy-level
// streams below — tagged with bit 63 — can never coincide with an item's
// stream, and the static_asserts keep the tags distinct.
#pragma once

#include <ttscale/config.hpp>

#include <cstdint>

TTSCALE_BEGIN_NAMESPACE
namespace detail {

namespace stream_tag {
inline constexpr std::uint64_t tagged = std::uint64_t{1} << 63;
/// beam_search with a temperature: the Gumbel-top-k draw of round `depth` (b = depth).
inline constexpr std::uint64_t beam_selection = tagged | 1;
/// particle methods: the resampling of round t in sweep k (b = k << 32 | t).
inline constexpr std::uint64_t particle_resampling = tagged | 2;
/// particle Gibbs: the draw of the next sweep's reference after sweep k (b = k).
inline constexpr std::uint64_t reference_pick = tagged | 3;

static_assert(beam_selection != particle_resampling && beam_selection != reference_pick &&
              particle_resampling != reference_pick);
}  // namespace stream_tag

/// The tag of `a` in a rollout from nodes other than the root (rollout.hpp):
/// a = rollout_from_node | (rollout index), so these streams never coincide
/// with a root rollout's (a = candidate index) or a step search's (a = node id).
inline constexpr std::uint64_t rollout_from_node = std::uint64_t{1} << 62;

/// The `b` of a look-ahead step's stream (a = the node it starts from): above
/// any child index a node can have in one round, so look-ahead streams never
/// coincide with the streams of the node's children.
inline constexpr std::uint64_t lookahead_child = std::uint64_t{1} << 40;

}  // namespace detail
TTSCALE_END_NAMESPACE
