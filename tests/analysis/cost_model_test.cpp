#include <ttscale/analysis/cost_model.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace ttscale;
using analysis::hardware_profile;
using analysis::inference_cost;
using analysis::model_shape;

namespace {

// The per-token model written out independently of the header: decoding the
// token at position t costs 2P + 4·L·heads·head_dim·t FLOPs and moves
// 2·L·kv_heads·head_dim·bytes·t bytes of K and V (+ P·bytes/batch of weights).
struct reference_cost {
  long double linear = 0, attention = 0, kv = 0, weights = 0;
  long double eflops(long double intensity) const { return linear + attention + intensity * (kv + weights); }
};

reference_cost explicit_generation(const model_shape& m, const hardware_profile& h, std::uint64_t prefix,
                                   std::uint64_t generated) {
  reference_cost r;
  for (std::uint64_t i = 1; i <= generated; ++i) {
    const long double t = static_cast<long double>(prefix + i);
    r.linear += 2.0L * m.parameters;
    r.attention += 4.0L * m.layers * m.attention_heads * m.head_dim * t;
    r.kv += 2.0L * m.layers * m.kv_heads * m.head_dim * m.bytes_per_kv_element * t;
    if (h.weight_batch) r.weights += m.parameters * m.bytes_per_parameter / *h.weight_batch;
  }
  return r;
}

bool close(double got, long double want, double relative) {
  if (want == 0) return got == 0;
  return std::abs(static_cast<long double>(got) - want) <= relative * std::abs(want);
}

}  // namespace

TEST_CASE("weighted_cost is the exact weighted sum of the counts", "[analysis][cost]") {
  accounting spent;
  spent.tokens = 1000;
  spent.steps = 77;  // not a cost unit: must not count
  spent.samples = 8;
  spent.generator_calls = 10;
  spent.verifier_calls = 3;
  spent.verifier_items = 64;
  CHECK(analysis::weighted_cost(spent, 200) == 1000.0);  // default: generated tokens only
  const analysis::cost_weights w{.generated_token = 1, .prompt_token = 0.25, .verifier_item = 2,
                                 .generator_call = 5, .verifier_call = 7};
  CHECK(analysis::weighted_cost(spent, 200, w) == 1000.0 + 50.0 + 128.0 + 50.0 + 21.0);
  CHECK(analysis::weighted_cost(accounting{}, 0, w) == 0.0);
  CHECK_THROWS_WITH(analysis::weighted_cost(spent, 0, {.prompt_token = -1}),
                    Catch::Contains("weighted_cost: weights.prompt_token") && Catch::Contains("-1"));
  CHECK_THROWS_AS(analysis::weighted_cost(spent, 0, {.verifier_item = std::nan("")}), invalid_argument);
}

TEST_CASE("generation_cost equals the explicit per-token sum", "[analysis][cost]") {
  struct case_t {
    model_shape shape;
    std::uint64_t prefix, generated;
  };
  const std::vector<case_t> cases{
      {analysis::arithmetic_model_shape(), 0, 0},      {analysis::arithmetic_model_shape(), 0, 1},
      {analysis::arithmetic_model_shape(), 12, 244},   {analysis::arithmetic_model_shape(), 255, 1},
      {analysis::qwen2_5_7b_shape(), 0, 4096},         {analysis::qwen2_5_7b_shape(), 1000, 31768},
      {analysis::llama3_8b_shape(), 517, 7000},        {analysis::llama3_8b_shape(), 8191, 1},
  };
  for (const hardware_profile& h :
       {hardware_profile{}, hardware_profile{.arithmetic_intensity = 0}, hardware_profile{.weight_batch = 64}}) {
    for (const case_t& c : cases) {
      CAPTURE(c.shape.name, c.prefix, c.generated, h.arithmetic_intensity, h.weight_batch.has_value());
      const inference_cost got = analysis::generation_cost(c.shape, h, c.prefix, c.generated);
      const reference_cost want = explicit_generation(c.shape, h, c.prefix, c.generated);
      CHECK(close(got.linear_flops, want.linear, 1e-12));
      CHECK(close(got.attention_flops, want.attention, 1e-12));
      CHECK(close(got.kv_bytes, want.kv, 1e-12));
      CHECK(close(got.weight_bytes, want.weights, 1e-12));
      CHECK(close(got.equivalent_flops, want.eflops(h.arithmetic_intensity), 1e-12));
      // The library's own per-token function sums to the same closed form.
      if (c.generated <= 300) {
        inference_cost summed;
        for (std::uint64_t i = 1; i <= c.generated; ++i) summed += analysis::token_cost(c.shape, h, c.prefix + i);
        CHECK(close(summed.equivalent_flops, want.eflops(h.arithmetic_intensity), 1e-12));
      }
    }
  }
}

TEST_CASE("prefill_cost counts causal attention over the cache and writes each new position once",
          "[analysis][cost]") {
  const model_shape m = analysis::qwen2_5_7b_shape();
  const hardware_profile h{.weight_batch = 8};
  for (std::uint64_t cached : {0u, 100u}) {
    const std::uint64_t n = 3000;
    long double attended = 0;
    for (std::uint64_t j = 1; j <= n; ++j) attended += static_cast<long double>(cached + j);
    const inference_cost c = analysis::prefill_cost(m, h, n, cached);
    CHECK(close(c.linear_flops, 2.0L * m.parameters * n, 1e-12));
    CHECK(close(c.attention_flops, 4.0L * m.layers * m.attention_heads * m.head_dim * attended, 1e-12));
    CHECK(close(c.kv_bytes, 2.0L * m.layers * m.kv_heads * m.head_dim * 2 * static_cast<long double>(cached + n),
                1e-12));
    CHECK(close(c.weight_bytes, m.parameters * 2.0L / 8, 1e-12));  // one forward pass
    // A prefill is compute-bound: its bytes add little to its FLOPs.
    CHECK(c.equivalent_flops < 1.2 * c.flops());
  }
  CHECK(analysis::prefill_cost(m, h, 0).equivalent_flops == 0);
}

TEST_CASE("a long generation costs more than its token count says", "[analysis][cost]") {
  const hardware_profile h{};
  SECTION("Qwen2.5-7B: the KV bytes grow quadratically and dominate") {
    const model_shape m = analysis::qwen2_5_7b_shape();
    const double e16k = analysis::generation_cost(m, h, 0, 16384).equivalent_flops;
    const double e32k = analysis::generation_cost(m, h, 0, 32768).equivalent_flops;
    CHECK(e32k > 2 * e16k);
    // Per token, a 32k chain costs many times a 1k chain; a linear model would say "the same".
    const double per_token_1k = analysis::generation_cost(m, h, 0, 1024).equivalent_flops / 1024;
    CHECK(e32k / 32768 > 10 * per_token_1k);
    // The quadratic part is memory: in plain FLOPs the same chain is still mostly 2P per token.
    const inference_cost c = analysis::generation_cost(m, h, 0, 32768);
    CHECK(c.attention_flops < c.linear_flops);
    CHECK(h.arithmetic_intensity * c.kv_bytes > 10 * c.linear_flops);
  }
  SECTION("plain FLOPs grow superlinearly too, if less") {
    const model_shape m = analysis::llama3_8b_shape();
    const hardware_profile flops_only{.arithmetic_intensity = 0};
    const double f4k = analysis::generation_cost(m, flops_only, 0, 4096).equivalent_flops;
    const double f8k = analysis::generation_cost(m, flops_only, 0, 8192).equivalent_flops;
    CHECK(f8k > 2 * f4k);
    CHECK(f8k < 2.5 * f4k);
  }
}

TEST_CASE("search_cost matches Kinetics' best-of-N cost up to the self-attention term", "[analysis][cost]") {
  // C_TTS = 2NP·Lout + 2rN·Lin·D·Lout + rN·D·Lout² + 2I·Lin·D·Lout + I·N·D·Lout² (Sadhukhan et al. 2025),
  // as its code evaluates it: compute 2(2Lin + Lout)·Lout·heads·head_dim·L·N, memory
  // 2(2Lin + N·Lout)·Lout·kv_heads·head_dim·L (BF16 K and V), times I.
  const model_shape m = analysis::qwen2_5_7b_shape();
  const hardware_profile h{};
  const long double N = 8, Lin = 512, Lout = 4096, P = m.parameters, L = m.layers;
  const long double q = m.attention_heads * m.head_dim, kv = m.kv_heads * m.head_dim, I = h.arithmetic_intensity;
  const long double kinetics = 2 * N * P * Lout + 2 * (2 * Lin + Lout) * Lout * q * L * N +
                               I * 2 * (2 * Lin + N * Lout) * Lout * kv * L;
  const std::vector<std::uint64_t> generated(8, 4096);
  const inference_cost search =
      analysis::search_cost(m, h, 512, generated, analysis::prompt_reuse::shared_reads);
  const double decode = search.equivalent_flops - analysis::prefill_cost(m, h, 512).equivalent_flops;
  // The difference is exactly each token attending to (and writing) its own position: Kinetics
  // sums Lout²/2 where the positions sum to Lout(Lout+1)/2.
  const long double self = N * Lout * (2 * L * q + I * 2 * L * kv);
  CHECK(close(decode, kinetics + self, 1e-12));
  CHECK(std::abs(decode - static_cast<double>(kinetics)) < 1e-3 * decode);
}

TEST_CASE("search_cost: prompt reuse changes only the prompt's share", "[analysis][cost]") {
  const model_shape m = analysis::llama3_8b_shape();
  const hardware_profile h{};
  const std::vector<std::uint64_t> generated{100, 2000, 700, 0};
  const std::uint64_t p = 300;
  const inference_cost none = analysis::search_cost(m, h, p, generated, analysis::prompt_reuse::none);
  const inference_cost cached = analysis::search_cost(m, h, p, generated, analysis::prompt_reuse::prefix_cache);
  const inference_cost shared = analysis::search_cost(m, h, p, generated, analysis::prompt_reuse::shared_reads);
  const inference_cost prefill = analysis::prefill_cost(m, h, p);
  CHECK(close(none.equivalent_flops - cached.equivalent_flops, 3.0L * prefill.equivalent_flops, 1e-9));
  // Shared reads: the prompt's K/V once per step of the longest trajectory, not once per token.
  const long double saved = (2800.0L - 2000.0L) * p * m.kv_bytes_per_position();
  CHECK(close(cached.kv_bytes - shared.kv_bytes, saved, 1e-12));
  CHECK(cached.flops() == shared.flops());
  // The generations are the per-trajectory generation costs plus one prefill.
  inference_cost parts = prefill;
  for (std::uint64_t g : generated) parts += analysis::generation_cost(m, h, p, g);
  CHECK(close(cached.equivalent_flops, parts.equivalent_flops, 1e-12));
  CHECK(analysis::search_cost(m, h, p, {}).equivalent_flops == 0);
}

TEST_CASE("presets' parameter counts match their published totals", "[analysis][cost]") {
  // models/README.md: 894,592 parameters each.
  CHECK(analysis::llama_parameter_count(analysis::arithmetic_model_dimensions()) == 894'592.0);
  CHECK(analysis::arithmetic_model_shape().parameters == 894'592.0);
  // Model cards: 7.61B (6.53B non-embedding) and 8.03B.
  const double qwen = analysis::llama_parameter_count(analysis::qwen2_5_7b_dimensions());
  CHECK(qwen == Approx(7.61e9).epsilon(0.005));
  CHECK(qwen - 2 * 152064.0 * 3584 == Approx(6.53e9).epsilon(0.005));
  CHECK(analysis::qwen2_5_7b_shape().parameters == Approx(qwen).epsilon(0.005));
  const double llama = analysis::llama_parameter_count(analysis::llama3_8b_dimensions());
  CHECK(llama == Approx(8.03e9).epsilon(0.005));
  CHECK(analysis::llama3_8b_shape().parameters == Approx(llama).epsilon(0.005));
  // Each shape agrees with its dimensions.
  const auto agree = [](const model_shape& s, const analysis::llama_dimensions& d) {
    return s.layers == d.layers && s.attention_heads == d.attention_heads && s.kv_heads == d.kv_heads &&
           s.head_dim == d.head_dim && s.attention_dim() == static_cast<double>(d.hidden_size);
  };
  CHECK(agree(analysis::arithmetic_model_shape(), analysis::arithmetic_model_dimensions()));
  CHECK(agree(analysis::qwen2_5_7b_shape(), analysis::qwen2_5_7b_dimensions()));
  CHECK(agree(analysis::llama3_8b_shape(), analysis::llama3_8b_dimensions()));
  // GQA: Qwen's KV is 7× narrower than its queries, 28 layers × 512 × 2 (K, V) × 2 bytes per position.
  CHECK(analysis::qwen2_5_7b_shape().kv_bytes_per_position() == 57344.0);
}

TEST_CASE("cost functions reject what they cannot cost", "[analysis][cost][errors]") {
  const model_shape m = analysis::arithmetic_model_shape();
  CHECK_THROWS_WITH(analysis::generation_cost(m, {}, 200, 57),
                    Catch::Contains("generation_cost: position 257") && Catch::Contains("context length 256"));
  CHECK_NOTHROW(analysis::generation_cost(m, {}, 200, 56));
  CHECK_THROWS_WITH(analysis::token_cost(m, {}, 0), Catch::Contains("1-based"));
  model_shape unchecked = m;
  unchecked.context_length = 0;
  CHECK_NOTHROW(analysis::generation_cost(unchecked, {}, 0, 100000));
  model_shape bad = m;
  bad.kv_heads = 8;
  CHECK_THROWS_WITH(analysis::prefill_cost(bad, {}, 10), Catch::Contains("more kv_heads (8) than attention_heads (4)"));
  bad = m;
  bad.parameters = 0;
  CHECK_THROWS_AS(analysis::generation_cost(bad, {}, 0, 1), invalid_argument);
  CHECK_THROWS_WITH(analysis::generation_cost(m, {.weight_batch = 0.5}, 0, 1),
                    Catch::Contains("weight_batch must be at least 1 (got 0.5)"));
  CHECK_THROWS_AS(analysis::generation_cost(m, {.arithmetic_intensity = -1}, 0, 1), invalid_argument);
  const std::vector<std::uint64_t> too_long{10, 300};
  CHECK_THROWS_WITH(analysis::search_cost(m, {}, 5, too_long), Catch::Contains("search_cost: position 305"));
}
