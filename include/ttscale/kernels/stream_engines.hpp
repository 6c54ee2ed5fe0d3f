// ttscale/kernels/stream_engines.hpp: the random engines of many streams at once.
//
// stream_engines(seed, keys, out): out[i] = random_engine(seed, keys[i]) (random.hpp), the
// engines a batched generator call receives, one per item and round. Each engine costs
// seven splitmix64 finalisers (14 64-bit multiplies); the items are independent, so at the
// AVX-512 level (vpmullq) the compiler computes eight at a time: 5.0 ns an engine against
// 11.5 at the baseline on the Xeon of bench/README-kernels.md. Exact (integer arithmetic):
// every level and the scalar twin give bit-identical engines. O(N), no allocation.
//
// Errors: keys.size() != out.size() -> size_mismatch.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/random.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

// The per-level loops, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/stream_engines_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {
inline void check_stream_engines_sizes(std::size_t keys, std::size_t out) {
  if (keys != out)
    throw size_mismatch("stream_engines: " + std::to_string(keys) + " keys for " + std::to_string(out) + " engines");
}
}  // namespace detail

/// out[i] = random_engine(seed, keys[i]). Throws size_mismatch if the sizes differ.
inline void stream_engines(std::uint64_t seed, std::span<const stream_key> keys, std::span<random_engine> out) {
  detail::check_stream_engines_sizes(keys.size(), out.size());
  // The loop is integer-only; the double register set only names the level.
  detail::dispatch<double>([&]<class Ops>(std::type_identity<Ops>) { detail::stream_engines<Ops>(seed, keys, out); });
}

/// The scalar reference.
namespace scalar {
inline void stream_engines(std::uint64_t seed, std::span<const stream_key> keys, std::span<random_engine> out) {
  kernels::detail::check_stream_engines_sizes(keys.size(), out.size());
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = random_engine(seed, keys[i]);
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
