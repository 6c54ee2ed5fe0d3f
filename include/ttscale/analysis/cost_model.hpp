// ttscale/analysis/cost_model.hpp: what a search cost, in the unit a curve is drawn against.
//
// Two models, so accuracy can be plotted against any of them:
//
// - Weighted counts: generated tokens, prompt (prefill) tokens, verifier items
//   and calls, each with a weight, applied to an `accounting` — the budget a
//   user pays an API for, or "tokens" alone with the default weights.
// - A model-shape cost after "Kinetics: Rethinking Test-Time Scaling Laws"
//   (Sadhukhan et al. 2025, arXiv:2506.05333, sec. 3): FLOPs plus the memory
//   traffic of attention over a growing KV cache, folded into equivalent FLOPs
//       eFLOPs = C_comp + I · C_mem            (C_mem in bytes)
//   where I is the machine's arithmetic intensity (peak FLOP/s ÷ bandwidth).
//   Decoding the token at position t (it attends to t cached positions, its
//   own included) costs 2·P linear FLOPs, 4·L·d_attn·t attention FLOPs (QKᵀ
//   and AV over every query head) and 2·L·d_kv·b_kv·t bytes of K and V
//   (d_kv = KV heads × head dim: GQA shrinks the bytes, not the FLOPs). The
//   attention terms grow with t, so a generation of g tokens costs O(g²): a
//   long chain of thought costs more than its token count says, and with
//   I ≈ 562 the KV bytes, not 2·P, dominate well before g reaches the
//   context length. Summed over the paper's best-of-N setting this is its
//   eq. C_TTS = 2NP·L_out + 2rN·L_in·D·L_out + rN·D·L_out² + 2I·L_in·D·L_out
//   + I·N·D·L_out² up to the O(L_out) self-attention term (the test checks it).
//
// Kinetics counts decode only and leaves out parameter reads (amortised over a
// large serving batch); here the prefill is costed too, and parameter reads
// can be counted by giving the batch that shares them. Costs are closed-form
// sums over positions: O(1) per call, O(trajectories) for a whole search.
#pragma once

#include <ttscale/accounting.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>

TTSCALE_BEGIN_NAMESPACE
namespace analysis {

// ---------------------------------------------------------------------------
// Weighted counts

/// Weight of each counted unit; the default counts generated tokens only.
/// Weights are in any one unit (tokens, dollars, seconds), as long as every
/// curve of a plot uses the same weights.
struct cost_weights {
  double generated_token = 1;
  double prompt_token = 0;    ///< a prefilled token (often priced below a generated one)
  double verifier_item = 0;   ///< one trajectory or step scored
  double generator_call = 0;  ///< per-call overhead (a round trip to a server)
  double verifier_call = 0;
};

/// Σ weight × count over `spent` and `prompt_tokens` — the prompt tokens the
/// engine prefilled for this search, which `accounting` does not count because
/// only the caller knows them (the prompt once with prefix caching, once per
/// sample without). Throws invalid_argument for a negative or non-finite weight.
[[nodiscard]] inline double weighted_cost(const accounting& spent, std::uint64_t prompt_tokens,
                                          const cost_weights& weights = {}) {
  const double w[] = {weights.generated_token, weights.prompt_token, weights.verifier_item, weights.generator_call,
                      weights.verifier_call};
  static constexpr const char* names[] = {"generated_token", "prompt_token", "verifier_item", "generator_call",
                                          "verifier_call"};
  for (std::size_t i = 0; i < std::size(w); ++i)
    if (!std::isfinite(w[i]) || w[i] < 0)
      throw invalid_argument(std::string("weighted_cost: weights.") + names[i] +
                             " must be finite and non-negative (got " + ttscale::detail::number_text(w[i]) + ")");
  return weights.generated_token * static_cast<double>(spent.tokens) +
         weights.prompt_token * static_cast<double>(prompt_tokens) +
         weights.verifier_item * static_cast<double>(spent.verifier_items) +
         weights.generator_call * static_cast<double>(spent.generator_calls) +
         weights.verifier_call * static_cast<double>(spent.verifier_calls);
}

// ---------------------------------------------------------------------------
// Model shape and hardware

/// What the cost of a token depends on. `parameters` is the P of 2·P FLOPs
/// per token: the parameters a token passes through (active ones for a
/// mixture of experts). Kinetics uses the total count, embeddings included;
/// the embedding lookup does no multiplications, so that overstates the linear
/// FLOPs by vocabulary × hidden — a few percent for a 7B model, ~5% for the
/// tiny arithmetic model.
struct model_shape {
  std::string name{};
  double parameters = 0;
  std::uint64_t layers = 0;
  std::uint64_t attention_heads = 0;  ///< query heads
  std::uint64_t kv_heads = 0;         ///< key/value heads (GQA: fewer than query heads)
  std::uint64_t head_dim = 0;
  std::uint64_t context_length = 0;  ///< positions the model supports; 0: not checked
  double bytes_per_parameter = 2;    ///< 2 for BF16/F16 weights, 4 for F32
  double bytes_per_kv_element = 2;   ///< 2 for an F16/BF16 KV cache

  /// Query width per layer (heads × head dim): the width of QKᵀ and AV.
  [[nodiscard]] constexpr double attention_dim() const noexcept {
    return static_cast<double>(attention_heads) * static_cast<double>(head_dim);
  }
  /// Key (or value) width per layer: KV heads × head dim.
  [[nodiscard]] constexpr double kv_dim() const noexcept {
    return static_cast<double>(kv_heads) * static_cast<double>(head_dim);
  }
  /// Bytes of K and V that one cached position holds over all layers.
  [[nodiscard]] constexpr double kv_bytes_per_position() const noexcept {
    return 2.0 * static_cast<double>(layers) * kv_dim() * bytes_per_kv_element;
  }
};

/// B200 FP8 dense tensor throughput (4.5 PFLOP/s) over its HBM3e bandwidth
/// (8 TB/s): 562.5 FLOPs per byte, the value of Kinetics' cost-model code
/// (`E_flops = 562.5` in cost_model/best_of_N/cost_model_ntrial.py of
/// github.com/Infini-AI-Lab/Kinetics).
inline constexpr double b200_arithmetic_intensity = 562.5;

/// How bytes turn into equivalent FLOPs, and whether parameter reads count.
struct hardware_profile {
  /// FLOPs the machine does in the time it moves one byte; 0 gives plain FLOPs.
  double arithmetic_intensity = b200_arithmetic_intensity;
  /// Sequences that share one read of the weights per forward pass (the
  /// serving batch): each forward pass is charged parameters × bytes /
  /// weight_batch bytes. Empty: parameter reads are not counted, as in
  /// Kinetics, where a large batch amortises them away.
  std::optional<double> weight_batch{};
};

/// FLOPs and bytes of some inference work, and their eFLOPs under one
/// hardware_profile. Sums of costs computed with the same profile add.
struct inference_cost {
  double linear_flops = 0;      ///< 2·P per token: the matrix multiplications
  double attention_flops = 0;   ///< 4·L·d_attn per (token, attended position) pair
  double kv_bytes = 0;          ///< K and V read or written
  double weight_bytes = 0;      ///< parameter reads (0 unless hardware_profile::weight_batch is set)
  double equivalent_flops = 0;  ///< flops() + arithmetic_intensity · bytes()

  [[nodiscard]] constexpr double flops() const noexcept { return linear_flops + attention_flops; }
  [[nodiscard]] constexpr double bytes() const noexcept { return kv_bytes + weight_bytes; }

  constexpr inference_cost& operator+=(const inference_cost& o) noexcept {
    linear_flops += o.linear_flops;
    attention_flops += o.attention_flops;
    kv_bytes += o.kv_bytes;
    weight_bytes += o.weight_bytes;
    equivalent_flops += o.equivalent_flops;
    return *this;
  }
  friend constexpr inference_cost operator+(inference_cost a, const inference_cost& b) noexcept { return a += b; }
  /// `times` repetitions of this work (e.g. one prefill per trajectory).
  friend constexpr inference_cost operator*(inference_cost a, double times) noexcept {
    a.linear_flops *= times, a.attention_flops *= times, a.kv_bytes *= times;
    a.weight_bytes *= times, a.equivalent_flops *= times;
    return a;
  }
};

namespace detail {
inline void check_model_shape(const model_shape& m, const char* function) {
  auto fail = [&](const std::string& what) {
    throw invalid_argument(std::string(function) + ": model_shape '" + m.name + "' " + what);
  };
  if (!std::isfinite(m.parameters) || m.parameters <= 0)
    fail("needs parameters > 0 (got " + ttscale::detail::number_text(m.parameters) + ")");
  if (m.layers == 0 || m.attention_heads == 0 || m.kv_heads == 0 || m.head_dim == 0)
    fail("needs layers, attention_heads, kv_heads and head_dim all at least 1 (got " + std::to_string(m.layers) +
         ", " + std::to_string(m.attention_heads) + ", " + std::to_string(m.kv_heads) + ", " +
         std::to_string(m.head_dim) + ")");
  if (m.kv_heads > m.attention_heads)
    fail("has more kv_heads (" + std::to_string(m.kv_heads) + ") than attention_heads (" +
         std::to_string(m.attention_heads) + ")");
  if (!std::isfinite(m.bytes_per_parameter) || m.bytes_per_parameter <= 0 || !std::isfinite(m.bytes_per_kv_element) ||
      m.bytes_per_kv_element <= 0)
    fail("needs finite positive bytes_per_parameter and bytes_per_kv_element (got " +
         ttscale::detail::number_text(m.bytes_per_parameter) + ", " +
         ttscale::detail::number_text(m.bytes_per_kv_element) + ")");
}

inline void check_hardware_profile(const hardware_profile& h, const char* function) {
  if (!std::isfinite(h.arithmetic_intensity) || h.arithmetic_intensity < 0)
    throw invalid_argument(std::string(function) + ": hardware_profile.arithmetic_intensity must be finite and " +
                           "non-negative (got " + ttscale::detail::number_text(h.arithmetic_intensity) + ")");
  if (h.weight_batch && (!std::isfinite(*h.weight_batch) || *h.weight_batch < 1))
    throw invalid_argument(std::string(function) + ": hardware_profile.weight_batch must be at least 1 (got " +
                           ttscale::detail::number_text(*h.weight_batch) + ")");
}

inline void check_context(const model_shape& m, std::uint64_t last_position, const char* function) {
  if (m.context_length != 0 && last_position > m.context_length)
    throw invalid_argument(std::string(function) + ": position " + std::to_string(last_position) +
                           " is past the context length " + std::to_string(m.context_length) + " of '" + m.name +
                           "'");
}

/// The cost of `passes` forward passes over `tokens` tokens whose attention
/// covers `attended` (token, position) pairs and whose KV traffic is
/// `kv_positions` cached positions. Every public cost function is this with
/// closed-form counts, so the arithmetic lives in one place.
inline inference_cost cost_of(const model_shape& m, const hardware_profile& h, double tokens, double attended,
                              double kv_positions, double passes) {
  inference_cost c;
  c.linear_flops = 2.0 * m.parameters * tokens;
  c.attention_flops = 4.0 * static_cast<double>(m.layers) * m.attention_dim() * attended;
  c.kv_bytes = m.kv_bytes_per_position() * kv_positions;
  c.weight_bytes = h.weight_batch ? passes * m.parameters * m.bytes_per_parameter / *h.weight_batch : 0.0;
  c.equivalent_flops = c.flops() + h.arithmetic_intensity * c.bytes();
  return c;
}

/// Σ_{t=a+1}^{a+n} t = n·a + n(n+1)/2, exact in double below 2^53.
constexpr double position_sum(std::uint64_t after, std::uint64_t n) noexcept {
  const double nd = static_cast<double>(n);
  return nd * static_cast<double>(after) + nd * (nd + 1.0) / 2.0;
}
}  // namespace detail

/// The cost of decoding one token at `position` (1-based: it attends to
/// `position` cached positions, its own included): 2·P + 4·L·d_attn·position
/// FLOPs and 2·L·d_kv·b_kv·position bytes (the position−1 entries it reads and
/// the one it writes). The per-token reference the closed forms below sum.
/// Throws invalid_argument for position 0, one past the context, or a bad shape.
[[nodiscard]] inline inference_cost token_cost(const model_shape& shape, const hardware_profile& hardware,
                                               std::uint64_t position) {
  detail::check_model_shape(shape, "token_cost");
  detail::check_hardware_profile(hardware, "token_cost");
  if (position == 0) throw invalid_argument("token_cost: position is 1-based (got 0)");
  detail::check_context(shape, position, "token_cost");
  const double t = static_cast<double>(position);
  return detail::cost_of(shape, hardware, 1.0, t, t, 1.0);
}

/// The cost of prefilling `tokens` prompt tokens in one forward pass after
/// `cached` positions already in the KV cache (0 for a fresh prompt; the
/// cached length when a verifier scores an appended step): linear FLOPs for
/// each token, causal attention over cached + earlier tokens
/// (Σ_{j=1}^{tokens} (cached + j) pairs), the cached K/V read once and the new
/// K/V written once. Prefill is compute-bound, so its eFLOPs are close to its
/// FLOPs; Kinetics leaves it out. Throws invalid_argument as token_cost does.
[[nodiscard]] inline inference_cost prefill_cost(const model_shape& shape, const hardware_profile& hardware,
                                                 std::uint64_t tokens, std::uint64_t cached = 0) {
  detail::check_model_shape(shape, "prefill_cost");
  detail::check_hardware_profile(hardware, "prefill_cost");
  detail::check_context(shape, cached + tokens, "prefill_cost");
  if (tokens == 0) return {};
  const double n = static_cast<double>(tokens);
  return detail::cost_of(shape, hardware, n, detail::position_sum(cached, tokens),
                         static_cast<double>(cached) + n, 1.0);
}

/// The cost of decoding `generated` tokens one at a time after a prefix of
/// `prefix` positions (prompt plus anything generated before): the sum of
/// token_cost over positions prefix+1 .. prefix+generated, in closed form.
/// Its attention FLOPs and KV bytes grow as generated², so doubling a long
/// generation more than doubles its cost. Relative error against the explicit
/// per-token sum: a few ulps (exact integer sums below 2^53 positions·layers).
/// Throws invalid_argument as token_cost does.
[[nodiscard]] inline inference_cost generation_cost(const model_shape& shape, const hardware_profile& hardware,
                                                    std::uint64_t prefix, std::uint64_t generated) {
  detail::check_model_shape(shape, "generation_cost");
  detail::check_hardware_profile(hardware, "generation_cost");
  detail::check_context(shape, prefix + generated, "generation_cost");
  const double g = static_cast<double>(generated);
  const double positions = detail::position_sum(prefix, generated);
  return detail::cost_of(shape, hardware, g, positions, positions, g);
}

/// How a search reuses the work on its shared prompt.
enum class prompt_reuse {
  none,          ///< every trajectory prefills the prompt and reads its K/V on its own
  prefix_cache,  ///< the prompt is prefilled once; every trajectory still reads its K/V each step
  shared_reads,  ///< prefilled once, and one decode step reads the prompt's K/V once for all
                 ///< trajectories (a shared-prefix attention kernel): Kinetics' best-of-N accounting
};

/// The cost of a search whose trajectories all start from one `prompt_tokens`
/// prompt and then decode `generated[i]` tokens each (tokens generated along
/// a trajectory, nested searches' included; a tree search that shares
/// prefixes between trajectories is overestimated by the shared part). With
/// shared_reads the prompt's K/V is read once per decode step while any
/// trajectory runs: max(generated) steps. Attention FLOPs are never shared:
/// every query does its own products. O(generated.size()).
/// Throws invalid_argument as token_cost does.
[[nodiscard]] inline inference_cost search_cost(const model_shape& shape, const hardware_profile& hardware,
                                                std::uint64_t prompt_tokens, std::span<const std::uint64_t> generated,
                                                prompt_reuse reuse = prompt_reuse::prefix_cache) {
  detail::check_model_shape(shape, "search_cost");
  detail::check_hardware_profile(hardware, "search_cost");
  std::uint64_t longest = 0;
  double tokens = 0, attended = 0, own_positions = 0;
  for (std::uint64_t g : generated) {
    detail::check_context(shape, prompt_tokens + g, "search_cost");
    longest = std::max(longest, g);
    tokens += static_cast<double>(g);
    attended += detail::position_sum(prompt_tokens, g);
    own_positions += detail::position_sum(0, g);  // the trajectory's own K/V, never shared
  }
  const double prompt_kv_reads =
      static_cast<double>(prompt_tokens) * (reuse == prompt_reuse::shared_reads ? static_cast<double>(longest) : tokens);
  inference_cost c = detail::cost_of(shape, hardware, tokens, attended, own_positions + prompt_kv_reads, tokens);
  const double prefills = reuse == prompt_reuse::none ? static_cast<double>(generated.size()) : 1.0;
  if (!generated.empty()) c += prefill_cost(shape, hardware, prompt_tokens) * prefills;
  return c;
}

// ---------------------------------------------------------------------------
// Parameter counts and presets

/// The dimensions of a LLaMA-architecture decoder (RMSNorm, SwiGLU, rotary
/// positions, optional GQA), as a config.json gives them.
struct llama_dimensions {
  std::uint64_t hidden_size = 0;
  std::uint64_t layers = 0;
  std::uint64_t attention_heads = 0;
  std::uint64_t kv_heads = 0;
  std::uint64_t head_dim = 0;
  std::uint64_t feed_forward = 0;  ///< intermediate size of the SwiGLU
  std::uint64_t vocabulary = 0;
  bool tied_embeddings = false;  ///< output matrix shares the embedding's weights
  bool qkv_bias = false;         ///< biases on Q, K, V (the Qwen2 family)
};

/// Parameters of a LLaMA-architecture decoder: per layer Q, K, V, O
/// projections (+ QKV biases), the three SwiGLU matrices and two RMSNorm
/// vectors; the embedding, the final norm and (untied) the output matrix.
/// Exact for the models it describes (894,592 for the arithmetic model).
[[nodiscard]] constexpr double llama_parameter_count(const llama_dimensions& d) noexcept {
  const double h = static_cast<double>(d.hidden_size), q = static_cast<double>(d.attention_heads * d.head_dim),
               kv = static_cast<double>(d.kv_heads * d.head_dim), ff = static_cast<double>(d.feed_forward),
               v = static_cast<double>(d.vocabulary);
  const double attention = h * q + 2 * h * kv + q * h + (d.qkv_bias ? q + 2 * kv : 0.0);
  const double layer = attention + 3 * h * ff + 2 * h;
  return static_cast<double>(d.layers) * layer + v * h * (d.tied_embeddings ? 1 : 2) + h;
}

/// The trained arithmetic policy and PRM of models/ (models/README.md): 128
/// embedding dimensions, 4 layers, 4 heads of 32 (4 KV heads), feed-forward
/// 352, context 256, vocabulary 354, untied output, all tensors F32 —
/// 894,592 parameters; llama.cpp keeps its KV cache in F16 by default.
[[nodiscard]] inline model_shape arithmetic_model_shape() {
  return {.name = "arithmetic-policy",
          .parameters = 894'592,
          .layers = 4,
          .attention_heads = 4,
          .kv_heads = 4,
          .head_dim = 32,
          .context_length = 256,
          .bytes_per_parameter = 4,
          .bytes_per_kv_element = 2};
}
[[nodiscard]] constexpr llama_dimensions arithmetic_model_dimensions() noexcept {
  return {.hidden_size = 128, .layers = 4, .attention_heads = 4, .kv_heads = 4, .head_dim = 32,
          .feed_forward = 352, .vocabulary = 354};
}

/// Qwen2.5-7B-Instruct (huggingface.co/Qwen/Qwen2.5-7B-Instruct config.json:
/// hidden 3584, 28 layers, 28 query heads and 4 KV heads of 128 (GQA 7:1),
/// intermediate 18944, vocabulary 152064, untied, QKV biases (the Qwen2
/// architecture), 32768 positions without YaRN; the model card gives 7.61B
/// parameters, 6.53B without embeddings), in BF16.
[[nodiscard]] inline model_shape qwen2_5_7b_shape() {
  return {.name = "Qwen2.5-7B-Instruct",
          .parameters = 7.61e9,
          .layers = 28,
          .attention_heads = 28,
          .kv_heads = 4,
          .head_dim = 128,
          .context_length = 32768,
          .bytes_per_parameter = 2,
          .bytes_per_kv_element = 2};
}
[[nodiscard]] constexpr llama_dimensions qwen2_5_7b_dimensions() noexcept {
  return {.hidden_size = 3584, .layers = 28, .attention_heads = 28, .kv_heads = 4, .head_dim = 128,
          .feed_forward = 18944, .vocabulary = 152064, .qkv_bias = true};
}

/// Llama-3-8B (huggingface.co/meta-llama/Meta-Llama-3-8B config.json: hidden
/// 4096, 32 layers, 32 query heads and 8 KV heads of 128 (GQA 4:1),
/// intermediate 14336, vocabulary 128256, untied, 8192 positions; the model
/// card gives 8B, 8.03B counted), in BF16.
[[nodiscard]] inline model_shape llama3_8b_shape() {
  return {.name = "Llama-3-8B",
          .parameters = 8.03e9,
          .layers = 32,
          .attention_heads = 32,
          .kv_heads = 8,
          .head_dim = 128,
          .context_length = 8192,
          .bytes_per_parameter = 2,
          .bytes_per_kv_element = 2};
}
[[nodiscard]] constexpr llama_dimensions llama3_8b_dimensions() noexcept {
  return {.hidden_size = 4096, .layers = 32, .attention_heads = 32, .kv_heads = 8, .head_dim = 128,
          .feed_forward = 14336, .vocabulary = 128256};
}

}  // namespace analysis
TTSCALE_END_NAMESPACE
