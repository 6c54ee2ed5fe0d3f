// The token-probability verifier on a real (tiny, random-weight) LLaMA model:
// every score equals P(good) / (P(good) + P(bad)) read from a fresh decode of
// the path text and tag in a context of its own — for nodes whose parent's KV
// it reuses, for fresh nodes, for siblings sharing a new prefix within one
// call, and when sequences run short — with one llama_decode per call, inside
// real strategies, with clear errors and no sequence left after forget_all().
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/from_function.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/trajectory.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace ttscale;
namespace lc = ttscale::llama_cpp;

namespace {
const lc::model& tiny_model() {
  static const lc::model m = [] {
    lc::load_backends(TTSCALE_LLAMA_CPP_BACKEND_DIR);
    return lc::model(TTSCALE_TINY_MODEL_PATH);
  }();
  return m;
}

// The next-token logits after `text`, decoded from scratch in one sequence of
// a fresh llama context of its own (no sharing, no copies, no other
// sequences, one llama_decode; flash attention off, as in the verifier): the
// reference. Written on llama.h directly, independent of the adapter.
std::vector<float> fresh_logits(const std::string& text, ggml_type kv_type = GGML_TYPE_F32) {
  const lc::model& m = tiny_model();
  const std::vector<llama_token> tokens = m.tokenize(text, true);
  REQUIRE(tokens.size() <= 512);
  llama_context_params p = llama_context_default_params();
  p.n_ctx = 512;
  p.n_seq_max = 1;
  p.n_batch = p.n_ubatch = 512;
  p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  p.type_k = p.type_v = kv_type;
  p.n_threads = p.n_threads_batch = 1;  // a tiny model: threads would only wait for each other
  llama_context* ctx = llama_init_from_model(m.get(), p);
  REQUIRE(ctx != nullptr);
  llama_batch batch = llama_batch_init(512, 0, 1);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = static_cast<llama_pos>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = i + 1 == tokens.size();
  }
  batch.n_tokens = static_cast<int32_t>(tokens.size());
  const int32_t rc = llama_decode(ctx, batch);
  std::vector<float> out;
  if (rc == 0) {
    const float* logits = llama_get_logits_ith(ctx, batch.n_tokens - 1);
    out.assign(logits, logits + m.vocab_size());
  }
  llama_batch_free(batch);
  llama_free(ctx);
  REQUIRE(rc == 0);
  return out;
}

double reference_score(const std::string& text, lc::judge_tokens judge, ggml_type kv_type = GGML_TYPE_F32) {
  const std::vector<float> logits = fresh_logits(text, kv_type);
  return 1.0 / (1.0 + std::exp(static_cast<double>(logits[static_cast<std::size_t>(judge.bad)]) -
                               logits[static_cast<std::size_t>(judge.good)]));
}

// The verifier's context; one thread: on a tiny model more would only wait for each other.
lc::engine_options context(std::uint32_t n_ctx, std::uint32_t n_seq_max, std::uint32_t n_batch = 512) {
  return {.n_ctx = n_ctx, .n_seq_max = n_seq_max, .n_batch = n_batch, .n_threads = 1};
}

// F32 K/V cells: an F16 cache's rounding depends on the batch's shape (see
// kv_cache_type), which would hide a wrong token or position below 1e-4.
lc::token_probability_options exact(lc::token_probability_options o = {}) {
  o.kv_cache_type = GGML_TYPE_F32;
  return o;
}

std::vector<double> score_steps(lc::token_probability_verifier& v, const std::vector<trajectory>& items) {
  std::vector<double> out(items.size(), -1.0);
  v.score_steps(items, out);
  return out;
}

void check_against_reference(const lc::token_probability_verifier& v, const std::vector<trajectory>& items,
                             const std::vector<double>& scores, const std::string& tag, lc::judge_tokens judge) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    INFO("item " << i << ": '" << items[i].text() << "'");
    CHECK(std::isfinite(scores[i]));
    CHECK(scores[i] > 0.0);
    CHECK(scores[i] < 1.0);
    CHECK(scores[i] == Approx(reference_score(items[i].text() + tag, judge)).margin(1e-5));
  }
  (void)v;
}

// Forwards to the verifier and records what it scored (the handles stay
// valid while the search's result owns the tree).
struct recording_prm {
  lc::token_probability_verifier* v;
  std::vector<std::pair<trajectory, double>> seen;
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    v->score_steps(prefixes, out);
    for (std::size_t i = 0; i < prefixes.size(); ++i) seen.emplace_back(prefixes[i], out[i]);
  }
};

// A small tree with texts: the prompt, two first steps, their children, grandchildren.
struct small_tree {
  trajectory_tree tree{"Question: what is 12 + 30? Think step by step.\n"};
  trajectory a = tree.append(0, step{.text = "Step 1: 12 + 30 is the same as 10 + 30 + 2."});
  trajectory b = tree.append(0, step{.text = "Step 1: add the tens, 10 + 30 = 40."});
  // A boundary inside a word: "ans" + "wer" tokenizes differently from "answer".
  trajectory a1 = tree.append(a.id(), step{.text = "\nStep 2: so the ans"});
  trajectory a2 = tree.append(a.id(), step{.text = "\nStep 2: 10 + 30 = 40, and 40 + 2 = 42."});
  trajectory b1 = tree.append(b.id(), step{.text = "\nStep 2: add the units, 40 + 2 = 42."});
  trajectory a1x = tree.append(a1.id(), step{.text = "wer is 42.", .finished = true});
  trajectory a2x = tree.append(a2.id(), step{.text = "\nThe answer is \\boxed{42}.", .finished = true});
  trajectory b1x = tree.append(b1.id(), step{.text = "\nThe answer is \\boxed{42}.", .finished = true});
};
}  // namespace

TEST_CASE("token_probability_verifier is a process and an outcome verifier", "[llama_cpp][verifier]") {
  STATIC_REQUIRE(process_verifier<lc::token_probability_verifier>);
  STATIC_REQUIRE(outcome_verifier<lc::token_probability_verifier>);
  STATIC_REQUIRE(!enable_concurrent_calls<lc::token_probability_verifier>);
}

TEST_CASE("scores equal a fresh decode of the path text and tag, with and without the parent's KV",
          "[llama_cpp][verifier]") {
  small_tree t;
  lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 16, 512));
  const lc::judge_tokens judge = v.step_tokens();
  const std::string tag = v.options().step_tag;

  // Round 1: fresh nodes (nothing held); the prompt, common to both, is decoded once.
  const std::vector<trajectory> round1{t.a, t.b};
  const auto s1 = score_steps(v, round1);
  check_against_reference(v, round1, s1, tag, judge);
  CHECK(v.stats().decodes == 1);
  CHECK(v.stats().reused_tokens == 0);
  CHECK(v.stats().decoded_tokens < v.stats().path_tokens);  // the shared prompt once
  CHECK(v.sequences_in_use() == 2);

  // Round 2: children of scored nodes reuse their parent's KV.
  const std::vector<trajectory> round2{t.a1, t.a2, t.b1};
  const auto before = v.stats();
  const auto s2 = score_steps(v, round2);
  check_against_reference(v, round2, s2, tag, judge);
  CHECK(v.stats().decodes - before.decodes == 1);
  CHECK(v.stats().reused_tokens - before.reused_tokens >= 3 * 20);  // each reused at least the prompt
  CHECK(v.stats().decoded_tokens - before.decoded_tokens < (v.stats().path_tokens - before.path_tokens) / 2);

  // Round 3: the boundary inside "ans|wer", the outcome tag on finished nodes,
  // and a grandchild-only item mixed in.
  const std::vector<trajectory> round3{t.a1x, t.a2x, t.b1x};
  std::vector<double> s3(3);
  v.score_outcomes(round3, s3);
  check_against_reference(v, round3, s3, v.options().outcome_tag, v.outcome_tokens());

  // A node whose parent was never scored, from another tree: shares only what its tokens share.
  trajectory_tree other("Question: what is 12 + 30? Think step by step.\n");
  const trajectory o1 = other.append(0, step{.text = "Step 1: 12 + 30 = 42."});
  const trajectory o2 = other.append(o1.id(), step{.text = "\nStep 2: check: 42 - 30 = 12."});
  const std::vector<trajectory> round4{o2, t.a2};  // a2 again: its own state is reused in place
  const auto s4 = score_steps(v, round4);
  check_against_reference(v, round4, s4, tag, judge);
  CHECK(s4[1] == Approx(s2[1]).margin(1e-5));

  // The same node twice in one call: decoded once, the same score.
  const std::vector<trajectory> twice{t.b1, t.b1, t.a};
  const auto b_before = v.stats();
  const auto s5 = score_steps(v, twice);
  CHECK(s5[0] == s5[1]);
  CHECK(v.stats().distinct_items - b_before.distinct_items == 2);
  check_against_reference(v, twice, s5, tag, judge);

  v.forget_all();
  CHECK(v.sequences_in_use() == 0);
  CHECK(v.kv_positions_in_use() == 0);
}

TEST_CASE("scores stay exact when sequences run short, when n_batch splits the call, and after eviction",
          "[llama_cpp][verifier]") {
  small_tree t;
  SECTION("n_seq_max = 3: a parent's sequence moves into its child") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 3, 512));
    const std::vector<trajectory> r1{t.a, t.b};
    check_against_reference(v, r1, score_steps(v, r1), v.options().step_tag, v.step_tokens());
    const std::vector<trajectory> r2{t.a1, t.a2, t.b1};  // 3 items + 2 sources > 3 sequences
    check_against_reference(v, r2, score_steps(v, r2), v.options().step_tag, v.step_tokens());
    CHECK(v.stats().reused_tokens > 0);
    CHECK(v.sequences_in_use() <= 3);
  }
  SECTION("n_batch = 16: one call in several decodes") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 8, 16));
    const std::vector<trajectory> r1{t.a, t.b, t.a1x};
    check_against_reference(v, r1, score_steps(v, r1), v.options().step_tag, v.step_tokens());
    CHECK(v.stats().decodes == (v.stats().decoded_tokens + 15) / 16);
    const std::vector<trajectory> r2{t.a1, t.a2, t.b1, t.b1x};
    check_against_reference(v, r2, score_steps(v, r2), v.options().step_tag, v.step_tokens());
  }
  SECTION("n_batch = 4 below n_seq_max = 8 (llama.cpp would abort without n_outputs_max)") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 8, 4));
    const std::vector<trajectory> r{t.a, t.b, t.a1};
    check_against_reference(v, r, score_steps(v, r), v.options().step_tag, v.step_tokens());
    CHECK(v.stats().decodes == (v.stats().decoded_tokens + 3) / 4);
  }
  SECTION("lru_capacity = 0: only the latest call's states are kept") {
    lc::token_probability_verifier v(tiny_model(), exact({.lru_capacity = 0}), context(1024, 8));
    CHECK(v.lru_capacity() == 0);
    score_steps(v, {t.a, t.b});
    score_steps(v, {t.a1});
    CHECK(v.sequences_in_use() == 1);
    const std::vector<trajectory> r{t.b1, t.a1x};
    check_against_reference(v, r, score_steps(v, r), v.options().step_tag, v.step_tokens());
  }
  SECTION("the default LRU keeps 2 * n_seq_max / 3 older states") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 6));
    CHECK(v.lru_capacity() == 4);
    for (const trajectory& x : {t.a, t.b, t.a1, t.a2, t.b1, t.a1x, t.a2x, t.b1x}) {
      score_steps(v, {x});
      CHECK(v.sequences_in_use() <= 1 + 4);
    }
    CHECK(v.sequences_in_use() == 5);
  }
}

TEST_CASE("with llama.cpp's defaults (F16 K/V cells, optional flash attention) the scores stay close",
          "[llama_cpp][verifier]") {
  // The bound is what llama.cpp's own rounding allows, measured on this model
  // (F16 cells: 5.5e-5; flash attention: 4e-4), with a margin of about 2.
  small_tree t;
  const bool flash = GENERATE(false, true);
  const double bound = flash ? 1e-3 : 1e-4;
  lc::token_probability_verifier v(tiny_model(), {.flash_attention = flash}, context(1024, 16));
  double worst = 0.0;
  const std::vector<std::vector<trajectory>> calls{{t.a, t.b}, {t.a1, t.a2, t.b1}, {t.a1x, t.a2x, t.b1x}};
  for (const std::vector<trajectory>& call : calls) {
    const auto s = score_steps(v, call);
    for (std::size_t i = 0; i < call.size(); ++i)
      worst = std::max(worst, std::abs(s[i] - reference_score(call[i].text() + v.options().step_tag, v.step_tokens(),
                                                                 GGML_TYPE_F16)));
  }
  INFO("flash attention " << flash << ": largest difference " << worst);
  CHECK(worst < bound);
}

TEST_CASE("the score is P(good) / (P(good) + P(bad)) of the raw logits", "[llama_cpp][verifier]") {
  small_tree t;
  lc::token_probability_verifier v(tiny_model(), exact(lc::math_shepherd_options()), context(1024, 8));
  // Math-Shepherd's strings resolve to one token each after " ки" ("+", "-" with their space).
  CHECK(tiny_model().piece(v.step_tokens().good) == " +");
  CHECK(tiny_model().piece(v.step_tokens().bad) == " -");
  const auto s = score_steps(v, {t.a2});
  const std::vector<float> logits = fresh_logits(t.a2.text() + " ки");  // F32 K/V as the verifier
  double hi = logits[0];
  for (float x : logits) hi = std::max<double>(hi, x);
  double z = 0.0;
  for (float x : logits) z += std::exp(x - hi);
  const double p_good = std::exp(logits[static_cast<std::size_t>(v.step_tokens().good)] - hi) / z;
  const double p_bad = std::exp(logits[static_cast<std::size_t>(v.step_tokens().bad)] - hi) / z;
  REQUIRE(p_good > 0.0);
  REQUIRE(p_bad > 0.0);
  CHECK(s[0] == Approx(p_good / (p_good + p_bad)).margin(1e-5));
  CHECK(s[0] > 0.0);
  CHECK(s[0] < 1.0);
}

TEST_CASE("a custom render: Math-Shepherd's tag after every step", "[llama_cpp][verifier]") {
  small_tree t;
  auto options = exact(lc::math_shepherd_options());
  options.render = [](const trajectory& x) {
    std::string text(x.prompt());
    const auto steps = x.steps();
    for (std::size_t i = 0; i < steps.size(); ++i) text.append(steps[i]->text).append(i + 1 < steps.size() ? " ки" : "");
    return text;
  };
  lc::token_probability_verifier v(tiny_model(), options, context(1024, 8));
  score_steps(v, {t.a});
  const auto s = score_steps(v, {t.a2});
  const std::string text =
      std::string(t.a2.prompt()).append(t.a.last_step().text).append(" ки").append(t.a2.last_step().text).append(" ки");
  CHECK(s[0] == Approx(reference_score(text, v.step_tokens())).margin(1e-5));
  CHECK(v.stats().reused_tokens > 0);
}

TEST_CASE("inside real searches: one decode per call, scores shared, nothing held after forget_all",
          "[llama_cpp][verifier]") {
  // A text "reasoner": three steps drawn from a few phrasings, the last one boxed.
  auto gen = generator_from([](const trajectory& prefix, random_engine& rng) {
    static const char* const steps[] = {" We add the tens first.", " The units give 2.", " Then 40 + 2 = 42.",
                                        " Check: 42 - 30 = 12."};
    const bool done = prefix.depth() >= 2;
    const std::size_t pick = static_cast<std::size_t>(rng.uniform() * 4.0) % 4;
    return step{.text = done ? std::string(" So the answer is \\boxed{4") + char('0' + pick) + "}."
                             : std::string(steps[pick]),
                .tokens = 6,
                .finished = done};
  });
  lc::token_probability_verifier v(tiny_model(), exact(), context(2048, 32, 512));
  std::mt19937_64 rng(7);
  const std::string prompt = "Question: what is 12 + 30?\nAnswer:";

  SECTION("beam search with the verifier as its PRM") {
    const auto r = beam_search(gen, v, prompt, beam_search_options{.n = 8, .beam_width = 2, .max_depth = 4}, rng);
    CHECK(r.spent.verifier_calls == v.stats().calls);
    CHECK(v.stats().calls >= 3);
    CHECK(v.stats().decodes == v.stats().calls);  // every call fits n_batch: one llama_decode each
    CHECK(v.stats().reused_tokens > 0);
    CHECK(v.stats().decoded_tokens < v.stats().path_tokens / 2);
    for (const auto& c : r.candidates)
      for (double s : c.path.step_scores())
        if (!std::isnan(s)) CHECK((s > 0.0 && s < 1.0));
    // Every kept step score is the reference score of its path.
    const trajectory best = r.chosen().path;
    for (trajectory x = best; !x.is_root(); x = x.parent())
      CHECK(x.step_score() == Approx(reference_score(x.text() + v.options().step_tag, v.step_tokens())).margin(1e-5));
  }
  SECTION("beam search with the llama.cpp generator as policy, the verifier as PRM (same model file)") {
    lc::engine policy(tiny_model(), context(2048, 32));
    lc::generator real(policy, {.step_delimiter = ".", .max_step_tokens = 6, .sampling = {.temperature = 1.0f}});
    recording_prm prm{&v, {}};
    const auto r = beam_search(real, prm, prompt, beam_search_options{.n = 8, .beam_width = 2, .max_depth = 3}, rng);
    CHECK(r.spent.verifier_calls == v.stats().calls);
    CHECK(v.stats().calls >= 2);
    CHECK(v.stats().decodes == v.stats().calls);
    CHECK(v.stats().reused_tokens > 0);
    CHECK(policy.sequences_in_use() == 0);  // the generator's release hook; the verifier's own context is apart
    REQUIRE(prm.seen.size() >= 8);
    for (std::size_t i = 0; i < prm.seen.size(); i += 3)  // every third: the reference decodes are the slow part
      CHECK(prm.seen[i].second ==
            Approx(reference_score(prm.seen[i].first.text() + v.options().step_tag, v.step_tokens())).margin(1e-5));
  }
  SECTION("best-of-N with the verifier as its ORM") {
    auto orm = outcome_verifier_from([&](std::span<const trajectory> items, std::span<double> out) {
      v.score_outcomes(items, out);
    });
    const auto r = best_of_n(gen, orm, prompt, best_of_n_options{.n = 6, .max_steps = 4}, rng);
    CHECK(v.stats().decodes == v.stats().calls);
    for (const auto& c : r.candidates) {
      CHECK(c.score > 0.0);
      CHECK(c.score < 1.0);
      CHECK(c.score ==
            Approx(reference_score(c.path.text() + v.options().outcome_tag, v.outcome_tokens())).margin(1e-5));
    }
  }
  CHECK(v.sequences_in_use() > 0);
  v.forget_all();
  CHECK(v.sequences_in_use() == 0);
  CHECK(v.kv_positions_in_use() == 0);
}

TEST_CASE("verifier errors are clear, and the verifier stays usable", "[llama_cpp][verifier][errors]") {
  small_tree t;
  SECTION("good or bad not one token after the tag") {
    CHECK_THROWS_WITH(lc::token_probability_verifier(tiny_model(), {.good = " Absolutely yes"}),
                      Catch::Contains("good string ' Absolutely yes' is not exactly one token after the step_tag"));
    CHECK_THROWS_AS(lc::token_probability_verifier(tiny_model(), {.bad = " No way"}), lc::llama_error);
    CHECK_THROWS_WITH(lc::token_probability_verifier(tiny_model(), {.bad = " No way"}),
                      Catch::Contains("bad string ' No way'"));
    // "Yes" after "Verdict: " merges with the tag's trailing space into " Yes".
    CHECK_THROWS_WITH(lc::token_probability_verifier(tiny_model(), {.outcome_tag = "\nVerdict: ", .good = "Yes"}),
                      Catch::Contains("good string 'Yes' is not exactly one token after the outcome_tag") &&
                          Catch::Contains("merges with the tag's last 1 token"));
    CHECK_THROWS_WITH(lc::token_probability_verifier(tiny_model(), {.good = " No"}),
                      Catch::Contains("are the same token"));
    CHECK_THROWS_WITH(lc::token_probability_verifier(tiny_model(), {.step_tag = ""}),
                      Catch::Contains("step_tag is empty"));
  }
  SECTION("a path longer than the context, naming both numbers") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(256, 4));
    std::string long_text;
    for (int i = 0; i < 60; ++i) long_text += " and then 1 + 1 = 2";
    trajectory_tree tree("Q:");
    const trajectory big = tree.append(0, step{.text = long_text});
    score_steps(v, {t.a});
    std::vector<double> out(2, -1.0);
    const std::vector<trajectory> items{t.a1, big};
    CHECK_THROWS_WITH(v.score_steps(items, out),
                      Catch::Contains("item 1 is ") && Catch::Contains("more than the context's n_ctx = 256"));
    CHECK(v.sequences_in_use() == 1);  // what it held before
    const auto s = score_steps(v, {t.a1});
    CHECK(s[0] == Approx(reference_score(t.a1.text() + v.options().step_tag, v.step_tokens())).margin(1e-5));
  }
  SECTION("more distinct items than sequences, naming both numbers") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(1024, 2));
    std::vector<double> out(3);
    const std::vector<trajectory> items{t.a, t.b, t.a1};
    CHECK_THROWS_WITH(v.score_steps(items, out),
                      Catch::Contains("3 distinct trajectories") && Catch::Contains("n_seq_max = 2"));
    CHECK(v.sequences_in_use() == 0);
    const std::vector<trajectory> dup{t.a, t.a, t.b};  // duplicates need no sequence of their own
    v.score_steps(dup, out);
    CHECK(out[0] == out[1]);
  }
  SECTION("spans of different sizes") {
    lc::token_probability_verifier v(tiny_model(), {}, context(512, 4));
    std::vector<double> out(1);
    const std::vector<trajectory> items{t.a, t.b};
    CHECK_THROWS_AS(v.score_steps(items, out), size_mismatch);
  }
  SECTION("the KV cells run out: unused states are dropped and the decode retried") {
    lc::token_probability_verifier v(tiny_model(), exact(), context(256, 8));
    score_steps(v, {t.a1x, t.b1x});  // two states holding ~80 cells
    // An unrelated item of ~230 tokens fits the context alone, not beside them.
    std::string long_text = "Unrelated:";
    while (tiny_model().tokenize(long_text + v.options().step_tag, true).size() < 225) long_text += " and 1 + 1 = 2";
    trajectory_tree tree(long_text);
    const auto before = v.stats();
    const auto s = score_steps(v, {tree.root()});
    CHECK(s[0] == Approx(reference_score(long_text + v.options().step_tag, v.step_tokens())).margin(1e-5));
    CHECK(v.stats().decodes - before.decodes == 2);  // the failed decode, then the retry
    CHECK(v.sequences_in_use() == 1);
  }
}
