// ttscale/kernels/dispatch.hpp: which instruction set the kernels run, chosen once per
// process from the CPU.
//
// Every kernel is compiled for the baseline of the build (SSE2 on any x86-64, NEON on
// AArch64, or what -march enables) and, with GCC or Clang on x86-64, also for AVX2+FMA and
// AVX-512 (F, CD, BW, DQ, VL) through target attributes, whatever -march says. The first
// kernel call picks the widest level the CPU supports (cpuid, through
// __builtin_cpu_supports, which also checks that the OS saves the wide registers), or the
// level named by the environment variable TTSCALE_ISA (scalar, sse2, avx2, avx512, neon),
// and keeps it: one relaxed atomic load and a switch at each kernel's entry, never per
// element (none at all in a static -march build, below). force_isa() changes the level at any time (tests and benchmarks run every
// level in one process with it). Results of a level do not depend on how it was reached:
// the default build forced to AVX2 runs the same instructions on the same data as a
// -march=haswell build.
//   kernels::active_isa()                   // what runs, e.g. isa::avx512
//   kernels::force_isa(kernels::isa::avx2)  // throws invalid_argument if the CPU lacks it
//   TTSCALE_ISA=sse2 ./my_program           // read once, at the first kernel call
// `scalar` runs the kernels' width-1 register set (the same algorithms, one lane), not the
// kernels::scalar reference twins.
//
// Static builds. When the compiler's own flags already enable every feature of the widest
// level (x86-64: AVX-512 F, CD, BW, DQ, VL with AVX2, FMA, BMI, BMI2, POPCNT, as
// -march=native on an AVX-512 CPU or -march=x86-64-v4 give), there is nothing to choose:
// each kernel calls that level directly (no atomic load, no switch; `isa_static` is true).
// Such a build has one level: isa_supported() is true for it alone, active_isa() returns
// it, force_isa() accepts it and throws invalid_argument for any other, and TTSCALE_ISA is
// not read (tests skip the other levels, as for a level the CPU lacks). A -march build
// that must still run the narrower levels (to test them, or to compare) defines
// TTSCALE_KERNELS_RUNTIME_DISPATCH and dispatches as the default build does. Every
// translation unit of a program must see the same choice (as with any -march flag).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>

#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// An instruction-set level of the kernels, from narrow to wide.
enum class isa { scalar, sse2, avx2, avx512, neon };

/// The level's name as TTSCALE_ISA spells it ("scalar", "sse2", "avx2", "avx512", "neon").
[[nodiscard]] constexpr std::string_view isa_name(isa level) noexcept {
  switch (level) {
    case isa::sse2: return "sse2";
    case isa::avx2: return "avx2";
    case isa::avx512: return "avx512";
    case isa::neon: return "neon";
    default: return "scalar";
  }
}

/// True if the level is fixed at compile time (see "Static builds" above): the kernels run
/// it without a run-time choice, and no other level can be forced.
#ifdef TTSCALE_KERNELS_STATIC_LEVEL
inline constexpr bool isa_static = true;
#else
inline constexpr bool isa_static = false;
#endif

/// True if this build compiled the level and the CPU (and OS) can run it; in a static
/// build, true for its one level only.
[[nodiscard]] inline bool isa_supported(isa level) noexcept {
#ifdef TTSCALE_KERNELS_STATIC_LEVEL
  return level == isa::avx512;
#else
  switch (level) {
    case isa::scalar: return true;
#ifdef TTSCALE_KERNELS_HAS_SSE2
    case isa::sse2: return true;
#endif
#ifdef TTSCALE_KERNELS_HAS_NEON
    case isa::neon: return true;
#endif
#if defined(TTSCALE_KERNELS_DISPATCH)
    case isa::avx2:
    case isa::avx512: {
      __builtin_cpu_init();
      const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                      __builtin_cpu_supports("popcnt");
      if (level == isa::avx2) return v3;
      return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
    }
#else
#ifdef TTSCALE_KERNELS_HAS_AVX2
    case isa::avx2: return true;  // the build's baseline (-march) has it
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX512
    case isa::avx512: return true;
#endif
#endif
    default: return false;
  }
#endif
}

/// The widest level isa_supported() accepts.
[[nodiscard]] inline isa best_isa() noexcept {
  for (const isa level : {isa::avx512, isa::avx2, isa::neon, isa::sse2})
    if (isa_supported(level)) return level;
  return isa::scalar;
}

namespace detail {

inline std::string supported_isa_list() {
  std::string r;
  for (const isa level : {isa::scalar, isa::sse2, isa::avx2, isa::avx512, isa::neon})
    if (isa_supported(level)) r += (r.empty() ? "" : ", ") + std::string(isa_name(level));
  return r;
}

inline void check_isa(const char* fn, isa level) {
  if (!isa_supported(level))
    throw invalid_argument(std::string(fn) + ": instruction set " + std::string(isa_name(level)) +
                           " is not available on this CPU or in this build (available: " + supported_isa_list() +
                           (isa_static ? "; a static -march build: define TTSCALE_KERNELS_RUNTIME_DISPATCH to force "
                                         "other levels"
                                       : "") +
                           ")");
}

// TTSCALE_ISA, or the best level when it is unset or empty. Throws on an unknown or
// unsupported name (again at the next kernel call: the choice is only kept once valid).
inline isa isa_from_environment() {
  const char* env = std::getenv("TTSCALE_ISA");
  if (env == nullptr || *env == '\0') return best_isa();
  for (const isa level : {isa::scalar, isa::sse2, isa::avx2, isa::avx512, isa::neon})
    if (isa_name(level) == env) {
      check_isa("TTSCALE_ISA", level);
      return level;
    }
  throw invalid_argument("TTSCALE_ISA: unknown instruction set \"" + std::string(env) +
                         "\" (expected scalar, sse2, avx2, avx512 or neon; available here: " + supported_isa_list() +
                         ")");
}

// The level in use, -1 until the first kernel call or force_isa. One per process: an inline
// function's static is shared by every translation unit.
inline std::atomic<int>& isa_choice() noexcept {
  static std::atomic<int> choice{-1};
  return choice;
}

}  // namespace detail

/// The level the kernels run at (chosen at the first call: TTSCALE_ISA or the CPU's best).
/// Throws invalid_argument if TTSCALE_ISA names an unknown level or one the CPU lacks.
[[nodiscard]] inline isa active_isa() {
#ifdef TTSCALE_KERNELS_STATIC_LEVEL
  return isa::avx512;
#else
  const int v = detail::isa_choice().load(std::memory_order_relaxed);
  if (v >= 0) [[likely]]
    return static_cast<isa>(v);
  const isa level = detail::isa_from_environment();
  int expected = -1;
  // A concurrent force_isa wins over the environment.
  if (!detail::isa_choice().compare_exchange_strong(expected, static_cast<int>(level), std::memory_order_relaxed))
    return static_cast<isa>(expected);
  return level;
#endif
}

/// Runs every later kernel call at `level` (for tests, benchmarks, or to rule out a wide
/// path). Throws invalid_argument, naming the level and the available ones, if this CPU or
/// build lacks it. Affects the whole process; safe to call concurrently with kernels (a
/// call already running finishes at its level).
inline void force_isa(isa level) {
  detail::check_isa("force_isa", level);
  if constexpr (isa_static) return;
  detail::isa_choice().store(static_cast<int>(level), std::memory_order_relaxed);
}

namespace detail {

// Calls f(std::type_identity<Ops>{}) with the register set of T at the active level: the one
// switch at each kernel's public entry. f instantiates the kernel for every level compiled
// in; only the chosen one runs.
template <class T, class F>
inline decltype(auto) dispatch(F&& f) {
#ifdef TTSCALE_KERNELS_STATIC_LEVEL
  return f(std::type_identity<ops<T, isa_avx512>>{});
#else
  switch (active_isa()) {
#ifdef TTSCALE_KERNELS_HAS_AVX512
    case isa::avx512: return f(std::type_identity<ops<T, isa_avx512>>{});
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX2
    case isa::avx2: return f(std::type_identity<ops<T, isa_avx2>>{});
#endif
#ifdef TTSCALE_KERNELS_HAS_SSE2
    case isa::sse2: return f(std::type_identity<ops<T, isa_sse2>>{});
#endif
#ifdef TTSCALE_KERNELS_HAS_NEON
    case isa::neon: return f(std::type_identity<ops<T, isa_neon>>{});
#endif
    default: return f(std::type_identity<ops<T, isa_scalar>>{});
  }
#endif
}

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE
