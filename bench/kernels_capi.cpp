// kernels_capi.cpp: a C ABI over ttscale's public kernels, for bench/kernels_vs_numpy.py.
//
// The comparison with numpy and numba runs in one Python process: this shared library is
// loaded with ctypes (once per build: the default build and the -march=native one, both
// in one process), so the peer and ttscale see the same arrays, the same timer and the
// same machine state. Only the functions below are exported (-fvisibility=hidden): two
// builds loaded together never share a symbol, an instruction-set choice or a workspace.
// Not a public API of ttscale: a benchmark shim, built only with the benchmarks.
//
// Every function returns 0 on success; on an exception it returns -1 and
// ttscale_last_error() gives the message (the kernels' own error text).
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/ess.hpp>
#include <ttscale/kernels/log_weights.hpp>
#include <ttscale/kernels/resample.hpp>
#include <ttscale/random.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>

#define TTSCALE_CAPI extern "C" __attribute__((visibility("default")))

namespace {

namespace k = ttscale::kernels;

// One engine and one workspace per loaded build: the workspace grows on the first call
// and is reused, as a particle filter reuses it.
struct capi_state {
  ttscale::random_engine engine{42};
  k::resample_workspace workspace;
  std::string last_error;
};

capi_state& state() {
  static capi_state s;
  return s;
}

template <class F>
int guarded(F&& f) noexcept {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    state().last_error = e.what();
  } catch (...) {
    state().last_error = "unknown exception";
  }
  return -1;
}

template <class Scheme>
int resample_with(Scheme scheme, const double* log_weights, std::size_t n, std::int64_t* out, std::size_t m) noexcept {
  return guarded([&] {
    k::resample(scheme, std::span<const double>(log_weights, n), std::span<std::int64_t>(out, m), state().engine,
                state().workspace);
  });
}

}  // namespace

/// The message of the last failed call ("" if none failed).
TTSCALE_CAPI const char* ttscale_last_error() { return state().last_error.c_str(); }

/// The level the kernels run at ("scalar", "sse2", "avx2", "avx512", "neon"), choosing it
/// if no kernel ran yet. Returns "error" if TTSCALE_ISA names a bad level.
TTSCALE_CAPI const char* ttscale_isa() {
  static std::string name;
  if (guarded([] { name = std::string(k::isa_name(k::active_isa())); }) != 0) return "error";
  return name.c_str();
}

/// Whether this build dispatches at run time (1) or runs one level fixed at compile time (0).
TTSCALE_CAPI int ttscale_isa_dispatched() {
#ifdef TTSCALE_KERNELS_STATIC_LEVEL
  return 0;
#else
  return 1;
#endif
}

/// Runs later calls at the named level (force_isa); -1 if the CPU or build lacks it.
TTSCALE_CAPI int ttscale_force_isa(const char* name) {
  return guarded([&] {
    for (const k::isa level : {k::isa::scalar, k::isa::sse2, k::isa::avx2, k::isa::avx512, k::isa::neon})
      if (k::isa_name(level) == name) return k::force_isa(level);
    throw ttscale::invalid_argument(std::string("unknown instruction set ") + name);
  });
}

/// Reseeds the engine the resampling functions draw their uniforms from.
TTSCALE_CAPI void ttscale_seed(std::uint64_t seed) { state().engine = ttscale::random_engine(seed); }

/// out = softmax(x) (exp-normalise); *lse = logsumexp(x).
TTSCALE_CAPI int ttscale_softmax(const double* x, double* out, std::size_t n, double* lse) {
  return guarded([&] { *lse = k::softmax(std::span<const double>(x, n), std::span<double>(out, n)); });
}

TTSCALE_CAPI int ttscale_logsumexp(const double* x, std::size_t n, double* result) {
  return guarded([&] { *result = k::logsumexp(std::span<const double>(x, n)); });
}

/// ESS = (sum w)^2 / sum w^2 with w = exp(log_weights).
TTSCALE_CAPI int ttscale_ess(const double* log_weights, std::size_t n, double* result) {
  return guarded([&] { *result = k::effective_sample_size(std::span<const double>(log_weights, n)); });
}

/// The streaming floor: a plain sum of n doubles (one read of the array), 8 independent
/// accumulators so the adds are not one latency-bound chain; no -ffast-math needed.
TTSCALE_CAPI double ttscale_sum(const double* x, std::size_t n) {
  double a[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) a[l] += x[i + l];
  double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}

/// M = m ancestors (ascending) from n log-weights: kernels::resample with the scheme named.
TTSCALE_CAPI int ttscale_resample_systematic(const double* lw, std::size_t n, std::int64_t* out, std::size_t m) {
  return resample_with(k::systematic, lw, n, out, m);
}
TTSCALE_CAPI int ttscale_resample_stratified(const double* lw, std::size_t n, std::int64_t* out, std::size_t m) {
  return resample_with(k::stratified, lw, n, out, m);
}
TTSCALE_CAPI int ttscale_resample_multinomial(const double* lw, std::size_t n, std::int64_t* out, std::size_t m) {
  return resample_with(k::multinomial, lw, n, out, m);
}
TTSCALE_CAPI int ttscale_resample_residual(const double* lw, std::size_t n, std::int64_t* out, std::size_t m) {
  return resample_with(k::residual, lw, n, out, m);
}
TTSCALE_CAPI int ttscale_resample_ssp(const double* lw, std::size_t n, std::int64_t* out, std::size_t m) {
  return resample_with(k::ssp, lw, n, out, m);
}
