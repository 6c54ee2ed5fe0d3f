// The toy diffusion world's analytic quantities against their definitions:
// the score is the gradient of the noised log-density (finite differences),
// the Tweedie estimate satisfies x = a x0_hat + s eps_hat and its limits, the
// model's error is exactly the knob.
#include <ttscale/toy/diffusion/mixture.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

using namespace ttscale;
using namespace ttscale::toy::diffusion;

namespace {
gaussian_mixture world(std::size_t d = 2) { return make_ring_mixture({.dimension = d}); }
}  // namespace

TEST_CASE("score = -eps_hat / s is the gradient of log p_t (central differences)", "[toy][diffusion]") {
  const gaussian_mixture data = world(3);
  for (const noise_level level : {noise_level{0.9, 0.43589}, noise_level{0.5, 0.5}, noise_level{0.05, 0.99875}}) {
    const vector x{1.3, -0.7, 0.2};
    const denoised d = data.denoise(x, level);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double h = 1e-5;
      vector up = x, down = x;
      up[i] += h;
      down[i] -= h;
      const double gradient = (data.log_density(up, level) - data.log_density(down, level)) / (2 * h);
      // Central differences: error O(h^2 * third derivative) plus O(eps / h) rounding, well below 1e-6 here.
      CHECK(-d.eps[i] / level.s == Approx(gradient).margin(1e-6));
      CHECK(x[i] == Approx(level.a * d.x0[i] + level.s * d.eps[i]).margin(1e-12));
    }
  }
}

TEST_CASE("Tweedie limits: clean data is its own estimate, pure noise gives the data mean", "[toy][diffusion]") {
  const gaussian_mixture data = world();
  const vector x{0.4, 2.0};
  const denoised clean = data.denoise(x, {1.0, 0.0});
  CHECK(clean.x0[0] == Approx(x[0]).margin(1e-12));
  CHECK(clean.x0[1] == Approx(x[1]).margin(1e-12));
  const denoised noise = data.denoise(x, {0.0, 1.0});
  const vector mean = data.mean();
  CHECK(noise.x0[0] == Approx(mean[0]).margin(1e-12));
  CHECK(noise.x0[1] == Approx(mean[1]).margin(1e-12));
  double total = 0;
  for (double r : data.responsibilities(x, {0.7, 0.714})) total += r;
  CHECK(total == Approx(1.0).margin(1e-12));
}

TEST_CASE("exact samples have the mixture's weights and moments", "[toy][diffusion]") {
  const gaussian_mixture data = world();
  random_engine rng(3);
  const std::size_t n = 20000;
  std::size_t target = 0;
  double m0 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = 0;
    const vector x = data.sample(rng, &k);
    target += k == 0;
    m0 += x[0];
  }
  // Binomial(n, 0.1) and the mean's standard error sqrt(var / n): 5 sigma margins.
  CHECK(std::abs(static_cast<double>(target) / n - 0.1) < 5 * std::sqrt(0.1 * 0.9 / n));
  const double var0 = data.second_moment()[0] - data.mean()[0] * data.mean()[0];
  CHECK(std::abs(m0 / n - data.mean()[0]) < 5 * std::sqrt(var0 / n));
}

TEST_CASE("the score error knob misplaces each component by exactly mean_shift", "[toy][diffusion]") {
  const gaussian_mixture data = world(5);
  const score_model exact(data), weak(data, {.mean_shift = 0.75, .seed = 9});
  for (std::size_t k = 0; k < data.size(); ++k) {
    double moved = 0;
    for (std::size_t i = 0; i < data.dimension(); ++i) {
      CHECK(exact.believed()[k].mean[i] == data[k].mean[i]);
      moved += std::pow(weak.believed()[k].mean[i] - data[k].mean[i], 2);
    }
    CHECK(std::sqrt(moved) == Approx(0.75).epsilon(1e-12));
  }
}

TEST_CASE("bad mixtures and knobs are named", "[toy][diffusion]") {
  CHECK_THROWS_WITH(gaussian_mixture({}), Catch::Contains("no components"));
  CHECK_THROWS_WITH(gaussian_mixture({{1.0, {0.0}, 1.0}, {1.0, {0.0, 1.0}, 1.0}}),
                    Catch::Contains("component 1 has dimension 2"));
  CHECK_THROWS_WITH(gaussian_mixture({{-1.0, {0.0}, 1.0}}), Catch::Contains("weight must be finite and > 0 (got -1"));
  CHECK_THROWS_WITH(gaussian_mixture({{1.0, {0.0}, 0.0}}), Catch::Contains("stddev must be finite and > 0 (got 0"));
  CHECK_THROWS_WITH(score_model(world(), {.mean_shift = std::nan("")}), Catch::Contains("mean_shift"));
  CHECK_THROWS_WITH(world().log_density(vector{1.0, 2.0, 3.0}), Catch::Contains("dimension 3"));
}
