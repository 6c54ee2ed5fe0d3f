// openai_http::sampled_judge: the verdict reader and the option checks
// (no server), then the judge against real llama-server processes on
// 127.0.0.1 serving the trained PRM of models/: each verdict is the one the
// server gives when asked the same request again, the share of approving
// verdicts is the PRM's own probability, one request per judgment with the
// servers' token counts, the same seeds replay whatever the concurrency,
// best_of_n and beam_search run with a judge ensemble end to end, and a
// server killed mid-judging is a clear error with the exact accounting (or,
// beside a second endpoint, the judging completes with the same scores).
//
// Why the PRM judges with a logit bias: it was trained on the ratio of its
// two tag tokens only, so after the tag "?" its free completions are digits
// and "=" ("+" and "-" sit near logprob -11); a judge reading them would
// almost never find a verdict (the first test shows it). Lifting "+" and "-"
// by 100 logits (llama-server's logit_bias, through request_options.
// extra_body) leaves every other token with ~e^-88 of the mass, so a
// verdict sampled at temperature 1 is "+" with probability P(+) / (P(+) +
// P(-)): exactly the token-probability verifier's score, which the judge's
// share of "+" verdicts is tested against. The bias names the texts, which
// llama-server tokenizes to the character tokens the PRM was trained on; a
// grammar ("+" | "-") would not do: it also admits the byte-fallback tokens
// that read "+" and "-", untrained and about as likely. "+" and "-" are
// verdict words for read_verdict (a one-token completion is a whole word).
#include <ttscale/adapters/openai_http/judge.hpp>

#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>
#include <ttscale/verifiers/ensemble.hpp>

#include "adapters/openai_http/trained_servers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace ttscale;

static_assert(outcome_judge<openai_http::sampled_judge> && process_judge<openai_http::sampled_judge>);
static_assert(outcome_verifier<verifier_ensemble<openai_http::sampled_judge>> &&
              process_verifier<verifier_ensemble<openai_http::sampled_judge>>);
static_assert(enable_concurrent_calls<verifier_ensemble<openai_http::sampled_judge>>);

TEST_CASE("read_verdict takes the last whole-word yes or no", "[openai_http][judge]") {
  using openai_http::read_verdict;
  CHECK(read_verdict("The sum is right. Yes", "Yes", "No") == 1.0);
  CHECK(read_verdict("No", "Yes", "No") == 0.0);
  CHECK(read_verdict("Yes at first sight, but 417 * 3 is 251, so: No.", "Yes", "No") == 0.0);
  CHECK(read_verdict("No doubt about it... Yes!", "Yes", "No") == 1.0);
  CHECK(read_verdict("Nothing Nowhere Yesterday", "Yes", "No") == std::nullopt);  // not whole words
  CHECK(read_verdict("NoYes", "Yes", "No") == std::nullopt);
  CHECK(read_verdict("", "Yes", "No") == std::nullopt);
  CHECK(read_verdict("yes", "Yes", "No") == std::nullopt);  // case-sensitive
  CHECK(read_verdict("Verdict: correct.", "correct", "incorrect") == 1.0);
  CHECK(read_verdict("Verdict: incorrect.", "correct", "incorrect") == 0.0);
}

TEST_CASE("sampled_judge rejects options an ensemble cannot use", "[openai_http][judge][errors]") {
  openai_http::transport link({.endpoints = {"http://127.0.0.1:9"}});
  CHECK_THROWS_WITH(openai_http::sampled_judge(link, {.sampling = {.temperature = 0.0}}),
                    "openai_http::sampled_judge: sampling.temperature must be > 0 for judgments to differ (got 0)");
  CHECK_THROWS_WITH(openai_http::sampled_judge(link, {.requests = {.prompts_per_request = 4}}),
                    Catch::StartsWith("openai_http::sampled_judge: requests.prompts_per_request must be 1 (got 4)"));
  CHECK_THROWS_AS(openai_http::sampled_judge(link, {.yes = "No"}), invalid_argument);
  CHECK_THROWS_AS(openai_http::sampled_judge(link, {.max_tokens = 0}), invalid_argument);
  CHECK_THROWS_AS(openai_http::sampled_judge(link, {.unparsed_score = std::nan("")}), invalid_argument);
  openai_http::sampled_judge judge(link, {});
  // An empty batch sends nothing (the endpoint above answers nothing).
  judge.judge_outcomes({}, {}, {});
  CHECK(judge.stats().calls == 0);
}

namespace oh = ttscale::openai_http;
using namespace ttscale_test;

namespace {
// The judges' PRM server (with GET /metrics: the server's own token counters)
// and a policy server, for the tests that do not kill them.
llama_server_process& judge_server() {
  static llama_server_process s([] {
    llama_server_options o = prm_server_options();
    o.extra_args = {"--metrics"};
    return o;
  }());
  return s;
}
llama_server_process& policy_server() {
  static llama_server_process s(policy_server_options());
  return s;
}

// The PRM as a sampled judge of one verdict token, "+" or "-" (see the file comment).
oh::sampled_judge_options verdict_options() {
  return {.outcome_tag = "?", .step_tag = "?", .yes = "+", .no = "-", .max_tokens = 1,
          .sampling = {.temperature = 1.0},
          .requests = {.extra_body = {{"logit_bias", {{"+", 100}, {"-", 100}}}}}};
}

// Items of problem_prompt the PRM tells apart: P(+) / (P(+) + P(-)) is about
// 0.99 after the right first step, 0.95 after a wrong one, and 0.72 after the
// whole right solution (finished).
struct problem_items {
  trajectory_tree tree{problem_prompt};
  trajectory right = tree.append(tree.root().id(), step{.text = "139*5=556\n"});
  trajectory wrong = tree.append(tree.root().id(), step{.text = "139*5=999\n"});
  trajectory solution = [this] {
    trajectory t = right;
    for (const char* text : {"556+21=766\n", "766-45=316\n", "316+13=446\n"}) t = tree.append(t.id(), step{.text = text});
    return tree.append(t.id(), step{.text = "446+17=517.", .finished = true});
  }();
};

// `count` outcome judgments, the solution and the wrong prefix in turn, with seeds drawn from `seed`.
struct seeded_items {
  std::vector<trajectory> items;
  std::vector<std::uint64_t> seeds;
  seeded_items(const problem_items& p, int count, std::uint64_t seed) {
    std::mt19937_64 draw(seed);
    for (int i = 0; i < count; ++i) {
      items.push_back(i % 2 == 0 ? p.solution : p.wrong);
      seeds.push_back(draw());
    }
  }
};

// The seed a judgment's request carries: its 64-bit seed folded to 31 bits (judge.hpp).
std::uint32_t request_seed(std::uint64_t seed) { return static_cast<std::uint32_t>((seed ^ (seed >> 32)) & 0x7fff'ffffu); }

struct completion {
  std::string text;
  std::uint64_t prompt_tokens = 0, completion_tokens = 0;
};

// Asks `server` over a plain socket, not through the adapter, what the judge
// asks it for one judgment: the same fields, prompt and seed.
completion ask_again(const llama_server_process& server, const std::string& prompt, std::uint64_t seed,
                     const oh::sampled_judge_options& o) {
  nlohmann::json body = o.requests.extra_body;
  body["model"] = nlohmann::json::parse(server.get("/v1/models")).at("data").at(0).at("id");
  body["prompt"] = prompt;
  body["max_tokens"] = o.max_tokens;
  body["stream"] = false;
  body["temperature"] = o.sampling.temperature;
  body["top_p"] = o.sampling.top_p;
  body["top_k"] = o.sampling.top_k;
  body["min_p"] = o.sampling.min_p;
  body["seed"] = request_seed(seed);
  const loopback_http_reply reply = server.request("POST", "/v1/completions", body.dump());
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const nlohmann::json j = nlohmann::json::parse(reply.body);
  return {j.at("choices").at(0).at("text").get<std::string>(), j.at("usage").at("prompt_tokens").get<std::uint64_t>(),
          j.at("usage").at("completion_tokens").get<std::uint64_t>()};
}

// A counter of llama-server's GET /metrics (Prometheus text), e.g. "tokens_predicted_total".
std::uint64_t server_counter(const llama_server_process& server, const std::string& name) {
  std::istringstream in(server.get("/metrics"));
  const std::string key = "llamacpp:" + name + " ";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return static_cast<std::uint64_t>(std::stod(line.substr(key.size())));
  FAIL("GET /metrics has no " << key);
  return 0;
}
std::uint64_t server_prompt_tokens(const llama_server_process& server) {
  return server_counter(server, "prompt_tokens_total") + server_counter(server, "prompt_tokens_cached_total");
}

// An outcome verifier that needs no server: for counting what a search generates.
struct constant_orm {
  static constexpr bool thread_safe = true;
  void score_outcomes(std::span<const trajectory>, std::span<double> out) const {
    for (double& s : out) s = 0.5;
  }
};
}  // namespace

TEST_CASE("each live verdict is the server's answer to the same request, one request per judgment, "
          "its tokens counted as the server counts them", "[openai_http][judge]") {
  llama_server_process& server = judge_server();
  oh::transport link({.endpoints = {server.base_url()}, .max_in_flight = 4});
  const oh::sampled_judge_options options = verdict_options();
  oh::sampled_judge judge(link, options);
  problem_items p;
  const std::vector<std::uint64_t> seeds{0, 1, 2, 77, 0xdead'beef'0000'0001, 0x8000'0000'0000'0000,
                                         0x1234'5678'9abc'def0, 0xffff'ffff'ffff'fffe};
  std::vector<trajectory> steps, outcomes;
  std::vector<std::uint64_t> step_seeds, outcome_seeds;
  for (std::uint64_t seed : seeds) {
    for (const trajectory& t : {p.right, p.wrong}) {
      steps.push_back(t);
      step_seeds.push_back(seed);
    }
    outcomes.push_back(p.solution);
    outcome_seeds.push_back(seed);
  }
  const std::uint64_t predicted_before = server_counter(server, "tokens_predicted_total");
  const std::uint64_t prompt_before = server_prompt_tokens(server);
  std::vector<double> step_scores(steps.size()), outcome_scores(outcomes.size());
  judge.judge_steps(steps, step_seeds, step_scores);
  judge.judge_outcomes(outcomes, outcome_seeds, outcome_scores);

  const oh::verifier_stats st = judge.stats();
  CHECK(st.calls == 2);
  CHECK(st.items == 24);
  CHECK(link.stats().requests == 24);  // one request per judgment
  CHECK(link.stats().attempts == 24);
  CHECK(st.completion_tokens == 24);   // one verdict token each, as usage says
  CHECK(st.cached_prompt_tokens <= st.prompt_tokens);
  // The server's own counters moved by what usage reported.
  CHECK(server_counter(server, "tokens_predicted_total") - predicted_before == st.completion_tokens);
  CHECK(server_prompt_tokens(server) - prompt_before == st.prompt_tokens);

  // Each score is the verdict of the same request asked again.
  std::uint64_t prompt_tokens = 0;
  auto check_again = [&](const trajectory& t, std::uint64_t seed, double score) {
    const completion c = ask_again(server, t.text() + "?", seed, options);
    INFO("item \"" << t.text() << "?\", seed " << seed << ": \"" << c.text << "\", score " << score);
    REQUIRE((c.text == "+" || c.text == "-"));
    CHECK(score == (c.text == "+" ? 1.0 : 0.0));
    CHECK(c.completion_tokens == 1);
    prompt_tokens += c.prompt_tokens;
  };
  for (std::size_t i = 0; i < steps.size(); ++i) check_again(steps[i], step_seeds[i], step_scores[i]);
  for (std::size_t i = 0; i < outcomes.size(); ++i) check_again(outcomes[i], outcome_seeds[i], outcome_scores[i]);
  CHECK(st.prompt_tokens == prompt_tokens);

  // Unbiased, the PRM writes digits and "=" after its tag: a judgment with no
  // verdict word scores unparsed_score, and every token generated is counted.
  oh::sampled_judge_options free = options;
  free.requests.extra_body = nlohmann::json::object();
  free.max_tokens = 4;
  free.unparsed_score = 0.25;
  oh::sampled_judge free_judge(link, free);
  free_judge.judge_outcomes(outcomes, outcome_seeds, outcome_scores);
  std::size_t unparsed = 0;
  std::uint64_t generated = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const completion c = ask_again(server, outcomes[i].text() + "?", outcome_seeds[i], free);
    const std::optional<double> verdict = oh::read_verdict(c.text, "+", "-");
    INFO("\"" << c.text << "\"");
    CHECK(outcome_scores[i] == verdict.value_or(0.25));
    unparsed += verdict ? 0 : 1;
    generated += c.completion_tokens;
  }
  CHECK(unparsed > 0);
  CHECK(free_judge.stats().completion_tokens == generated);
  CHECK(generated > outcomes.size());
}

TEST_CASE("the share of approving live verdicts is the PRM's probability of its good token",
          "[openai_http][judge][statistics]") {
  oh::transport link({.endpoints = {judge_server().base_url()}, .max_in_flight = 8});
  oh::sampled_judge judge(link, verdict_options());
  constexpr std::size_t k = 400;
  verifier_ensemble ensemble(judge, ensemble_options<>{.k = k, .seed = 2026});  // mean: the share of "+"
  oh::token_probability_verifier prm(link, prm_options());
  problem_items p;
  const std::vector<trajectory> steps{p.right, p.wrong};
  std::vector<double> share(3), probability(3);
  ensemble.score_steps(steps, std::span(share).first(2));
  ensemble.score_outcomes(std::span(&p.solution, 1), std::span(share).subspan(2));
  prm.score_steps(steps, std::span(probability).first(2));
  prm.score_outcomes(std::span(&p.solution, 1), std::span(probability).subspan(2));
  CHECK(judge.stats().items == 3 * k);
  CHECK(judge.stats().calls == 2);
  for (std::size_t i = 0; i < 3; ++i) {
    // k verdicts, each "+" with probability q: the share is binomial / k, of
    // standard deviation sqrt(q (1 - q) / k); 5 of them is a bound a right
    // judge exceeds with probability ~1e-6 (the seeds are fixed, so the run
    // itself is deterministic).
    const double q = probability[i];
    INFO("item " << i << ": share of + " << share[i] << ", PRM probability " << q);
    CHECK(std::abs(share[i] - q) <= 5.0 * std::sqrt(q * (1.0 - q) / k));
  }
  CHECK(probability[0] > probability[2] + 0.2);  // the items differ: a judge ignoring its prompt fails above
}

TEST_CASE("the same seeds give the same live verdicts whatever the concurrency and grouping",
          "[openai_http][judge][determinism]") {
  problem_items p;
  const seeded_items batch(p, 48, 9);
  const std::vector<trajectory>& items = batch.items;
  const std::vector<std::uint64_t>& seeds = batch.seeds;
  // `calls` calls of equal size, spread over `threads` threads.
  auto judge_all = [&](std::size_t in_flight, std::size_t calls, unsigned threads) {
    oh::transport link({.endpoints = {judge_server().base_url()}, .max_in_flight = in_flight});
    oh::sampled_judge judge(link, verdict_options());
    std::vector<double> out(items.size(), -1.0);
    const std::size_t per = items.size() / calls;
    std::vector<std::exception_ptr> failures(threads);
    {
      std::vector<std::jthread> workers;
      for (unsigned w = 0; w < threads; ++w)
        workers.emplace_back([&, w] {
          try {
            for (std::size_t c = w; c < calls; c += threads)
              judge.judge_steps(std::span<const trajectory>(items).subspan(c * per, per),
                                std::span<const std::uint64_t>(seeds).subspan(c * per, per),
                                std::span(out).subspan(c * per, per));
          } catch (...) {
            failures[w] = std::current_exception();
          }
        });
    }
    for (const std::exception_ptr& f : failures)
      if (f) std::rethrow_exception(f);
    CHECK(link.stats().max_in_flight_seen <= in_flight);
    CHECK(judge.stats().items == items.size());
    CHECK(judge.stats().calls == calls);
    return out;
  };
  const std::vector<double> first = judge_all(8, 1, 1);
  CHECK(judge_all(1, 1, 1) == first);
  CHECK(judge_all(3, 6, 2) == first);
  CHECK(judge_all(8, 48, 4) == first);  // one judgment per call, four callers at once

  // 0x00000000ffffffff folded to 32 bits would be 0xffffffff, which
  // llama-server reads as "pick a random seed": it must replay like any other.
  oh::transport link({.endpoints = {judge_server().base_url()}, .max_in_flight = 8});
  oh::sampled_judge judge(link, verdict_options());
  const std::vector<trajectory> same_item(32, p.solution);
  const std::vector<std::uint64_t> same_seed(32, 0xffff'ffffULL);
  std::vector<double> verdicts(32);
  judge.judge_outcomes(same_item, same_seed, verdicts);
  CHECK(std::count(verdicts.begin(), verdicts.end(), verdicts[0]) == 32);
}

TEST_CASE("best_of_n and beam_search run end to end with a live judge ensemble", "[openai_http][judge]") {
  oh::transport policy_link({.endpoints = {policy_server().base_url()}, .max_in_flight = 8});
  oh::transport judge_link({.endpoints = {judge_server().base_url()}, .max_in_flight = 8});
  oh::generator gen(policy_link, step_options());
  oh::sampled_judge judge(judge_link, verdict_options());
  constexpr std::size_t k = 4;
  verifier_ensemble ensemble(judge, ensemble_options<>{.k = k, .seed = 1});
  auto judged = [&] { return judge.stats().items; };

  SECTION("best_of_n, the ensemble judging outcomes") {
    std::mt19937_64 rng(7);
    const auto r = best_of_n(
        gen, ensemble, problem_prompt,
        best_of_n_options<select::best_t, aggregate::last_t, toy::compact_answer>{.n = 8, .max_steps = 8}, rng);
    REQUIRE(r.finished_count() > 0);
    CHECK(r.spent.tokens == gen.stats().tokens);
    CHECK(r.spent.verifier_calls == 1);
    CHECK(r.spent.verifier_items == k * r.finished_count());  // k judgments per finished candidate
    CHECK(judged() == r.spent.verifier_items);
    CHECK(judge.stats().calls == 1);
    CHECK(judge_link.stats().requests == judged());
    for (const auto& c : r.candidates)
      if (c.finished()) {
        INFO("score " << c.score);
        CHECK(c.score * k == std::round(c.score * k));  // a share of k verdicts
        CHECK((c.score >= 0.0 && c.score <= 1.0));
      }
    REQUIRE(r.has_choice());
    // The same node, the same judgments: scoring the chosen path again agrees.
    const trajectory chosen = r.candidates[*r.chosen_index].path;
    double again = -1.0;
    ensemble.score_outcomes(std::span(&chosen, 1), std::span(&again, 1));
    CHECK(again == r.candidates[*r.chosen_index].score);
  }
  SECTION("beam_search, the ensemble judging steps, in one call or in batches on two threads") {
    auto run = [&](execution exec) {
      const std::uint64_t before = judged();
      std::mt19937_64 rng(11);
      const auto r = beam_search(gen, ensemble, problem_prompt,
                                 beam_search_options{.n = 4, .beam_width = 2, .max_depth = 8, .exec = exec}, rng);
      CHECK(r.spent.verifier_items == judged() - before);
      CHECK(r.spent.verifier_items % k == 0);
      std::vector<std::pair<std::string, double>> out;
      for (const auto& c : r.candidates) out.emplace_back(c.path.text(), c.score);
      return out;
    };
    const auto whole = run({});
    CHECK(!whole.empty());
    CHECK(run({.batch_size = 3, .threads = 2}) == whole);
  }
}

TEST_CASE("a judge server killed mid-judging is a clear error with the exact accounting so far",
          "[openai_http][judge][faults]") {
  llama_server_process server(prm_server_options(2));
  oh::transport policy_link({.endpoints = {policy_server().base_url()}, .max_in_flight = 8});
  oh::generator gen(policy_link, step_options());
  constexpr std::size_t n = 8, k = 32;
  const best_of_n_options<> options{.n = n, .max_steps = 8};
  // best_of_n judges once every candidate is done, so its generation does not
  // depend on the verifier: a run with a constant one says how many finish.
  std::size_t finished = 0;
  {
    constant_orm orm;
    std::mt19937_64 rng(3);
    finished = best_of_n(gen, orm, problem_prompt, options, rng).finished_count();
  }
  REQUIRE(finished > 0);
  const oh::generator_stats generated_before = gen.stats();

  oh::transport link({.endpoints = {server.base_url()}, .max_in_flight = 2,
                      .initial_backoff = std::chrono::milliseconds(20)});
  oh::sampled_judge judge(link, verdict_options());
  verifier_ensemble ensemble(judge, ensemble_options<>{.k = k, .seed = 4});
  const std::uint64_t kill_at = finished * k / 4;
  std::jthread killer([&](std::stop_token stop) {
    while (!stop.stop_requested() && link.stats().requests < kill_at) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!stop.stop_requested()) server.kill(SIGKILL);
  });
  std::mt19937_64 rng(3);
  try {
    (void)best_of_n(gen, ensemble, problem_prompt, options, rng);
    FAIL("the search finished although its only judge server was killed");
  } catch (const verifier_failure& e) {
    killer.join();
    REQUIRE(e.spent() != nullptr);
    // Generation: what the generator returned, as the servers counted it.
    CHECK(e.spent()->tokens == gen.stats().tokens - generated_before.tokens);
    CHECK(e.spent()->steps == gen.stats().steps - generated_before.steps);
    CHECK(e.spent()->samples == n);
    // The failed verifier call is charged whole: one call of k judgments per finished candidate.
    CHECK(e.spent()->verifier_calls == 1);
    CHECK(e.spent()->verifier_items == finished * k);
    CHECK(link.stats().requests >= kill_at);  // answered before the kill
    CHECK(link.stats().requests < finished * k);
    const oh::verifier_stats st = judge.stats();  // a call that throws adds nothing
    CHECK(st.calls == 0);
    CHECK(st.items == 0);
    CHECK(st.prompt_tokens == 0);
    CHECK(st.completion_tokens == 0);
    check_nested_dead_endpoint(e, server.base_url());
  }
}

TEST_CASE("with a second endpoint the judging survives a killed server, with the same scores",
          "[openai_http][judge][faults]") {
  llama_server_process a(prm_server_options(2)), b(prm_server_options(2));
  problem_items p;
  const seeded_items batch(p, 96, 21);
  const std::vector<trajectory>& items = batch.items;
  const std::vector<std::uint64_t>& seeds = batch.seeds;
  std::vector<double> undisturbed(items.size());
  {
    oh::transport link({.endpoints = {a.base_url(), b.base_url()}, .max_in_flight = 4});
    oh::sampled_judge judge(link, verdict_options());
    judge.judge_steps(items, seeds, undisturbed);
    CHECK(link.stats().per_endpoint[0] > 0);  // judgments spread over both
    CHECK(link.stats().per_endpoint[1] > 0);
  }
  oh::transport link({.endpoints = {a.base_url(), b.base_url()}, .max_in_flight = 4,
                      .initial_backoff = std::chrono::milliseconds(20)});
  oh::sampled_judge judge(link, verdict_options());
  std::jthread killer([&](std::stop_token stop) {
    while (!stop.stop_requested() && link.stats().requests < 24) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!stop.stop_requested()) b.kill(SIGKILL);
  });
  std::vector<double> scores(items.size(), -1.0);
  judge.judge_steps(items, seeds, scores);
  killer.join();
  CHECK(!b.running());
  const oh::transport_stats st = link.stats();
  CHECK(st.retries > 0);  // b's judgments failed, and were asked of a
  CHECK(st.requests == items.size());  // each judgment answered once
  CHECK(st.per_endpoint[1] > 0);  // b judged before it died
  CHECK(st.per_endpoint[0] > st.per_endpoint[1]);
  CHECK(judge.stats().items == items.size());
  CHECK(judge.stats().completion_tokens == items.size());
  // The seed travels with the judgment, so the endpoint that answers does not matter.
  CHECK(scores == undisturbed);
}
