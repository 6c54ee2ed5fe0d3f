// ttscale/kernels/detail/stream_engines_body.hpp: the per-level body of
// kernels/stream_engines.hpp.
//
// Users never include this. kernels/stream_engines.hpp includes it once per instruction-set
// level through detail/foreach_level.hpp; inside the level's target region the compiler
// vectorises the loop across items (random_engine's constructor is constexpr and inlines).
// Included on its own (as the header-set check does), it includes kernels/stream_engines.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/stream_engines.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline void stream_engines(std::uint64_t seed, std::span<const stream_key> keys, std::span<random_engine> out) {
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = random_engine(seed, keys[i]);
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
