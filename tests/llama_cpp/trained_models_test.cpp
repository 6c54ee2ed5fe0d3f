// The trained models shipped in models/ (scripts/train_models.sh; models/README.md):
// both load through the llama.cpp adapter, llama.cpp tokenizes every character
// of the arithmetic world's text as the models were trained to see it, greedy
// decoding reproduces a recorded completion exactly, and the PRM prefers a
// right step to a wrong one. TTSCALE_MODELS_DIR is the repository's models/.
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/adapters/llama_cpp/verifier.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ttscale;
namespace lc = ttscale::llama_cpp;

namespace {
const lc::model& trained(const char* file) {
  lc::load_backends(TTSCALE_LLAMA_CPP_BACKEND_DIR);
  static const lc::model policy(std::string(TTSCALE_MODELS_DIR) + "/arithmetic-policy.gguf");
  static const lc::model prm(std::string(TTSCALE_MODELS_DIR) + "/arithmetic-prm.gguf");
  return std::string(file) == "policy" ? policy : prm;
}

// Greedy steps from the prompt until the trajectory finishes (or max_steps).
std::vector<std::string> greedy_steps(const lc::model& m, const std::string& prompt, std::size_t max_steps = 10) {
  lc::engine e(m, {.n_ctx = 512, .n_seq_max = 8, .n_threads = 1});
  lc::generator gen(e, {.step_delimiter = "\n", .max_step_tokens = 16, .finish_strings = {"."},
                        .sampling = {.temperature = 0.0}});
  trajectory_tree tree(prompt);
  trajectory t = tree.root();
  std::vector<std::string> out;
  random_engine rng(1, {});
  for (std::size_t i = 0; i < max_steps && !t.finished(); ++i) {
    step s;
    gen.extend(std::span(&t, 1), std::span(&rng, 1), std::span(&s, 1));
    out.push_back(s.text);
    const trajectory parent = t;
    t = tree.append(t.id(), s);
    gen.release(std::span(&parent, 1));  // as a search would: the parent is never extended again
  }
  return out;
}

// The PRM's score of a prompt followed by the given steps (score_steps).
double prm_score(const std::string& prompt, const std::vector<std::string>& steps) {
  lc::token_probability_verifier prm(trained("prm"), {.step_tag = "?", .outcome_tag = "?", .good = "+", .bad = "-"},
                                     {.n_ctx = 512, .n_seq_max = 4, .n_threads = 1});
  trajectory_tree tree(prompt);
  trajectory t = tree.root();
  for (const std::string& text : steps) t = tree.append(t.id(), step{.text = text});
  double score = -1;
  prm.score_steps(std::span(&t, 1), std::span(&score, 1));
  return score;
}
}  // namespace

TEST_CASE("both trained models load, with the character vocabulary they were trained on", "[llama_cpp][trained]") {
  CHECK(trained("policy").vocab_size() == 354);  // <unk> <s> </s>, 256 bytes, 95 printable characters
  CHECK(trained("prm").vocab_size() == 354);
}

TEST_CASE("every character of the world's text round-trips through llama.cpp's tokenizer", "[llama_cpp][trained]") {
  const lc::model& m = trained("policy");
  std::vector<std::string> texts;
  std::string printable;
  for (char c = ' '; c <= '~'; ++c) printable += c;
  texts.push_back(printable + "\n");
  // The world's prose and its compact notation, for every problem of a set.
  for (const auto& p : toy::make_problems({.count = 50, .seed = 7})) {
    texts.push_back(p.prompt());
    texts.push_back(toy::compact_prompt(p));
    for (const std::string& s : toy::compact_solution(p)) texts.push_back(s);
    toy::arithmetic_generator world(p);
    trajectory_tree tree(p.prompt());
    trajectory t = tree.root();
    random_engine rng(3, {p.id});
    while (!t.finished()) {
      step s;
      world.extend(std::span(&t, 1), std::span(&rng, 1), std::span(&s, 1));
      texts.push_back(s.text);
      t = tree.append(t.id(), s);
    }
  }
  for (const std::string& text : texts) {
    const std::vector<llama_token> tokens = m.tokenize(text, false);
    CHECK(tokens.size() == text.size());  // one token per character: nothing merged, nothing dropped
    std::string back;
    for (llama_token token : tokens) back += m.piece(token);
    CHECK(back == text);
  }
}

TEST_CASE("greedy decoding of a fixed problem reproduces the recorded completion", "[llama_cpp][trained]") {
  // 931 * 5 + 12 - 54 + 31 + 71 (mod 1000) = 715, written least significant digit first.
  // Recorded by tools/train_models/record.py from the PyTorch model the file was
  // exported from: every greedy token wins by a logit margin of at least 4.18,
  // so llama.cpp on any CPU (any ggml-cpu variant) picks the same tokens.
  const std::vector<std::string> recorded{"139*5=556\n", "556+21=766\n", "766-45=316\n", "316+13=446\n",
                                          "446+17=517."};
  CHECK(greedy_steps(trained("policy"), "139*5+21-45+13+17\n") == recorded);
}

TEST_CASE("the PRM scores a right step above a wrong one", "[llama_cpp][trained]") {
  // A wrong first step the policy wrote (sampled at T = 1) and the right step in
  // its place (434 + 73 = 507; the policy wrote 497), recorded by
  // tools/train_models/record.py: PyTorch scores 0.8694 and 0.8222. The PRM is
  // weak at exactly this — it ranks the right sibling first in 58% of such
  // pairs (models/README.md) — so this is the widest of 100 problems' pairs.
  const std::string prompt = "434+37+92*2*8+92\n";
  const double right = prm_score(prompt, {"434+37=705\n"});
  const double wrong = prm_score(prompt, {"434+37=794\n"});
  CHECK(right == Approx(0.8694).margin(1e-3));
  CHECK(wrong == Approx(0.8222).margin(1e-3));
  INFO("right " << right << ", wrong " << wrong);
  CHECK(right > wrong);
}
