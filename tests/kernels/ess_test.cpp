// Tests for ttscale/kernels/ess.hpp: ESS and weight entropy on every instruction set
// against a long double reference, closed-form cases, and the error contract.
#include <ttscale/kernels/ess.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/kernels_test_support.hpp"

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

namespace {
struct ref_t {
  long double ess, entropy, spread;  // spread = sum W |x - lse|, scales the entropy error
};
template <class T>
ref_t reference(const std::vector<T>& x) {
  const auto xl = kt::widen<T>(x);
  const long double lse = kt::lse_ref(xl);
  long double s2 = 0, h = 0, spread = 0;
  for (long double v : xl) {
    if (std::isinf(v)) continue;
    const long double w = std::exp(v - lse);
    s2 += w * w;
    h -= w * (v - lse);
    spread += w * std::fabs(v - lse);
  }
  return {1 / s2, h, spread};
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("effective_sample_size and weight_entropy match the reference", "[ess]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  for (std::size_t n : kt::lengths()) {
    if (n == 0) continue;
    for (int kind = 0; kind < kt::n_kinds; ++kind) {
      const auto x = kt::log_weights<T>(n, kind, 77 * n + kind);
      bool any = false;
      for (T v : x) any = any || v > -kt::inf<T>;
      if (!any) continue;
      INFO("n = " << n << ", kind = " << kind);
      const ref_t r = reference(x);
      // Each exp within 2 ulp in T, squares and sums in double.
      REQUIRE(std::fabs(kd::effective_sample_size<Ops, T>(x) - r.ess) <=
              (16 * kt::eps<T> + n * 0x1p-52L) * r.ess);
      REQUIRE(std::fabs(kd::weight_entropy<Ops, T>(x) - r.entropy) <=
              16 * kt::eps<T> * (1 + std::log((long double)n) + r.spread) + n * 0x1p-50L);
    }
  }
}

// Blocks of kd::reduce_block: whole blocks of -inf (first, middle, last), a maximum that
// grows in every block (each rescales sum w, sum w^2 and sum w (x - m)), an error in a later block.
TEMPLATE_LIST_TEST_CASE("ESS and entropy across block boundaries", "[ess]", kt::isa_cases) {
  KT_RUN_AT(typename TestType::isa);
  using T = typename TestType::value_type;
  using Ops = typename TestType::ops;
  constexpr std::size_t b = kd::reduce_block;
  const T minf = -kt::inf<T>;
  std::vector<std::vector<T>> layouts;
  auto x = kt::log_weights<T>(3 * b + 5, 1, 21);
  std::fill_n(x.begin(), 2 * b, minf);
  layouts.push_back(x);
  x = kt::log_weights<T>(4 * b + 3, 2, 22);
  std::fill_n(x.begin() + b, b, minf);
  std::fill(x.begin() + 3 * b, x.end(), minf);
  layouts.push_back(x);
  x.assign(5 * b + 7, T(0));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(0.002) * T(i);
  layouts.push_back(x);
  for (const auto& v : layouts) {
    const std::size_t n = v.size();
    INFO("n = " << n);
    const ref_t r = reference(v);
    REQUIRE(std::fabs(kd::effective_sample_size<Ops, T>(v) - r.ess) <= (16 * kt::eps<T> + n * 0x1p-52L) * r.ess);
    REQUIRE(std::fabs(kd::weight_entropy<Ops, T>(v) - r.entropy) <=
            16 * kt::eps<T> * (1 + std::log((long double)n) + r.spread) + n * 0x1p-50L);
  }
  x = kt::log_weights<T>(3 * b, 0, 23);
  x[2 * b + 9] = std::numeric_limits<T>::quiet_NaN();
  const std::string at = "log_weights[" + std::to_string(2 * b + 9) + "] is NaN";
  REQUIRE_THROWS_WITH((kd::effective_sample_size<Ops, T>(x)), "effective_sample_size: " + at);
  REQUIRE_THROWS_WITH((kd::weight_entropy<Ops, T>(x)), "weight_entropy: " + at);
}

TEMPLATE_TEST_CASE("ESS and entropy closed forms", "[ess]", float, double) {
  using T = TestType;
  for (std::size_t n : {1u, 7u, 64u, 1000u}) {
    const std::vector<T> equal(n, T(-2.5));
    CHECK(k::effective_sample_size(equal) == Approx(double(n)).epsilon(16 * kt::eps<T>));
    CHECK(k::scalar::effective_sample_size(equal) == Approx(double(n)).epsilon(16 * kt::eps<T>));
    CHECK(k::weight_entropy(equal) == Approx(std::log(double(n))).epsilon(16 * kt::eps<T>).margin(1e-12));
    std::vector<T> one(n, -kt::inf<T>);
    one[n / 2] = T(100);
    CHECK(k::effective_sample_size(one) == 1.0);
    CHECK(k::weight_entropy(one) == 0.0);
    CHECK(k::scalar::weight_entropy(one) == 0.0);
  }
  // Two weights 1:3 -> W = 1/4, 3/4; ESS = 1 / (1/16 + 9/16) = 1.6.
  const std::vector<T> two = {T(0), std::log(T(3))};
  CHECK(k::effective_sample_size(two) == Approx(1.6).epsilon(16 * kt::eps<T>));
  CHECK(k::weight_entropy(two) == Approx(-(0.25 * std::log(0.25) + 0.75 * std::log(0.75))).epsilon(16 * kt::eps<T>));
  // Huge spreads do not overflow.
  const std::vector<T> huge = {T(1e30), T(-1e30), T(1e30), T(1e30)};
  CHECK(k::effective_sample_size(huge) == Approx(3.0).epsilon(16 * kt::eps<T>));
  // vectorised vs scalar on 1e6 elements
  const auto x = kt::log_weights<T>(1'000'000, 0, 5);
  CHECK(k::effective_sample_size(x) == Approx(k::scalar::effective_sample_size(x)).epsilon(16 * kt::eps<T> + 1e-9));
  CHECK(k::weight_entropy(x) == Approx(k::scalar::weight_entropy(x)).epsilon(64 * kt::eps<T> + 1e-9));
}

TEMPLATE_TEST_CASE("ESS and entropy errors", "[ess]", float, double) {
  using T = TestType;
  const std::vector<T> empty;
  CHECK_THROWS_AS(k::effective_sample_size(empty), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::weight_entropy(empty), ttscale::invalid_argument);
  const std::vector<T> nan = {1, 2, std::numeric_limits<T>::quiet_NaN()};
  CHECK_THROWS_WITH(k::effective_sample_size(nan), "effective_sample_size: log_weights[2] is NaN");
  CHECK_THROWS_WITH(k::scalar::effective_sample_size(nan), "effective_sample_size: log_weights[2] is NaN");
  CHECK_THROWS_WITH(k::weight_entropy(nan), "weight_entropy: log_weights[2] is NaN");
  const std::vector<T> pinf = {kt::inf<T>, 1};
  CHECK_THROWS_AS(k::effective_sample_size(pinf), ttscale::invalid_score);
  CHECK_THROWS_WITH(k::weight_entropy(pinf), "weight_entropy: log_weights[0] is +inf");
  const std::vector<T> minf(9, -kt::inf<T>);
  CHECK_THROWS_AS(k::effective_sample_size(minf), ttscale::invalid_score);
  CHECK_THROWS_AS(k::scalar::weight_entropy(minf), ttscale::invalid_score);
}
