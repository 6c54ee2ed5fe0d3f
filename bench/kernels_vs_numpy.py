#!/usr/bin/env python3
"""ttscale's numeric kernels side by side with numpy and numba, in one process run.

Loads one or more builds of the C ABI shim (bench/kernels_capi.cpp, CMake targets
ttscale_kernels_capi and ttscale_kernels_capi_native) with ctypes and times, on the same
arrays and with the same timer (--timer cpu: the process's CPU time, time.process_time_ns,
as kernels_numeric_bench measures CPU time; --timer wall: time.perf_counter_ns), single-
threaded, the repetitions of all implementations interleaved (median of --reps, each of
enough calls to last --min-time seconds; ns per element), these float64 kernels:

  exp-normalise (softmax), logsumexp, ESS from log-weights (numpy also from normalised
  weights), and the resampling schemes from log-weights: systematic, multinomial,
  stratified, residual, SSP (M = N).

The numpy and numba peers below are idiomatic implementations written from the
definitions (Chopin & Papaspiliopoulos 2020, ch. 9: inverse CDF, uniform spacings,
systematic, stratified, residual; SSP: Gerber, Chopin & Whiteley 2019, Alg. 3), in the
style of nchopin/particles' resampling.py: weights = exp_and_normalise(log-weights), then
the scheme on the normalised weights. numba functions are compiled before timing.

Inputs (as bench/kernels_numeric_bench.cpp): for exp-normalise, logsumexp and ESS,
log-weights ~ N(0, 5^2) with 1 % -inf; for resampling, log-weights ~ N(0, 1). A pool of
4 arrays per kind, rotated call by call, so no call reads the previous call's output from
cache.

The streaming floor is the fastest single read of one input array measured in the run:
the minimum of numpy's x.sum() and the C sum (8 accumulators) of each loaded build.

Before timing, the script checks that ttscale and the peers agree: softmax, logsumexp and
ESS within 1e-12 relative; resampling counts c_j against M*W_j (systematic and SSP: floor
or ceil; residual: at least the floor; stratified: within 1 of floor/ceil; multinomial:
sum_j (c_j - M W_j)^2 / M within 6 standard deviations of its mean 1 - sum W^2), for every
instruction set the first build can be forced to. --check-only stops there (the CTest).

Exit status: 0, 1 if a check fails, 77 if numpy is missing (the CTest's skip code).

Examples:
  python3 bench/kernels_vs_numpy.py --build build            # both builds found in build/bench
  python3 bench/kernels_vs_numpy.py --lib default=PATH.so --lib native=PATH2.so --markdown
  python3 bench/kernels_vs_numpy.py --check-only --n 10000 --reps 1
"""

import argparse
import ctypes
import math
import os
import platform
import statistics
import sys
import time

# Single-threaded, as ttscale's kernels are: numpy's np.dot may call a threaded OpenBLAS.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:
    import numpy as np
except ImportError:
    print("kernels_vs_numpy: numpy is missing (Debian: apt-get install python3-numpy); skipped")
    sys.exit(77)

try:
    import numba
    from numba import njit
except ImportError:
    numba = None

# Goals of issue 14 for the default build: peer time / ttscale time at least this.
GOALS = {
    "exp-normalise (softmax)": 2.5,
    "ESS from log-weights": 4.0,
    "systematic": 10.0,
    "stratified": 10.0,
    "multinomial": 8.0,
    "residual": 5.0,
    "SSP": 5.0,
}

RESAMPLING = ["systematic", "multinomial", "stratified", "residual", "SSP"]

# ---------------------------------------------------------------------------------------
# numpy peers


def np_exp_and_normalise(lw, out):
    m = lw.max()
    np.subtract(lw, m, out=out)
    np.exp(out, out=out)
    out *= 1.0 / out.sum()
    return out


def np_logsumexp(x, tmp):
    m = x.max()
    np.subtract(x, m, out=tmp)
    np.exp(tmp, out=tmp)
    return m + math.log(tmp.sum())


def np_ess_from_log_weights(lw, tmp):
    m = lw.max()
    np.subtract(lw, m, out=tmp)
    np.exp(tmp, out=tmp)
    s = tmp.sum()
    return s * s / np.dot(tmp, tmp)


def np_ess_from_weights(w):
    return 1.0 / np.dot(w, w)


def np_inverse_cdf(su, w):
    # A_m = min{j : su_m <= C_j}; a u past C_{N-1} by rounding gets the last index.
    a = np.searchsorted(np.cumsum(w), su)
    np.minimum(a, w.shape[0] - 1, out=a)
    return a


def np_uniform_spacings(rng, m):
    z = np.cumsum(rng.standard_exponential(m + 1))
    return z[:-1] / z[-1]


def np_systematic(rng, w, m):
    return np_inverse_cdf((rng.random() + np.arange(m)) / m, w)


def np_stratified(rng, w, m):
    return np_inverse_cdf((rng.random(m) + np.arange(m)) / m, w)


def np_multinomial(rng, w, m):
    return np_inverse_cdf(np_uniform_spacings(rng, m), w)


def np_residual(rng, w, m):
    mw = m * w
    counts = np.floor(mw).astype(np.int64)
    deterministic = int(counts.sum())
    a = np.empty(m, dtype=np.int64)
    a[:deterministic] = np.repeat(np.arange(w.shape[0]), counts)
    rest = m - deterministic
    if rest > 0:
        residuals = mw - counts
        a[deterministic:] = np_inverse_cdf(np_uniform_spacings(rng, rest), residuals / residuals.sum())
    return a


def make_numpy_resamplers(rng, n):
    w = np.empty(n)

    def from_log_weights(scheme):
        def run(lw, m):
            return scheme(rng, np_exp_and_normalise(lw, w), m)
        return run

    return {
        "systematic": from_log_weights(np_systematic),
        "multinomial": from_log_weights(np_multinomial),
        "stratified": from_log_weights(np_stratified),
        "residual": from_log_weights(np_residual),
    }


# ---------------------------------------------------------------------------------------
# numba peers (the merge loop of the inverse CDF, SSP's pairing chain)

if numba is not None:

    @njit(cache=False)
    def nb_exp_and_normalise(lw, out):
        m = -np.inf
        for x in lw:
            m = max(m, x)
        s = 0.0
        for i in range(lw.shape[0]):
            e = math.exp(lw[i] - m)
            out[i] = e
            s += e
        inv = 1.0 / s
        for i in range(out.shape[0]):
            out[i] *= inv
        return m + math.log(s)

    @njit(cache=False)
    def nb_logsumexp(x):
        m = -np.inf
        for v in x:
            m = max(m, v)
        s = 0.0
        for v in x:
            s += math.exp(v - m)
        return m + math.log(s)

    @njit(cache=False)
    def nb_ess(lw):
        m = -np.inf
        for v in lw:
            m = max(m, v)
        s = 0.0
        s2 = 0.0
        for v in lw:
            e = math.exp(v - m)
            s += e
            s2 += e * e
        return s * s / s2

    @njit(cache=False)
    def nb_inverse_cdf(su, w, out):
        # The merge: walk the CDF once while the sorted uniforms rise.
        n = w.shape[0]
        j = 0
        c = w[0]
        for i in range(su.shape[0]):
            while su[i] > c and j < n - 1:
                j += 1
                c += w[j]
            out[i] = j

    @njit(cache=False)
    def nb_systematic(lw, w, out):
        nb_exp_and_normalise(lw, w)
        m = out.shape[0]
        n = w.shape[0]
        u = np.random.random()
        j = 0
        c = w[0]
        for i in range(m):
            t = (u + i) / m
            while t > c and j < n - 1:
                j += 1
                c += w[j]
            out[i] = j

    @njit(cache=False)
    def nb_stratified(lw, w, out):
        nb_exp_and_normalise(lw, w)
        m = out.shape[0]
        n = w.shape[0]
        j = 0
        c = w[0]
        for i in range(m):
            t = (np.random.random() + i) / m
            while t > c and j < n - 1:
                j += 1
                c += w[j]
            out[i] = j

    @njit(cache=False)
    def nb_uniform_spacings(su):
        # Sorted uniforms from exponential spacings (C&P sec. 9.4): O(M), no sort.
        z = 0.0
        for i in range(su.shape[0]):
            z -= math.log(1.0 - np.random.random())
            su[i] = z
        z -= math.log(1.0 - np.random.random())
        inv = 1.0 / z
        for i in range(su.shape[0]):
            su[i] *= inv

    @njit(cache=False)
    def nb_multinomial(lw, w, su, out):
        nb_exp_and_normalise(lw, w)
        nb_uniform_spacings(su)
        nb_inverse_cdf(su, w, out)

    @njit(cache=False)
    def nb_fill_counts(counts, out):
        k = 0
        for j in range(counts.shape[0]):
            for _ in range(counts[j]):
                out[k] = j
                k += 1

    @njit(cache=False)
    def nb_floor_counts(w, m, counts, frac):
        # counts_j = floor(M W_j), frac_j = M W_j - counts_j; returns sum_j counts_j.
        total = 0
        for j in range(w.shape[0]):
            mw = m * w[j]
            c = math.floor(mw)
            counts[j] = c
            frac[j] = mw - c
            total += c
        return total

    @njit(cache=False)
    def nb_residual(lw, w, counts, res, su, out):
        nb_exp_and_normalise(lw, w)
        m = out.shape[0]
        n = w.shape[0]
        total = nb_floor_counts(w, m, counts, res)
        rest = m - total
        if rest > 0:
            s = 0.0
            for j in range(n):
                s += res[j]
            for j in range(n):
                res[j] /= s
            r = su[:rest]
            nb_uniform_spacings(r)
            # The multinomial draws of the residual part, added to the counts.
            j = 0
            c = res[0]
            for i in range(rest):
                while r[i] > c and j < n - 1:
                    j += 1
                    c += res[j]
                counts[j] += 1
        nb_fill_counts(counts, out)

    @njit(cache=False)
    def nb_ssp(lw, w, counts, xi, out):
        # SSP (Gerber, Chopin & Whiteley 2019, Alg. 3): M W_j = counts_j + xi_j; pair the
        # undecided fraction i with the next j; one of the two is settled (to 0 or 1),
        # the other carries the remaining fraction forward. E[counts_j] = M W_j.
        nb_exp_and_normalise(lw, w)
        m = out.shape[0]
        n = w.shape[0]
        total = nb_floor_counts(w, m, counts, xi)
        i = 0
        for j in range(1, n):
            a = xi[i]
            b = xi[j]
            s = a + b
            u = np.random.random()
            if s < 1.0:
                if u * s < a:  # probability a / s: i takes the sum, j is settled at 0
                    xi[i] = s
                    xi[j] = 0.0
                else:
                    xi[j] = s
                    xi[i] = 0.0
                    i = j
            else:
                if u * (2.0 - s) < 1.0 - b:  # probability (1 - b) / (2 - s): i rounds up
                    counts[i] += 1
                    total += 1
                    xi[i] = 0.0
                    xi[j] = s - 1.0
                    i = j
                else:
                    counts[j] += 1
                    total += 1
                    xi[j] = 0.0
                    xi[i] = s - 1.0
        # The last fraction is 0 or 1 up to rounding: M - total says which.
        counts[i] += m - total
        nb_fill_counts(counts, out)

    def make_numba_resamplers(n):
        w = np.empty(n)
        su = np.empty(n)
        res = np.empty(n)
        counts = np.empty(n, dtype=np.int64)

        def out_of(m):
            return np.empty(m, dtype=np.int64)

        def systematic(lw, m):
            out = out_of(m)
            nb_systematic(lw, w, out)
            return out

        def stratified(lw, m):
            out = out_of(m)
            nb_stratified(lw, w, out)
            return out

        def multinomial(lw, m):
            out = out_of(m)
            nb_multinomial(lw, w, su[:m], out)
            return out

        def residual(lw, m):
            out = out_of(m)
            nb_residual(lw, w, counts, res, su, out)
            return out

        def ssp(lw, m):
            out = out_of(m)
            nb_ssp(lw, w, counts, res, out)
            return out

        return {"systematic": systematic, "multinomial": multinomial, "stratified": stratified,
                "residual": residual, "SSP": ssp}


# ---------------------------------------------------------------------------------------
# ttscale through the C ABI

DP = ctypes.POINTER(ctypes.c_double)
I64P = ctypes.POINTER(ctypes.c_int64)


class ttscale_build:
    def __init__(self, label, path):
        self.label = label
        self.path = path
        lib = ctypes.CDLL(os.path.abspath(path))
        self.lib = lib
        lib.ttscale_last_error.restype = ctypes.c_char_p
        lib.ttscale_isa.restype = ctypes.c_char_p
        lib.ttscale_isa_dispatched.restype = ctypes.c_int
        lib.ttscale_force_isa.argtypes = [ctypes.c_char_p]
        lib.ttscale_seed.argtypes = [ctypes.c_uint64]
        lib.ttscale_seed.restype = None
        lib.ttscale_softmax.argtypes = [DP, DP, ctypes.c_size_t, DP]
        lib.ttscale_logsumexp.argtypes = [DP, ctypes.c_size_t, DP]
        lib.ttscale_ess.argtypes = [DP, ctypes.c_size_t, DP]
        lib.ttscale_sum.argtypes = [DP, ctypes.c_size_t]
        lib.ttscale_sum.restype = ctypes.c_double
        self.resamplers = {}
        for name, fn in [("systematic", lib.ttscale_resample_systematic),
                         ("multinomial", lib.ttscale_resample_multinomial),
                         ("stratified", lib.ttscale_resample_stratified),
                         ("residual", lib.ttscale_resample_residual),
                         ("SSP", lib.ttscale_resample_ssp)]:
            fn.argtypes = [DP, ctypes.c_size_t, I64P, ctypes.c_size_t]
            self.resamplers[name] = self._resampler(fn)
        self.result = ctypes.c_double()
        self.result_p = ctypes.pointer(self.result)
        self.out = {}

    def _check(self, rc):
        if rc != 0:
            raise RuntimeError(f"{self.label}: {self.lib.ttscale_last_error().decode()}")

    def isa(self):
        return self.lib.ttscale_isa().decode()

    def dispatched(self):
        return bool(self.lib.ttscale_isa_dispatched())

    def force_isa(self, name):
        return self.lib.ttscale_force_isa(name.encode()) == 0

    def softmax(self, x, out):
        self._check(self.lib.ttscale_softmax(x.ctypes.data_as(DP), out.ctypes.data_as(DP), x.shape[0], self.result_p))
        return out

    def logsumexp(self, x):
        self._check(self.lib.ttscale_logsumexp(x.ctypes.data_as(DP), x.shape[0], self.result_p))
        return self.result.value

    def ess(self, lw):
        self._check(self.lib.ttscale_ess(lw.ctypes.data_as(DP), lw.shape[0], self.result_p))
        return self.result.value

    def sum(self, x):
        return self.lib.ttscale_sum(x.ctypes.data_as(DP), x.shape[0])

    def _resampler(self, fn):
        def run(lw, m):
            out = self.out.get(m)
            if out is None:
                out = self.out[m] = np.empty(m, dtype=np.int64)
            self._check(fn(lw.ctypes.data_as(DP), lw.shape[0], out.ctypes.data_as(I64P), m))
            return out
        return run


# ---------------------------------------------------------------------------------------
# inputs, checks, timing


def make_inputs(n, pool, seed):
    g = np.random.default_rng(seed)
    wide = []
    for _ in range(pool):
        x = g.normal(0.0, 5.0, n)
        x[g.random(n) < 0.01] = -np.inf
        x[0] = 0.0
        wide.append(x)
    realistic = [g.normal(0.0, 1.0, n) for _ in range(pool)]
    return wide, realistic


class check_failed(Exception):
    pass


def require(ok, what):
    if not ok:
        raise check_failed(what)


def rel_close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(abs(a), abs(b))


def check_counts(name, who, a, lw):
    n = lw.shape[0]
    m = a.shape[0]
    require(a.min() >= 0 and a.max() < n, f"{who} {name}: index out of [0, N)")
    c = np.bincount(a, minlength=n)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    mw = m * w
    lo = np.floor(mw - 1e-9)
    hi = np.ceil(mw + 1e-9)
    if name in ("systematic", "SSP"):
        bad = np.count_nonzero((c < lo) | (c > hi))
        require(bad == 0, f"{who} {name}: {bad} counts outside floor/ceil of M*W")
    elif name == "residual":
        bad = np.count_nonzero(c < lo)
        require(bad == 0, f"{who} {name}: {bad} counts below floor(M*W)")
    elif name == "stratified":
        bad = np.count_nonzero((c < lo - 1) | (c > hi + 1))
        require(bad == 0, f"{who} {name}: {bad} counts more than 1 outside floor/ceil of M*W")
    elif name == "multinomial":
        # sum_j (c_j - M W_j)^2 / M has mean 1 - sum W^2 and standard deviation about
        # sqrt(2 / M) (a sum of N nearly independent scaled chi-square(1) terms).
        d = float(np.sum((c - mw) ** 2)) / m
        mean = 1.0 - float(np.dot(w, w))
        sd = math.sqrt(2.0 / m)
        require(abs(d - mean) <= 6 * sd, f"{who} {name}: dispersion {d:.4f}, expected {mean:.4f} +- {6 * sd:.4f}")


def check_all(builds, n, seed, with_numba):
    wide, realistic = make_inputs(n, 1, seed)
    x = wide[0]
    lw = realistic[0]
    ref = np_exp_and_normalise(x, np.empty(n))
    ref_lse = np_logsumexp(x, np.empty(n))
    ref_ess = np_ess_from_log_weights(x, np.empty(n))
    require(rel_close(np_ess_from_weights(ref), ref_ess, 1e-10), "numpy ESS from weights vs from log-weights")
    positive = ref > 1e-300

    def check_values(who, soft, lse, ess):
        err = np.max(np.abs(soft[positive] - ref[positive]) / ref[positive])
        require(err <= 1e-12, f"{who} softmax: relative error {err:.3g} against numpy")
        require(np.all(soft[~positive] <= 1e-300), f"{who} softmax: a -inf log-weight got weight")
        require(rel_close(lse, ref_lse), f"{who} logsumexp {lse!r} vs numpy {ref_lse!r}")
        require(rel_close(ess, ref_ess), f"{who} ESS {ess!r} vs numpy {ref_ess!r}")

    rng = np.random.default_rng(seed)
    for name, f in make_numpy_resamplers(rng, n).items():
        check_counts(name, "numpy", f(lw, n), lw)
    if with_numba:
        np_lse = nb_exp_and_normalise(x, soft := np.empty(n))
        require(rel_close(np_lse, ref_lse), "numba exp_and_normalise's logsumexp")
        check_values("numba", soft, nb_logsumexp(x), nb_ess(x))
        for name, f in make_numba_resamplers(n).items():
            check_counts(name, "numba", f(lw, n), lw)
    levels = {}
    for i, b in enumerate(builds):
        # Every level the first build can be forced to; the others at their own level.
        names = ["scalar", "sse2", "avx2", "avx512", "neon"] if i == 0 else [None]
        done = []
        for level in names:
            if level is not None and not b.force_isa(level):
                continue
            who = f"ttscale {b.label} ({b.isa()})"
            check_values(who, b.softmax(x, np.empty(n)), b.logsumexp(x), b.ess(x))
            for name, f in b.resamplers.items():
                check_counts(name, who, f(lw, n).copy(), lw)
            done.append(b.isa())
        levels[b.label] = done
    return levels


class timings:
    """Times many functions interleaved: repetition r of every function runs before
    repetition r + 1 of any, so a burst of load on a shared machine hits the peer and
    ttscale alike instead of one row. ns per element, median over the repetitions."""

    def __init__(self, n, reps, min_time, pool, clock):
        self.n, self.reps, self.min_time, self.pool, self.clock = n, reps, min_time, pool, clock
        self.fns = []
        self.results = []

    def add(self, fn):
        self.fns.append(fn)
        return len(self.fns) - 1

    def run(self):
        calls = []
        for fn in self.fns:
            fn(0)  # warm: first-use allocation, page faults, numba dispatch
            t0 = time.perf_counter_ns()
            fn(1)
            once = max(time.perf_counter_ns() - t0, 1)  # wall clock: calls last min_time in real time
            calls.append(max(self.pool, int(self.min_time * 1e9 / once)))
        samples = [[] for _ in self.fns]
        for _ in range(self.reps):
            for k, fn in enumerate(self.fns):
                t0 = self.clock()
                for i in range(calls[k]):
                    fn(i)
                samples[k].append((self.clock() - t0) / calls[k] / self.n)
        self.results = [statistics.median(s) for s in samples]

    def __getitem__(self, handle):
        return None if handle is None else self.results[handle]


def machine():
    model = platform.processor() or "unknown CPU"
    flags = set()
    ids = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("model name", "cpu family", "model") and key not in ids:
                    ids[key] = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    if "model name" in ids:
        model = ids["model name"]
        if "cpu family" in ids and "model" in ids:
            model += f" (family {ids['cpu family']}, model {ids['model']})"
    wanted = ["sse2", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "asimd"]
    isa = " ".join(f for f in wanted if f in flags) or "unknown"
    try:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        load = "unknown"
    return model, isa, load, os.cpu_count()


def numpy_simd():
    # numpy picks its own SIMD paths at run time; name the widest it runs here.
    try:
        from numpy.core import _multiarray_umath as mu
        active = [f for f in mu.__cpu_dispatch__ if mu.__cpu_features__.get(f)]
        return "SIMD dispatch up to " + (active[-1] if active else "its baseline")
    except (ImportError, AttributeError):
        return "SIMD dispatch unknown"


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    return None if a is None or b is None else a / b


def fmt_ratio(r):
    return "—" if r is None else f"{r:.1f}×"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="elements per array (default 1e6)")
    p.add_argument("--reps", type=int, default=5, help="repetitions; the median is reported (default 5)")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition (default 0.2)")
    p.add_argument("--build", default="build",
                   help="CMake build directory holding bench/libttscale_kernels_capi{,_native}.so (default build)")
    p.add_argument("--lib", action="append", default=[], metavar="LABEL=PATH",
                   help="a build of the C ABI shim to load (repeatable; replaces --build's)")
    p.add_argument("--timer", choices=["cpu", "wall"], default="cpu",
                   help="cpu: the process's CPU time (time.process_time_ns; as kernels_numeric_bench, "
                        "robust to other processes taking the core); wall: time.perf_counter_ns (default cpu)")
    p.add_argument("--no-numba", action="store_true", help="leave numba out even if it imports")
    p.add_argument("--check-only", action="store_true", help="run the agreement checks only")
    p.add_argument("--markdown", action="store_true", help="print only the markdown section (pasteable)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()

    specs = []
    for s in args.lib:
        label, sep, path = s.partition("=")
        if not sep:
            label, path = os.path.basename(s), s
        specs.append((label, path))
    if not specs:
        for label, name in [("default build", "libttscale_kernels_capi.so"),
                            ("-march=native", "libttscale_kernels_capi_native.so")]:
            path = os.path.join(args.build, "bench", name)
            if os.path.exists(path):
                specs.append((label, path))
    if not specs:
        sys.exit(f"kernels_vs_numpy: no build found under {args.build}/bench; build the target "
                 "ttscale_kernels_capi or pass --lib LABEL=PATH")
    builds = [ttscale_build(label, path) for label, path in specs]
    with_numba = numba is not None and not args.no_numba

    # The level each build picks for a user (TTSCALE_ISA or the CPU's best), restored after
    # the checks force others; checking also compiles every numba function before timing.
    chosen = [b.isa() for b in builds]
    try:
        check_levels = check_all(builds, args.n if args.check_only else min(args.n, 100_000), args.seed, with_numba)
    except check_failed as e:
        print(f"kernels_vs_numpy: CHECK FAILED: {e}")
        sys.exit(1)
    for b, level in zip(builds, chosen):
        require(b.force_isa(level), f"{b.label}: cannot return to {level}")
    summary = "; ".join(f"{label}: {', '.join(levels)}" for label, levels in check_levels.items())
    if args.check_only:
        print(f"kernels_vs_numpy: checks passed (N = {args.n}; numpy {np.__version__}"
              f"{'; numba ' + numba.__version__ if with_numba else ''}; levels checked: {summary})")
        return

    load_before = machine()[2]
    n = args.n
    pool = 4
    wide, realistic = make_inputs(n, pool, args.seed)
    tmp = np.empty(n)
    out = np.empty(n)
    rng = np.random.default_rng(args.seed)
    clock = time.process_time_ns if args.timer == "cpu" else time.perf_counter_ns
    timed = timings(n, args.reps, args.min_time, pool, clock)
    T = timed.add

    rows = []  # (kernel, numpy, numba, [ttscale per build], note)
    rows.append(("exp-normalise (softmax)",
                 T(lambda i: np_exp_and_normalise(wide[i % pool], out)),
                 T(lambda i: nb_exp_and_normalise(wide[i % pool], out)) if with_numba else None,
                 [T(lambda i, b=b: b.softmax(wide[i % pool], out)) for b in builds], ""))
    rows.append(("logsumexp",
                 T(lambda i: np_logsumexp(wide[i % pool], tmp)),
                 T(lambda i: nb_logsumexp(wide[i % pool])) if with_numba else None,
                 [T(lambda i, b=b: b.logsumexp(wide[i % pool])) for b in builds], ""))
    weights = [np_exp_and_normalise(x, np.empty(n)) for x in wide]
    from_weights = T(lambda i: np_ess_from_weights(weights[i % pool]))
    rows.append(("ESS from log-weights",
                 T(lambda i: np_ess_from_log_weights(wide[i % pool], tmp)),
                 T(lambda i: nb_ess(wide[i % pool])) if with_numba else None,
                 [T(lambda i, b=b: b.ess(wide[i % pool])) for b in builds],
                 "from_weights"))
    numpy_r = make_numpy_resamplers(rng, n)
    numba_r = make_numba_resamplers(n) if with_numba else {}
    for name in RESAMPLING:
        rows.append((name,
                     T(lambda i, f=numpy_r[name]: f(realistic[i % pool], n)) if name in numpy_r else None,
                     T(lambda i, f=numba_r[name]: f(realistic[i % pool], n)) if name in numba_r else None,
                     [T(lambda i, f=b.resamplers[name]: f(realistic[i % pool], n)) for b in builds], ""))
    floors = {"numpy x.sum()": T(lambda i: wide[i % pool].sum())}
    for b in builds:
        floors[f"C sum, {b.label}"] = T(lambda i, b=b: b.sum(wide[i % pool]))
    timed.run()
    floors = {k: timed[h] for k, h in floors.items()}
    floor = min(floors.values())
    rows = [(kernel, timed[t_np], timed[t_nb], [timed[t] for t in ts],
             f"numpy from normalised weights: {fmt(timed[from_weights])}" if note else "")
            for kernel, t_np, t_nb, ts, note in rows]

    model, isa, load_after, cpus = machine()
    out_lines = []
    w = out_lines.append
    w(f"Machine: {model}, {cpus} logical CPUs, ISA flags: {isa}; load average before / after the run: {load_before} / {load_after}.  ")
    w(f"numpy {np.__version__} ({numpy_simd()})" +
      (f", numba {numba.__version__} ({'with' if getattr(numba.config, 'USING_SVML', False) else 'without'} SVML)"
       if with_numba else ", numba not used") +
      f", Python {platform.python_version()}; ttscale builds: " +
      ", ".join(f"{b.label} runs {b.isa()} ({'run-time dispatch' if b.dispatched() else 'static'})" for b in builds) +
      ".  ")
    w(f"float64, N = M = {n}, ns per element, median of {args.reps} interleaved repetitions of ≥ {args.min_time} s "
      f"({'CPU time, time.process_time_ns' if args.timer == 'cpu' else 'wall clock, time.perf_counter_ns'}; "
      "single-threaded); "
      f"streaming floor {fmt(floor)} ns (fastest of " + ", ".join(f"{k} {fmt(v)}" for k, v in floors.items()) + ").")
    w("")
    head = ["kernel", "numpy", "numba"] + [f"ttscale {b.label}" for b in builds] + \
           [f"peer / {b.label}" for b in builds] + [f"{builds[0].label} / floor", f"goal (peer / {builds[0].label})"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for kernel, t_np, t_nb, ts, note in rows:
        peers = [t for t in (t_np, t_nb) if t is not None]
        peer = min(peers) if peers else None
        goal = GOALS.get(kernel)
        r0 = ratio(peer, ts[0])
        goal_text = "—" if goal is None or r0 is None else f"≥ {goal:g}×: {'met' if r0 >= goal else 'missed'}"
        np_text = fmt(t_np) + (f" ({note})" if note else "")
        cells = [kernel, np_text, fmt(t_nb)] + [fmt(t) for t in ts] + \
                [fmt_ratio(ratio(peer, t)) for t in ts] + [fmt_ratio(ratio(ts[0], floor)), goal_text]
        w("| " + " | ".join(cells) + " |")
    w("")
    w("peer = the faster of numpy and numba; ratios above 1× mean ttscale is faster. "
      "Agreement checked first (" + summary + ").")
    text = "\n".join(out_lines)
    if not args.markdown:
        print("kernels_vs_numpy: " + " ".join(sys.argv[1:]))
    print(text)


if __name__ == "__main__":
    main()
