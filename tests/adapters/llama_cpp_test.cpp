// The llama.cpp adapter on a real (tiny, random-weight) LLaMA model in
// process: shared-prefix forks give the same log-probabilities as fresh
// decodes, one decode per token tick, determinism across batch sizes, every
// strategy end to end with no KV sequence left afterwards, and each error.
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/search_context.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/nested.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/strategies/particle_gibbs.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <thread>
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

// Log-probability of `tokens` after `prompt`, decoded from scratch in one
// sequence of a fresh engine (no sharing, no copies): the reference.
std::vector<double> fresh_logprobs(const std::string& prompt, const std::vector<llama_token>& tokens) {
  lc::engine e(tiny_model(), {.n_ctx = 512, .n_seq_max = 1, .n_batch = 512, .n_threads = 1});
  std::vector<llama_token> all = tiny_model().tokenize(prompt, true);
  const std::size_t first = all.size();
  all.insert(all.end(), tokens.begin(), tokens.end());
  std::vector<lc::engine::entry> entries;
  for (std::size_t i = 0; i < all.size(); ++i)
    entries.push_back({all[i], static_cast<llama_pos>(i), 0, i + 1 >= first});
  std::vector<double> out;
  e.decode(entries, [&](std::size_t i, std::span<const float> logits) {
    if (i + 1 >= all.size()) return;
    double hi = logits[0];
    for (float x : logits) hi = std::max<double>(hi, x);
    double sum = 0;
    for (float x : logits) sum += std::exp(x - hi);
    out.push_back(logits[static_cast<std::size_t>(all[i + 1])] - hi - std::log(sum));
  });
  return out;
}

// A cheap PRM for driving searches: prefers shorter texts, deterministically.
struct length_prm {
  void score_steps(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i)
      out[i] = 1.0 / (1.0 + static_cast<double>(p[i].path_hash() % 97) / 97.0 + 0.001 * p[i].tokens());
  }
};
struct length_orm {
  void score_outcomes(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = static_cast<double>(p[i].path_hash() % 101) / 101.0;
  }
};

lc::generator_options short_steps() {
  return {.step_delimiter = ".", .max_step_tokens = 6, .sampling = {.temperature = 1.0f}};
}
}  // namespace

TEST_CASE("forks share the prefix's KV and give the log-probabilities of a fresh decode", "[llama_cpp]") {
  lc::engine e(tiny_model(), {.n_ctx = 512, .n_seq_max = 16, .n_threads = 1});
  lc::generator gen(e, short_steps());
  search_context ctx("test", "Once upon a time", budget{}, execution{}, 3);
  // 4 children of the root, then each extended twice more: forks of forks.
  std::vector<trajectory> level(4, ctx.root());
  std::vector<stream_key> keys{{0, 0}, {1, 0}, {2, 0}, {3, 0}};
  for (std::uint64_t depth = 0; depth < 3; ++depth) {
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = {i, depth};
    level = ctx.extend(gen, level, keys);
  }
  CHECK(e.stats().sequence_copies >= 12);
  for (const trajectory& leaf : level) {
    std::vector<llama_token> tokens;
    std::vector<double> step_logprobs;
    for (const trajectory* t : {&leaf}) (void)t;
    std::vector<trajectory> path;
    for (trajectory t = leaf; !t.is_root(); t = t.parent()) path.insert(path.begin(), t);
    for (const trajectory& node : path) {
      const auto ids = gen.step_tokens(node);
      REQUIRE(ids.size() == node.last_step().tokens);
      tokens.insert(tokens.end(), ids.begin(), ids.end());
      step_logprobs.push_back(node.last_step().logprob);
    }
    const std::vector<double> fresh = fresh_logprobs("Once upon a time", tokens);
    std::size_t k = 0;
    for (std::size_t s = 0; s < path.size(); ++s) {
      double sum = 0;
      for (std::size_t j = 0; j < path[s].last_step().tokens && k < fresh.size(); ++j) sum += fresh[k++];
      CHECK(step_logprobs[s] == Approx(sum).margin(1e-4));
    }
  }
}

TEST_CASE("one llama_decode per token tick carries every item", "[llama_cpp]") {
  lc::engine e(tiny_model(), {.n_ctx = 512, .n_seq_max = 16, .n_threads = 1});
  lc::generator gen(e, {.step_delimiter = "", .max_step_tokens = 8, .sampling = {.temperature = 1.0f}});
  search_context ctx("test", "The answer is", budget{}, execution{}, 5);
  const trajectory root[1] = {ctx.root()};
  const stream_key key0[1] = {{0, 0}};
  const trajectory first = ctx.extend(gen, root, key0).front();  // prefill + one step
  const std::uint64_t before = e.stats().decodes;
  std::vector<trajectory> prefixes(6, first);
  std::vector<stream_key> keys;
  for (std::uint64_t i = 0; i < 6; ++i) keys.push_back({i, 1});
  const auto children = ctx.extend(gen, prefixes, keys);
  std::size_t longest = 0;
  for (const auto& c : children) longest = std::max<std::size_t>(longest, c.last_step().tokens - (c.finished() ? 1 : 0));
  // The first token of each child comes from the parent's stored logits; every
  // decoded token of all 6 children rides in the same tick: one decode per tick.
  CHECK(e.stats().decodes - before == longest);
}

TEST_CASE("same seed, same text, whatever the batch size", "[llama_cpp][determinism]") {
  std::vector<std::string> texts;
  for (std::size_t batch : {0, 1, 3}) {
    lc::engine e(tiny_model(), {.n_ctx = 1024, .n_seq_max = 32, .n_threads = 1});
    lc::generator gen(e, short_steps());
    length_prm prm;
    std::mt19937_64 rng(11);
    const auto r = beam_search(gen, prm, "Q: 2+2=",
                               beam_search_options{.n = 4, .beam_width = 2, .max_depth = 4, .exec = {.batch_size = batch}},
                               rng);
    texts.push_back(r.has_choice() ? r.chosen().path.text() : r.candidates.empty() ? "" : r.candidates[0].path.text());
    CHECK(e.sequences_in_use() == 0);
  }
  CHECK(texts[0] == texts[1]);
  CHECK(texts[0] == texts[2]);
}

TEST_CASE("every strategy runs on the real model and leaves no KV sequence behind", "[llama_cpp]") {
  lc::engine e(tiny_model(), {.n_ctx = 2048, .n_seq_max = 64, .n_threads = 1});
  lc::generator gen(e, short_steps());
  length_prm prm;
  length_orm orm;
  std::mt19937_64 rng(2);
  const std::string prompt = "Question: what is 3 + 4? Answer:";
  auto check_clean = [&](const auto& r) {
    CHECK(r.spent.tokens > 0);
    CHECK(e.sequences_in_use() == 0);
    CHECK(e.kv_positions_in_use() == 0);
    CHECK(gen.live_sequences() == 0);
  };
  SECTION("best_of_n") { check_clean(best_of_n(gen, orm, prompt, best_of_n_options{.n = 4, .max_steps = 4}, rng)); }
  SECTION("majority_vote") { check_clean(majority_vote(gen, prompt, vote_options<last_number>{.n = 4, .max_steps = 4}, rng)); }
  SECTION("weighted_majority_vote") {
    check_clean(weighted_majority_vote(gen, prm, prompt, vote_options{.n = 4, .max_steps = 4}, rng));
  }
  SECTION("beam_search") {
    check_clean(beam_search(gen, prm, prompt, beam_search_options{.n = 8, .beam_width = 2, .max_depth = 4}, rng));
  }
  SECTION("dvts") { check_clean(dvts(gen, prm, prompt, dvts_options{.n = 8, .beam_width = 2, .max_depth = 4}, rng)); }
  SECTION("a_star") {
    check_clean(a_star(gen, prm, prompt, a_star_options{.continuations = 3, .expansions = 6, .max_depth = 4}, rng));
  }
  SECTION("first_finish") {
    check_clean(first_finish(gen, prompt, first_finish_options{.n = 4, .k = 1, .max_steps = 4}, rng));
  }
  SECTION("adaptive_consistency") {
    check_clean(adaptive_consistency(gen, prompt, adaptive_consistency_options{.max_samples = 8, .max_steps = 4}, rng));
  }
  SECTION("particle_filter") {
    check_clean(particle_filter(gen, prm, prompt, particle_filter_options{.n = 8, .max_steps = 4}, rng));
  }
  SECTION("entropic_particle_filter") {
    check_clean(entropic_particle_filter(gen, prm, prompt,
                                         entropic_particle_filter_options{.n = 6, .max_steps = 4, .look_ahead = 1}, rng));
  }
  SECTION("particle_gibbs") {
    check_clean(particle_gibbs(gen, prm, prompt, particle_gibbs_options{.n = 4, .max_steps = 3, .sweeps = 2}, rng));
  }
  SECTION("nested: majority over beam searches") {
    auto beams = as_sampler([&](search_start start, random_engine& r) {
      return beam_search(gen, prm, std::move(start), beam_search_options{.n = 4, .beam_width = 2, .max_depth = 3}, r);
    });
    check_clean(majority_vote(beams, prompt, vote_options{.n = 2, .max_steps = 1}, rng));
  }
}

TEST_CASE("llama.cpp errors are clear and leak nothing", "[llama_cpp][errors]") {
  (void)tiny_model();
  CHECK_THROWS_WITH(lc::model("/nonexistent/model.gguf"), Catch::Contains("cannot load '/nonexistent/model.gguf'"));
  SECTION("a prompt longer than the context") {
    lc::engine e(tiny_model(), {.n_ctx = 256, .n_seq_max = 4, .n_threads = 1});
    REQUIRE(e.options().n_ctx == 256);
    lc::generator gen(e, short_steps());
    length_orm orm;
    std::mt19937_64 rng(1);
    std::string prompt;
    for (int i = 0; i < 300; ++i) prompt += " word";
    try {
      (void)best_of_n(gen, orm, prompt, best_of_n_options{.n = 2}, rng);
      FAIL("a prompt longer than n_ctx was accepted");
    } catch (const generator_failure& f) {
      CHECK(std::string(f.what()).find("the context only n_ctx = 256") != std::string::npos);
      REQUIRE(f.spent() != nullptr);
      CHECK(f.spent()->generator_calls == 1);
    }
    CHECK(e.sequences_in_use() == 0);
  }
  SECTION("more live trajectories than sequences") {
    lc::engine e(tiny_model(), {.n_ctx = 512, .n_seq_max = 4, .n_threads = 1});
    lc::generator gen(e, short_steps());
    length_orm orm;
    std::mt19937_64 rng(1);
    CHECK_THROWS_WITH(best_of_n(gen, orm, "Hello", best_of_n_options{.n = 8}, rng),
                      Catch::Contains("n_seq_max = 4"));
    CHECK(e.sequences_in_use() == 0);
  }
  SECTION("a trajectory that outgrows the context") {
    lc::engine e(tiny_model(), {.n_ctx = 256, .n_seq_max = 8, .n_threads = 1});
    lc::generator gen(e, {.step_delimiter = "", .max_step_tokens = 64, .sampling = {.temperature = 1.0f}});
    length_orm orm;
    std::mt19937_64 rng(1);
    CHECK_THROWS_WITH(best_of_n(gen, orm, "Hello", best_of_n_options{.n = 2, .max_steps = 8}, rng),
                      Catch::Contains("n_ctx = 256"));
    CHECK(e.sequences_in_use() == 0);
    CHECK(e.kv_positions_in_use() == 0);
  }
}

TEST_CASE("without prefix sharing the results are the same and every path is re-decoded", "[llama_cpp]") {
  std::vector<std::string> texts;
  std::vector<lc::engine_stats> stats;
  for (bool share : {true, false}) {
    lc::engine e(tiny_model(), {.n_ctx = 2048, .n_seq_max = 32, .n_threads = 1});
    lc::generator_options o = short_steps();
    o.share_prefixes = share;
    lc::generator gen(e, o);
    length_prm prm;
    std::mt19937_64 rng(4);
    const auto r = beam_search(gen, prm, "Q: 5+5=", beam_search_options{.n = 8, .beam_width = 2, .max_depth = 4}, rng);
    std::string all;
    for (const auto& c : r.candidates) all += c.path.text() + "|";
    texts.push_back(all);
    stats.push_back(e.stats());
    CHECK(e.sequences_in_use() == 0);
  }
  CHECK(texts[0] == texts[1]);
  CHECK(stats[0].sequence_copies > 0);
  CHECK(stats[1].sequence_copies == 0);
  CHECK(stats[1].prefill_tokens > 4 * stats[0].prefill_tokens);  // each item re-decodes its path
}

TEST_CASE("concurrent searches on one engine merge their ticks and match sequential runs", "[llama_cpp][threads]") {
  constexpr int searches = 4;
  auto run = [&](lc::engine& e, int k) {
    lc::generator gen(e, short_steps());
    length_prm prm;
    std::mt19937_64 rng(100 + k);
    const auto r = beam_search(gen, prm, "Problem " + std::to_string(k) + ":",
                               beam_search_options{.n = 4, .beam_width = 2, .max_depth = 4}, rng);
    std::string all;
    for (const auto& c : r.candidates) all += c.path.text() + "|";
    return all;
  };
  std::vector<std::string> alone(searches), together(searches);
  lc::engine sequential(tiny_model(), {.n_ctx = 4096, .n_seq_max = 64, .n_threads = 1});
  for (int k = 0; k < searches; ++k) alone[k] = run(sequential, k);
  lc::engine shared(tiny_model(), {.n_ctx = 4096, .n_seq_max = 64, .n_threads = 1});
  {
    std::vector<std::jthread> threads;
    for (int k = 0; k < searches; ++k) threads.emplace_back([&, k] { together[k] = run(shared, k); });
  }
  // Each search's result is its result alone. (A pruned branch may differ in a
  // token: llama.cpp's CPU kernels are not bit-invariant to what else shares a
  // batch, so the totals of decoded tokens can differ by a few.)
  for (int k = 0; k < searches; ++k) CHECK(together[k] == alone[k]);
  // Fewer llama_decode calls for about the same tokens: the ticks merged.
  CHECK(shared.stats().decodes * 2 < sequential.stats().decodes);
  CHECK(static_cast<double>(shared.stats().decoded_tokens) ==
        Approx(static_cast<double>(sequential.stats().decoded_tokens)).epsilon(0.05));
  CHECK(shared.sequences_in_use() == 0);
}

TEST_CASE("finish strings end the trajectory with the token that completes them", "[llama_cpp]") {
  lc::engine e(tiny_model(), {.n_ctx = 1024, .n_seq_max = 16, .n_threads = 1});
  lc::generator gen(e, {.step_delimiter = "", .max_step_tokens = 40, .finish_strings = {"e"}});
  search_context ctx("test", "Tell me", budget{}, execution{}, 9);
  std::vector<trajectory> roots(8, ctx.root());
  std::vector<stream_key> keys;
  for (std::uint64_t i = 0; i < 8; ++i) keys.push_back({i, 0});
  const auto children = ctx.extend(gen, roots, keys);
  std::size_t finished = 0;
  for (const trajectory& c : children) {
    const std::string_view text = c.last_step().text;
    if (c.finished()) {
      ++finished;
      CHECK(text.find('e') != std::string::npos);
      CHECK(text.size() - text.find('e') <= 32);  // it ended with the piece that brought the first 'e'
    } else {
      CHECK(c.last_step().tokens == 40);
      CHECK(text.find('e') == std::string::npos);
    }
  }
  CHECK(finished > 0);
  ctx.release(children);
  CHECK(gen.live_sequences() <= 1);  // the prompt's, until the context goes
}
