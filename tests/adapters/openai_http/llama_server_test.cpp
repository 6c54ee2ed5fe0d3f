// The OpenAI-compatible adapter against real llama-server processes on
// 127.0.0.1 (built from the llama.cpp bundle by scripts/fetch_llama_server.sh),
// serving the trained arithmetic policy and PRM of models/: greedy steps over
// HTTP reproduce the recorded completion, the PRM over HTTP scores as in
// process, every strategy runs end to end, the same seed replays whatever the
// concurrency, requests in flight stay within the bound, a server killed
// mid-search is a clear error with the exact accounting (or, with a second
// endpoint, the search completes with the same result), a stalled server
// hits the timeout, and a cancelled request frees its server slot.
#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/a_star.hpp>
#include <ttscale/strategies/adaptive_consistency.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/strategies/dvts.hpp>
#include <ttscale/strategies/entropic_particle_filter.hpp>
#include <ttscale/strategies/first_finish.hpp>
#include <ttscale/strategies/majority_vote.hpp>
#include <ttscale/strategies/particle_filter.hpp>
#include <ttscale/strategies/particle_gibbs.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#include "adapters/openai_http/trained_servers.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;
namespace oh = ttscale::openai_http;
using namespace ttscale_test;

namespace {
// One policy server and one PRM server for the tests that do not kill them.
llama_server_process& policy_server() {
  static llama_server_process s(policy_server_options());
  return s;
}
llama_server_process& prm_server() {
  static llama_server_process s(prm_server_options());
  return s;
}

std::vector<std::string> texts(const auto& result) {
  std::vector<std::string> out;
  for (const auto& c : result.candidates) out.push_back(c.path.text());
  return out;
}
}  // namespace

TEST_CASE("greedy steps over HTTP reproduce the recorded completion", "[openai_http]") {
  oh::transport link({.endpoints = {policy_server().base_url()}});
  oh::generator gen(link, step_options(0.0));
  CHECK(gen.server().dialect == oh::server_dialect::llama_server);
  trajectory_tree tree(problem_prompt);
  trajectory t = tree.root();
  std::vector<std::string> steps;
  random_engine rng(1, {});
  for (int i = 0; i < 8 && !t.finished(); ++i) {
    step s;
    gen.extend(std::span(&t, 1), std::span(&rng, 1), std::span(&s, 1));
    CHECK(s.tokens == s.text.size());  // one character per token; usage counts the stop's token
    CHECK(s.logprob < 0.0);
    steps.push_back(s.text);
    t = tree.append(t.id(), std::move(s));
  }
  // tests/llama_cpp/trained_models_test.cpp checks the same completion in process.
  CHECK(steps == std::vector<std::string>{"139*5=556\n", "556+21=766\n", "766-45=316\n", "316+13=446\n", "446+17=517."});
  CHECK(t.finished());
  const oh::generator_stats st = gen.stats();
  CHECK(st.steps == 5);
  CHECK(st.prompt_tokens > 0);

  // llama-server says which stop ended a choice only for a list's first prompt.
  oh::generator_options listed = step_options(0.0);
  listed.requests.prompts_per_request = 2;
  oh::generator grouped(link, listed);
  CHECK_THROWS_WITH(grouped.server(), Catch::Contains("prompts_per_request is 2, but llama-server"));
}

TEST_CASE("the PRM over HTTP scores as it does in process", "[openai_http]") {
  oh::transport link({.endpoints = {prm_server().base_url()}});
  oh::token_probability_verifier prm(link, prm_options());
  trajectory_tree tree("434+37+92*2*8+92\n");
  const trajectory right = tree.append(tree.root().id(), step{.text = "434+37=705\n"});
  const trajectory wrong = tree.append(tree.root().id(), step{.text = "434+37=794\n"});
  const std::vector<trajectory> items{right, wrong, right};
  std::vector<double> scores(3);
  prm.score_steps(items, scores);
  // PyTorch's scores, recorded by tools/train_models/record.py (the in-process test checks the same).
  CHECK(scores[0] == Approx(0.8694).margin(1e-3));
  CHECK(scores[1] == Approx(0.8222).margin(1e-3));
  CHECK(scores[2] == scores[0]);
  CHECK(prm.stats().items == 3);

  // Prompt lists: one request for the three, the same scores.
  oh::token_probability_options listed = prm_options();
  listed.requests.prompts_per_request = 4;
  oh::token_probability_verifier batched(link, listed);
  std::vector<double> again(3);
  batched.score_steps(items, again);
  CHECK(again[0] == Approx(scores[0]).margin(1e-4));
  CHECK(again[1] == Approx(scores[1]).margin(1e-4));
  CHECK(again[2] == Approx(scores[2]).margin(1e-4));

  // "=" is the likeliest next token after the tag, "Z" is not among the top 3.
  oh::token_probability_verifier absent(link, {.step_tag = "?", .good = "=", .bad = "Z", .top_logprobs = 3});
  CHECK_THROWS_WITH(absent.score_steps(std::span(&right, 1), std::span(scores).first(1)),
                    Catch::Contains(prm_server().base_url()) && Catch::Contains("item 0") &&
                        Catch::Contains("\"Z\" (id ") && Catch::Contains("is not among the 3 top next tokens"));
  // Matched by text alone (a server that lists no ids), "+" is ambiguous in this
  // vocabulary: the character token and the byte-fallback token <0x2B> both read "+".
  oh::token_probability_options by_text = prm_options();
  by_text.requests.dialect = oh::server_dialect::vllm;  // no /tokenize: ids unknown
  oh::token_probability_verifier ambiguous(link, by_text);
  CHECK_THROWS_WITH(ambiguous.score_steps(std::span(&right, 1), std::span(scores).first(1)),
                    Catch::Contains("\"+\" is listed 2 times") && Catch::Contains("set good_id and bad_id"));
}

TEST_CASE("every strategy runs end to end over HTTP", "[openai_http]") {
  oh::transport policy_link({.endpoints = {policy_server().base_url()}, .max_in_flight = 8});
  oh::transport prm_link({.endpoints = {prm_server().base_url()}, .max_in_flight = 8});
  oh::generator gen(policy_link, step_options());
  oh::token_probability_verifier prm(prm_link, prm_options());
  std::mt19937_64 rng(7);
  std::uint64_t tokens_before = gen.stats().tokens;
  auto check = [&](const auto& r) {
    CHECK(r.spent.tokens > 0);
    CHECK(r.spent.tokens == gen.stats().tokens - tokens_before);  // the search's account is the servers' count
    tokens_before = gen.stats().tokens;
    CHECK(policy_link.stats().max_in_flight_seen <= 8);
  };
  const auto answer = toy::compact_answer{};
  SECTION("best_of_n") { check(best_of_n(gen, prm, problem_prompt, best_of_n_options{.n = 8, .max_steps = 8}, rng)); }
  SECTION("majority_vote") {
    const auto r = majority_vote(gen, problem_prompt, vote_options<toy::compact_answer>{.n = 8, .max_steps = 8, .extract = answer}, rng);
    check(r);
    CHECK(r.finished_count() > 0);
  }
  SECTION("beam_search") {
    check(beam_search(gen, prm, problem_prompt, beam_search_options{.n = 8, .beam_width = 2, .max_depth = 8}, rng));
  }
  SECTION("dvts") { check(dvts(gen, prm, problem_prompt, dvts_options{.n = 8, .beam_width = 2, .max_depth = 8}, rng)); }
  SECTION("a_star") {
    check(a_star(gen, prm, problem_prompt, a_star_options{.continuations = 3, .expansions = 8, .max_depth = 8}, rng));
  }
  SECTION("first_finish, lockstep and threads") {
    check(first_finish(gen, problem_prompt, first_finish_options{.n = 4, .k = 1, .max_steps = 8}, rng));
    check(first_finish(gen, problem_prompt,
                       first_finish_options{.n = 4, .k = 2, .max_steps = 8, .mode = first_finish_mode::threads}, rng));
  }
  SECTION("adaptive_consistency") {
    check(adaptive_consistency(gen, problem_prompt,
                               adaptive_consistency_options<beta_rule, select::majority_t, toy::compact_answer>{.max_samples = 8, .max_steps = 8, .extract = answer}, rng));
  }
  SECTION("particle_filter") {
    check(particle_filter(gen, prm, problem_prompt, particle_filter_options{.n = 8, .max_steps = 8}, rng));
  }
  SECTION("entropic_particle_filter") {
    check(entropic_particle_filter(gen, prm, problem_prompt,
                                   entropic_particle_filter_options{.n = 6, .max_steps = 8, .look_ahead = 1}, rng));
  }
  SECTION("particle_gibbs") {
    check(particle_gibbs(gen, prm, problem_prompt, particle_gibbs_options{.n = 4, .max_steps = 8, .sweeps = 2}, rng));
  }
}

TEST_CASE("same seed, same result, whatever the concurrency and grouping of requests", "[openai_http][determinism]") {
  oh::transport prm_link({.endpoints = {prm_server().base_url()}, .max_in_flight = 8});
  oh::token_probability_verifier prm(prm_link, prm_options());
  auto run = [&](std::size_t in_flight) {
    oh::transport link({.endpoints = {policy_server().base_url()}, .max_in_flight = in_flight});
    oh::generator gen(link, step_options());
    std::mt19937_64 rng(11);
    const auto r = beam_search(gen, prm, problem_prompt, beam_search_options{.n = 8, .beam_width = 2, .max_depth = 8}, rng);
    CHECK(link.stats().max_in_flight_seen <= in_flight);
    return std::pair(texts(r), r.spent.tokens);
  };
  const auto first = run(8);
  CHECK(run(8) == first);
  CHECK(run(1) == first);
  CHECK(run(3) == first);
}

TEST_CASE("requests in flight never exceed the bound, over concurrent callers too", "[openai_http]") {
  oh::transport link({.endpoints = {policy_server().base_url()}, .max_in_flight = 3});
  oh::generator gen(link, step_options());
  std::vector<std::thread> threads;
  for (int k = 0; k < 2; ++k)
    threads.emplace_back([&, k] {
      trajectory_tree tree(problem_prompt);
      std::vector<trajectory> prefixes(12, tree.root());
      std::vector<random_engine> engines;
      for (int i = 0; i < 12; ++i) engines.emplace_back(static_cast<std::uint64_t>(k), stream_key{static_cast<std::uint64_t>(i), 0});
      std::vector<step> out(12);
      gen.extend(prefixes, engines, out);
    });
  for (auto& t : threads) t.join();
  CHECK(link.stats().max_in_flight_seen == 3);
  CHECK(link.stats().requests == 24);
}
