// Zero-order search (Ma et al. 2025, sec. 3.2): exactly scripted — every
// candidate lies at distance lambda from the previous iteration's best noise,
// the pivot moves to the best candidate, the accounting is N * iterations
// samples — plus determinism by seed and bad input (lambda <= 0) named.
#include <ttscale/from_function.hpp>
#include <ttscale/strategies/diffusion/zero_order_search.hpp>

#include "strategies/diffusion/diffusion_world.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace ttscale;
using namespace ttscale::toy::diffusion;
using ttscale::testing::diffusion_world;

namespace {
/// A one-step noise-space generator: the sample is the noise itself, recorded
/// (in call order) so the test sees every candidate's noise.
struct noise_echo {
  std::vector<std::vector<double>> noises;
  std::size_t noise_dimension() const { return 3; }
  step from_noise(std::span<const double> z) {
    noises.emplace_back(z.begin(), z.end());
    return step{"noise\n", 0, 0.0, false, static_cast<std::int64_t>(noises.size())};
  }
  void extend(std::span<const trajectory> prefixes, std::span<random_engine>, std::span<step> out) {
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      out[i] = step{"z", 1, 0.0, true, prefixes[i].last_step().engine_state};
  }
};
}  // namespace

TEST_CASE("zero-order search: candidates on the lambda-sphere around the best so far", "[zero_order_search]") {
  noise_echo gen;
  const std::vector<double> target{1.0, -2.0, 0.5};
  auto reward = outcome_verifier_from([&](const trajectory& t) {
    const auto& z = gen.noises.at(static_cast<std::size_t>(t.last_step().engine_state) - 1);
    double d = 0;
    for (std::size_t i = 0; i < 3; ++i) d += (z[i] - target[i]) * (z[i] - target[i]);
    return -d;
  });
  auto score = [&](const std::vector<double>& z) {
    double d = 0;
    for (std::size_t i = 0; i < 3; ++i) d += (z[i] - target[i]) * (z[i] - target[i]);
    return -d;
  };
  std::mt19937_64 rng(4);
  const std::size_t n = 5, iterations = 6;
  const double lambda = 0.3;
  const auto r = zero_order_search(gen, reward, "", zero_order_search_options{.n = n, .iterations = iterations, .lambda = lambda}, rng);
  REQUIRE(gen.noises.size() == n * iterations);
  CHECK(r.spent.samples == n * iterations);
  CHECK(r.spent.tokens == n * iterations);
  CHECK(r.spent.verifier_calls == iterations);
  std::vector<double> best_so_far;
  double best_score = -1e300;
  for (std::size_t it = 0; it < iterations; ++it) {
    // The iteration's centre: all its candidates are lambda from it; from iteration 1 on, it is
    // the previous iteration's best candidate (the paper's pivot update).
    std::vector<double> pivot;
    double pivot_score = -1e300;
    if (it > 0) {
      for (std::size_t j = 0; j < n; ++j) {
        const auto& z = gen.noises[(it - 1) * n + j];
        if (score(z) > pivot_score) pivot_score = score(z), pivot = z;
      }
      for (std::size_t j = 0; j < n; ++j) {
        const auto& z = gen.noises[it * n + j];
        double d = 0;
        for (std::size_t i = 0; i < 3; ++i) d += (z[i] - pivot[i]) * (z[i] - pivot[i]);
        INFO("iteration " << it << " candidate " << j);
        CHECK(std::sqrt(d) == Approx(lambda).epsilon(1e-12));
      }
    }
    for (std::size_t j = 0; j < n; ++j)
      if (score(gen.noises[it * n + j]) > best_score) best_score = score(gen.noises[it * n + j]);
  }
  REQUIRE(r.has_choice());
  CHECK(r.chosen().score == best_score);  // the best sample seen
}

TEST_CASE("zero-order search on a DDIM sampler improves on its first iteration", "[zero_order_search]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddim, 10);
  std::mt19937_64 rng(2);
  const auto one = zero_order_search(gen, w.exact, "", zero_order_search_options{.n = 4, .iterations = 1}, rng);
  std::mt19937_64 again(2);
  const auto many = zero_order_search(gen, w.exact, "", zero_order_search_options{.n = 4, .iterations = 8}, again);
  // Same pivot and first iteration (same streams), so the longer search can only do better.
  CHECK(many.chosen().score >= one.chosen().score);
  CHECK(many.spent.tokens == 8 * 4 * 10);
  CHECK(gen.live_states() == 0);
}

TEST_CASE("zero_order_search: the same seed, the same sample, whatever the execution", "[zero_order_search]") {
  const diffusion_world w;
  testing::check_same_across_executions([&](execution exec, std::mt19937_64& rng) {
    diffusion_sampler gen = w.sampler(sampler_kind::ddim, 10);
    return zero_order_search(gen, w.exact, "", zero_order_search_options{.n = 5, .iterations = 3, .exec = exec}, rng);
  });
}

TEST_CASE("zero_order_search: bad input names the strategy, the item and the value", "[zero_order_search]") {
  const diffusion_world w;
  diffusion_sampler gen = w.sampler(sampler_kind::ddim, 5);
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(zero_order_search(gen, w.exact, "", zero_order_search_options{.lambda = 0.0}, rng),
                    "zero_order_search: options.lambda must be finite and > 0 (got 0)");
  CHECK_THROWS_WITH(zero_order_search(gen, w.exact, "", zero_order_search_options{.lambda = -0.25}, rng),
                    "zero_order_search: options.lambda must be finite and > 0 (got -0.25)");
  CHECK_THROWS_WITH(zero_order_search(gen, w.exact, "", zero_order_search_options{.n = 0}, rng),
                    "zero_order_search: options.n must be at least 1 (got 0)");
  testing::nan_reward nan;
  CHECK_THROWS_WITH(zero_order_search(gen, nan, "", zero_order_search_options{.n = 2}, rng),
                    Catch::Contains("zero_order_search: outcome verifier returned nan for item 0 of the round"));
  CHECK(gen.live_states() == 0);
}
