// ttscale/kernels/sample_logits.hpp: draw one token from a vocabulary-sized logits vector
// with temperature, top-k, top-p (nucleus) and min-p, as llama.cpp's sampler chain does,
// in two vectorised passes over the vocabulary (a third, compare-only, for top-p alone on an
// uncertain step) and no sort of it.
//
// Semantics: llama.cpp v0.4.0, the release scripts/fetch_llama_cpp.sh fetches. Its default
// chain (common_params_sampling::samplers, common/common.h) is penalties, dry,
// top_n_sigma, top_k, typical_p, top_p, min_p, xtc, temperature, and common_sampler_init
// (common/sampling.cpp) appends llama_sampler_init_dist; the samplers live in
// src/llama-sampler.cpp. With m = the largest logit:
//   1. top-k (llama_sampler_top_k_impl): keep the k largest logits; k = 0 keeps all.
//   2. top-p (llama_sampler_top_p_apply): softmax at temperature 1 over what top-k kept,
//      then keep the smallest prefix, largest first, whose probability is >= p; p = 1
//      keeps all, p = 0 keeps the top token.
//   3. min-p (llama_sampler_min_p_apply): keep logits >= m + logf(min_p), computed in float
//      as llama.cpp does; min_p = 0 keeps all.
//   4. temperature (llama_sampler_temp_impl): logits / T on the kept tokens; T = 0 is greedy.
//   5. draw (llama_sampler_dist_apply): one uniform, inverse CDF of the softmax of the kept.
// So every truncation sees the raw logits: temperature changes the shape of the
// distribution over the kept tokens, never which tokens are kept. (Hugging Face
// transformers and vLLM apply temperature first; for their order pass logits already
// divided by T, and temperature = 1.) Differences from llama.cpp, by design: ties at a
// cutoff go to the LOWEST token id (llama.cpp's partial sorts leave them unspecified); the
// kept tokens are walked in ascending id order (llama.cpp walks its sorted array: the same
// distribution, another token for the same uniform); masses are summed exactly (below)
// where llama.cpp sums floats, so a top-p cut whose prefix mass is within ~1e-6 of p can
// differ by one token; greedy takes the lowest id among equal maxima.
// tests/llama_cpp/sampler_agreement_test.cpp checks the kept sets and the tempered
// probabilities against llama.cpp's own samplers on the same logits.
//
// Exact, order-free arithmetic. Every mass is an integer: token i weighs
// q_i = round(2^40 exp((x_i - m) tau)), tau = float(1 / T) (clamped to FLT_MAX; tau = 1 for
// the truncation rules), exp being detail::exp_reg, kernels::exp's float exponential
// (<= 2 ulp). Sums of q are exact in 64 bits (hence at most 2^24 - 1 tokens) and do not
// depend on the order of addition, so the vectorised kernel and its scalar twin make the
// same decisions: the top-p prefix is the smallest with double(sum q) >= top_p *
// double(normaliser), the normaliser being the exact mass of what top-k kept (of all tokens
// when top-k keeps all); the draw takes target = floor(u Z) (exact, 128-bit product), Z the
// kept mass, and returns the first kept token (ascending id) whose cumulative mass exceeds
// target. A weight below 2^-41 of the top token's rounds to 0: at most N 2^-41 of
// probability moves (7e-8 at N = 152,064), below the rounding of llama.cpp's float sums.
// The twin and the kernel agree to the bit wherever exp_reg does across instruction sets
// (every build here; an unoptimised -march build can differ on SSE2, whose fmadd is not
// fused while the scalar one is).
//
// Algorithm (on the register layer, detail/simd.hpp; the scalar twin
// kernels::scalar::sample_logits is the plain reference: loops, then std::nth_element and
// std::sort on a prefix of the rank order):
//   pass 1: max, NaN/+inf check, count of -inf and, with top-k (or top-p alone), the
//           largest logit of each of ~4k blocks: the k-th largest block maximum is a floor
//           with at least k tokens above it (1.1k to 1.4k on the benchmark's LM-like logits),
//           found without a per-token branch.
//   pass 2: the exact mass sum(q_i) of all tokens (one exp per token), fused with the
//           collection of the candidates above that floor (or min-p's threshold) or, when
//           nothing truncates, with per-1024-token block masses at the sampling temperature.
//   then, on the candidates only (a superset of the kept tokens: top-k's k best, chosen
//   among them by nth_element; for top-p, the tokens above the 64th block maximum when
//   they hold the nucleus; else, for a large nucleus, those above an edge guessed from
//   them and every 16th token, checked exactly, with the tail bound m + log((1 - p) S / 2N)
//   as fallback: one compare-only pass), a histogram then a quickselect on (rank key,
//   mass) find the top-p cut without sorting, and the draw walks the kept candidates
//   (with no truncation: the block masses, then one block).
// Cost: O(N), ~1 exp per token, plus O(C) for the C candidates. Typical LM logits give C of
// a few hundred at most; top-p alone on an uncertain step keeps thousands of tokens and
// collects a few times more (bench/sampler_bench.cpp measures both kinds of step).
//
// Outputs: the token, its log-probability under the raw model (log_softmax of the logits
// at temperature 1) and under the sampling distribution (truncated, at temperature T; 0
// when greedy), both from the exact sums. |error| <= 2^-24 (4 + 3 ln N) + N 2^-41 (the float
// exp and the rounding of (x - m) tau; 2.4e-6 at N = 152,064), checked against a long
// double definition in tests/kernels/sample_logits_test.cpp. The twin returns the same
// token and bit-identical log-probabilities.
//
// Special values: a -inf logit (a masked token) has probability exactly 0: never drawn nor
// kept. A NaN logit -> invalid_score naming its index; a +inf logit -> invalid_score (no
// softmax exists); all -inf -> invalid_score; no logits -> invalid_argument. Ties: equal
// logits rank by ascending token id at every cutoff; -0 equals +0. Bad options, or a
// uniform outside [0, 1) -> invalid_argument naming the value. No allocation once the
// workspace has served the largest vocabulary (sampling_workspace).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/detail/simd.hpp>
#include <ttscale/kernels/dispatch.hpp>
#include <ttscale/kernels/exp.hpp>
#include <ttscale/random.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {

/// Sampling options, applied in llama.cpp's order: top-k, top-p, min-p (all on the raw
/// logits), then temperature. The defaults truncate nothing: an unbiased sample.
struct sampling_params {
  double temperature = 1.0;  ///< >= 0 and finite; 0 = greedy (the lowest id among the maxima)
  std::size_t top_k = 0;     ///< keep the k largest logits; 0 (or >= vocabulary) = disabled
  double top_p = 1.0;        ///< in [0, 1]: keep the smallest top prefix of probability >= p; 1 = disabled
  double min_p = 0.0;        ///< in [0, 1]: keep logits >= max + log(min_p); 0 = disabled
};

/// One draw: the token and its log-probability under the model and under the sampler.
struct sampled_token {
  std::int32_t token = 0;       ///< token id (index into the logits)
  double logprob = 0;           ///< log_softmax(logits)[token] at temperature 1 (the raw model)
  double sampling_logprob = 0;  ///< log-probability under the truncated, tempered distribution; 0 when greedy
};

namespace detail {

inline constexpr int sampler_mass_bits = 40;                                  // q = round(2^40 w)
inline constexpr std::size_t sampler_max_vocab = (std::size_t(1) << 24) - 1;  // exact 64-bit sums
inline constexpr std::size_t sampler_block = 1024;                            // walk granularity
inline constexpr std::size_t sampler_top_p_prefix = 64;                       // first guess for top-p
inline constexpr std::size_t sampler_histogram = 2048;                        // top-p narrowing buckets
inline constexpr std::size_t sampler_estimate_buckets = 512;                  // 1/8 logit each, 64 logits

// ---- rank keys: one 64-bit integer per token, larger = ranked first (logit desc, id asc).
inline std::uint32_t order_bits(float x) noexcept {
  if (x == 0.0f) x = 0.0f;  // -0 ranks with +0: equal logits tie by id
  const std::uint32_t b = std::bit_cast<std::uint32_t>(x);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
inline std::uint64_t rank_key(float x, std::uint32_t id) noexcept {
  return (std::uint64_t(order_bits(x)) << 32) | std::uint64_t(0xffffffffu - id);
}
inline std::uint32_t key_token(std::uint64_t key) noexcept { return 0xffffffffu - std::uint32_t(key); }
// key >= logit_floor_key(c)  <=>  logit >= c (for non-NaN logits).
inline std::uint64_t logit_floor_key(float c) noexcept { return std::uint64_t(order_bits(c)) << 32; }

// ---- exact masses
// 2^40 w rounded to an integer: exact float operations (no fast-math), identical on every
// instruction set. Below 2^23 the add/subtract of 2^23 rounds to the nearest integer (ties
// to even); above, every float is already an integer.
inline std::uint64_t quantised_mass(float w) noexcept {
  const float y = w * 0x1p40f;
  const float r = y < 0x1p23f ? (y + 0x1p23f) - 0x1p23f : y;
  return static_cast<std::uint64_t>(r);
}
// The weight exp((x - m) tau) the definition uses, one token at a time, on the width-1 set S
// of the level that runs (Ops::tail: fused where the level's registers are, so a token's
// mass is the same whether it falls in a register, a tail or the scalar twin).
template <class S>
inline float sampler_weight(float x, float m, float tau) noexcept {
  return exp_reg<S>((x - m) * tau);
}
template <class S>
inline std::uint64_t token_mass(float x, float m, float tau) noexcept {
  return quantised_mass(sampler_weight<S>(x, m, tau));
}

// floor(u * z) exactly, for 0 <= u < 1 and any 64-bit z: u = f 2^-s with f a 53-bit integer.
inline std::uint64_t scaled_floor(double u, std::uint64_t z) noexcept {
  if (!(u > 0)) return 0;
  int e = 0;
  const double fr = std::frexp(u, &e);  // u = fr 2^e, fr in [0.5, 1), e <= 0
  const auto f = static_cast<std::uint64_t>(std::ldexp(fr, 53));
  const int s = 53 - e;
  const std::uint64_t a0 = f & 0xffffffffu, a1 = f >> 32, b0 = z & 0xffffffffu, b1 = z >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  const std::uint64_t lo = (mid << 32) | (p00 & 0xffffffffu);
  const std::uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  if (s >= 128) return 0;
  if (s >= 64) return hi >> (s - 64);
  return (hi << (64 - s)) | (lo >> s);
}

inline float sampling_tau(double temperature) noexcept {
  const double t = 1.0 / temperature;
  return t >= double(std::numeric_limits<float>::max()) ? std::numeric_limits<float>::max() : static_cast<float>(t);
}

// A cutoff c below which the tokens hold at most half of the (1 - p) share of the mass Q
// (n tokens, each below c weighs at most 2^40 e^(c - m) (1 + 1e-5) + 1). A guess made
// rigorous by the exact check that follows it, never trusted alone.
inline float top_p_tail_cutoff(float m, double p, std::uint64_t q_total, std::size_t n) noexcept {
  const double budget = (1.0 - p) * double(q_total) / (2.0 * double(n)) - 1.0;
  if (!(budget > 0)) return -std::numeric_limits<float>::max();
  const double c = double(m) + std::log(budget / (0x1p40 * 1.00001));
  if (!(c > -double(std::numeric_limits<float>::max()))) return -std::numeric_limits<float>::max();
  return std::nextafter(static_cast<float>(c), -std::numeric_limits<float>::infinity());
}

// ---- errors
inline std::string sampler_index_name(const char* fn, std::size_t i) {
  return std::string(fn) + ": logits[" + std::to_string(i) + "]";
}
inline void check_sampling_params(const char* fn, const sampling_params& p) {
  using ::ttscale::detail::number_text;
  if (!(p.temperature >= 0) || std::isinf(p.temperature))
    throw invalid_argument(std::string(fn) + ": params.temperature must be finite and >= 0 (got " +
                           number_text(p.temperature) + ")");
  if (!(p.top_p >= 0 && p.top_p <= 1))
    throw invalid_argument(std::string(fn) + ": params.top_p must be in [0, 1] (got " + number_text(p.top_p) + ")");
  if (!(p.min_p >= 0 && p.min_p <= 1))
    throw invalid_argument(std::string(fn) + ": params.min_p must be in [0, 1] (got " + number_text(p.min_p) + ")");
}
inline void check_uniform(const char* fn, double u) {
  if (!(u >= 0 && u < 1))
    throw invalid_argument(std::string(fn) + ": uniform must be in [0, 1) (got " + ::ttscale::detail::number_text(u) +
                           ")");
}
inline void check_vocabulary(const char* fn, std::size_t n) {
  if (n == 0) throw invalid_argument(std::string(fn) + ": logits is empty");
  if (n > sampler_max_vocab)
    throw invalid_argument(std::string(fn) + ": " + std::to_string(n) + " logits is more than the " +
                           std::to_string(sampler_max_vocab) + " tokens the exact 64-bit mass sums allow");
}
// Cold path: name the first NaN or +inf, or say that every logit is -inf.
[[noreturn]] inline void throw_bad_logits(const char* fn, std::span<const float> x) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) throw invalid_score(sampler_index_name(fn, i) + " is NaN");
    if (x[i] == std::numeric_limits<float>::infinity())
      throw invalid_score(sampler_index_name(fn, i) + " is +inf (no softmax exists)");
  }
  throw invalid_score(std::string(fn) + ": all " + std::to_string(x.size()) +
                      " logits are -inf (no token can be drawn)");
}

// ---- buffers
struct mass_entry {
  std::uint64_t key;
  std::uint64_t mass;
};

struct sampler_buffers {
  std::vector<float> block_max;       // pass 1: the largest logit of each block
  std::vector<float> cx;              // candidates' logits, ascending id (+ lane slack)
  std::vector<std::uint32_t> cid;     // candidates' ids
  std::vector<std::uint64_t> cq;      // candidates' masses at temperature 1
  std::vector<std::uint64_t> cv;      // candidates' masses at the sampling temperature
  std::vector<float> cw;              // candidates' weights (float, before rounding)
  std::vector<mass_entry> sel;        // (key, mass) for the top-p selection
  std::vector<std::uint64_t> blocks;  // per-block masses for the whole-vocabulary walk
  std::vector<std::uint64_t> hist;    // top-p narrowing histogram
  std::vector<double> estimate;       // top-p nucleus guess
  std::vector<std::uint64_t> keys;    // the twin's sortable keys
  std::vector<std::int32_t> kept;     // kept_tokens' answer
  // Grows (never shrinks) to serve a vocabulary of n tokens: no allocation afterwards.
  void fit(std::size_t n) {
    const auto grow = [](auto& v, std::size_t size) {
      if (v.size() < size) v.resize(size);
    };
    grow(block_max, n + 1);
    grow(cx, n + max_lanes);
    grow(cid, n + max_lanes);
    grow(cq, n + max_lanes);
    grow(cv, n + max_lanes);
    grow(cw, n + max_lanes);
    grow(sel, n);
    grow(blocks, n / sampler_block + 1);
    grow(hist, sampler_histogram);
    grow(estimate, sampler_estimate_buckets);
    grow(keys, n);
    grow(kept, n);
  }
};

struct sampler_access;

}  // namespace detail

/// Scratch memory for sample_logits and kept_tokens: reuse one per thread (or per
/// concurrent caller) so no call allocates once it has seen the largest vocabulary.
class sampling_workspace {
 public:
  sampling_workspace() = default;
  /// Sized for vocabularies of up to `vocabulary` tokens now, so even the first call does
  /// not allocate.
  explicit sampling_workspace(std::size_t vocabulary) { reserve(vocabulary); }
  void reserve(std::size_t vocabulary) { buffers_.fit(vocabulary); }

 private:
  friend struct detail::sampler_access;
  detail::sampler_buffers buffers_;
};

namespace detail {

struct sampler_access {
  static sampler_buffers& of(sampling_workspace& ws) noexcept { return ws.buffers_; }
};

struct scan_result {
  float max = -std::numeric_limits<float>::infinity();
  bool bad = false;        // a NaN or +inf somewhere
  std::size_t finite = 0;  // tokens with logit > -inf
  std::size_t blocks = 0;  // block maxima written (BlockMax)
};


// The k-th largest of the block maxima of pass 1 (k <= blocks), or `none` if it is -inf.
inline float kth_block_max(float* block_max, std::size_t blocks, std::size_t k, float none) noexcept {
  std::nth_element(block_max, block_max + (k - 1), block_max + blocks, std::greater<>());
  const float f = block_max[k - 1];
  return f > -std::numeric_limits<float>::infinity() ? f : none;
}


struct mass_result {
  std::uint64_t total = 0;    // sum q_i at temperature 1
  std::size_t collected = 0;  // candidates written (Collect)
};




// The top-p cutoff among the n candidates (cx, cid, masses cq; a prefix of the rank order,
// every logit in [floor, top]): the rank key of the last token of the smallest prefix
// (largest keys first) with double(mass) >= need, or 0 if even all of them fall short.
// Exact integer sums, so any grouping gives the answer the sequential definition gives.
// Many candidates are first narrowed to one bucket of a histogram of their logits (buckets
// are monotone in the logit, so a bucket is a run of the rank order); a quickselect on
// (key, mass) finishes: O(n) expected, no sort of the candidates.
inline std::uint64_t top_p_cut(const float* cx, const std::uint32_t* cid, const std::uint64_t* cq, std::size_t n,
                               double need, float floor, float top, sampler_buffers& b) noexcept {
  mass_entry* a = b.sel.data();
  std::uint64_t above = 0;  // mass of the candidates ranked before a[lo, hi)
  std::size_t lo = 0, hi = 0;
  if (n > 4 * sampler_histogram) {
    const std::uint32_t kmin = order_bits(floor), kmax = order_bits(top);
    int shift = 0;
    while (((kmax - kmin) >> shift) >= sampler_histogram) ++shift;
    std::uint64_t* hist = b.hist.data();
    std::fill(hist, hist + sampler_histogram, std::uint64_t(0));
    for (std::size_t j = 0; j < n; ++j) hist[(order_bits(cx[j]) - kmin) >> shift] += cq[j];
    std::size_t bucket = ((kmax - kmin) >> shift) + 1;
    while (bucket > 0 && !(double(above + hist[bucket - 1]) >= need)) above += hist[--bucket];
    if (bucket == 0) return 0;
    --bucket;  // the prefix ends in this bucket: its candidates only
    for (std::size_t j = 0; j < n; ++j)
      if (((order_bits(cx[j]) - kmin) >> shift) == bucket) a[hi++] = {rank_key(cx[j], cid[j]), cq[j]};
  } else {
    for (std::size_t j = 0; j < n; ++j) a[hi++] = {rank_key(cx[j], cid[j]), cq[j]};
  }
  while (hi - lo > 32) {
    const std::uint64_t k0 = a[lo].key, k1 = a[lo + (hi - lo) / 2].key, k2 = a[hi - 1].key;
    const std::uint64_t pivot = std::max(std::min(k0, k1), std::min(std::max(k0, k1), k2));  // median of 3
    std::size_t i = lo;
    std::uint64_t gt = 0;
    for (std::size_t j = lo; j < hi; ++j)
      if (a[j].key > pivot) {
        gt += a[j].mass;
        std::swap(a[i++], a[j]);
      }
    // a[lo, i) rank before the pivot; move the pivot to i.
    for (std::size_t j = i; j < hi; ++j)
      if (a[j].key == pivot) {
        std::swap(a[i], a[j]);
        break;
      }
    if (double(above + gt) >= need) {
      hi = i;
      continue;
    }
    above += gt + a[i].mass;
    if (double(above) >= need) return a[i].key;
    lo = i + 1;
  }
  std::sort(a + lo, a + hi, [](const mass_entry& l, const mass_entry& r) { return l.key > r.key; });
  for (std::size_t j = lo; j < hi; ++j) {
    above += a[j].mass;
    if (double(above) >= need) return a[j].key;
  }
  return 0;
}


enum class sampler_mode { sample, greedy, kept };

// What the truncation left: every finite token (`whole`), or the candidates (b.cx, b.cid,
// ascending id; masses at temperature 1 in b.cq) whose rank key is >= cut.
struct truncated_logits {
  float max = 0;
  std::uint64_t total = 0;  // exact mass of every token at temperature 1
  bool whole = false;
  std::size_t candidates = 0;
  std::uint64_t cut = 0;
  std::size_t argmax = 0;  // greedy only: lowest id of the maximum
};



// The log-probabilities both paths report, from the exact sums (one expression, so the
// kernel and the twin agree to the bit).
inline sampled_token sampled_result(std::size_t id, float x, float m, std::uint64_t total, std::uint64_t z,
                                    double temperature) noexcept {
  constexpr double log_scale = sampler_mass_bits * 0.69314718055994530942;  // log 2^40
  sampled_token r;
  r.token = static_cast<std::int32_t>(id);
  const double d = double(x) - double(m);
  r.logprob = d - (std::log(double(total)) - log_scale);
  r.sampling_logprob = temperature == 0 ? 0.0 : d / temperature - (std::log(double(z)) - log_scale);
  return r;
}

}  // namespace detail
}  // namespace kernels
TTSCALE_END_NAMESPACE

// The register-layer kernels, compiled once per level (detail/foreach_level.hpp).
#define TTSCALE_KERNELS_BODY <ttscale/kernels/detail/sample_logits_body.hpp>
#include <ttscale/kernels/detail/foreach_level.hpp>

TTSCALE_BEGIN_NAMESPACE
namespace kernels {
namespace detail {

// ---- the scalar twin: the definition, computed plainly (loops, nth_element and sort on a
// prefix of the rank order), with the same exact integer masses.
struct reference_truncation {
  float max = 0;
  std::uint64_t total = 0;
  std::uint64_t cut = 0;  // kept = finite tokens with rank key >= cut (0: all of them)
  std::size_t argmax = 0;
};

template <class S>
inline reference_truncation reference_truncate(const char* fn, std::span<const float> x, const sampling_params& p,
                                               bool greedy, sampler_buffers& b) {
  const std::size_t n = x.size();
  check_vocabulary(fn, n);
  b.fit(n);
  float m = -std::numeric_limits<float>::infinity();
  bool bad = false;
  std::size_t finite = 0;
  for (const float v : x) {
    bad = bad || std::isnan(v) || v == std::numeric_limits<float>::infinity();
    if (v > m) m = v;
    finite += v > -std::numeric_limits<float>::infinity();
  }
  if (bad || finite == 0) throw_bad_logits(fn, x);
  reference_truncation r;
  r.max = m;
  for (const float v : x) r.total += token_mass<S>(v, m, 1.0f);
  if (greedy) {
    while (x[r.argmax] != m) ++r.argmax;
    return r;
  }
  const bool topk_binding = p.top_k > 0 && p.top_k < finite;
  const bool topp_on = p.top_p<1, minp_on = p.min_p> 0;
  if (!topk_binding && !topp_on && !minp_on) return r;
  const float no_cut = -std::numeric_limits<float>::max();
  const float minp_cut = minp_on ? m + std::log(static_cast<float>(p.min_p)) : no_cut;
  std::uint64_t* keys = b.keys.data();
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] > -std::numeric_limits<float>::infinity()) keys[count++] = rank_key(x[i], std::uint32_t(i));
  const auto mass_of = [&](std::uint64_t key) { return token_mass<S>(x[key_token(key)], m, 1.0f); };
  std::size_t len = count;  // keys[0, len): a prefix of the rank order holding every kept token, sorted
  if (topk_binding) {
    std::nth_element(keys, keys + (p.top_k - 1), keys + count, std::greater<>());
    len = p.top_k;
    std::sort(keys, keys + len, std::greater<>());
  } else {
    float c0 = minp_cut;
    if (topp_on) c0 = std::max(c0, top_p_tail_cutoff(m, p.top_p, r.total, finite));
    const std::uint64_t floor = logit_floor_key(c0);
    len = static_cast<std::size_t>(std::partition(keys, keys + count, [&](std::uint64_t k) { return k >= floor; }) -
                                   keys);
    std::sort(keys, keys + len, std::greater<>());
    if (topp_on && c0 != minp_cut) {  // the tail bound is a guess: check the prefix holds the nucleus
      std::uint64_t s = 0;
      for (std::size_t j = 0; j < len; ++j) s += mass_of(keys[j]);
      if (!(double(s) >= p.top_p * double(r.total))) {
        len = count;
        std::sort(keys, keys + len, std::greater<>());
      }
    }
  }
  std::size_t kept = len;
  if (topp_on) {
    std::uint64_t normaliser = r.total;
    if (topk_binding) {
      normaliser = 0;
      for (std::size_t j = 0; j < len; ++j) normaliser += mass_of(keys[j]);
    }
    const double need = p.top_p * double(normaliser);
    std::uint64_t cum = 0;
    for (std::size_t j = 0; j < len; ++j) {
      cum += mass_of(keys[j]);
      if (double(cum) >= need) {
        kept = std::min(kept, j + 1);
        break;
      }
    }
  }
  if (minp_on) {
    std::size_t j = 0;
    while (j < len && x[key_token(keys[j])] >= minp_cut) ++j;
    kept = std::min(kept, j);
  }
  r.cut = keys[kept - 1];
  return r;
}

template <class S>
inline sampled_token reference_sample(std::span<const float> x, const sampling_params& p, double u,
                                      sampler_buffers& b) {
  constexpr const char* fn = "sample_logits";
  check_sampling_params(fn, p);
  check_uniform(fn, u);
  const bool greedy = p.temperature == 0;
  const reference_truncation t = reference_truncate<S>(fn, x, p, greedy, b);
  if (greedy) return sampled_result(t.argmax, x[t.argmax], t.max, t.total, 1, 0.0);
  const float tau = sampling_tau(p.temperature);
  std::uint64_t z = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (rank_key(x[i], std::uint32_t(i)) >= t.cut) z += token_mass<S>(x[i], t.max, tau);
  const std::uint64_t target = scaled_floor(u, z);
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (rank_key(x[i], std::uint32_t(i)) < t.cut) continue;
    cum += token_mass<S>(x[i], t.max, tau);
    if (cum > target) return sampled_result(i, x[i], t.max, t.total, z, p.temperature);
  }
  throw invalid_score("sample_logits: internal error: no token drawn");  // unreachable: target < z
}

template <class S>
inline std::span<const std::int32_t> reference_kept(std::span<const float> x, const sampling_params& p,
                                                    sampler_buffers& b) {
  constexpr const char* fn = "kept_tokens";
  check_sampling_params(fn, p);
  const reference_truncation t = reference_truncate<S>(fn, x, p, false, b);
  std::size_t count = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] > -std::numeric_limits<float>::infinity() && rank_key(x[i], std::uint32_t(i)) >= t.cut)
      b.kept[count++] = static_cast<std::int32_t>(i);
  return {b.kept.data(), count};
}

}  // namespace detail

/// Throws invalid_argument naming the first bad option: temperature negative, NaN or
/// infinite; top_p or min_p outside [0, 1] or NaN. (top_k has no invalid value.)
inline void validate(const sampling_params& params) { detail::check_sampling_params("sampling_params", params); }

/// Draws one token from softmax(logits) under `params` (top-k, top-p, min-p on the raw
/// logits, then temperature; see the top of this header), given `uniform` in [0, 1): the
/// first kept token (ascending id) whose cumulative mass exceeds uniform * (kept mass).
/// Returns the token and its log-probability under the raw model and under the sampling
/// distribution. Vectorised on the widest instruction set compiled in; same token and
/// bit-identical log-probabilities as scalar::sample_logits. Throws as listed above.
[[nodiscard]] inline sampled_token sample_logits(std::span<const float> logits, const sampling_params& params,
                                                 double uniform, sampling_workspace& workspace) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) {
    return detail::draw_token<Ops>(logits, params, uniform, detail::sampler_access::of(workspace));
  });
}

/// As above, with the uniform drawn from the trajectory's own stream: exactly one
/// engine.uniform() per call whatever the options (greedy too), drawn after the options
/// are checked and before the logits are read, so a stream's later draws never depend on
/// the settings.
[[nodiscard]] inline sampled_token sample_logits(std::span<const float> logits, const sampling_params& params,
                                                 random_engine& engine, sampling_workspace& workspace) {
  detail::check_sampling_params("sample_logits", params);
  return kernels::sample_logits(logits, params, engine.uniform(), workspace);
}

/// The tokens top-k, top-p and min-p keep (ascending id; never a -inf logit). Temperature
/// plays no part (it never changes the kept set; T = 0 then draws the lowest-id maximum).
/// The span lives in `workspace` until its next use.
[[nodiscard]] inline std::span<const std::int32_t> kept_tokens(std::span<const float> logits,
                                                               const sampling_params& params,
                                                               sampling_workspace& workspace) {
  return detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) {
    return detail::kept_token_ids<Ops>(logits, params, detail::sampler_access::of(workspace));
  });
}

/// Scalar twins: the definition computed plainly (no vector code, a sort of the candidate
/// prefix), the reference the kernels are tested against. Same results, same errors.
namespace scalar {
[[nodiscard]] inline sampled_token sample_logits(std::span<const float> logits, const sampling_params& params,
                                                 double uniform, sampling_workspace& workspace) {
  return kernels::detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) {
    return kernels::detail::reference_sample<typename Ops::tail>(logits, params, uniform,
                                                                 kernels::detail::sampler_access::of(workspace));
  });
}
[[nodiscard]] inline sampled_token sample_logits(std::span<const float> logits, const sampling_params& params,
                                                 random_engine& engine, sampling_workspace& workspace) {
  kernels::detail::check_sampling_params("sample_logits", params);
  return scalar::sample_logits(logits, params, engine.uniform(), workspace);
}
[[nodiscard]] inline std::span<const std::int32_t> kept_tokens(std::span<const float> logits,
                                                               const sampling_params& params,
                                                               sampling_workspace& workspace) {
  return kernels::detail::dispatch<float>([&]<class Ops>(std::type_identity<Ops>) {
    return kernels::detail::reference_kept<typename Ops::tail>(logits, params, kernels::detail::sampler_access::of(workspace));
  });
}
}  // namespace scalar

}  // namespace kernels
TTSCALE_END_NAMESPACE
