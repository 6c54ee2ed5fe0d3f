// Tests for ttscale/kernels/log_weights.hpp: every instruction set against a long double
// reference on every length 0..67 and larger, adversarial inputs, and the error contract.
#include <ttscale/kernels/log_weights.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

namespace {
bool defined_distribution(const auto& x) {
  for (auto v : x)
    if (v > -std::numeric_limits<decltype(v)>::infinity()) return true;
  return false;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("logsumexp, log_mean_exp, log_normalize, softmax match the long double reference",
                        "[log_weights]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  for (std::size_t n : kt::lengths()) {
    if (n == 0) continue;
    for (int kind = 0; kind < kt::n_kinds; ++kind) {
      const auto x = kt::log_weights<T>(n, kind, 1000 * n + kind);
      if (!defined_distribution(x)) continue;
      INFO("n = " << n << ", kind = " << kind);
      const auto xl = kt::widen<T>(x);
      const long double ref = kt::lse_ref(xl);
      const long double tol = 4 * kt::eps<T> * std::max<long double>(1, std::fabs(ref));
      // The bound: each exp within 2 ulp, the sum in double, one rounding to T at the end.
      REQUIRE(std::fabs(kd::logsumexp<Ops, T>(x) - ref) <= tol);
      REQUIRE(std::fabs(kd::log_mean_exp<Ops, T>(x) - (ref - std::log((long double)n))) <=
              4 * kt::eps<T> * std::max<long double>(1, std::fabs(ref - std::log((long double)n))));
      std::vector<T> out(n);
      kd::log_normalize<Ops, T>(x, out);
      for (std::size_t i = 0; i < n; ++i) {
        const long double e = xl[i] - ref;
        if (std::isinf(e)) {
          REQUIRE(out[i] == -kt::inf<T>);
        } else {
          REQUIRE(std::fabs(out[i] - e) <=
                  4 * kt::eps<T> * (1 + std::fabs(e) + std::log((long double)n)));
        }
      }
      for (const T temperature : {T(1), T(0.25), T(3)}) {
        INFO("temperature = " << temperature);
        const T scale = T(1) / temperature;
        const auto xs = kt::widen<T>(x, scale);
        const long double rs = kt::lse_ref(xs);
        long double m = -kt::inf<long double>;
        for (auto v : xs) m = std::max(m, v);
        kd::softmax<Ops, T>(x, out, temperature);
        long double total = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const long double e = std::exp(xs[i] - rs);
          // exp of z = x/T - max rounded to T: relative error (16 + 2|z|) eps, plus the
          // subnormal spacing for results below the normal range.
          const long double z = std::isinf(xs[i]) ? 0 : std::fabs(xs[i] - m);
          REQUIRE(std::fabs(out[i] - e) <=
                  ((16 + 2 * z) * kt::eps<T> + n * 0x1p-53L) * e + 4 * std::numeric_limits<T>::denorm_min());
          if (std::isinf(xs[i])) REQUIRE(out[i] == T(0));
          total += out[i];
        }
        REQUIRE(std::fabs(total - 1) <= (n + 8) * kt::eps<T>);
      }
    }
  }
}

// The reductions work in blocks of kd::reduce_block elements (one max pass, then the exps
// from L1): whole blocks of -inf (first, middle, last), a maximum that grows in every block
// (a rescale per block), and errors met in a later block.
namespace {
template <class T>
std::vector<std::vector<T>> block_layouts() {
  constexpr std::size_t b = kd::reduce_block;
  const T minf = -std::numeric_limits<T>::infinity();
  std::vector<std::vector<T>> r;
  auto x = kt::log_weights<T>(3 * b + 5, 0, 11);
  std::fill_n(x.begin(), 2 * b, minf);  // two leading blocks of -inf
  r.push_back(x);
  x = kt::log_weights<T>(4 * b + 3, 0, 12);
  std::fill_n(x.begin() + b, b, minf);  // a middle block of -inf
  std::fill(x.begin() + 3 * b, x.end(), minf);  // and the last block and tail
  r.push_back(x);
  x.assign(5 * b + 7, T(0));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(0.01) * T(i);  // a new maximum in every block
  r.push_back(x);
  x.assign(2 * b + 1, minf);
  x.back() = T(-700);  // the only weight, in a one-element last block
  r.push_back(x);
  return r;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("block boundaries: -inf blocks, growing maxima, errors in a later block", "[log_weights]",
                        kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  for (const auto& x : block_layouts<T>()) {
    const std::size_t n = x.size();
    INFO("n = " << n);
    const auto xl = kt::widen<T>(x);
    const long double ref = kt::lse_ref(xl);
    REQUIRE(std::fabs(kd::logsumexp<Ops, T>(x) - ref) <=
            4 * kt::eps<T> * std::max<long double>(1, std::fabs(ref)) + n * 0x1p-50L);
    std::vector<T> out(n);
    kd::softmax<Ops, T>(x, out, T(1));
    long double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isinf(xl[i])) {
        REQUIRE(out[i] == T(0));
        continue;
      }
      const long double e = std::exp(xl[i] - ref);
      REQUIRE(std::fabs(out[i] - e) <= (64 * kt::eps<T> + n * 0x1p-53L) * e + 4 * std::numeric_limits<T>::denorm_min());
      total += out[i];
    }
    REQUIRE(std::fabs(total - 1) <= (n + 8) * kt::eps<T>);
  }
  constexpr std::size_t b = kd::reduce_block;
  auto x = kt::log_weights<T>(3 * b, 0, 13);
  x[2 * b + 7] = std::numeric_limits<T>::quiet_NaN();
  const std::string at = "[" + std::to_string(2 * b + 7) + "]";
  REQUIRE_THROWS_WITH((kd::logsumexp<Ops, T>(x)), "logsumexp: log_weights" + at + " is NaN");
  std::vector<T> out(x.size());
  REQUIRE_THROWS_WITH((kd::softmax<Ops, T>(x, out, T(1))), "softmax: log_weights" + at + " is NaN");
  x[b + 1] = std::numeric_limits<T>::infinity();  // an earlier +inf is the first bad index
  REQUIRE_THROWS_WITH((kd::log_normalize<Ops, T>(x, out)),
                      "log_normalize: log_weights[" + std::to_string(b + 1) + "] is +inf");
}

TEMPLATE_LIST_TEST_CASE("max: exact on every length, NaN rejected", "[log_weights]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  for (std::size_t n : kt::lengths()) {
    if (n == 0) continue;
    for (int kind = 0; kind < kt::n_kinds; ++kind) {
      const auto x = kt::log_weights<T>(n, kind, n + kind);
      T m = x[0];
      for (T v : x) m = std::max(m, v);
      REQUIRE(kd::max<Ops, T>(x) == m);
    }
    auto x = kt::log_weights<T>(n, 0, n);
    x[n - 1] = std::numeric_limits<T>::quiet_NaN();
    const std::string msg = "max: values[" + std::to_string(n - 1) + "] is NaN";
    REQUIRE_THROWS_WITH((kd::max<Ops, T>(x)), msg);
  }
}

TEMPLATE_TEST_CASE("public API equals the scalar reference within the bound; 1e6 elements", "[log_weights]", float,
                   double) {
  const auto x = kt::log_weights<TestType>(1'000'000, 0, 42);
  const auto xl = kt::widen<TestType>(x);
  const long double ref = kt::lse_ref(xl);
  const long double tol = 4 * kt::eps<TestType> * std::max<long double>(1, std::fabs(ref)) + 1e6 * 0x1p-50L;
  CHECK(std::fabs(k::logsumexp(x) - ref) <= tol);
  CHECK(std::fabs(k::scalar::logsumexp(x) - ref) <= tol);
  CHECK(std::fabs(k::log_mean_exp(x) - k::scalar::log_mean_exp(x)) <= 2 * tol);
  CHECK(k::max(x) == k::scalar::max(x));
  std::vector<TestType> a(x.size()), b(x.size());
  k::softmax(x, a, TestType(2));
  k::scalar::softmax(x, b, TestType(2));
  for (std::size_t i = 0; i < x.size(); i += 997) REQUIRE(std::fabs(a[i] - b[i]) <= (64 * kt::eps<TestType> + 1e6 * 0x1p-50) * b[i] + 4 * std::numeric_limits<TestType>::denorm_min());
  k::exp_normalize(x, a);
  k::scalar::exp_normalize(x, b);
  for (std::size_t i = 0; i < x.size(); i += 997) REQUIRE(std::fabs(a[i] - b[i]) <= (64 * kt::eps<TestType> + 1e6 * 0x1p-50) * b[i] + 4 * std::numeric_limits<TestType>::denorm_min());
  k::log_normalize(x, a);
  k::scalar::log_normalize(x, b);
  for (std::size_t i = 0; i < x.size(); i += 997) REQUIRE(std::fabs(a[i] - b[i]) <= 8 * kt::eps<TestType> * (1 + std::fabs(b[i]) + 14) + 2e6 * 0x1p-50);
  // log_normalize in place gives normalised log-weights: their logsumexp is 0.
  std::vector<TestType> y = x;
  k::log_normalize(y, y);
  CHECK(std::fabs(k::logsumexp(y)) <= 8 * kt::eps<TestType> * 14);
}

TEMPLATE_TEST_CASE("hand-computed values", "[log_weights]", float, double) {
  using T = TestType;
  const std::vector<T> x = {std::log(T(1)), std::log(T(3)), -kt::inf<T>, std::log(T(4))};
  CHECK(k::logsumexp(x) == Approx(std::log(8.0)).epsilon(4 * kt::eps<T>));
  CHECK(k::log_mean_exp(x) == Approx(std::log(2.0)).epsilon(8 * kt::eps<T>));
  std::vector<T> w(4);
  k::softmax(x, w);
  CHECK(w[0] == Approx(0.125).epsilon(4 * kt::eps<T>));
  CHECK(w[1] == Approx(0.375).epsilon(4 * kt::eps<T>));
  CHECK(w[2] == T(0));
  CHECK(w[3] == Approx(0.5).epsilon(4 * kt::eps<T>));
  // temperature 2 is the square root of the weights, renormalised: 1, sqrt3, 0, 2
  k::softmax(x, w, T(2));
  const double z = 1 + std::sqrt(3.0) + 2;
  CHECK(w[1] == Approx(std::sqrt(3.0) / z).epsilon(8 * kt::eps<T>));
  CHECK(k::max(x) == std::log(T(4)));
  // One finite weight among -inf: logsumexp is that value exactly.
  const std::vector<T> one = {-kt::inf<T>, T(-1234.5), -kt::inf<T>};
  CHECK(k::logsumexp(one) == T(-1234.5));
  k::log_normalize(one, std::span<T>(w).first(3));
  CHECK(w[1] == T(0));
  CHECK(w[0] == -kt::inf<T>);
  // Spreads that overflow a naive sum.
  const std::vector<T> huge = {T(1e30), T(-1e30), T(1e30)};
  CHECK(k::logsumexp(huge) == Approx(1e30).epsilon(4 * kt::eps<T>));
  CHECK(k::scalar::logsumexp(huge) == Approx(1e30).epsilon(4 * kt::eps<T>));
}

TEMPLATE_TEST_CASE("errors name the bad value and its index", "[log_weights]", float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> out(4);
  const std::vector<T> empty;
  CHECK_THROWS_AS(k::logsumexp(empty), ttscale::invalid_argument);
  CHECK_THROWS_WITH(k::logsumexp(empty), "logsumexp: log_weights is empty");
  CHECK_THROWS_AS(k::scalar::logsumexp(empty), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::max(empty), ttscale::invalid_argument);
  const std::vector<T> with_nan = {1, 2, 3, nan};
  CHECK_THROWS_AS(k::logsumexp(with_nan), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::logsumexp(with_nan), "logsumexp: log_weights[3] is NaN");
  CHECK_THROWS_WITH(k::scalar::logsumexp(with_nan), "logsumexp: log_weights[3] is NaN");
  CHECK_THROWS_WITH(k::softmax(with_nan, out), "softmax: log_weights[3] is NaN");
  CHECK_THROWS_WITH(k::log_normalize(with_nan, out), "log_normalize: log_weights[3] is NaN");
  CHECK_THROWS_WITH(k::log_mean_exp(with_nan), "log_mean_exp: log_weights[3] is NaN");
  const std::vector<T> with_inf = {1, kt::inf<T>, 3, 4};
  CHECK_THROWS_WITH(k::logsumexp(with_inf), "logsumexp: log_weights[1] is +inf");
  CHECK_THROWS_WITH(k::scalar::softmax(with_inf, out), "softmax: log_weights[1] is +inf");
  const std::vector<T> all_minf(17, -kt::inf<T>);
  CHECK_THROWS_AS(k::logsumexp(all_minf), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::logsumexp(all_minf), Catch::Contains("all 17 log_weights are -inf"));
  CHECK_THROWS_WITH(k::scalar::log_normalize(all_minf, std::span<T>()), Catch::Contains("output has 0"));
  std::vector<T> out17(17);
  CHECK_THROWS_WITH(k::scalar::log_normalize(all_minf, out17), Catch::Contains("all 17 log_weights are -inf"));
  const std::vector<T> ok = {1, 2, 3};
  CHECK_THROWS_AS(k::softmax(ok, out), ttscale::size_mismatch);
  CHECK_THROWS_AS(k::log_normalize(ok, out), ttscale::size_mismatch);
  std::vector<T> out3(3);
  CHECK_THROWS_AS(k::softmax(ok, out3, T(0)), ttscale::invalid_argument);
  CHECK_THROWS_WITH(k::softmax(ok, out3, T(-1)), Catch::Contains("temperature"));
  CHECK_THROWS_AS(k::scalar::softmax(ok, out3, kt::inf<T>), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::softmax(ok, out3, nan), ttscale::invalid_argument);
  // A finite log-weight that would overflow once divided by a tiny temperature: the
  // weights are computed from (x - max) / T and stay exact.
  const std::vector<T> big = {std::numeric_limits<T>::max() / 2, T(0)};
  std::vector<T> out2(2);
  k::softmax(big, out2, T(1e-3));
  CHECK(out2 == std::vector<T>{T(1), T(0)});
  k::scalar::softmax(big, out2, T(1e-3));
  CHECK(out2 == std::vector<T>{T(1), T(0)});
  // NaN is reported even when a +inf comes first? No: the first bad index is named.
  const std::vector<T> both = {kt::inf<T>, nan};
  CHECK_THROWS_WITH(k::logsumexp(both), "logsumexp: log_weights[0] is +inf");
}

TEMPLATE_TEST_CASE("log-weight errors print the temperature in its shortest round-trip form", "[log_weights]", float,
                   double) {
  // std::to_string printed a temperature of -1e-300 as "-0.000000".
  using T = TestType;
  const std::vector<T> ok = {1, 2, 3};
  std::vector<T> out(3);
  if constexpr (sizeof(T) == 8) {
    CHECK_THROWS_WITH(k::softmax(ok, out, T(-1e-300)),
                      "softmax: temperature must be positive and finite (got -1e-300)");
    CHECK_THROWS_WITH(k::scalar::softmax(ok, out, T(-1e-300)),
                      "softmax: temperature must be positive and finite (got -1e-300)");
  }
  // A float is shown as that float's shortest text ("-1e-30", not "-1.0000000031710769e-30").
  CHECK_THROWS_WITH(k::softmax(ok, out, T(-1e-30)), "softmax: temperature must be positive and finite (got -1e-30)");
  CHECK_THROWS_WITH(k::exp_normalize(ok, out, -kt::inf<T>),
                    "softmax: temperature must be positive and finite (got -inf)");
}
