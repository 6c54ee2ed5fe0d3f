// The training pipeline end to end in seconds: scripts/train_models.sh --smoke
// (the trained_models_smoke fixture) trains every stage for a few steps and
// writes GGUF files; here llama.cpp loads them, tokenizes the notation one
// character per token, and a PRM-guided search runs on them through the
// adapter. The models are untrained, so nothing is asserted about answers.
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/adapters/llama_cpp/verifier.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace ttscale;
namespace lc = ttscale::llama_cpp;

TEST_CASE("a smoke-trained policy and PRM load and drive a search", "[llama_cpp][trained]") {
  lc::load_backends(TTSCALE_LLAMA_CPP_BACKEND_DIR);
  const lc::model policy(std::string(TTSCALE_SMOKE_MODELS_DIR) + "/arithmetic-policy.gguf");
  const lc::model judge(std::string(TTSCALE_SMOKE_MODELS_DIR) + "/arithmetic-prm.gguf");
  const auto problem = toy::make_problems({.count = 1, .seed = 1}).front();
  const std::string prompt = toy::compact_prompt(problem);
  CHECK(policy.tokenize(prompt, false).size() == prompt.size());

  lc::engine e(policy, {.n_ctx = 1024, .n_seq_max = 16, .n_threads = 1});
  lc::generator gen(e, {.step_delimiter = "\n", .max_step_tokens = 12, .finish_strings = {"."}});
  lc::token_probability_verifier prm(judge, {.step_tag = "?", .outcome_tag = "?", .good = "+", .bad = "-"},
                                     {.n_ctx = 1024, .n_seq_max = 16, .n_threads = 1});
  std::mt19937_64 rng(7);
  const auto r = beam_search(gen, prm, prompt,
                             beam_search_options{.n = 4, .beam_width = 2, .max_depth = 3, .extract = toy::compact_answer{}},
                             rng);
  CHECK(r.spent.tokens > 0);
  CHECK(r.spent.verifier_items > 0);
  for (const auto& c : r.candidates) CHECK((c.score >= 0.0 && c.score <= 1.0));
  prm.forget_all();
  CHECK(e.sequences_in_use() == 0);
}
