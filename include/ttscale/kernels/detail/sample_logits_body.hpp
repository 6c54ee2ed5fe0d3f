// ttscale/kernels/detail/sample_logits_body.hpp: the per-level body of kernels/sample_logits.hpp (scan, mass passes, truncation, draw_token, kept_token_ids).
//
// Users never include this. kernels/sample_logits.hpp includes it once per instruction-set level
// through detail/foreach_level.hpp; each inclusion defines these templates for the register
// sets of that level only (TTSCALE_KERNELS_AT_LEVEL), inside the level's target region.
// Included on its own (as the header-set check does), it includes kernels/sample_logits.hpp.
#ifndef TTSCALE_KERNELS_LEVEL
#include <ttscale/kernels/sample_logits.hpp>
#else

TTSCALE_BEGIN_NAMESPACE
namespace kernels::detail {

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline typename Ops::reg quantised_mass_reg(typename Ops::reg w) noexcept {
  const auto y = Ops::mul(w, Ops::set1(0x1p40f));
  const auto big = Ops::set1(0x1p23f);
  return Ops::select(Ops::lt(y, big), Ops::sub(Ops::add(y, big), big), y);
}

// Sum of the integer-valued double lanes of an accumulator (each < 2^53: exact).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::uint64_t lane_total(typename Ops::acc a) noexcept {
  double lanes[max_lanes];
  Ops::acc_store(a, lanes);
  std::uint64_t s = 0;
  for (std::size_t l = 0; l < Ops::width; ++l) s += static_cast<std::uint64_t>(lanes[l]);
  return s;
}

// Pass 1: max, NaN/+inf and the -inf count; with BlockMax, also the largest logit of each
// run of `block` tokens (a multiple of the register width) in block_max. The k-th largest
// block maximum is a floor under the k largest logits: k blocks reach it, each with a
// token of its own, so at least k tokens do (a candidate cutoff for top-k at the cost of
// one compare per register, ~2.4k tokens above it on typical logits with ~4k blocks).
template <class Ops, bool BlockMax> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline scan_result scan_logits(const float* x, std::size_t n, std::size_t block, float* block_max) noexcept {
  using reg = typename Ops::reg;
  constexpr std::size_t w = Ops::width;
  const reg minf = Ops::set1(-std::numeric_limits<float>::infinity());
  const reg pinf = Ops::set1(std::numeric_limits<float>::infinity());
  const reg one = Ops::set1(1.0f), zero = Ops::set1(0.0f);
  reg vm = minf, ninf = zero;
  auto bad = Ops::is_nan(zero);
  float lanes[max_lanes];
  const std::size_t vec_end = n - n % w;
  if (!BlockMax) block = vec_end + w;  // one block: no per-block work
  std::size_t i = 0, blk = 0;
  for (std::size_t b0 = 0; b0 < vec_end; b0 += block, ++blk) {
    const std::size_t b1 = std::min(vec_end, b0 + block);
    reg bm = minf;
    for (i = b0; i < b1; i += w) {
      const reg v = Ops::load(x + i);
      bad = Ops::mask_or(bad, Ops::mask_or(Ops::is_nan(v), Ops::eq(v, pinf)));
      bm = Ops::max(v, bm);                                             // a NaN lane keeps bm
      ninf = Ops::add(ninf, Ops::select(Ops::eq(v, minf), one, zero));  // per-lane counts < 2^24: exact
    }
    vm = Ops::max(bm, vm);
    if constexpr (BlockMax) {
      Ops::store_lanes(bm, lanes);
      float mb = lanes[0];
      for (std::size_t l = 1; l < w; ++l) mb = lanes[l] > mb ? lanes[l] : mb;
      block_max[blk] = mb;
    }
  }
  i = vec_end;
  scan_result r;
  Ops::store_lanes(vm, lanes);
  for (std::size_t l = 0; l < w; ++l) r.max = lanes[l] > r.max ? lanes[l] : r.max;
  Ops::store_lanes(ninf, lanes);
  std::size_t minus_inf = 0;
  for (std::size_t l = 0; l < w; ++l) minus_inf += static_cast<std::size_t>(lanes[l]);
  r.bad = Ops::any(bad);
  float tail_max = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) {
    const float v = x[i];
    r.bad = r.bad || std::isnan(v) || v == std::numeric_limits<float>::infinity();
    tail_max = v > tail_max ? v : tail_max;
    minus_inf += v == -std::numeric_limits<float>::infinity();
  }
  r.max = tail_max > r.max ? tail_max : r.max;
  if constexpr (BlockMax) {
    if (vec_end < n) block_max[blk++] = tail_max;  // the tail is a block of its own
  }
  r.blocks = blk;
  r.finite = n - minus_inf;
  return r;
}

// Appends the lanes of v that are >= c (branch-free; the arrays have max_lanes slack).
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::size_t append_at_least(typename Ops::reg v, std::size_t i, float c, float* cx, std::uint32_t* cid,
                                   std::size_t count) noexcept {
  float lanes[max_lanes];
  Ops::store_lanes(v, lanes);
  for (std::size_t l = 0; l < Ops::width; ++l) {
    cx[count] = lanes[l];
    cid[count] = std::uint32_t(i + l);
    count += lanes[l] >= c;
  }
  return count;
}

// Pass 2: the exact mass of every token at temperature 1, per block of sampler_block
// tokens (each lane's block sum < 2^53: exact in double). Collect: also append the tokens
// with logit >= cut. Blocks: also store each block's mass at tau (the whole-vocabulary walk).
template <class Ops, bool Collect, bool Blocks> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline mass_result mass_pass(const float* x, std::size_t n, float m, float cut, float tau,
                             sampler_buffers& b) noexcept {
  using reg = typename Ops::reg;
  using S = typename Ops::tail;
  constexpr std::size_t w = Ops::width;
  const reg vm = Ops::set1(m), vt = Ops::set1(tau), vc = Ops::set1(cut);
  const bool same_tau = tau == 1.0f;
  mass_result r;
  float* cx = b.cx.data();
  std::uint32_t* cid = b.cid.data();
  for (std::size_t b0 = 0, blk = 0; b0 < n; b0 += sampler_block, ++blk) {
    const std::size_t b1 = std::min(n, b0 + sampler_block);
    auto a0 = Ops::acc_zero(), a1 = Ops::acc_zero(), t0 = Ops::acc_zero();
    std::size_t i = b0;
    for (const std::size_t pairs_end = b1 - (b1 - b0) % (2 * w); i < pairs_end; i += 2 * w) {
      const reg v0 = Ops::load(x + i), v1 = Ops::load(x + i + w);
      const reg z0 = Ops::sub(v0, vm), z1 = Ops::sub(v1, vm);
      a0 = Ops::acc_add(a0, quantised_mass_reg<Ops>(exp_reg<Ops>(z0)));
      a1 = Ops::acc_add(a1, quantised_mass_reg<Ops>(exp_reg<Ops>(z1)));
      if constexpr (Blocks) {
        if (!same_tau) {
          t0 = Ops::acc_add(t0, quantised_mass_reg<Ops>(exp_reg<Ops>(Ops::mul(z0, vt))));
          t0 = Ops::acc_add(t0, quantised_mass_reg<Ops>(exp_reg<Ops>(Ops::mul(z1, vt))));
        }
      }
      if constexpr (Collect) {
        if (Ops::any(Ops::mask_or(Ops::le(vc, v0), Ops::le(vc, v1)))) {
          r.collected = append_at_least<Ops>(v0, i, cut, cx, cid, r.collected);
          r.collected = append_at_least<Ops>(v1, i + w, cut, cx, cid, r.collected);
        }
      }
    }
    for (const std::size_t vec_end = b1 - (b1 - b0) % w; i < vec_end; i += w) {
      const reg v = Ops::load(x + i);
      const reg z = Ops::sub(v, vm);
      a0 = Ops::acc_add(a0, quantised_mass_reg<Ops>(exp_reg<Ops>(z)));
      if constexpr (Blocks) {
        if (!same_tau) t0 = Ops::acc_add(t0, quantised_mass_reg<Ops>(exp_reg<Ops>(Ops::mul(z, vt))));
      }
      if constexpr (Collect) {
        if (Ops::any(Ops::le(vc, v))) r.collected = append_at_least<Ops>(v, i, cut, cx, cid, r.collected);
      }
    }
    std::uint64_t s = lane_total<Ops>(a0) + lane_total<Ops>(a1);
    std::uint64_t st = Blocks && !same_tau ? lane_total<Ops>(t0) : 0;
    for (; i < b1; ++i) {
      const float z = x[i] - m;
      s += quantised_mass(exp_reg<S>(z));
      if constexpr (Blocks) {
        if (!same_tau) st += quantised_mass(exp_reg<S>(z * tau));
      }
      if constexpr (Collect) {
        cx[r.collected] = x[i];
        cid[r.collected] = std::uint32_t(i);
        r.collected += x[i] >= cut;
      }
    }
    r.total += s;
    if constexpr (Blocks) b.blocks[blk] = same_tau ? s : st;
  }
  return r;
}

// Pass 3 (only for top-p when the pass-1 guess fell short): the tokens with logit >= cut.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::size_t collect_at_least(const float* x, std::size_t n, float cut, sampler_buffers& b) noexcept {
  constexpr std::size_t w = Ops::width;
  const auto vc = Ops::set1(cut);
  float* cx = b.cx.data();
  std::uint32_t* cid = b.cid.data();
  std::size_t count = 0, i = 0;
  for (const std::size_t vec_end = n - n % w; i < vec_end; i += w) {
    const auto v = Ops::load(x + i);
    if (Ops::any(Ops::le(vc, v))) count = append_at_least<Ops>(v, i, cut, cx, cid, count);
  }
  for (; i < n; ++i) {
    cx[count] = x[i];
    cid[count] = std::uint32_t(i);
    count += x[i] >= cut;
  }
  return count;
}

// q[j] = round(2^40 exp((cx[j] - m) tau)) for the first n candidates (vectorised exp);
// returns their sum.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::uint64_t candidate_masses(const float* cx, std::size_t n, float m, float tau, float* wbuf,
                                      std::uint64_t* q) noexcept {
  constexpr std::size_t w = Ops::width;
  const auto vm = Ops::set1(m), vt = Ops::set1(tau);
  std::size_t i = 0;
  for (const std::size_t vec_end = n - n % w; i < vec_end; i += w)
    Ops::store(wbuf + i, quantised_mass_reg<Ops>(exp_reg<Ops>(Ops::mul(Ops::sub(Ops::load(cx + i), vm), vt))));
  std::uint64_t total = 0;
  for (std::size_t j = 0; j < i; ++j) total += q[j] = static_cast<std::uint64_t>(wbuf[j]);
  for (; i < n; ++i) total += q[i] = token_mass<typename Ops::tail>(cx[i], m, tau);
  return total;
}

// A guess at the top-p nucleus's lower edge when the first candidates (b.cx, b.cq: the
// `best` tokens with logits >= best_floor) do not hold it: their exact masses plus 16 times
// the masses of every 16th other token, in 1/8-logit buckets below m; the edge is placed
// where this estimate reaches min(1.25 need, (need + estimated total) / 2), half a logit
// lower. The sampled mass of
// a nucleus of s tokens has a relative error of ~4/sqrt(s), so the guess is checked
// exactly by the caller (and is rarely wrong); it only decides how many tokens to collect.
template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline float nucleus_estimate(const float* x, std::size_t n, float m, float best_floor, double need, std::size_t best,
                              sampler_buffers& b) noexcept {
  constexpr std::size_t stride = 16, buckets = sampler_estimate_buckets;
  constexpr float per_logit = 8.0f;
  double* est = b.estimate.data();
  std::fill(est, est + buckets, 0.0);
  const auto bucket_of = [&](float v) {
    const float d = (m - v) * per_logit;
    return d < float(buckets - 1) ? static_cast<std::size_t>(d) : buckets - 1;
  };
  for (std::size_t j = 0; j < best; ++j) est[bucket_of(b.cx[j])] += double(b.cq[j]);
  float* sx = b.cw.data();
  std::size_t ns = 0;
  for (std::size_t i = stride / 2; i < n; i += stride)
    sx[ns++] = x[i] < best_floor ? x[i] : -std::numeric_limits<float>::infinity();
  candidate_masses<Ops>(sx, ns, m, 1.0f, sx + ns + max_lanes, b.cv.data());
  for (std::size_t j = 0; j < ns; ++j)
    if (b.cv[j] > 0) est[bucket_of(sx[j])] += double(stride) * double(b.cv[j]);
  double total = 0;
  for (std::size_t k = 0; k < buckets; ++k) total += est[k];
  const double aim = std::min(1.25 * need, 0.5 * (need + total));
  double cum = 0;
  for (std::size_t k = 0; k < buckets; ++k) {
    cum += est[k];
    if (cum >= aim) return m - float(k + 5) / per_logit;
  }
  return -std::numeric_limits<float>::max();
}

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::size_t first_index_of(const float* x, std::size_t n, float v) noexcept {
  constexpr std::size_t w = Ops::width;
  const auto vv = Ops::set1(v);
  std::size_t i = 0;
  for (const std::size_t vec_end = n - n % w; i < vec_end; i += w)
    if (Ops::any(Ops::eq(Ops::load(x + i), vv))) break;
  for (; i < n; ++i)
    if (x[i] == v) return i;
  return 0;
}

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline truncated_logits truncate_logits(const char* fn, std::span<const float> logits, const sampling_params& p,
                                        float tau, sampler_mode mode, sampler_buffers& b) {
  const float* x = logits.data();
  const std::size_t n = logits.size();
  check_vocabulary(fn, n);
  b.fit(n);
  const bool greedy = mode == sampler_mode::greedy;
  const bool topk_on = p.top_k > 0 && p.top_k < n;
  const bool topp_on = p.top_p < 1;
  const bool minp_on = p.min_p > 0;
  // How many of the largest logits to find a floor for: top-k's k, or top-p's first guess.
  constexpr std::size_t w = Ops::width;
  std::size_t want = 0;
  if (!greedy) want = topk_on ? p.top_k : topp_on && n > 2 * sampler_top_p_prefix ? sampler_top_p_prefix : 0;
  const std::size_t block = w * std::max<std::size_t>(1, want ? n / (4 * want * w) : 1);
  const scan_result sc =
      want ? scan_logits<Ops, true>(x, n, block, b.block_max.data()) : scan_logits<Ops, false>(x, n, block, nullptr);
  const std::size_t blocks = sc.blocks;
  if (blocks < want) want = 0;  // fewer blocks than wanted tokens: no floor, all finite tokens
  if (sc.bad || sc.finite == 0) throw_bad_logits(fn, logits);
  truncated_logits t;
  t.max = sc.max;
  const float m = sc.max;
  const float no_cut = -std::numeric_limits<float>::max();                              // collects every finite token
  const float minp_cut = minp_on ? m + std::log(static_cast<float>(p.min_p)) : no_cut;  // as llama.cpp, in float

  if (greedy) {
    t.total = mass_pass<Ops, false, false>(x, n, m, no_cut, 1.0f, b).total;
    t.argmax = first_index_of<Ops>(x, n, m);
    return t;
  }
  const bool topk_binding = topk_on && p.top_k < sc.finite;
  std::size_t count = 0;
  bool have_masses = false;
  double topp_need = 0;
  float floor = m;  // a lower bound of the candidates' logits
  std::uint64_t candidate_total = 0;
  // Candidates = the tokens >= cut (ascending id), collected in pass 2 with the exact mass.
  const auto collect_in_mass_pass = [&](float cut) {
    const mass_result mr = mass_pass<Ops, true, false>(x, n, m, cut, 1.0f, b);
    t.total = mr.total;
    floor = cut;
    return mr.collected;
  };
  const auto from_keys = [&](std::uint64_t* keys, std::size_t k) {  // candidates = these keys, ascending id
    std::sort(keys, keys + k, [](std::uint64_t l, std::uint64_t r) { return key_token(l) < key_token(r); });
    floor = m;
    for (std::size_t j = 0; j < k; ++j) {
      const std::uint32_t id = key_token(keys[j]);
      b.cx[j] = x[id];
      b.cid[j] = id;
      floor = std::min(floor, x[id]);
    }
    return k;
  };
  const auto masses = [&] {
    candidate_total = candidate_masses<Ops>(b.cx.data(), count, m, 1.0f, b.cw.data(), b.cq.data());
    have_masses = true;
  };

  if (topk_binding) {  // the tokens above the k-th block maximum, then the k best of them
    const std::size_t c =
        collect_in_mass_pass(want ? kth_block_max(b.block_max.data(), blocks, p.top_k, no_cut) : no_cut);
    std::uint64_t* keys = b.keys.data();
    for (std::size_t j = 0; j < c; ++j) keys[j] = rank_key(b.cx[j], b.cid[j]);
    std::nth_element(keys, keys + (p.top_k - 1), keys + c, std::greater<>());
    count = from_keys(keys, p.top_k);
    masses();
    topp_need = p.top_p * double(candidate_total);  // top-p renormalises over what top-k kept
  } else if (!topp_on && !minp_on) {
    t.whole = true;
    if (mode == sampler_mode::sample)
      t.total = mass_pass<Ops, false, true>(x, n, m, no_cut, tau, b).total;
    else
      t.total = mass_pass<Ops, false, false>(x, n, m, no_cut, 1.0f, b).total;
    return t;
  } else if (!topp_on) {  // min-p alone: its set, collected in pass 2
    const mass_result mr = mass_pass<Ops, true, false>(x, n, m, minp_cut, 1.0f, b);
    t.total = mr.total;
    count = mr.collected;
    floor = minp_cut;
  } else {  // top-p (and maybe min-p), top-k keeping everything
    // First guess: the tokens above the 64th block maximum (>= 64 of the largest) often
    // hold the nucleus already.
    const std::size_t guess = std::min(want, sampler_top_p_prefix);  // want = k when top-k keeps all
    const float first = guess ? std::max(kth_block_max(b.block_max.data(), blocks, guess, no_cut), minp_cut) : minp_cut;
    count = collect_in_mass_pass(first);
    masses();
    topp_need = p.top_p * double(t.total);
    if (!(double(candidate_total) >= topp_need) && first != minp_cut) {
      const float tail = std::max(top_p_tail_cutoff(m, p.top_p, t.total, sc.finite), minp_cut);
      // A large nucleus: guess its edge from those tokens and every 16th other one, then
      // check exactly; the tail bound is the fallback.
      floor = std::max(tail, nucleus_estimate<Ops>(x, n, m, first, topp_need, count, b));
      count = collect_at_least<Ops>(x, n, floor, b);
      masses();
      if (!(double(candidate_total) >= topp_need) && floor != tail) {
        floor = tail;
        count = collect_at_least<Ops>(x, n, floor, b);
        masses();
      }
      // Enough when the top-p prefix ends inside, or when the set is the whole min-p set
      // (then min-p cuts first) or every finite token.
      if (!(double(candidate_total) >= topp_need || floor == minp_cut)) {  // cannot happen: tail is a bound
        floor = minp_cut;
        count = collect_at_least<Ops>(x, n, floor, b);
        masses();
      }
    }
  }
  if (!have_masses && (topp_on || (mode == sampler_mode::sample && tau == 1.0f))) masses();
  t.candidates = count;
  std::uint64_t cut = 0;
  if (topp_on) {
    // 0: the prefix ends past the candidates (then top-k or min-p, which hold them all, cut first)
    cut = top_p_cut(b.cx.data(), b.cid.data(), b.cq.data(), count, topp_need, floor, m, b);
  }
  if (minp_on) cut = std::max(cut, logit_floor_key(minp_cut));
  t.cut = cut;
  return t;
}

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline sampled_token draw_token(std::span<const float> logits, const sampling_params& p, double u, sampler_buffers& b) {
  constexpr const char* fn = "sample_logits";
  check_sampling_params(fn, p);
  check_uniform(fn, u);
  const bool greedy = p.temperature == 0;
  const float tau = greedy ? 1.0f : sampling_tau(p.temperature);
  const truncated_logits t =
      truncate_logits<Ops>(fn, logits, p, tau, greedy ? sampler_mode::greedy : sampler_mode::sample, b);
  const float* x = logits.data();
  const auto finish = [&](std::size_t id, std::uint64_t z) {
    return sampled_result(id, x[id], t.max, t.total, z, p.temperature);
  };
  if (greedy) return finish(t.argmax, 1);
  if (t.whole) {
    const std::size_t n = logits.size(), nb = (n + sampler_block - 1) / sampler_block;
    std::uint64_t z = 0;
    for (std::size_t k = 0; k < nb; ++k) z += b.blocks[k];
    const std::uint64_t target = scaled_floor(u, z);
    std::uint64_t cum = 0;
    std::size_t k = 0;
    while (cum + b.blocks[k] <= target) cum += b.blocks[k++];  // terminates: target < z
    // The block's tokens again, with the pass's own split into registers and a scalar tail.
    const std::size_t b0 = k * sampler_block, b1 = std::min(n, b0 + sampler_block);
    const std::size_t vec_end = b0 + (b1 - b0) / Ops::width * Ops::width;
    candidate_masses<Ops>(x + b0, vec_end - b0, t.max, tau, b.cw.data(), b.cv.data());
    for (std::size_t i = vec_end; i < b1; ++i) b.cv[i - b0] = token_mass<typename Ops::tail>(x[i], t.max, tau);
    for (std::size_t i = b0; i < b1; ++i) {
      cum += b.cv[i - b0];
      if (cum > target) return finish(i, z);
    }
    return finish(b1 - 1, z);  // unreachable: the block's masses sum to blocks[k]
  }
  // The kept candidates, still in ascending id order, then their masses at tau.
  std::size_t c = 0;
  for (std::size_t j = 0; j < t.candidates; ++j)
    if (rank_key(b.cx[j], b.cid[j]) >= t.cut) {
      b.cx[c] = b.cx[j];
      b.cid[c] = b.cid[j];
      b.cq[c] = b.cq[j];
      ++c;
    }
  const std::uint64_t* mass = b.cq.data();
  if (tau != 1.0f) {
    candidate_masses<Ops>(b.cx.data(), c, t.max, tau, b.cw.data(), b.cv.data());
    mass = b.cv.data();
  }
  std::uint64_t z = 0;
  for (std::size_t j = 0; j < c; ++j) z += mass[j];
  const std::uint64_t target = scaled_floor(u, z);
  std::uint64_t cum = 0;
  for (std::size_t j = 0; j < c; ++j) {
    cum += mass[j];
    if (cum > target) return finish(b.cid[j], z);
  }
  return finish(b.cid[c - 1], z);  // unreachable: target < z
}

template <class Ops> TTSCALE_KERNELS_AT_LEVEL(Ops)
inline std::span<const std::int32_t> kept_token_ids(std::span<const float> logits, const sampling_params& p,
                                                    sampler_buffers& b) {
  constexpr const char* fn = "kept_tokens";
  check_sampling_params(fn, p);
  const truncated_logits t = truncate_logits<Ops>(fn, logits, p, 1.0f, sampler_mode::kept, b);
  std::size_t count = 0;
  if (t.whole) {
    for (std::size_t i = 0; i < logits.size(); ++i)
      if (logits[i] > -std::numeric_limits<float>::infinity()) b.kept[count++] = static_cast<std::int32_t>(i);
  } else {
    for (std::size_t j = 0; j < t.candidates; ++j)
      if (b.cx[j] > -std::numeric_limits<float>::infinity() && rank_key(b.cx[j], b.cid[j]) >= t.cut)
        b.kept[count++] = static_cast<std::int32_t>(b.cid[j]);
  }
  return {b.kept.data(), count};
}

}  // namespace kernels::detail
TTSCALE_END_NAMESPACE

#endif  // TTSCALE_KERNELS_LEVEL
