// ttscale/random.hpp: small counter-derived random streams.
//
// Determinism across batch sizes and thread counts comes from giving every
// unit of random work its own stream, derived from (seed, stream key), rather
// than drawing from one shared engine in whatever order calls happen to run.
// `random_engine` is xoshiro256** (Blackman & Vigna 2018): 32 bytes of state,
// so a million particles can each own one; it is seeded from splitmix64 of the
// mixed key, which decorrelates neighbouring keys. It satisfies
// std::uniform_random_bit_generator, so <random> distributions accept it.
// uniform01(g) is the one [0, 1) double with 53 random bits, for this engine
// (random_engine::uniform()) and any other (the resampling kernels take it).
#pragma once

#include <ttscale/config.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <random>

TTSCALE_BEGIN_NAMESPACE

namespace detail {
/// splitmix64 finaliser: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace detail

/// Identifies one random stream inside a search: e.g. (candidate index, depth)
/// for best-of-N, (parent node, child index) for a tree search.
struct stream_key {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  friend constexpr bool operator==(const stream_key&, const stream_key&) = default;
};

/// Combines a seed with a key into the seed of an independent stream.
constexpr std::uint64_t derive_seed(std::uint64_t seed, stream_key key) noexcept {
  return detail::mix64(detail::mix64(seed ^ detail::mix64(key.a)) ^ detail::mix64(key.b + 0x632be59bd9b4e019ULL));
}

/// A uniform double in [0, 1) with 53 random bits from any uniform_random_bit_generator.
/// A 64-bit engine gives (g() >> 11) * 2^-53 (random_engine::uniform() is this); a 32-bit
/// one joins 27 + 26 bits of two draws; any other range goes through generate_canonical.
template <std::uniform_random_bit_generator Engine>
[[nodiscard]] constexpr double uniform01(Engine& g) {
  using U = typename Engine::result_type;
  constexpr auto range = static_cast<std::uint64_t>(Engine::max() - Engine::min());
  if constexpr (range == std::numeric_limits<std::uint64_t>::max()) {
    return static_cast<double>((static_cast<std::uint64_t>(g() - Engine::min())) >> 11) * 0x1.0p-53;
  } else if constexpr (range == 0xFFFFFFFFull) {
    const std::uint64_t hi = static_cast<std::uint64_t>(static_cast<U>(g() - Engine::min())) >> 5;  // 27 bits
    const std::uint64_t lo = static_cast<std::uint64_t>(static_cast<U>(g() - Engine::min())) >> 6;  // 26 bits
    return static_cast<double>((hi << 26) | lo) * 0x1.0p-53;
  } else {
    // generate_canonical may return 1.0 (LWG 2524); keep the documented [0, 1).
    const double u = std::generate_canonical<double, 53>(g);
    return u < 1.0 ? u : 0x1.fffffffffffffp-1;
  }
}

class random_engine {
 public:
  using result_type = std::uint64_t;

  constexpr random_engine() noexcept : random_engine(0) {}
  constexpr explicit random_engine(std::uint64_t seed) noexcept {
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      word = detail::mix64(seed);
    }
  }
  /// The stream for `key` under `seed`: the same pair always gives the same stream.
  constexpr random_engine(std::uint64_t seed, stream_key key) noexcept
      : random_engine(derive_seed(seed, key)) {}

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// A double uniform in [0, 1) with 53 random bits.
  constexpr double uniform() noexcept { return uniform01(*this); }

  friend constexpr bool operator==(const random_engine&, const random_engine&) = default;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> state_{};
};

static_assert(std::uniform_random_bit_generator<random_engine>);

/// Draws a 64-bit base seed from any caller engine: strategies take the
/// caller's engine (no hidden global state) and derive every stream from it.
template <std::uniform_random_bit_generator Engine>
std::uint64_t draw_seed(Engine& engine) {
  std::uniform_int_distribution<std::uint64_t> dist;
  return dist(engine);
}

TTSCALE_END_NAMESPACE
