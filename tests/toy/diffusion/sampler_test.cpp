// The samplers reproduce the mixture without search: each sampler's samples
// against exact samples of the data — means and second moments within 4.5
// standard errors of the difference, and two-sample Kolmogorov–Smirnov tests
// on three projections at level 1e-3 — and the same statistics detect a
// model with a score error (the tests can fail). Plus the NFE accounting,
// the state bookkeeping, from_noise / renoise, determinism by seed.
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/diffusion/sampler.hpp>
#include <ttscale/toy/diffusion/verifiers.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;
using namespace ttscale::toy::diffusion;

namespace {
std::vector<vector> draw(diffusion_sampler& gen, std::size_t n, std::uint64_t seed) {
  const gaussian_reward any({0.0, 0.0}, 1.0);
  std::mt19937_64 rng(seed);
  const auto r = best_of_n(gen, any, "", best_of_n_options{.n = n, .max_steps = 1000}, rng);
  std::vector<vector> out;
  for (const auto& c : r.candidates) out.push_back(sample_of(c.path));
  return out;
}

std::vector<vector> exact(const gaussian_mixture& data, std::size_t n) {
  random_engine rng(77);
  std::vector<vector> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(data.sample(rng));
  return out;
}

/// Two-sample KS statistic of the projections of a and b on `direction`.
double ks_statistic(const std::vector<vector>& a, const std::vector<vector>& b, const vector& direction) {
  auto project = [&](const std::vector<vector>& xs) {
    std::vector<double> p;
    for (const vector& x : xs) p.push_back(x[0] * direction[0] + x[1] * direction[1]);
    std::sort(p.begin(), p.end());
    return p;
  };
  const std::vector<double> pa = project(a), pb = project(b);
  double d = 0;
  std::size_t i = 0, j = 0;
  while (i < pa.size() && j < pb.size()) {
    const double v = std::min(pa[i], pb[j]);
    while (i < pa.size() && pa[i] == v) ++i;
    while (j < pb.size() && pb[j] == v) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / pa.size() - static_cast<double>(j) / pb.size()));
  }
  return d;
}

/// KS critical value at level alpha: c(alpha) sqrt((n + m) / (n m)), c = sqrt(-ln(alpha / 2) / 2).
double ks_critical(std::size_t n, std::size_t m, double alpha) {
  return std::sqrt(-std::log(alpha / 2) / 2) * std::sqrt(static_cast<double>(n + m) / (static_cast<double>(n) * m));
}

/// |mean_a - mean_b| / sqrt(var_a / n + var_b / m) for x_i and x_i^2, i = 0, 1 (the largest).
double largest_z(const std::vector<vector>& a, const std::vector<vector>& b) {
  double worst = 0;
  for (int power = 1; power <= 2; ++power)
    for (std::size_t i = 0; i < 2; ++i) {
      auto stats = [&](const std::vector<vector>& xs) {
        double s = 0, ss = 0;
        for (const vector& x : xs) {
          const double v = std::pow(x[i], power);
          s += v;
          ss += v * v;
        }
        const double n = static_cast<double>(xs.size()), mean = s / n;
        return std::pair{mean, (ss / n - mean * mean) / n};
      };
      const auto [ma, va] = stats(a);
      const auto [mb, vb] = stats(b);
      worst = std::max(worst, std::abs(ma - mb) / std::sqrt(va + vb));
    }
  return worst;
}

bool same_distribution(const std::vector<vector>& a, const std::vector<vector>& b) {
  const double critical = ks_critical(a.size(), b.size(), 1e-3);
  const double s = std::sqrt(0.5);
  bool same = largest_z(a, b) < 4.5;
  for (const vector& dir : {vector{1, 0}, vector{0, 1}, vector{s, s}}) same &= ks_statistic(a, b, dir) < critical;
  return same;
}
}  // namespace

TEST_CASE("every sampler reproduces the mixture without search", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  const std::vector<vector> truth = exact(data, 4000);
  for (sampler_kind kind :
       {sampler_kind::ddpm, sampler_kind::ddim, sampler_kind::flow_ode, sampler_kind::flow_sde, sampler_kind::flow_vp_sde}) {
    INFO(to_string(kind));
    diffusion_sampler gen(model, {.kind = kind, .steps = 40});
    const std::vector<vector> samples = draw(gen, 800, 5);
    INFO("largest moment z = " << largest_z(samples, truth) << ", KS(x0) = " << ks_statistic(samples, truth, {1, 0})
                               << " vs critical " << ks_critical(samples.size(), truth.size(), 1e-3));
    CHECK(same_distribution(samples, truth));
    CHECK(gen.live_states() == 0);  // every node the search saw was released
  }
}

TEST_CASE("the same statistics detect a model with a score error", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model weak(data, {.mean_shift = 1.0, .seed = 3});
  diffusion_sampler gen(weak, {.kind = sampler_kind::ddpm, .steps = 40});
  CHECK_FALSE(same_distribution(draw(gen, 800, 5), exact(data, 4000)));
}

TEST_CASE("a sample costs K NFEs, counted as tokens; the last step finishes it", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  for (std::size_t k : {1, 2, 7}) {
    diffusion_sampler gen(model, {.kind = sampler_kind::ddpm, .steps = k});
    std::mt19937_64 rng(1);
    const gaussian_reward any({0.0, 0.0}, 1.0);
    const auto r = best_of_n(gen, any, "", best_of_n_options{.n = 3, .max_steps = 100}, rng);
    CHECK(r.spent.tokens == 3 * k);
    CHECK(r.spent.steps == 3 * k);
    for (const auto& c : r.candidates) {
      CHECK(c.path.depth() == k);
      CHECK(c.path.finished());
    }
  }
}

TEST_CASE("from_noise and renoise make states the sampler continues from", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  diffusion_sampler gen(model, {.kind = sampler_kind::ddim, .steps = 5});
  trajectory_tree tree("");
  const vector z{0.25, -1.5};
  const trajectory noise = tree.append(0, gen.from_noise(z));
  CHECK(gen.level_of(noise) == 0);
  // Two DDIM runs from the same noise are identical: deterministic given the noise.
  auto run = [&](trajectory t) {
    std::vector<random_engine> engines{random_engine(1)};
    std::vector<step> out(1);
    std::uint64_t nfe = 0;
    while (!t.finished()) {
      const trajectory prefix[] = {t};
      gen.extend(prefix, engines, out);
      nfe += out[0].tokens;
      t = tree.append(t.id(), out[0]);
    }
    return std::pair{t, nfe};
  };
  const auto [a, nfe_a] = run(noise);
  const auto [b, nfe_b] = run(noise);
  CHECK(sample_of(a) == sample_of(b));
  CHECK(nfe_a == 5);  // the noise is evaluated by the first step: still K NFEs
  // Re-noising a finished sample 2 levels goes back to level 3; continuing costs 1 + 1 NFEs.
  random_engine rng(4);
  const trajectory back = tree.append(a.id(), gen.renoise(a, 2, rng));
  CHECK(gen.level_of(back) == 3);
  CHECK_FALSE(estimate_of(back).has_value());
  const auto [c, nfe_c] = run(back);
  CHECK(nfe_c == 2);
  CHECK(c.depth() == a.depth() + 3);
  CHECK_THROWS_WITH(gen.renoise(tree.root(), 1, rng), Catch::Contains("renoise of the root"));
  CHECK_THROWS_WITH(gen.from_noise(vector{1.0}), Catch::Contains("dimension 1"));
  {
    std::vector<random_engine> engines{random_engine(1)};
    std::vector<step> out(1);
    const trajectory finished[] = {a};
    CHECK_THROWS_WITH(gen.extend(finished, engines, out), Catch::Contains("already a finished sample"));
  }
  const std::vector<trajectory> all{noise, a, b, back, c};
  gen.release(all);
  CHECK_THROWS_WITH(gen.level_of(a), Catch::Contains("has no state"));
}

TEST_CASE("renoise keeps the marginal of the level it goes back to", "[toy][diffusion]") {
  // Exact data samples placed at level K and re-noised to level j must be distributed as
  // a_j x0 + s_j eps: per coordinate, mean a_j E[x0] and E[x^2] = a_j^2 E[x0^2] + s_j^2.
  // 4000 draws; 5 standard errors (estimated from the draws).
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  for (sampler_kind kind : {sampler_kind::ddpm, sampler_kind::flow_sde}) {
    INFO(to_string(kind));
    diffusion_sampler gen(model, {.kind = kind, .steps = 10});
    trajectory_tree tree("");
    random_engine rng(8);
    const std::size_t n = 4000, j = 4;
    const noise_level to = gen.level_at(j);
    for (std::size_t i = 0; i < 2; ++i) {
      double s1 = 0, s2 = 0, s4 = 0;
      for (std::size_t draw = 0; draw < n; ++draw) {
        const trajectory clean = tree.append(0, gen.state_step(data.sample(rng), 10));
        const trajectory back = tree.append(clean.id(), gen.renoise(clean, 6, rng));
        REQUIRE(gen.level_of(back) == j);
        const double x = gen.point_of(back)[i];
        s1 += x;
        s2 += x * x;
        s4 += x * x * x * x;
        const std::vector<trajectory> done{clean, back};
        gen.release(done);
      }
      const double m1 = s1 / n, m2 = s2 / n;
      const double expected_m1 = to.a * data.mean()[i];
      const double expected_m2 = to.a * to.a * data.second_moment()[i] + to.s * to.s;
      CHECK(std::abs(m1 - expected_m1) < 5 * std::sqrt((m2 - m1 * m1) / n));
      CHECK(std::abs(m2 - expected_m2) < 5 * std::sqrt((s4 / n - m2 * m2) / n));
    }
    CHECK(gen.live_states() == 0);
  }
}

TEST_CASE("bad sampler options are named", "[toy][diffusion]") {
  const gaussian_mixture data = make_ring_mixture({});
  const score_model model(data);
  CHECK_THROWS_WITH(diffusion_sampler(model, {.steps = 0}), Catch::Contains("options.steps must be at least 1 (got 0)"));
  CHECK_THROWS_WITH(diffusion_sampler(model, {.sde_noise = -1.0}), Catch::Contains("options.sde_noise"));
  trajectory_tree tree("");
  const trajectory foreign = tree.append(0, step{"x", 1, 0.0, false, 0});
  diffusion_sampler gen(model, {});
  CHECK_THROWS_WITH(gen.level_of(foreign), Catch::Contains("was not made by a diffusion_sampler"));
}
