// Tests for ttscale/kernels/resample.hpp: hand-computed cases from the inverse-CDF
// definition, bit-identical fast vs scalar paths, agreement with a long double definition,
// statistics over many seeds with bounds derived from each scheme's variance, errors.
#include <ttscale/kernels/resample.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;

namespace {

template <class T>
std::vector<T> random_weights(std::size_t n, int kind, std::mt19937_64& g) {
  std::vector<T> w(n);
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& v : w) {
    switch (kind) {
      case 0: v = static_cast<T>(u(g)); break;
      case 1: v = static_cast<T>(std::exp(3 * std::normal_distribution<double>()(g))); break;  // heavy tail
      case 2: v = (g() % 4 == 0) ? static_cast<T>(u(g)) : T(0); break;                        // mostly zeros
      default: v = static_cast<T>(1e-30 * u(g)); break;                                      // tiny scale
    }
  }
  if (std::all_of(w.begin(), w.end(), [](T v) { return v == 0; })) w[n / 2] = T(1);
  return w;
}

// The definition in long double: A_m = min{j : t_m <= C_j}. Returns -1 where t_m lies
// within `slack` of some C_j (a round-off tie the double path may break either way).
template <class T>
std::vector<long> definition(const std::vector<T>& w, const std::vector<long double>& targets, long double slack) {
  std::vector<long double> c(w.size());
  long double s = 0;
  for (std::size_t j = 0; j < w.size(); ++j) c[j] = s += w[j];
  std::vector<long> a;
  for (long double t : targets) {
    const auto it = std::lower_bound(c.begin(), c.end(), t);
    long j = it == c.end() ? -1 : static_cast<long>(it - c.begin());
    bool near = false;
    for (long q = std::max(0L, j - 1); q <= j + 1 && q < static_cast<long>(c.size()); ++q)
      near = near || std::fabs(c[static_cast<std::size_t>(q)] - t) <= slack;
    a.push_back(near ? -2 : j);
  }
  return a;
}

}  // namespace

TEST_CASE("hand-computed resampling from the inverse-CDF definition", "[resample]") {
  const std::vector<double> w = {0.1, 0.2, 0.3, 0.4};
  std::vector<std::int32_t> out(4);
  // u_m = (m + 0.5) / 4 = .125 .375 .625 .875; C = .1 .3 .6 1 -> 1 2 3 3
  k::systematic_resample(w, 0.5, out);
  CHECK(out == std::vector<std::int32_t>{1, 2, 3, 3});
  k::scalar::systematic_resample(w, 0.5, out);
  CHECK(out == std::vector<std::int32_t>{1, 2, 3, 3});
  // Stratified with every v_m = 0.5 is the same.
  const std::vector<double> half(4, 0.5);
  k::stratified_resample(w, half, out);
  CHECK(out == std::vector<std::int32_t>{1, 2, 3, 3});
  // Dyadic weights: boundaries are exact. u = 0 -> .0 .25 .5 .75; C = .125 .375 .5 1 -> 0 1 2 3
  const std::vector<float> d = {0.125f, 0.25f, 0.125f, 0.5f};
  k::systematic_resample(d, 0.0, out);
  CHECK(out == std::vector<std::int32_t>{0, 1, 2, 3});
  // u_m = C_j exactly picks j (u <= C_j), as particles' inverse_cdf.
  const std::vector<double> su = {0.125, 0.375, 0.5, 0.5000001};
  k::inverse_cdf(d, su, out);
  CHECK(out == std::vector<std::int32_t>{0, 1, 2, 3});
  // M != N: M = 2 from 4 -> u = .25 .75 (u = .5) -> 1 3; M = 8, u = 0.5 -> 1/16 + m/8
  std::vector<std::int32_t> two(2), eight(8);
  k::systematic_resample(d, 0.5, two);
  CHECK(two == std::vector<std::int32_t>{1, 3});
  k::systematic_resample(d, 0.5, eight);  // .0625 .1875 .3125 .4375 .5625 ... -> 0 1 1 2 3 3 3 3
  CHECK(eight == std::vector<std::int32_t>{0, 1, 1, 2, 3, 3, 3, 3});
  // Un-normalised weights are normalised: 10x the weights, same answer.
  const std::vector<double> w10 = {1, 2, 3, 4};
  k::systematic_resample(w10, 0.5, out);
  CHECK(out == std::vector<std::int32_t>{1, 2, 3, 3});
}

TEST_CASE("zero weights are never selected, whatever the round-off", "[resample]") {
  const std::vector<double> w = {0, 0.5, 0, 0.5, 0};
  std::vector<std::uint32_t> out(2);
  k::systematic_resample(w, 0.0, out);  // u_0 = 0: first positive index, not 0
  CHECK(out == std::vector<std::uint32_t>{1, 1});  // u_1 = 0.5 <= C_1 = 0.5
  k::scalar::systematic_resample(w, 0.0, out);
  CHECK(out == std::vector<std::uint32_t>{1, 1});
  const std::vector<double> su = {0.0, 1.0};  // u = 1: last positive index, not N - 1
  k::inverse_cdf(w, su, out);
  CHECK(out == std::vector<std::uint32_t>{1, 3});
  // Weights whose double sum is below the largest target: 0.1 * 10 != 1 in binary.
  const std::vector<double> tenth(10, 0.1);
  std::vector<std::uint32_t> o10(10);
  const std::vector<double> top(10, std::nextafter(1.0, 0.0));
  k::inverse_cdf(tenth, top, o10);
  for (auto v : o10) CHECK(v == 9);
  std::vector<double> lastzero(10, 0.1);
  lastzero.push_back(0.0);
  std::vector<std::uint32_t> o11(10);
  k::inverse_cdf(lastzero, top, o11);
  for (auto v : o11) CHECK(v == 9);
}

TEMPLATE_TEST_CASE("fast paths are bit-identical to the scalar merge and agree with the definition", "[resample]",
                   float, double) {
  using T = TestType;
  std::mt19937_64 g(2024);
  std::vector<std::size_t> ns;
  for (std::size_t n = 1; n <= 67; ++n) ns.push_back(n);
  ns.push_back(1000);
  ns.push_back(100'000);
  for (std::size_t n : ns) {
    for (int kind = 0; kind < 4; ++kind) {
      const auto w = random_weights<T>(n, kind, g);
      for (std::size_t m : {std::size_t(1), std::size_t(7), n, 2 * n + 1, n / 2 + 1}) {
        INFO("n = " << n << ", kind = " << kind << ", m = " << m);
        std::vector<std::int32_t> a(m), b(m);
        const double u = std::uniform_real_distribution<double>(0, 1)(g);
        k::systematic_resample(w, u, a);
        k::scalar::systematic_resample(w, u, b);
        REQUIRE(a == b);
        REQUIRE(std::is_sorted(a.begin(), a.end()));
        std::vector<double> v(m);
        for (auto& x : v) x = k::uniform01(g);
        k::stratified_resample(w, v, a);
        k::scalar::stratified_resample(w, v, b);
        REQUIRE(a == b);
        REQUIRE(std::is_sorted(a.begin(), a.end()));
        // Against the long double definition, except at round-off ties.
        long double s = 0;
        for (T x : w) s += x;
        std::vector<long double> t(m);
        for (std::size_t q = 0; q < m; ++q) t[q] = (q + (long double)v[q]) / m * s;
        const auto def = definition(w, t, s * 1e-12L);
        for (std::size_t q = 0; q < m; ++q) {
          if (def[q] == -2) continue;
          REQUIRE(a[q] == def[q]);
          REQUIRE(w[static_cast<std::size_t>(a[q])] > 0);
        }
        if (m <= 2 * n + 1) {
          std::vector<double> su(m);
          k::uniform_spacings(g, std::span<double>(su));
          std::vector<std::int64_t> c(m), e(m);
          k::inverse_cdf(w, su, c);
          k::scalar::inverse_cdf(w, su, e);
          REQUIRE(c == e);
          for (std::size_t q = 0; q < m; ++q) t[q] = su[q] * s;
          const auto def2 = definition(w, t, s * 1e-12L);
          for (std::size_t q = 0; q < m; ++q)
            if (def2[q] != -2) REQUIRE(c[q] == def2[q]);
        }
      }
    }
  }
  // One million particles, systematic: fast vs scalar.
  const auto big = random_weights<T>(1'000'000, 1, g);
  std::vector<std::uint32_t> a(big.size()), b(big.size());
  k::systematic_resample(big, 0.37, a);
  k::scalar::systematic_resample(big, 0.37, b);
  CHECK(a == b);
}

namespace {

// Mean offspring count of each index over `reps` runs, and the per-run count variance.
struct count_stats {
  std::vector<double> mean, var;
};
template <class Run>
count_stats offspring(std::size_t n, std::size_t m, int reps, Run run) {
  count_stats st{std::vector<double>(n), std::vector<double>(n)};
  std::vector<double> sq(n);
  std::vector<std::uint32_t> out(m);
  std::vector<int> cnt(n);
  for (int r = 0; r < reps; ++r) {
    run(out, r);
    std::fill(cnt.begin(), cnt.end(), 0);
    for (auto a : out) ++cnt[a];
    for (std::size_t i = 0; i < n; ++i) {
      st.mean[i] += cnt[i];
      sq[i] += double(cnt[i]) * cnt[i];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    st.mean[i] /= reps;
    st.var[i] = sq[i] / reps - st.mean[i] * st.mean[i];
  }
  return st;
}

// Unbiasedness: |mean_i - M W_i| <= 5 sd_i / sqrt(reps), sd_i^2 an upper bound on the
// scheme's count variance (the multinomial M W (1 - W) for multinomial, residual and
// stratified, whose variances are no larger; f (1 - f), f = frac(M W), for systematic and
// SSP, whose counts are floor(M W) or floor(M W) + 1). 5 sigma: a false alarm has
// probability < 1e-6 per index.
bool unbiased(const count_stats& st, const std::vector<double>& w, std::size_t m, int reps, bool floor_ceil) {
  bool ok = true;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double mw = m * w[i];
    const double f = mw - std::floor(mw);
    const double var = floor_ceil ? f * (1 - f) : mw * (1 - w[i]);
    const double bound = 5 * std::sqrt(var / reps) + 1e-9;
    if (std::fabs(st.mean[i] - mw) > bound) {
      UNSCOPED_INFO("index " << i << ": mean " << st.mean[i] << " vs M W = " << mw << " (bound " << bound << ")");
      ok = false;
    }
  }
  return ok;
}

}  // namespace

TEST_CASE("each scheme is unbiased; systematic and SSP have less variance than multinomial", "[resample]") {
  const std::vector<double> w = {0.02, 0.18, 0.05, 0.3, 0.001, 0.049, 0.2, 0.0, 0.1, 0.1};
  std::vector<double> lw(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) lw[i] = std::log(w[i]);  // log 0 = -inf: weight 0
  const std::size_t n = w.size();
  const int reps = 4000;
  for (std::size_t m : {n, 3 * n + 1}) {
    INFO("M = " << m);
    k::resample_workspace ws;
    auto stats = [&](auto scheme) {
      std::mt19937_64 g(99);
      return offspring(n, m, reps, [&](std::vector<std::uint32_t>& out, int) { k::resample(scheme, lw, out, g, ws); });
    };
    const auto mult = stats(k::multinomial);
    const auto strat = stats(k::stratified);
    const auto sys = stats(k::systematic);
    const auto res = stats(k::residual);
    const auto ssp = stats(k::ssp);
    CHECK(unbiased(mult, w, m, reps, false));
    CHECK(unbiased(strat, w, m, reps, false));
    CHECK(unbiased(res, w, m, reps, false));
    CHECK(unbiased(sys, w, m, reps, true));
    CHECK(unbiased(ssp, w, m, reps, true));
    double vm = 0, vs = 0, vp = 0;
    for (std::size_t i = 0; i < n; ++i) {
      vm += mult.var[i];
      vs += sys.var[i];
      vp += ssp.var[i];
      CHECK(mult.mean[7] == 0.0);  // zero weight: never selected
      CHECK(ssp.mean[7] == 0.0);
    }
    CHECK(vs < vm);
    CHECK(vp < vm);
    // The check can fail: the multinomial counts are not unbiased for shifted weights.
    std::vector<double> shifted = w;
    std::swap(shifted[1], shifted[3]);
    CHECK_FALSE(unbiased(mult, shifted, m, reps, false));
  }
}

TEST_CASE("systematic and SSP give floor or floor + 1 copies; residual at least floor", "[resample]") {
  std::mt19937_64 g(5);
  for (int rep = 0; rep < 200; ++rep) {
    const std::size_t n = 1 + g() % 40, m = 1 + g() % 60;
    auto w = random_weights<double>(n, rep % 3, g);
    double s = 0;
    for (double x : w) s += x;
    std::vector<double> lw(n);
    for (std::size_t i = 0; i < n; ++i) lw[i] = std::log(w[i]);
    std::vector<std::int32_t> out(m);
    k::resample_workspace ws;
    for (int scheme = 0; scheme < 3; ++scheme) {
      if (scheme == 0) k::resample(k::systematic, lw, out, g, ws);
      if (scheme == 1) k::resample(k::ssp, lw, out, g, ws);
      if (scheme == 2) k::resample(k::residual, lw, out, g, ws);
      REQUIRE(std::is_sorted(out.begin(), out.end()));
      std::vector<std::size_t> cnt(n);
      for (auto a : out) ++cnt[static_cast<std::size_t>(a)];
      for (std::size_t i = 0; i < n; ++i) {
        const double mw = m * w[i] / s;
        INFO("scheme " << scheme << " n " << n << " m " << m << " i " << i << " MW " << mw);
        REQUIRE(static_cast<double>(cnt[i]) >= std::floor(mw) - 1e-9 * m);
        if (scheme < 2) REQUIRE(static_cast<double>(cnt[i]) <= std::floor(mw) + 1 + 1e-9 * m);
        if (w[i] == 0) REQUIRE(cnt[i] == 0);
      }
    }
  }
}

TEST_CASE("residual and SSP pure functions", "[resample]") {
  const std::vector<double> w = {0.125, 0.25, 0.125, 0.5};
  // M = 6: M W = .75 1.5 .75 3 -> floors 0 1 0 3, R = 2 draws on residuals .75 .5 .75 0
  REQUIRE(k::residual_draws(w, 6) == 2);
  std::vector<std::size_t> counts(4);
  std::vector<double> res(4);
  std::vector<std::int32_t> out(6);
  const std::vector<double> su = {0.1, 0.9};  // residual CDF .75 1.25 2 2 (S = 2): .2 -> 0, 1.8 -> 2
  k::residual_resample(w, su, out, counts, res);
  CHECK(out == std::vector<std::int32_t>{0, 1, 2, 3, 3, 3});
  CHECK(counts == std::vector<std::size_t>{1, 1, 1, 3});  // the copies of each index, as documented
  // SSP with N = 1: everything to index 0.
  const std::vector<float> one = {2.5f};
  std::vector<std::int32_t> o3(3);
  std::vector<std::size_t> c1(1);
  std::vector<double> x1(1);
  k::ssp_resample(one, std::span<const double>(), o3, c1, x1);
  CHECK(o3 == std::vector<std::int32_t>{0, 0, 0});
  // SSP on integer M W: deterministic.
  const std::vector<double> u3 = {0.3, 0.6, 0.9};
  std::vector<std::int32_t> o8(8);
  k::ssp_resample(w, u3, o8, counts, res);
  CHECK(o8 == std::vector<std::int32_t>{0, 1, 1, 2, 3, 3, 3, 3});
}

TEST_CASE("uniform01 and uniform_spacings", "[resample]") {
  std::mt19937 g32(1);
  std::mt19937_64 g64(1);
  std::minstd_rand gm(1);
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    for (double u : {k::uniform01(g32), k::uniform01(g64), k::uniform01(gm)}) {
      REQUIRE(u >= 0.0);
      REQUIRE(u < 1.0);
      lo = std::min(lo, u);
      hi = std::max(hi, u);
    }
  }
  CHECK(lo < 1e-3);
  CHECK(hi > 1 - 1e-3);
  std::vector<double> su(1000);
  k::uniform_spacings(g64, std::span<double>(su));
  CHECK(std::is_sorted(su.begin(), su.end()));
  CHECK(su.front() > 0);
  CHECK(su.back() < 1);
  // mean of sorted uniforms ~ 1/2 (sd of the mean of 1000 uniforms: 0.0091; 5 sigma)
  CHECK(std::fabs(std::accumulate(su.begin(), su.end(), 0.0) / 1000 - 0.5) < 5 * 0.0092);
}

TEMPLATE_TEST_CASE("resampling errors", "[resample]", float, double) {
  using T = TestType;
  std::vector<std::int32_t> out(3);
  const std::vector<T> empty;
  CHECK_THROWS_AS(k::systematic_resample(empty, 0.5, out), ttscale::invalid_argument);
  CHECK_THROWS_WITH(k::systematic_resample(empty, 0.5, out), "systematic_resample: weights is empty");
  const std::vector<T> neg = {1, T(-0.5), 1};
  CHECK_THROWS_AS(k::systematic_resample(neg, 0.5, out), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::systematic_resample(neg, 0.5, out), Catch::Contains("weights[1] is -0.5"));
  const std::vector<T> nan = {1, 1, std::numeric_limits<T>::quiet_NaN()};
  CHECK_THROWS_WITH(k::scalar::systematic_resample(nan, 0.5, out), Catch::Contains("weights[2] is nan"));
  const std::vector<T> inf = {1, 1, 1, 1, 1, kt::inf<T>};
  CHECK_THROWS_WITH(k::systematic_resample(inf, 0.5, out), Catch::Contains("weights[5] is inf"));
  const std::vector<T> zeros(5, T(0));
  CHECK_THROWS_WITH(k::systematic_resample(zeros, 0.5, out), Catch::Contains("all 5 weights are 0"));
  const std::vector<T> ok = {1, 2, 3};
  CHECK_THROWS_AS(k::systematic_resample(ok, 1.0, out), ttscale::invalid_argument);
  CHECK_THROWS_WITH(k::systematic_resample(ok, -0.1, out), Catch::Contains("u[0]"));
  const std::vector<double> two = {0.1, 0.2};
  CHECK_THROWS_AS(k::stratified_resample(ok, two, out), ttscale::size_mismatch);
  CHECK_THROWS_AS(k::inverse_cdf(ok, two, out), ttscale::size_mismatch);
  const std::vector<double> unsorted = {0.5, 0.2, 0.9};
  CHECK_THROWS_WITH(k::inverse_cdf(ok, unsorted, out), Catch::Contains("sorted_uniforms[1]"));
  const std::vector<double> bad_strat = {0.5, 1.5, 0.9};
  CHECK_THROWS_WITH(k::stratified_resample(ok, bad_strat, out), Catch::Contains("uniforms[1]"));
  std::vector<std::size_t> c(3);
  std::vector<double> r(3);
  CHECK_THROWS_AS(k::ssp_resample(ok, two.data() == nullptr ? two : std::vector<double>{0.1}, out, c, r),
                  ttscale::size_mismatch);
  CHECK_THROWS_AS(k::residual_resample(ok, std::vector<double>(5), out, c, r), ttscale::size_mismatch);
  // An index type too narrow for N.
  const std::vector<T> many(300, T(1));
  std::vector<std::int8_t> narrow(3);
  CHECK_THROWS_AS(k::systematic_resample(many, 0.5, narrow), ttscale::invalid_argument);
  // Log-weight entry point: the log-weight errors.
  std::mt19937 g(1);
  const std::vector<T> lw = {0, std::numeric_limits<T>::quiet_NaN()};
  CHECK_THROWS_AS(k::resample(k::systematic, lw, out, g), ttscale::invalid_score);
  const std::vector<T> minf(4, -kt::inf<T>);
  CHECK_THROWS_AS(k::resample(k::multinomial, minf, out, g), ttscale::invalid_score);
  // M = 0 is fine.
  std::vector<std::int32_t> none;
  k::systematic_resample(ok, 0.5, none);
  k::resample(k::ssp, ok, none, g);
}

TEMPLATE_TEST_CASE("inverse_cdf: interleaved fast merge equals the scalar merge", "[resample]", float, double) {
  // Sizes around the segment split logic, weight shapes from even to one dominant weight,
  // zero runs at the start, in the middle and at the end.
  std::mt19937_64 g(99);
  std::normal_distribution<double> nd(0, 1);
  for (std::size_t n : {1, 3, 4, 5, 8, 15, 16, 17, 31, 64, 100, 513, 1024, 2049, 5000}) {
    for (double sd : {0.0, 1.0, 5.0}) {
      for (int zeros = 0; zeros < 4; ++zeros) {
        std::vector<TestType> w(n);
        for (auto& x : w) x = static_cast<TestType>(std::exp(sd * nd(g)));
        if (zeros & 1) for (std::size_t i = 0; i < n / 3; ++i) w[i] = 0;
        if (zeros & 2) for (std::size_t i = n / 2; i < n; ++i) w[i] = 0;
        if (n > 2 && zeros == 3) w[n / 2 - 1] = 1;  // keep a positive weight
        bool any = false;
        for (auto x : w) any = any || x > 0;
        if (!any) w[0] = 1;
        for (std::size_t m : {std::size_t(1), n, 3 * n + 1}) {
          std::vector<double> su(m);
          k::uniform_spacings(g, std::span<double>(su));
          if (m > 4) { su[0] = 0.0; su[m - 1] = 1.0; }  // both ends of the closed interval
          std::vector<std::uint32_t> a(m), b(m);
          k::inverse_cdf(w, su, a);
          k::scalar::inverse_cdf(w, su, b);
          INFO("n = " << n << " sd = " << sd << " zeros = " << zeros << " m = " << m);
          REQUIRE(a == b);
        }
      }
    }
  }
}

namespace {

namespace kd = ttscale::kernels::detail;

// Weights that are integer multiples k_j of one unit (a subnormal, say) and the targets
// t_m = (m + 1/2) S / M of systematic resampling with u = 1/2: the definition
// A_m = min{j : t_m <= C_j} in exact integer arithmetic, (2m + 1) K <= 2 M (k_0 + ... + k_j)
// with K = sum k. An odd K puts no target on a C_j, so the answer has no round-off tie.
std::vector<std::int64_t> exact_midpoint_indices(const std::vector<std::uint64_t>& k, std::size_t m_count) {
  std::uint64_t total = 0;
  for (auto x : k) total += x;
  std::vector<std::int64_t> a(m_count);
  std::size_t j = 0;
  std::uint64_t c = k[0];
  for (std::size_t m = 0; m < m_count; ++m) {
    while (2 * m_count * c < (2 * m + 1) * total) c += k[++j];
    a[m] = static_cast<std::int64_t>(j);
  }
  return a;
}

// Eight weights of ~2000 units each, K odd: with double units (4.9e-324) they are near
// 1e-320, the example.
std::vector<std::uint64_t> subnormal_units() {
  std::mt19937_64 g(7);
  std::vector<std::uint64_t> k(8);
  std::uint64_t total = 0;
  for (auto& x : k) total += x = 1900 + g() % 200;
  if (total % 2 == 0) ++k[0];
  return k;
}

template <class T>
std::vector<T> times_unit(const std::vector<std::uint64_t>& k, T unit) {
  std::vector<T> w(k.size());
  for (std::size_t j = 0; j < k.size(); ++j) w[j] = static_cast<T>(k[j]) * unit;  // exact: k < 2^24
  return w;
}

template <class I>
std::vector<std::size_t> offspring_counts(const std::vector<I>& out, std::size_t n) {
  std::vector<std::size_t> c(n);
  for (auto a : out) ++c[static_cast<std::size_t>(a)];
  return c;
}

}  // namespace

TEMPLATE_TEST_CASE("subnormal weights resample as their normalised weights (power-of-two rescaling)", "[resample]",
                   float, double) {
  // Targets u S formed at the weights' own scale are themselves subnormal and round to a
  // few multiples of the smallest subnormal: four weights of 4.9e-324 gave {0, 1, 1, 3}.
  using T = TestType;
  const T unit = std::numeric_limits<T>::denorm_min();
  const std::vector<T> four(4, unit);
  const std::vector<std::int32_t> each = {0, 1, 2, 3};
  std::vector<std::int32_t> out(4);
  k::systematic_resample(four, 0.5, out);
  CHECK(out == each);
  k::scalar::systematic_resample(four, 0.5, out);
  CHECK(out == each);
  const std::vector<double> half(4, 0.5);
  k::stratified_resample(four, half, out);
  CHECK(out == each);
  k::scalar::stratified_resample(four, half, out);
  CHECK(out == each);
  const std::vector<double> mid = {0.125, 0.375, 0.625, 0.875};
  k::inverse_cdf(four, mid, out);
  CHECK(out == each);
  k::scalar::inverse_cdf(four, mid, out);
  CHECK(out == each);
  std::vector<std::size_t> counts(4);
  std::vector<double> scratch(4);
  REQUIRE(k::residual_draws(four, 4) == 0);
  k::residual_resample(four, std::span<const double>(), out, counts, scratch);
  CHECK(out == each);
  const std::vector<double> u3 = {0.3, 0.6, 0.9};
  k::ssp_resample(four, u3, out, counts, scratch);
  CHECK(out == each);

  // Eight weights near 1e-320 (double), M = 10,000: 74% of the slots were wrong.
  const auto units = subnormal_units();
  const auto w = times_unit<T>(units, unit);
  const std::size_t m = 10'000;
  const auto exact = exact_midpoint_indices(units, m);
  std::vector<std::int64_t> a(m), b(m);
  k::systematic_resample(w, 0.5, a);
  k::scalar::systematic_resample(w, 0.5, b);
  CHECK(a == exact);
  CHECK(b == exact);
  const std::vector<double> halves(m, 0.5);
  k::stratified_resample(w, halves, a);
  k::scalar::stratified_resample(w, halves, b);
  CHECK(a == exact);
  CHECK(b == exact);
  // inverse_cdf with M = 2^13 midpoints (exact doubles).
  const std::size_t m2 = 8192;
  std::vector<double> su(m2);
  for (std::size_t q = 0; q < m2; ++q) su[q] = (static_cast<double>(q) + 0.5) / static_cast<double>(m2);
  std::vector<std::int64_t> c(m2), e(m2);
  k::inverse_cdf(w, su, c);
  k::scalar::inverse_cdf(w, su, e);
  const auto exact2 = exact_midpoint_indices(units, m2);
  CHECK(c == exact2);
  CHECK(e == exact2);
  // Residual and SSP: floor(M k_j / K) copies (exact integers), then at most one more (SSP)
  // or the residual draws (residual).
  std::uint64_t total = 0;
  for (auto x : units) total += x;
  std::size_t floors = 0;
  std::vector<std::size_t> fl(units.size());
  for (std::size_t j = 0; j < units.size(); ++j) floors += fl[j] = m * units[j] / total;
  REQUIRE(k::residual_draws(w, m) == m - floors);
  std::mt19937_64 g(3);
  std::vector<double> draws(m - floors);
  k::uniform_spacings(g, std::span<double>(draws));
  std::vector<std::size_t> cnt(units.size());
  std::vector<double> xi(units.size());
  k::residual_resample(w, draws, a, cnt, xi);
  const auto res = offspring_counts(a, units.size());
  for (std::size_t j = 0; j < units.size(); ++j) CHECK(res[j] >= fl[j]);
  std::vector<double> v(units.size() - 1);
  for (auto& x : v) x = k::uniform01(g);
  k::ssp_resample(w, v, a, cnt, xi);
  const auto sp = offspring_counts(a, units.size());
  for (std::size_t j = 0; j < units.size(); ++j) {
    CHECK(sp[j] >= fl[j]);
    CHECK(sp[j] <= fl[j] + 1);
  }
}

TEMPLATE_TEST_CASE("weights whose double sum overflows resample correctly (power-of-two rescaling)", "[resample]",
                   float, double) {
  // {1e308, 1e308, 1e308}: the double sum is +inf, which was reported as "all 3 weights
  // are 0". Float weights cannot overflow a double sum; they are checked on the same cases.
  using T = TestType;
  T big;
  if constexpr (sizeof(T) == 8) big = T(1e308);
  else big = T(3e38);
  const std::vector<T> three(3, big);
  const std::vector<std::int32_t> each = {0, 1, 2};
  std::vector<std::int32_t> out(3);
  k::systematic_resample(three, 0.5, out);
  CHECK(out == each);
  k::scalar::systematic_resample(three, 0.5, out);
  CHECK(out == each);
  const std::vector<double> half(3, 0.5);
  k::stratified_resample(three, half, out);
  CHECK(out == each);
  k::scalar::stratified_resample(three, half, out);
  CHECK(out == each);
  const std::vector<double> mid = {1.0 / 6, 0.5, 5.0 / 6};
  k::inverse_cdf(three, mid, out);
  CHECK(out == each);
  k::scalar::inverse_cdf(three, mid, out);
  CHECK(out == each);
  std::vector<std::size_t> counts(3);
  std::vector<double> scratch(3);
  REQUIRE(k::residual_draws(three, 3) == 0);
  k::residual_resample(three, std::span<const double>(), out, counts, scratch);
  CHECK(out == each);
  const std::vector<double> u2 = {0.3, 0.6};
  k::ssp_resample(three, u2, out, counts, scratch);
  CHECK(out == each);

  // The largest finite weights mixed with ordinary ones (which the rescaling makes
  // subnormal, or 0: their share is below 2^-1000 either way). Midpoint targets against
  // the definition in long double, whose exponent range holds the sum.
  const T top = std::numeric_limits<T>::max();
  const std::vector<T> w = {top, T(1), top / 2, top, T(0), top / 4, T(1e-30), top};
  long double s = 0;
  for (T x : w) s += x;
  const std::size_t m = 1000;
  std::vector<long double> t(m);
  for (std::size_t q = 0; q < m; ++q) t[q] = (q + 0.5L) / m * s;
  const auto def = definition(w, t, s * 1e-12L);
  std::vector<std::int64_t> a(m), b(m);
  k::systematic_resample(w, 0.5, a);
  k::scalar::systematic_resample(w, 0.5, b);
  CHECK(a == b);
  for (std::size_t q = 0; q < m; ++q)
    if (def[q] != -2) REQUIRE(a[q] == def[q]);
  const std::vector<double> halves(m, 0.5);
  k::stratified_resample(w, halves, b);
  CHECK(a == b);
  // Residual counts: floor(M W_j) with W_j from the long double sum.
  std::size_t floors = 0;
  for (T x : w) floors += static_cast<std::size_t>(std::floor(m * (x / s)));
  CHECK(k::residual_draws(w, m) == m - floors);
  // The interleaved merge of inverse_cdf on the same weights, against its scalar twin.
  std::mt19937_64 g(17);
  std::vector<double> su(m);
  k::uniform_spacings(g, std::span<double>(su));
  k::inverse_cdf(w, su, a);
  k::scalar::inverse_cdf(w, su, b);
  CHECK(a == b);
  // A sum above 2^960 that does not overflow is rescaled too (M / S would be subnormal).
  const std::vector<T> large = {top / 4, top / 2, top / 8, T(0)};
  std::vector<std::int32_t> seven(7);
  k::systematic_resample(large, 0.5, seven);  // W = 2/7 4/7 1/7: targets (m + .5) / 7
  CHECK(seven == std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 2});
  k::scalar::systematic_resample(large, 0.5, seven);
  CHECK(seven == std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 2});
}

TEMPLATE_LIST_TEST_CASE("systematic counts on every instruction set: subnormal and overflowing sums", "[resample]",
                        kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = kd::ops<double, typename TestType::isa>;  // the counts run on doubles
  const auto units = subnormal_units();
  const auto w = times_unit<T>(units, std::numeric_limits<T>::denorm_min());
  for (std::size_t m : {std::size_t(1), std::size_t(7), std::size_t(100), std::size_t(10'000)}) {
    INFO("m = " << m);
    std::vector<std::int32_t> a(m);
    const auto ws = kd::summarize_weights<T>("test", std::span<const T>(w));
    kd::systematic_counts<Ops>(std::span<const T>(w), ws, m, 0.5, a.data());
    const auto exact = exact_midpoint_indices(units, m);
    for (std::size_t q = 0; q < m; ++q) REQUIRE(a[q] == exact[q]);
  }
  const T top = std::numeric_limits<T>::max();
  const std::vector<T> big = {top, top / 2, top, T(0), top / 4, top, top, top / 8, top, top};
  const std::size_t m = 37;
  std::vector<std::int32_t> a(m), b(m);
  const auto ws = kd::summarize_weights<T>("test", std::span<const T>(big));
  kd::systematic_counts<Ops>(std::span<const T>(big), ws, m, 0.25, a.data());
  k::scalar::systematic_resample(big, 0.25, b);
  CHECK(a == b);
}

TEMPLATE_TEST_CASE("a rescaled sum without a second pass equals the CDF walk's last value", "[resample]", float,
                   double) {
  // Scaling up skips the second pass on the claim that each canonical sum of the scaled
  // weights is the scaled canonical sum (exact below 2^-1022, the same 53-bit rounding
  // above). Random mixes of subnormal and small normal weights, sums on both sides of
  // 2^-1022 and of 1.
  using T = TestType;
  std::mt19937_64 g(41);
  for (int rep = 0; rep < 2000; ++rep) {
    const std::size_t n = 1 + g() % 70;
    const int lowest = std::numeric_limits<T>::min_exponent - std::numeric_limits<T>::digits;  // denorm_min
    const int top_exp = lowest + static_cast<int>(g() % 200);
    std::vector<T> w(n);
    for (auto& x : w)
      x = static_cast<T>(std::ldexp(static_cast<double>(g() >> 11) * 0x1p-53, top_exp - static_cast<int>(g() % 40)));
    w[g() % n] = std::ldexp(T(1), top_exp);  // a positive sum (2^top_exp >= denorm_min)
    const auto ws = kd::summarize_weights<T>("test", std::span<const T>(w));
    INFO("rep " << rep << " n " << n << " top_exp " << top_exp);
    REQUIRE(ws.total == kd::scaled_total(w.data(), n, ws.scale));
    REQUIRE(ws.total >= 0x1p-51);
  }
}

TEST_CASE("resampling errors print numbers in their shortest round-trip form", "[resample]") {
  // std::to_string printed -1e-300 as "-0.000000" and 1 + 2^-52 as "1.000000".
  std::vector<std::int32_t> out(3);
  const std::vector<double> neg = {1.0, -1e-300, 1.0};
  const char* neg_text = "systematic_resample: weights[1] is -1e-300 (weights must be finite and >= 0)";
  CHECK_THROWS_WITH(k::systematic_resample(neg, 0.5, out), neg_text);
  CHECK_THROWS_WITH(k::scalar::systematic_resample(neg, 0.5, out), neg_text);
  // A float is shown as that float's shortest text, not its double value's.
  const std::vector<float> negf = {1.0f, -0.1f, 1.0f};
  CHECK_THROWS_WITH(k::systematic_resample(negf, 0.5, out),
                    "systematic_resample: weights[1] is -0.1 (weights must be finite and >= 0)");
  const std::vector<double> ok = {1, 2, 3};
  const double above_one = std::nextafter(1.0, 2.0);  // 1.0000000000000002
  const std::vector<double> su = {above_one, above_one, above_one};
  CHECK_THROWS_WITH(k::inverse_cdf(ok, su, out),
                    "inverse_cdf: sorted_uniforms[0] = 1.0000000000000002 is not in [0, 1]");
  CHECK_THROWS_WITH(k::scalar::inverse_cdf(ok, su, out),
                    "inverse_cdf: sorted_uniforms[0] = 1.0000000000000002 is not in [0, 1]");
  const std::vector<double> unsorted = {0.5, 0.1, 0.9};
  CHECK_THROWS_WITH(k::inverse_cdf(ok, unsorted, out),
                    "inverse_cdf: sorted_uniforms[1] = 0.1 is less than the previous uniform (must be sorted)");
  CHECK_THROWS_WITH(k::systematic_resample(ok, above_one, out),
                    "systematic_resample: u[0] = 1.0000000000000002 is not in [0, 1)");
  const std::vector<double> strat = {0.5, -1e-300, 0.5};
  CHECK_THROWS_WITH(k::stratified_resample(ok, strat, out),
                    "stratified_resample: uniforms[1] = -1e-300 is not in [0, 1)");
  std::vector<std::size_t> c(3);
  std::vector<double> r(3);
  const std::vector<double> ssp_u = {0.5, above_one};
  CHECK_THROWS_WITH(k::ssp_resample(ok, ssp_u, out, c, r),
                    "ssp_resample: uniforms[1] = 1.0000000000000002 is not in [0, 1)");
}

TEMPLATE_LIST_TEST_CASE("resample from log-weights equals exp_shifted + the pure function, bit for bit", "[resample]",
                        kt::isa_cases) {
  // resample() takes the weight summary from its fused exp pass instead of summarize_weights
  // and, for residual, floors the weights once: the summary must be summarize_weights' own
  // (same total, first, last, scale) and every scheme must return what the pure function
  // returns on the same weights and the same uniform stream.
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  const T minf = -std::numeric_limits<T>::infinity();
  std::mt19937_64 g(77);
  std::vector<std::uint32_t> a, b;
  k::resample_workspace ws;
  std::vector<double> w;
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 255, 256, 257, 1000, 4099}) {
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<T> lw(n);
      for (auto& x : lw) {
        const double z = std::normal_distribution<double>()(g);
        // 0: moderate; 1: spread beyond exp's range (many exact zeros); 2: some -inf; 3: flat
        x = static_cast<T>(kind == 0 ? 3 * z : kind == 1 ? 400 * z : kind == 3 ? 0.0 : z);
        if (kind == 2 && g() % 3 == 0) x = minf;
      }
      if (kind == 2) {  // zero weights at both ends, one finite log-weight between
        lw.front() = minf;
        if (n > 2) lw.back() = minf;
        lw[n / 2] = T(1);
      }
      const auto sum = kd::exp_shifted<T>(std::span<const T>(lw), w);
      const auto ref = kd::summarize_weights<double>("test", std::span<const double>(w));
      INFO("n = " << n << ", kind = " << kind);
      REQUIRE(sum.total == ref.total);
      REQUIRE(sum.first == ref.first);
      REQUIRE(sum.last == ref.last);
      REQUIRE(sum.scale == ref.scale);
      for (std::size_t m : {std::size_t(1), n, 2 * n + 1}) {
        INFO("m = " << m);
        a.assign(m, 0);
        b.assign(m, 1);
        const std::uint64_t seed = g();
        ttscale::random_engine g1(seed), g2(seed);
        k::resample(k::systematic, lw, a, g1, ws);
        k::systematic_resample(w, k::uniform01(g2), b);
        REQUIRE(a == b);
        std::vector<double> u(m);
        k::resample(k::stratified, lw, a, g1, ws);
        for (double& x : u) x = k::uniform01(g2);
        k::stratified_resample(w, u, b);
        REQUIRE(a == b);
        k::resample(k::multinomial, lw, a, g1, ws);
        k::uniform_spacings(g2, std::span<double>(u));
        k::inverse_cdf(w, u, b);
        REQUIRE(a == b);
        std::vector<std::size_t> counts(n);
        std::vector<double> res(n);
        k::resample(k::residual, lw, a, g1, ws);
        std::vector<double> ur(k::residual_draws(w, m));
        k::uniform_spacings(g2, std::span<double>(ur));
        k::residual_resample(w, ur, b, counts, res);
        REQUIRE(a == b);
        k::resample(k::ssp, lw, a, g1, ws);
        std::vector<double> us(n - 1);
        for (double& x : us) x = k::uniform01(g2);
        k::ssp_resample(w, us, b, counts, res);
        REQUIRE(a == b);
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("residual counts on every instruction set equal the scalar floors", "[resample]",
                        kt::isa_cases) {
  // The floors of M w_j / S are vectorised per level (magic-number rounding); counts and
  // residuals must be the scalar std::floor ones, bit for bit, integer M W_j included.
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  std::mt19937_64 g(91);
  for (std::size_t n : {1, 2, 3, 7, 8, 9, 16, 17, 100, 1001}) {
    for (int kind = 0; kind < 5; ++kind) {
      std::vector<T> w = kind < 4 ? random_weights<T>(n, kind, g) : std::vector<T>(n, T(1));  // 4: M W_j integers
      const auto ws = kd::summarize_weights<T>("test", std::span<const T>(w));
      for (std::size_t m : {std::size_t(1), n, 3 * n + 1, 1000 * n}) {
        INFO("n = " << n << ", kind = " << kind << ", m = " << m);
        std::vector<std::size_t> counts(n);
        std::vector<double> res(n);
        const std::size_t r = kd::residual_counts("test", std::span<const T>(w), m, ws, counts.data(), res.data());
        const double per_mass = static_cast<double>(m) / ws.total;
        std::size_t sum = 0;
        for (std::size_t j = 0; j < n; ++j) {
          const double mw = static_cast<double>(w[j]) * ws.scale * per_mass;
          REQUIRE(counts[j] == static_cast<std::size_t>(std::floor(mw)));
          REQUIRE(res[j] == mw - std::floor(mw));
          sum += counts[j];
        }
        REQUIRE(r == m - sum);
      }
    }
  }
}

TEST_CASE("SSP keeps Alg. 3's arithmetic: equal to the textbook loop on stored fractional parts", "[resample]") {
  // ssp_resample carries the pair's fractional parts in registers and never stores the
  // survivor back; this is Alg. 3 of Gerber, Chopin & Whiteley (2019) as particles writes
  // it (xi in memory, branches), with the coin flip as u * sum < delta_i. Same indices.
  std::mt19937_64 g(123);
  std::uniform_real_distribution<double> unit(0, 1);
  for (std::size_t n : {1, 2, 3, 5, 8, 17, 100, 1000}) {
    for (int kind = 0; kind < 4; ++kind) {
      const auto w = random_weights<double>(n, kind, g);
      for (std::size_t m : {std::size_t(1), n, 3 * n + 2}) {
        INFO("n = " << n << ", kind = " << kind << ", m = " << m);
        std::vector<double> u(n - 1);
        for (double& x : u) x = unit(g);
        std::vector<std::size_t> counts(n);
        std::vector<double> xi(n);
        std::vector<std::uint32_t> out(m);
        k::ssp_resample(w, u, out, counts, xi);
        // the textbook loop
        const auto ws = kd::summarize_weights<double>("test", std::span<const double>(w));
        std::vector<std::size_t> c(n);
        std::vector<double> x(n);
        (void)kd::residual_counts("test", std::span<const double>(w), m, ws, c.data(), x.data());
        std::size_t i = 0, j = 1;
        for (std::size_t q = 0; q + 1 < n; ++q) {
          double di = std::min(x[j], 1.0 - x[i]);
          const double dj = std::min(x[i], 1.0 - x[j]);
          if (u[q] * (di + dj) < di) {
            std::swap(i, j);
            di = dj;
          }
          if (x[j] < 1.0 - x[i]) {
            x[i] += di;
            j = q + 2;
          } else {
            x[j] -= di;
            ++c[i];
            i = q + 2;
          }
        }
        std::size_t total = std::accumulate(c.begin(), c.end(), std::size_t(0));
        const std::size_t survivor = n == 1 ? 0 : (i < n ? i : j);
        for (; total < m; ++total) ++c[w[survivor] > 0 ? survivor : ws.last];
        std::vector<std::uint32_t> ref;
        for (std::size_t q = 0; q < n; ++q)
          for (std::size_t r = 0; r < c[q] && ref.size() < m; ++r) ref.push_back(static_cast<std::uint32_t>(q));
        REQUIRE(out == ref);
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("the blocked prefix in registers equals block_prefix, and C never decreases", "[resample]",
                        kt::isa_cases) {
  // Every path sums C in Sklansky's order (resample_cdf.hpp); the register form of a level
  // (sklansky_step, broadcast_last) must give block_prefix's bits, scaled or not. C must be
  // non-decreasing: an order such as Kogge-Stone's rounds (w1 + w2) + w0 above
  // (w2 + w3) + (w0 + w1) when w3 = 0, and then the counts and the merges disagree.
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = kd::ops<double, typename TestType::isa>;
  std::mt19937_64 g(2026);
  int kogge_stone_decreases = 0;
  for (int rep = 0; rep < 20000; ++rep) {
    const std::size_t n = 1 + g() % 8;
    std::vector<T> w(n);
    for (auto& x : w) {
      // zeros, wide exponents and full mantissas: every rounding case of the adds
      x = g() % 4 == 0 ? T(0)
                       : static_cast<T>(std::ldexp(static_cast<double>(g() >> 11) * 0x1p-53, static_cast<int>(g() % 60) - 30));
    }
    const double scale = rep % 3 == 0 ? 1.0 : std::ldexp(1.0, static_cast<int>(g() % 40) - 20);
    double c[kd::cdf_block], r[kd::cdf_block];
    const double carry = rep % 2 == 0 ? 0.0 : std::ldexp(static_cast<double>(g() >> 11) * 0x1p-53, static_cast<int>(g() % 60) - 30);
    kd::cdf_block_at(w.data(), n, 0, carry, scale, c);
    kd::cdf_block_at_level<Ops>(w.data(), n, 0, carry, scale, r);
    INFO("rep " << rep << " n " << n);
    for (std::size_t q = 0; q < kd::cdf_block; ++q) REQUIRE(std::bit_cast<std::uint64_t>(r[q]) == std::bit_cast<std::uint64_t>(c[q]));
    for (std::size_t q = 1; q < kd::cdf_block; ++q) REQUIRE(c[q - 1] <= c[q]);
    // The same data in Kogge-Stone's order (p_i += p_{i-d}, d = 1, 2, 4) must break
    // monotonicity somewhere, or this data could not catch an order that does.
    double x[kd::cdf_block];
    kd::load_block(w.data(), n, 0, scale, x);
    for (std::size_t d = 1; d < kd::cdf_block; d *= 2)
      for (std::size_t q = kd::cdf_block; q-- > d;) x[q] = x[q] + x[q - d];
    for (std::size_t q = 1; q < kd::cdf_block; ++q) kogge_stone_decreases += x[q - 1] > x[q];
  }
  CHECK(kogge_stone_decreases > 0);
  // Across blocks, with the carry: one long walk.
  std::vector<T> w(4099);
  for (auto& x : w) x = g() % 3 == 0 ? T(0) : static_cast<T>(std::ldexp(static_cast<double>(g() >> 11) * 0x1p-53, static_cast<int>(g() % 20)));
  std::vector<double> c(4104);
  kd::cdf_run(w.data(), w.size(), 0, c.size(), 0.0, 1.0, c.data());
  for (std::size_t q = 1; q < c.size(); ++q) REQUIRE(c[q - 1] <= c[q]);
}

TEMPLATE_LIST_TEST_CASE("the weight summary on every instruction set equals the scalar one bit for bit", "[resample]",
                        kt::isa_cases) {
  // summarize_weights_fast takes the validating pass of a level (weight_total_at for
  // double); total, first, last and scale must be summarize_weights' own, and a bad weight
  // must give the same error, over sizes around the block of 8 and random, mostly-zero,
  // heavy-tailed, tiny, subnormal and huge weights.
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = kd::ops<double, typename TestType::isa>;
  const auto bits = [](double x) { return std::bit_cast<std::uint64_t>(x); };
  std::mt19937_64 g(1414);
  for (std::size_t n = 1; n <= 67; ++n) {
    for (int kind = 0; kind < 7; ++kind) {
      std::vector<T> w;
      if (kind < 4) {
        w = random_weights<T>(n, kind, g);
      } else {
        w.assign(n, T(0));
        const T v = kind == 4 ? std::numeric_limits<T>::denorm_min() : kind == 5 ? std::numeric_limits<T>::max() / 4 : T(1);
        for (auto& x : w) x = g() % 2 ? v : T(0);
        w[g() % n] = v;
        if (kind == 6) w.assign(n, T(0));  // all zero: an error
      }
      INFO("n " << n << " kind " << kind);
      if constexpr (std::is_same_v<T, double>) {
        bool bad_s = false, bad_v = false;
        const double s = kd::weight_total(std::span<const T>(w), bad_s);
        const double v = kd::weight_total_at<Ops>(std::span<const T>(w), bad_v);
        REQUIRE(bits(v) == bits(s));
        REQUIRE(bad_v == bad_s);
      }
      if (kind == 6) {
        REQUIRE_THROWS_WITH(kd::summarize_weights_fast<T>("test", std::span<const T>(w)), "test: all " + std::to_string(n) + " weights are 0");
        continue;
      }
      const auto ref = kd::summarize_weights<T>("test", std::span<const T>(w));
      const auto got = kd::summarize_weights_fast<T>("test", std::span<const T>(w));
      REQUIRE(bits(got.total) == bits(ref.total));
      REQUIRE(got.first == ref.first);
      REQUIRE(got.last == ref.last);
      REQUIRE(bits(got.scale) == bits(ref.scale));
      // one bad value anywhere: the same outcome (the scalar message) from both
      for (const T badv : {T(-1e-30), std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()}) {
        auto wb = w;
        wb[g() % n] = badv;
        std::string want, have;
        try {
          (void)kd::summarize_weights<T>("test", std::span<const T>(wb));
        } catch (const std::exception& e) {
          want = e.what();
        }
        try {
          (void)kd::summarize_weights_fast<T>("test", std::span<const T>(wb));
        } catch (const std::exception& e) {
          have = e.what();
        }
        REQUIRE(!want.empty());
        REQUIRE(have == want);
        if constexpr (std::is_same_v<T, double>) {
          bool bad_s = false, bad_v = false;
          const double s = kd::weight_total(std::span<const T>(wb), bad_s);
          const double v = kd::weight_total_at<Ops>(std::span<const T>(wb), bad_v);
          REQUIRE(bad_v == bad_s);
          const bool both_nan = s != s && v != v;
          REQUIRE((both_nan || bits(v) == bits(s)));
        }
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("scaling down with tiny weights: fast paths equal the scalar twins", "[resample]",
                        kt::isa_cases) {
  // A sum above 2^960 scales every weight down by a power of two; weights far below the
  // largest become subnormal and lose bits (an inexact product). The product must be its
  // own rounding on every path and level (no FMA of it into the prefix adds), or C, and
  // the indices of targets that small, differ. Tiny uniforms put targets among those C.
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  if constexpr (!std::is_same_v<T, double>) return;  // float weights never sum above 2^960
  const T top = std::numeric_limits<T>::max();
  std::mt19937_64 g(99);
  for (int rep = 0; rep < 50; ++rep) {
    const std::size_t n = 1 + g() % 100;
    std::vector<T> w(n);
    for (auto& x : w)  // full mantissas in [2^-12, 1): inexact once scaled by 2^-1022 (double)
      x = static_cast<T>(std::ldexp(static_cast<double>(g() >> 11 | 1) * 0x1p-53, -static_cast<int>(g() % 12)));
    w[g() % n] = top / 2;
    w[g() % n] = top / 4;
    const auto ws = kd::summarize_weights<T>("test", std::span<const T>(w));
    REQUIRE(ws.scale < 1.0);
    const std::size_t m = 1 + g() % 300;
    // sorted uniforms: a run of tiny ones (targets among the scaled tiny weights), then the rest
    std::vector<double> su(m);
    for (std::size_t q = 0; q < m; ++q)
      su[q] = q < m / 2 ? std::ldexp(static_cast<double>(q + 1), -1074 + static_cast<int>(g() % 40)) : static_cast<double>(q) / m;
    std::sort(su.begin(), su.end());
    std::vector<std::int32_t> a(m), b(m);
    INFO("rep " << rep << " n " << n << " m " << m);
    k::inverse_cdf(w, su, a);
    k::scalar::inverse_cdf(w, su, b);
    REQUIRE(a == b);
    k::stratified_resample(w, su, a);
    k::scalar::stratified_resample(w, su, b);
    REQUIRE(a == b);
    for (double u : {0.0, 0x1p-1074, 0x1p-1060, 0.5}) {
      k::systematic_resample(w, u, a);
      k::scalar::systematic_resample(w, u, b);
      REQUIRE(a == b);
    }
  }
}
