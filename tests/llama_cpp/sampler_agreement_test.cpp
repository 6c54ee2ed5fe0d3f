// kernels::sample_logits against llama.cpp's own samplers (the fetched release, linked as
// ttscale::llama_cpp) on identical logits: the tokens top-k, top-p and min-p keep, alone
// and chained in llama.cpp's default order (llama_sampler_init_top_k, _top_p, _min_p
// applied to a llama_token_data_array, as common_sampler_init chains them), equal
// kernels::kept_tokens; after temperature and llama_sampler_init_dist, llama.cpp's
// probability of the token our kernel draws equals exp(sampling_logprob); greedy picks the
// same token. Logits have no ties (llama.cpp's partial sorts order ties arbitrarily), and a
// top-p case whose prefix mass lies within 1e-5 of p is skipped: llama.cpp sums floats,
// the kernel sums exactly, so such a cut may legitimately differ by one token (counted,
// and required to be rare).
#include <llama.h>
#include <ttscale/kernels/sample_logits.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

namespace k = ttscale::kernels;

// LM-like logits without ties: a N(0, 2.5^2) body, 1-8 tokens 6 to 16 above it, and
// (masked) a third of the tokens at -inf.
std::vector<float> lm_logits(std::size_t n, bool masked, std::mt19937_64& g) {
  std::normal_distribution<double> body(0.0, 2.5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(body(g));
  const std::size_t spikes = 1 + g() % 8;
  for (std::size_t s = 0; s < spikes; ++s) x[g() % n] = static_cast<float>(6.0 + 10.0 * u(g));
  if (masked)
    for (auto& v : x)
      if (u(g) < 1.0 / 3) v = -std::numeric_limits<float>::infinity();
  // Break any tie (rare at float precision, but llama.cpp orders ties arbitrarily).
  std::vector<float> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end(), [](float a, float b) { return a == b && a > -1e30f; }) !=
      sorted.end())
    for (std::size_t i = 0; i < n; ++i)
      if (x[i] > -std::numeric_limits<float>::infinity()) x[i] += static_cast<float>(i) * 1e-6f;
  return x;
}

struct chain {
  llama_sampler* s;
  chain() : s(llama_sampler_chain_init(llama_sampler_chain_default_params())) {}
  ~chain() { llama_sampler_free(s); }
  chain(const chain&) = delete;
  chain& operator=(const chain&) = delete;
  void add(llama_sampler* smpl) { llama_sampler_chain_add(s, smpl); }
};

// The survivors of chain `c` applied to x, as common_sampler applies it to a token array.
std::vector<llama_token_data> llama_apply(const std::vector<float>& x, std::vector<llama_token_data>& data, chain& c) {
  data.resize(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) data[i] = {static_cast<llama_token>(i), x[i], 0.0f};
  llama_token_data_array cur{data.data(), data.size(), -1, false};
  llama_sampler_apply(c.s, &cur);
  return {cur.data, cur.data + cur.size};
}

void add_truncation(chain& c, const k::sampling_params& p) {
  c.add(llama_sampler_init_top_k(static_cast<std::int32_t>(p.top_k)));
  c.add(llama_sampler_init_top_p(static_cast<float>(p.top_p), 1));
  c.add(llama_sampler_init_min_p(static_cast<float>(p.min_p), 1));
}

// Whether top-p's cut is within `margin` of p (relative to the mass top-k kept), computed
// in long double on the sorted top-k prefix.
bool top_p_near_tie(const std::vector<float>& x, const k::sampling_params& p, long double margin) {
  if (p.top_p >= 1) return false;
  std::vector<float> v;
  for (const float e : x)
    if (e > -std::numeric_limits<float>::infinity()) v.push_back(e);
  std::sort(v.begin(), v.end(), std::greater<>());
  if (p.top_k > 0 && p.top_k < v.size()) v.resize(p.top_k);
  long double s = 0, cum = 0;
  for (const float e : v) s += std::exp(static_cast<long double>(e) - v[0]);
  for (const float e : v) {
    cum += std::exp(static_cast<long double>(e) - v[0]);
    if (std::fabs(cum / s - static_cast<long double>(p.top_p)) < margin) return true;
    if (cum / s >= static_cast<long double>(p.top_p)) break;
  }
  return false;
}

// Settings with float-representable p (llama.cpp takes floats).
std::vector<k::sampling_params> settings() {
  const auto f = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  return {
      {1.0, 1, 1.0, 0.0},      {1.0, 40, 1.0, 0.0},         {1.0, 1000, 1.0, 0.0},       {1.0, 0, f(0.9), 0.0},
      {1.0, 0, f(0.5), 0.0},   {1.0, 0, f(0.99), 0.0},      {1.0, 0, 1.0, f(0.05)},      {1.0, 0, 1.0, f(0.2)},
      {1.0, 0, 1.0, f(0.001)}, {0.8, 40, f(0.95), f(0.05)},  // llama.cpp's defaults (common_params_sampling)
      {0.6, 20, f(0.95), 0.0}, {0.7, 0, f(0.9), f(0.01)},   {1.3, 200, f(0.8), f(0.02)},
  };
}

}  // namespace

TEST_CASE("kept tokens equal llama.cpp's top-k, top-p and min-p samplers on identical logits",
          "[sample_logits][llama_cpp]") {
  std::mt19937_64 g(2026);
  k::sampling_workspace ws;
  std::vector<llama_token_data> data;
  long compared = 0, near_ties = 0;
  for (const std::size_t n : {std::size_t(50), std::size_t(1000), std::size_t(32000), std::size_t(152064)}) {
    for (int rep = 0; rep < (n > 100000 ? 2 : 6); ++rep) {
      const auto x = lm_logits(n, rep % 2 == 1, g);
      for (const auto& p : settings()) {
        INFO("n = " << n << ", rep = " << rep << ", top_k = " << p.top_k << ", top_p = " << p.top_p
                    << ", min_p = " << p.min_p);
        if (top_p_near_tie(x, p, 1e-5L)) {
          ++near_ties;
          continue;
        }
        chain c;
        add_truncation(c, p);
        std::vector<std::int32_t> theirs;
        for (const auto& d : llama_apply(x, data, c))
          if (d.logit > -std::numeric_limits<float>::infinity()) theirs.push_back(d.id);  // -inf: probability 0
        std::sort(theirs.begin(), theirs.end());
        const auto ours = k::kept_tokens(x, p, ws);
        REQUIRE(std::vector<std::int32_t>(ours.begin(), ours.end()) == theirs);
        ++compared;
      }
    }
  }
  CHECK(compared > 150);
  CHECK(near_ties * 20 < compared);
}

TEST_CASE("after temperature, llama.cpp's probability of the drawn token is exp(sampling_logprob)",
          "[sample_logits][llama_cpp]") {
  std::mt19937_64 g(7);
  k::sampling_workspace ws;
  std::vector<llama_token_data> data;
  for (const std::size_t n : {std::size_t(1000), std::size_t(32000)}) {
    const auto x = lm_logits(n, false, g);
    for (const auto& p : settings()) {
      if (top_p_near_tie(x, p, 1e-5L)) continue;
      chain c;
      add_truncation(c, p);
      c.add(llama_sampler_init_temp(static_cast<float>(p.temperature)));
      c.add(llama_sampler_init_dist(1234));
      const auto kept = llama_apply(x, data, c);  // dist leaves normalised p in the array
      for (const double u : {0.01, 0.5, 0.97}) {
        const auto r = k::sample_logits(x, p, u, ws);
        const auto it =
            std::find_if(kept.begin(), kept.end(), [&](const llama_token_data& d) { return d.id == r.token; });
        INFO("n = " << n << ", T = " << p.temperature << ", top_k = " << p.top_k << ", top_p = " << p.top_p
                    << ", min_p = " << p.min_p << ", u = " << u);
        REQUIRE(it != kept.end());
        CHECK(std::exp(r.sampling_logprob) == Approx(it->p).epsilon(2e-5));  // llama.cpp: float softmax
      }
    }
  }
}

TEST_CASE("greedy picks llama.cpp's greedy token", "[sample_logits][llama_cpp]") {
  std::mt19937_64 g(3);
  k::sampling_workspace ws;
  std::vector<llama_token_data> data;
  for (const std::size_t n : {std::size_t(10), std::size_t(32000), std::size_t(152064)}) {
    const auto x = lm_logits(n, true, g);
    chain c;
    c.add(llama_sampler_init_greedy());
    data.resize(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = {static_cast<llama_token>(i), x[i], 0.0f};
    llama_token_data_array cur{data.data(), data.size(), -1, false};
    llama_sampler_apply(c.s, &cur);
    REQUIRE(cur.selected >= 0);
    CHECK(k::sample_logits(x, {0.0, 0, 1.0, 0.0}, 0.5, ws).token == cur.data[cur.selected].id);
  }
}
