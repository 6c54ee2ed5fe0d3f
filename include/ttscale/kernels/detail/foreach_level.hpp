// ttscale/kernels/detail/foreach_level.hpp: compiles one kernel body once per level.
//
// Users never include this. A kernel header defines TTSCALE_KERNELS_BODY as the path of
// its body (detail/*_body.hpp) and includes this file, which includes the body once for
// each level compiled into the build: the baseline (scalar, SSE2 or NEON registers, the
// compiler's own flags), then AVX2+FMA and AVX-512 inside their target regions (simd.hpp).
// Each inclusion defines the same templates for the register sets of one level only
// (TTSCALE_KERNELS_AT_LEVEL: a requires-clause on Ops::level), so every instantiation is
// distinct per level, inline, and compiled with that level's target: ODR-safe in a
// header-only library, and the register layer inlines into it. No #pragma once: included
// once per body. Included without TTSCALE_KERNELS_BODY (e.g. compiled on its own, as
// CMake's header-set verification does) it does nothing.
#ifdef TTSCALE_KERNELS_BODY

#define TTSCALE_KERNELS_LEVEL level_baseline
#include TTSCALE_KERNELS_BODY
#undef TTSCALE_KERNELS_LEVEL

#ifdef TTSCALE_KERNELS_HAS_AVX2
TTSCALE_KERNELS_BEGIN_AVX2
#define TTSCALE_KERNELS_LEVEL level_avx2
#include TTSCALE_KERNELS_BODY
#undef TTSCALE_KERNELS_LEVEL
TTSCALE_KERNELS_END_TARGET
#endif

#ifdef TTSCALE_KERNELS_HAS_AVX512
TTSCALE_KERNELS_BEGIN_AVX512
#define TTSCALE_KERNELS_LEVEL level_avx512
#include TTSCALE_KERNELS_BODY
#undef TTSCALE_KERNELS_LEVEL
TTSCALE_KERNELS_END_TARGET
#endif

#undef TTSCALE_KERNELS_BODY
#endif  // TTSCALE_KERNELS_BODY
