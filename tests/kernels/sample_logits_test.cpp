// Tests for ttscale/kernels/sample_logits.hpp, every one on every instruction set compiled
// in: the vectorised kernel returns the scalar twin's token and bit-identical
// log-probabilities (sizes 1 to 152,064, LM-like, flat, tied, masked and extreme logits,
// random settings and uniforms); the kept sets equal a brute-force definition (a full
// stable sort, softmax in long double); the draws follow the definition (chi-square at a
// stated significance, and the same test rejecting a wrong distribution); greedy, -inf,
// NaN, ties, errors, log-probability accuracy against long double, one uniform per call,
// no allocation per token. (Agreement with llama.cpp's own samplers on the same logits:
// tests/llama_cpp/sampler_agreement_test.cpp.)
#include <ttscale/kernels/sample_logits.hpp>

#include <catch2/catch.hpp>

#include "kernels/kernels_test_support.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <numeric>
#include <random>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

// Allocation counter for the "no allocation per token" test (counts only while armed).
// Every replaceable form goes through malloc/free, so none pairs with another allocator
// (the sanitizer build intercepts the forms left out).
namespace {
std::atomic<bool> count_allocations{false};
std::atomic<long> allocations{0};
void* counted_malloc(std::size_t size) noexcept {
  if (count_allocations.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace
// Out of line: inlined, GCC 12 pairs the malloc/free inside with new/delete at call sites
// and warns (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace k = ttscale::kernels;
namespace kd = ttscale::kernels::detail;

#if defined(__SANITIZE_ADDRESS__)
constexpr int effort = 1;  // -O0 with ASan is ~30x slower: fewer repetitions, same cases
#else
constexpr int effort = 4;
#endif

// Every instruction set compiled into this binary (the sampler is float-only: logits are
// float in every engine).
using isa_list = std::tuple<kd::isa_scalar
#ifdef TTSCALE_KERNELS_HAS_SSE2
                            ,
                            kd::isa_sse2
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX2
                            ,
                            kd::isa_avx2
#endif
#ifdef TTSCALE_KERNELS_HAS_AVX512
                            ,
                            kd::isa_avx512
#endif
#ifdef TTSCALE_KERNELS_HAS_NEON
                            ,
                            kd::isa_neon
#endif
                            >;

constexpr float minf = -std::numeric_limits<float>::infinity();

template <class Isa>
k::sampled_token fast_sample(std::span<const float> x, const k::sampling_params& p, double u,
                             k::sampling_workspace& ws) {
  return kd::draw_token<kd::ops<float, Isa>>(x, p, u, kd::sampler_access::of(ws));
}
template <class Isa>
std::vector<std::int32_t> fast_kept(std::span<const float> x, const k::sampling_params& p, k::sampling_workspace& ws) {
  const auto s = kd::kept_token_ids<kd::ops<float, Isa>>(x, p, kd::sampler_access::of(ws));
  return {s.begin(), s.end()};
}
std::vector<std::int32_t> twin_kept(std::span<const float> x, const k::sampling_params& p, k::sampling_workspace& ws) {
  const auto s = k::scalar::kept_tokens(x, p, ws);
  return {s.begin(), s.end()};
}

// Logit families. 0: LM-like (normal body, a few spikes well above it); 1: uncertain LM
// (spikes barely above the body); 2: flat; 3: heavy ties (5 values); 4: LM-like with 40%
// masked (-inf); 5: all equal; 6: one finite among -inf; 7: huge spread (1e30 scale);
// 8: Gumbel body; 9: built to fool the sampler's guess at a large top-p nucleus (it
// samples every 16th token: those sit just below 64 top tokens, the rest a little lower
// and hold most of the mass), so its exact check fails and the fallback runs.
constexpr int n_families = 10;
std::vector<float> logits(std::size_t n, int family, std::mt19937_64& g) {
  std::normal_distribution<double> body(0.0, 2.5);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (family) {
      case 2: x[i] = static_cast<float>(0.3 * body(g) / 2.5); break;
      case 3: x[i] = static_cast<float>(g() % 5); break;
      case 5: x[i] = 3.25f; break;
      case 6: x[i] = minf; break;
      case 7: x[i] = static_cast<float>(1e30 * body(g) / 2.5); break;
      case 8: x[i] = static_cast<float>(-std::log(-std::log(std::max(1e-300, u01(g))))); break;
      case 9: x[i] = i % 16 == 8 ? 4.9f : i % 16 == 0 && i / 16 < 64 ? 5.0f : 4.0f; break;
      default: x[i] = static_cast<float>(body(g)); break;
    }
  }
  if (family == 0 || family == 1 || family == 4 || family == 8) {
    const std::size_t spikes = 1 + g() % 8;
    for (std::size_t s = 0; s < spikes && n > 0; ++s)
      x[g() % n] = static_cast<float>((family == 1 ? 6.0 : 12.0) + 4.0 * u01(g));
  }
  if (family == 4)
    for (auto& v : x)
      if (u01(g) < 0.4) v = minf;
  if (family == 6 && n > 0) x[g() % n] = -7.0f;
  if (n > 0 && std::all_of(x.begin(), x.end(), [](float v) { return v == minf; })) x[0] = 0.0f;
  return x;
}

k::sampling_params random_params(std::mt19937_64& g) {
  static const double temps[] = {1.0, 1.0, 0.0, 0.3, 0.6, 0.8, 1.7, 1e-3, 50.0};
  static const std::size_t ks[] = {0, 0, 0, 1, 2, 5, 20, 40, 100, 1000, 5000};
  static const double ps[] = {1.0, 1.0, 0.95, 0.9, 0.5, 0.1, 0.0, 0.999};
  static const double mps[] = {0.0, 0.0, 0.0, 0.05, 0.1, 0.5, 1.0, 1e-6};
  return {temps[g() % std::size(temps)], ks[g() % std::size(ks)], ps[g() % std::size(ps)], mps[g() % std::size(mps)]};
}

std::vector<std::size_t> sizes() {
  std::vector<std::size_t> r = {1,  2,  3,  4,   5,   7,   8,   9,    15,   16,   17,   31,   32,   33,    47,
                                63, 64, 65, 127, 128, 129, 130, 1000, 1023, 1024, 1025, 2049, 4096, 32000, 152064};
  return r;
}

// ---- the brute-force definition: a full stable sort, softmax in long double.
struct definition {
  std::vector<std::int32_t> kept;  // ascending id
  bool ambiguous = false;          // a top-p decision within 1e-9 of its threshold
};
definition brute_force(const std::vector<float>& x, const k::sampling_params& p) {
  definition d;
  std::vector<std::int32_t> order;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] > minf) order.push_back(static_cast<std::int32_t>(i));
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return x[static_cast<std::size_t>(a)] > x[static_cast<std::size_t>(b)];
  });
  const float m = x[static_cast<std::size_t>(order[0])];
  std::size_t len = order.size();
  if (p.top_k > 0 && p.top_k < len) len = p.top_k;
  std::size_t kept = len;
  if (p.top_p < 1) {
    long double s = 0;
    for (std::size_t j = 0; j < len; ++j)
      s += std::exp(static_cast<long double>(x[static_cast<std::size_t>(order[j])]) - m);
    long double cum = 0;
    const long double need = static_cast<long double>(p.top_p) * s;
    for (std::size_t j = 0; j < len; ++j) {
      cum += std::exp(static_cast<long double>(x[static_cast<std::size_t>(order[j])]) - m);
      if (std::fabs(cum - need) <= 1e-9L * s) d.ambiguous = true;
      if (cum >= need) {
        kept = j + 1;
        break;
      }
    }
  }
  if (p.min_p > 0) {
    const float cut = m + std::log(static_cast<float>(p.min_p));  // llama.cpp's float threshold
    std::size_t j = 0;
    while (j < len && x[static_cast<std::size_t>(order[j])] >= cut) ++j;
    kept = std::min(kept, j);
  }
  d.kept.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept));
  std::sort(d.kept.begin(), d.kept.end());
  return d;
}

// Probabilities of the definition (long double): the brute-force kept set at temperature T.
std::vector<long double> definition_probabilities(const std::vector<float>& x, const k::sampling_params& p) {
  const auto kept = brute_force(x, p).kept;
  std::vector<long double> prob(x.size(), 0.0L);
  if (p.temperature == 0) {
    const auto top = std::max_element(x.begin(), x.end());  // first maximum: lowest id
    prob[static_cast<std::size_t>(top - x.begin())] = 1;
    return prob;
  }
  long double m = -std::numeric_limits<long double>::infinity(), s = 0;
  for (const auto i : kept) m = std::max(m, static_cast<long double>(x[static_cast<std::size_t>(i)]));
  for (const auto i : kept) {
    const auto u = static_cast<std::size_t>(i);
    prob[u] = std::exp((static_cast<long double>(x[u]) - m) / static_cast<long double>(p.temperature));
    s += prob[u];
  }
  for (auto& v : prob) v /= s;
  return prob;
}

// Upper regularised incomplete gamma Q(a, x) (series below a + 1, Lentz continued fraction
// above), for the chi-square critical value.
double upper_gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double front = std::exp(-x + a * std::log(x) - std::lgamma(a));
  if (x < a + 1) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return 1.0 - front * sum;
  }
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int n = 1; n < 1000; ++n) {
    const double an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return front * h;
}
// The chi-square value exceeded with probability alpha at df degrees of freedom.
double chi_square_critical(double df, double alpha) {
  double lo = 0, hi = 10 * df + 200;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (upper_gamma_q(df / 2, mid / 2) > alpha ? lo : hi) = mid;
  }
  return hi;
}

// Pearson's statistic of counts against probabilities. Cells expected below 5 draws are
// pooled into one (the chi-square approximation needs >= 5 per cell; a pool still short
// joins the smallest regular cell). Cells of probability 0 must be empty: `impossible`.
double chi_square(const std::vector<long>& counts, const std::vector<long double>& prob, long draws, int& df,
                  long& impossible) {
  std::vector<std::pair<double, double>> cells;  // (expected, observed)
  double pool_e = 0, pool_o = 0;
  impossible = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double e = static_cast<double>(prob[i] * draws), o = static_cast<double>(counts[i]);
    if (prob[i] == 0)
      impossible += counts[i];
    else if (e < 5)
      pool_e += e, pool_o += o;
    else
      cells.emplace_back(e, o);
  }
  if (pool_e >= 5 || cells.empty()) {
    if (pool_e > 0) cells.emplace_back(pool_e, pool_o);
  } else if (pool_e > 0) {
    auto smallest = std::min_element(cells.begin(), cells.end());
    smallest->first += pool_e;
    smallest->second += pool_o;
  }
  double stat = 0;
  for (const auto& [e, o] : cells) stat += (o - e) * (o - e) / e;
  df = static_cast<int>(cells.size()) - 1;
  return stat;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("sample_logits equals its scalar twin: same token, bit-identical log-probabilities",
                        "[sample_logits]", isa_list) {
  KT_RUN_AT(TestType);
  std::mt19937_64 g(20261129);
  k::sampling_workspace fast_ws, twin_ws;
  long cases = 0;
  for (const std::size_t n : sizes()) {
    const int settings = n >= 100000 ? 1 + effort / 2 : n >= 10000 ? effort : 6 * effort;
    for (int family = 0; family < n_families; ++family) {
      if (n >= 10000 && family != 0 && family != 1 && family != 3 && family != 4 && family != 9) continue;
      const auto x = logits(n, family, g);
      for (int s = 0; s < settings; ++s) {
        const k::sampling_params p = random_params(g);
        INFO("n = " << n << ", family = " << family << ", T = " << p.temperature << ", top_k = " << p.top_k
                    << ", top_p = " << p.top_p << ", min_p = " << p.min_p);
        REQUIRE(fast_kept<TestType>(x, p, fast_ws) == twin_kept(x, p, twin_ws));
        for (const double u : {0.0, std::uniform_real_distribution<double>(0, 1)(g), 0.5, std::nextafter(1.0, 0.0),
                               std::ldexp(1.0, -60)}) {
          const auto a = fast_sample<TestType>(x, p, u, fast_ws);
          const auto b = k::scalar::sample_logits(x, p, u, twin_ws);
          INFO("u = " << u);
          REQUIRE(a.token == b.token);
          REQUIRE(a.logprob == b.logprob);
          REQUIRE(a.sampling_logprob == b.sampling_logprob);
          REQUIRE(x[static_cast<std::size_t>(a.token)] > minf);
          ++cases;
        }
      }
    }
  }
  CHECK(cases > 1000);
}

TEMPLATE_LIST_TEST_CASE("kept tokens equal a brute-force full sort for each truncation", "[sample_logits]", isa_list) {
  KT_RUN_AT(TestType);
  std::mt19937_64 g(7);
  k::sampling_workspace ws;
  long compared = 0, ambiguous = 0;
  const std::vector<k::sampling_params> singles = {
      {1, 0, 1, 0},         {1, 1, 1, 0},      {1, 3, 1, 0},    {1, 40, 1, 0},       {1, 5000, 1, 0},
      {1, 0, 0.0, 0},       {1, 0, 0.3, 0},    {1, 0, 0.9, 0},  {1, 0, 0.99, 0},     {1, 0, 1, 0.05},
      {1, 0, 1, 0.5},       {1, 0, 1, 1.0},    {1, 0, 1, 1e-9}, {1, 40, 0.95, 0.05}, {0.8, 20, 0.8, 0.1},
      {2, 1000, 0.5, 0.01}, {1, 7, 0.999, 0.9}};
  for (const std::size_t n : {std::size_t(1), std::size_t(9), std::size_t(33), std::size_t(200), std::size_t(4096),
                              std::size_t(32000), std::size_t(152064)}) {
    if (n > 100000 && effort == 1) continue;  // the sanitizer build: the same paths at 32000
    for (int family = 0; family < n_families; ++family) {
      if ((n >= 100000 && family != 0 && family != 1) || (n >= 10000 && family > 4 && family != 9)) continue;
      const auto x = logits(n, family, g);
      for (const auto& p : singles) {
        const auto want = brute_force(x, p);
        INFO("n = " << n << ", family = " << family << ", top_k = " << p.top_k << ", top_p = " << p.top_p
                    << ", min_p = " << p.min_p);
        if (want.ambiguous) {  // exact ties (families 3 and 5) can put a prefix's mass right at p
          ambiguous += family != 3 && family != 5;
          continue;
        }
        REQUIRE(fast_kept<TestType>(x, p, ws) == want.kept);
        ++compared;
      }
    }
  }
  CHECK(compared > 500);
  CHECK(ambiguous * 100 < compared);  // without exact ties, a mass within 1e-9 of p is rare
}

TEMPLATE_LIST_TEST_CASE("draws follow the definition: chi-square goodness of fit", "[sample_logits]", isa_list) {
  KT_RUN_AT(TestType);
  // 12 tokens: a tie at the top, a masked token, a spread that every rule cuts differently.
  const std::vector<float> x = {2.0f, 3.5f, 3.5f, -1.0f, 0.5f, minf, 1.0f, 2.8f, -0.3f, 1.9f, 0.0f, 3.0f};
  const std::vector<k::sampling_params> settings = {
      {1.0, 0, 1.0, 0.0},    // the model as it is
      {0.7, 5, 1.0, 0.0},    // top-k with a tie inside
      {1.0, 0, 0.8, 0.0},    // top-p
      {1.3, 0, 1.0, 0.2},    // min-p, hot
      {1.3, 8, 0.9, 0.05},   // all three
      {0.25, 0, 0.97, 0.0},  // cold
  };
  const long draws = 50'000L * effort;
  // Significance 1e-6 per setting with a fixed seed: a false alarm is out of the question,
  // and a wrong distribution (below) is still rejected.
  constexpr double alpha = 1e-6;
  k::sampling_workspace ws;
  for (std::size_t s = 0; s < settings.size(); ++s) {
    const auto& p = settings[s];
    ttscale::random_engine engine(99, {s, 0});
    std::vector<long> counts(x.size(), 0);
    for (long d = 0; d < draws; ++d)
      ++counts[static_cast<std::size_t>(fast_sample<TestType>(x, p, engine.uniform(), ws).token)];
    int df = 0;
    long impossible = 0;
    const double stat = chi_square(counts, definition_probabilities(x, p), draws, df, impossible);
    INFO("setting " << s << ": chi2 = " << stat << " at df = " << df);
    CHECK(impossible == 0);  // a token outside the kept set (or masked) is never drawn
    if (df >= 1) CHECK(stat < chi_square_critical(df, alpha));
    // The same test rejects a slightly wrong distribution (temperature off by 15%).
    k::sampling_params wrong = p;
    wrong.temperature *= 1.15;
    int df2 = 0;
    long impossible2 = 0;
    const double stat2 = chi_square(counts, definition_probabilities(x, wrong), draws, df2, impossible2);
    if (df >= 2) CHECK(stat2 > chi_square_critical(df2, alpha));
  }
}

TEST_CASE("chi-square critical values match tables", "[sample_logits]") {
  CHECK(chi_square_critical(1, 0.05) == Approx(3.841).epsilon(1e-3));
  CHECK(chi_square_critical(10, 0.01) == Approx(23.209).epsilon(1e-3));
  // Closed forms: Q(2, x) = e^(-x/2), so the 1e-6 point at df = 2 is -2 ln 1e-6 = 27.631;
  // Q(5, x) = erfc(sqrt(x/2)) + sqrt(2/pi) e^(-x/2) (sqrt(x) + x^(3/2)/3) is 1e-6 at 35.888.
  CHECK(chi_square_critical(2, 1e-6) == Approx(-2 * std::log(1e-6)).epsilon(1e-6));
  CHECK(chi_square_critical(5, 1e-6) == Approx(35.888).epsilon(1e-4));
}

TEMPLATE_LIST_TEST_CASE("greedy, -inf, ties and tiny vocabularies", "[sample_logits]", isa_list) {
  KT_RUN_AT(TestType);
  k::sampling_workspace ws;
  // Greedy: the lowest id among equal maxima, whatever the truncation and the uniform.
  const std::vector<float> tie = {1.0f, 3.0f, minf, 3.0f, 2.0f, 3.0f};
  for (const double u : {0.0, 0.7, std::nextafter(1.0, 0.0)}) {
    const auto r = fast_sample<TestType>(tie, {0.0, 2, 0.5, 0.1}, u, ws);
    CHECK(r.token == 1);
    CHECK(r.sampling_logprob == 0.0);
    CHECK(r.logprob == Approx(3.0 - std::log(std::exp(1.0) + 3 * std::exp(3.0) + std::exp(2.0))).epsilon(1e-6));
  }
  // Ties at every cutoff go to the lowest id: top-k 2 of {3, 3, 3} keeps ids 1 and 3.
  CHECK(fast_kept<TestType>(tie, {1.0, 2, 1.0, 0.0}, ws) == std::vector<std::int32_t>{1, 3});
  CHECK(fast_kept<TestType>(tie, {1.0, 4, 1.0, 0.0}, ws) == std::vector<std::int32_t>{1, 3, 4, 5});
  // top-p 0: the top token alone (the lowest id of the tie).
  CHECK(fast_kept<TestType>(tie, {1.0, 0, 0.0, 0.0}, ws) == std::vector<std::int32_t>{1});
  // top-p: each 3 holds ~30% of the mass, so p = 0.5 needs two of them, lowest ids first.
  CHECK(fast_kept<TestType>(tie, {1.0, 0, 0.5, 0.0}, ws) == std::vector<std::int32_t>{1, 3});
  // min-p keeps every token >= the threshold, ties included; min_p = 1 keeps the maxima.
  CHECK(fast_kept<TestType>(tie, {1.0, 0, 1.0, 1.0}, ws) == std::vector<std::int32_t>{1, 3, 5});
  // Disabled rules keep every finite token (never the masked one).
  CHECK(fast_kept<TestType>(tie, {}, ws) == std::vector<std::int32_t>{0, 1, 3, 4, 5});
  CHECK(fast_kept<TestType>(tie, {1.0, 6, 1.0, 0.0}, ws) == std::vector<std::int32_t>{0, 1, 3, 4, 5});
  // -0 and +0 are equal logits: the tie goes to the lower id.
  const std::vector<float> zeros = {-1.0f, 0.0f, -0.0f, -5.0f};
  const std::vector<float> zeros2 = {-1.0f, -0.0f, 0.0f, -5.0f};
  CHECK(fast_kept<TestType>(zeros, {1.0, 1, 1.0, 0.0}, ws) == std::vector<std::int32_t>{1});
  CHECK(fast_kept<TestType>(zeros2, {1.0, 1, 1.0, 0.0}, ws) == std::vector<std::int32_t>{1});
  // A masked token has probability exactly 0: a dense sweep of uniforms never reaches it,
  // nor the boundaries next to it.
  std::vector<float> masked(37, minf);
  masked[0] = 0.0f;
  masked[18] = 0.0f;
  masked[36] = -2.0f;
  std::vector<long> hits(masked.size(), 0);
  for (int i = 0; i < 20000; ++i) {
    const double u = i / 20000.0;
    ++hits[static_cast<std::size_t>(fast_sample<TestType>(masked, {}, u, ws).token)];
  }
  for (std::size_t i = 0; i < masked.size(); ++i)
    if (masked[i] == minf) CHECK(hits[i] == 0);
  CHECK(hits[0] > 0);
  CHECK(hits[18] > 0);
  CHECK(hits[36] > 0);
  // One finite token among -inf: always it, with probability 1.
  std::vector<float> lone(100, minf);
  lone[57] = -3.0f;
  for (const k::sampling_params& p : {k::sampling_params{}, k::sampling_params{0.5, 40, 0.9, 0.05}}) {
    const auto r = fast_sample<TestType>(lone, p, std::nextafter(1.0, 0.0), ws);
    CHECK(r.token == 57);
    CHECK(r.logprob == 0.0);
    CHECK(r.sampling_logprob == 0.0);
  }
  // A vocabulary of one.
  const std::vector<float> one = {4.0f};
  const auto r1 = fast_sample<TestType>(one, {0.3, 5, 0.1, 0.9}, 0.99, ws);
  CHECK(r1.token == 0);
  CHECK(r1.logprob == 0.0);
  CHECK(r1.sampling_logprob == 0.0);
  // top_k = 1 at any temperature is greedy with probability 1.
  const auto rk = fast_sample<TestType>(tie, {2.0, 1, 1.0, 0.0}, 0.99, ws);
  CHECK(rk.token == 1);
  CHECK(rk.sampling_logprob == 0.0);
}

TEMPLATE_LIST_TEST_CASE("NaN, +inf, all -inf and empty logits are errors naming the culprit", "[sample_logits]",
                        isa_list) {
  KT_RUN_AT(TestType);
  k::sampling_workspace ws;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::size_t n : {std::size_t(1), std::size_t(5), std::size_t(40), std::size_t(1000)}) {
    std::vector<float> x(n, 1.0f);
    x[n - 1] = nan;
    const std::string where = "logits[" + std::to_string(n - 1) + "] is NaN";
    CHECK_THROWS_WITH(fast_sample<TestType>(x, {}, 0.5, ws), "sample_logits: " + where);
    CHECK_THROWS_WITH(fast_sample<TestType>(x, {0.5, 3, 0.9, 0.1}, 0.5, ws), "sample_logits: " + where);
    CHECK_THROWS_WITH(fast_kept<TestType>(x, {1.0, 0, 0.9, 0.0}, ws), "kept_tokens: " + where);
    CHECK_THROWS_WITH(k::scalar::sample_logits(x, {}, 0.5, ws), "sample_logits: " + where);
    CHECK_THROWS_AS(fast_sample<TestType>(x, {0.0, 0, 1.0, 0.0}, 0.5, ws), ttscale::invalid_score);
    x[n - 1] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(fast_sample<TestType>(x, {}, 0.5, ws),
                      Catch::Contains("logits[" + std::to_string(n - 1) + "] is +inf"));
    std::fill(x.begin(), x.end(), minf);
    CHECK_THROWS_WITH(fast_sample<TestType>(x, {}, 0.5, ws),
                      "sample_logits: all " + std::to_string(n) + " logits are -inf (no token can be drawn)");
    CHECK_THROWS_AS(k::scalar::kept_tokens(x, {}, ws), ttscale::invalid_score);
  }
  const std::vector<float> empty;
  CHECK_THROWS_WITH(fast_sample<TestType>(empty, {}, 0.5, ws), "sample_logits: logits is empty");
  CHECK_THROWS_AS(fast_kept<TestType>(empty, {}, ws), ttscale::invalid_argument);
  CHECK_THROWS_AS(k::scalar::sample_logits(empty, {}, 0.5, ws), ttscale::invalid_argument);
}

TEST_CASE("sampling_params and the uniform are checked, naming the bad value", "[sample_logits]") {
  k::sampling_workspace ws;
  const std::vector<float> x = {1.0f, 2.0f};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(k::sample_logits(x, {-1.0, 0, 1.0, 0.0}, 0.5, ws),
                    "sample_logits: params.temperature must be finite and >= 0 (got -1)");
  CHECK_THROWS_WITH(k::validate(k::sampling_params{std::numeric_limits<double>::infinity(), 0, 1.0, 0.0}),
                    "sampling_params: params.temperature must be finite and >= 0 (got inf)");
  CHECK_THROWS_WITH(k::sample_logits(x, {nan, 0, 1.0, 0.0}, 0.5, ws), Catch::Contains("(got nan)"));
  CHECK_THROWS_WITH(k::sample_logits(x, {1.0, 0, 1.5, 0.0}, 0.5, ws),
                    "sample_logits: params.top_p must be in [0, 1] (got 1.5)");
  CHECK_THROWS_WITH(k::kept_tokens(x, {1.0, 0, -0.1, 0.0}, ws),
                    "kept_tokens: params.top_p must be in [0, 1] (got -0.1)");
  CHECK_THROWS_WITH(k::scalar::sample_logits(x, {1.0, 0, 1.0, 1.25}, 0.5, ws),
                    "sample_logits: params.min_p must be in [0, 1] (got 1.25)");
  CHECK_THROWS_WITH(k::sample_logits(x, {1.0, 0, 1.0, nan}, 0.5, ws),
                    Catch::Contains("min_p") && Catch::Contains("nan"));
  CHECK_THROWS_WITH(k::sample_logits(x, {}, 1.0, ws), "sample_logits: uniform must be in [0, 1) (got 1)");
  CHECK_THROWS_WITH(k::sample_logits(x, {}, -1e-300, ws), "sample_logits: uniform must be in [0, 1) (got -1e-300)");
  CHECK_THROWS_AS(k::scalar::sample_logits(x, {}, nan, ws), ttscale::invalid_argument);
  CHECK_NOTHROW(k::validate(k::sampling_params{0.0, 123456, 0.0, 1.0}));
  // A bad option never consumes the stream's uniform.
  ttscale::random_engine engine(5), copy(5);
  CHECK_THROWS_AS(k::sample_logits(x, {1.0, 0, 2.0, 0.0}, engine, ws), ttscale::invalid_argument);
  CHECK(engine == copy);
}

TEMPLATE_LIST_TEST_CASE("log-probabilities are within the stated bound of a long double definition", "[sample_logits]",
                        isa_list) {
  KT_RUN_AT(TestType);
  std::mt19937_64 g(3);
  k::sampling_workspace ws;
  for (const std::size_t n : {std::size_t(100), std::size_t(32000), std::size_t(152064)}) {
    if (n > 100000 && effort == 1) continue;
    // |error| <= 2^-24 (4 + 3 ln N) + N 2^-41 (the header's bound).
    const double bound = std::ldexp(4 + 3 * std::log(double(n)), -24) + std::ldexp(double(n), -41);
    for (const int family : {0, 1, 2, 4, 8}) {
      if (n >= 100000 && family > 1) continue;
      const auto x = logits(n, family, g);
      for (const k::sampling_params& p : {k::sampling_params{}, k::sampling_params{0.7, 0, 0.95, 0.0},
                                          k::sampling_params{1.6, 50, 1.0, 0.01}, k::sampling_params{0.05, 0, 1, 0}}) {
        const auto r = fast_sample<TestType>(x, p, std::uniform_real_distribution<double>(0, 1)(g), ws);
        const auto t = static_cast<std::size_t>(r.token);
        long double m = minf, s = 0;
        for (const float v : x) m = std::max(m, static_cast<long double>(v));
        for (const float v : x) s += std::exp(static_cast<long double>(v) - m);
        const long double raw = static_cast<long double>(x[t]) - m - std::log(s);
        const auto prob = definition_probabilities(x, p);
        INFO("n = " << n << ", family = " << family << ", T = " << p.temperature);
        CHECK(std::fabs(static_cast<double>(raw - r.logprob)) <= bound);
        CHECK(std::fabs(static_cast<double>(std::log(prob[t]) - r.sampling_logprob)) <= bound);
      }
    }
  }
}

TEST_CASE("one uniform per call from the engine, and no allocation per token", "[sample_logits]") {
  std::mt19937_64 g(1);
  const auto x = logits(32000, 0, g);
  k::sampling_workspace ws(32000);
  for (const k::sampling_params& p :
       {k::sampling_params{}, k::sampling_params{0.0, 0, 1.0, 0.0}, k::sampling_params{0.8, 40, 0.95, 0.05},
        k::sampling_params{0.6, 0, 0.9, 0.0}, k::sampling_params{1.0, 6000, 0.99, 0.0}}) {
    ttscale::random_engine engine(42, {1, 2}), expected(42, {1, 2});
    for (int i = 0; i < 3; ++i) {
      const double u = expected.uniform();
      const auto want = k::sample_logits(x, p, u, ws);
      count_allocations = true;
      const auto got = k::sample_logits(x, p, engine, ws);
      const auto kept = k::kept_tokens(x, p, ws);
      count_allocations = false;
      CHECK(got.token == want.token);
      CHECK(engine == expected);
      CHECK(!kept.empty());
    }
  }
  CHECK(allocations.load() == 0);
}
