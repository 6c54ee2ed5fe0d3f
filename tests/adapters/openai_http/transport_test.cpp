// What a real server cannot be made to do, from a scripted loopback server
// (tests/openai_http/scripted_server.hpp): 429 and 503 retried with backoff and
// the endpoint marked down, 4xx not retried, truncated bodies, connections
// closed without an answer, a server that never answers, non-JSON and
// wrong-shape bodies — each a clear error naming endpoint, status and field,
// never a crash — plus the bound on requests in flight, the retry budget,
// cancellation, the API key, the requests the generator sends, and the JSON
// reward endpoint.
#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/best_of_n.hpp>

#include "openai_http/scripted_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;
namespace oh = ttscale::openai_http;
using ttscale_test::scripted_request;
using ttscale_test::scripted_response;
using ttscale_test::scripted_server;
using namespace std::chrono_literals;

namespace {
// A vLLM-style answer: the text, which stop ended it, usage.
std::string vllm_choice(const std::string& text, const char* stop_reason = "\"\\n\"") {
  return R"({"choices":[{"index":0,"text":")" + text + R"(","finish_reason":"stop","stop_reason":)" + stop_reason +
         R"(,"logprobs":{"tokens":["a"],"token_logprobs":[-0.5],"top_logprobs":null}}],"usage":{"prompt_tokens":4,"completion_tokens":3}})";
}

oh::generator_options vllm_steps() {
  return {.step_delimiter = "\n", .max_step_tokens = 8, .sampling = {.temperature = 0.5, .top_k = 5},
          .requests = {.model = "m", .dialect = oh::server_dialect::vllm}};
}

std::vector<oh::http_request> posts(std::size_t n) {
  return std::vector<oh::http_request>(n, oh::http_request{"/v1/completions", "{}"});
}

// Runs `requests` and returns the error's message ("" if none).
std::string run_error(oh::transport& link, std::size_t n) {
  try {
    link.run(posts(n), [](std::size_t, oh::http_response&) {});
  } catch (const oh::http_error& e) {
    return e.what();
  }
  return {};
}
}  // namespace

TEST_CASE("429 and 5xx are retried with backoff; a failing endpoint is marked down", "[openai_http]") {
  std::atomic<int> calls_a{0};
  scripted_server a([&](const scripted_request&) {
    return ++calls_a <= 1 ? scripted_response{.status = 503, .body = "overloaded"} : scripted_response{.body = "{}"};
  });
  scripted_server b([](const scripted_request&) { return scripted_response{.body = "{}"}; });
  oh::transport link({.endpoints = {a.base_url(), b.base_url()}, .max_in_flight = 1,
                      .initial_backoff = 5ms, .down_for = 60s});
  std::vector<std::string> answered;
  link.run(posts(6), [&](std::size_t, oh::http_response& r) { answered.push_back(r.endpoint); });
  CHECK(answered.size() == 6);
  CHECK(calls_a == 1);  // a failed once, then was down for the rest of the call
  CHECK(link.stats().retries == 1);
  CHECK(link.stats().per_endpoint == std::vector<std::uint64_t>{0, 6});

  std::atomic<int> calls{0};
  scripted_server busy([&](const scripted_request&) {
    return ++calls <= 2 ? scripted_response{.status = 429} : scripted_response{.body = "{}"};
  });
  oh::transport one({.endpoints = {busy.base_url()}, .initial_backoff = 5ms});
  const auto start = std::chrono::steady_clock::now();
  CHECK(run_error(one, 1).empty());
  CHECK(std::chrono::steady_clock::now() - start >= 7ms);  // 5 ms * U[0.5, 1] + 10 ms * U[0.5, 1]
  CHECK(one.stats().retries == 2);
}

TEST_CASE("a refused request is not retried; its error names endpoint, status and the server's message", "[openai_http]") {
  scripted_server s([](const scripted_request&) {
    return scripted_response{.status = 400, .body = R"({"error":{"message":"n must be at most 4"}})"};
  });
  oh::transport link({.endpoints = {s.base_url()}});
  try {
    link.run(posts(1), [](std::size_t, oh::http_response&) {});
    FAIL("no error");
  } catch (const oh::http_error& e) {
    CHECK(e.status() == 400);
    CHECK(e.endpoint() == s.base_url());
    CHECK_THAT(std::string(e.what()), Catch::Contains(s.base_url() + "/v1/completions answered HTTP 400") &&
                                          Catch::Contains("n must be at most 4") && Catch::Contains("not retried"));
  }
  CHECK(s.requests() == 1);
}

TEST_CASE("truncated, unanswered and stalled requests fail clearly after their attempts", "[openai_http]") {
  using mode = scripted_response::mode;
  for (const mode how : {mode::truncated, mode::close_without_answer}) {
    scripted_server s([&](const scripted_request&) { return scripted_response{.body = R"({"choices":[)", .how = how}; });
    oh::transport link({.endpoints = {s.base_url()}, .max_attempts = 3, .initial_backoff = 1ms});
    const std::string what = run_error(link, 1);
    CHECK_THAT(what, Catch::Contains(s.base_url()) && Catch::Contains("attempt 3 of 3"));
    CHECK_THAT(what, Catch::Contains(how == mode::truncated ? "partial" : "nothing"));
    CHECK(s.requests() == 3);
  }
  scripted_server stalled([](const scripted_request&) { return scripted_response{.how = mode::stall}; });
  oh::transport link({.endpoints = {stalled.base_url()}, .request_timeout = 300ms, .max_attempts = 2,
                      .initial_backoff = 1ms});
  CHECK_THAT(run_error(link, 1), Catch::Contains("Timeout") && Catch::Contains("attempt 2 of 2"));
}

TEST_CASE("non-JSON and wrong-shape answers are errors naming endpoint, status and field", "[openai_http]") {
  std::string body;
  scripted_server s([&](const scripted_request&) { return scripted_response{.body = body}; });
  oh::transport link({.endpoints = {s.base_url()}});
  oh::generator gen(link, vllm_steps());
  auto error_of = [&](std::string answer) -> std::string {
    body = std::move(answer);
    trajectory_tree tree("Q\n");
    const trajectory root = tree.root();
    random_engine rng(1);
    step out;
    try {
      gen.extend(std::span(&root, 1), std::span(&rng, 1), std::span(&out, 1));
    } catch (const oh::http_error& e) {
      CHECK(e.endpoint() == s.base_url());
      return e.what();
    }
    return {};
  };
  CHECK_THAT(error_of("Internal error"), Catch::Contains(s.base_url()) && Catch::Contains("HTTP 200") &&
                                             Catch::Contains("not JSON"));
  CHECK_THAT(error_of(R"({"choices":[{"text":1}]})"), Catch::Contains("\"choices[0].text\" is a number"));
  CHECK_THAT(error_of(vllm_choice("x", "\"</s>\"")),
             Catch::Contains("item 0 stopped at \"</s>\", which is neither the step delimiter nor a finish string"));
  CHECK_THAT(error_of(R"({"choices":[{"index":0,"text":"","finish_reason":"length"}],"usage":{"completion_tokens":0}})"),
             Catch::Contains("item 0 came back empty and unfinished"));
  CHECK(error_of(vllm_choice("x")).empty());

  // Inside a search: generator_failure with the accounting, the adapter's error nested.
  body = "<html>";
  std::mt19937_64 rng(1);
  struct zero_orm {
    void score_outcomes(std::span<const trajectory>, std::span<double> out) const {
      for (double& x : out) x = 0;
    }
  } orm;
  try {
    (void)best_of_n(gen, orm, "Q\n", best_of_n_options{.n = 2}, rng);
    FAIL("no error");
  } catch (const generator_failure& e) {
    REQUIRE(e.spent() != nullptr);
    CHECK(e.spent()->tokens == 0);
    CHECK_THAT(std::string(e.what()), Catch::Contains("best_of_n"));
  }
}

TEST_CASE("requests in flight stay within the bound; the retry budget ends a dead cluster's call", "[openai_http]") {
  scripted_server slow([](const scripted_request&) { return scripted_response{.body = "{}", .delay = 30ms}; });
  oh::transport link({.endpoints = {slow.base_url()}, .max_in_flight = 4});
  std::thread other([&] { link.run(posts(10), [](std::size_t, oh::http_response&) {}); });
  link.run(posts(10), [](std::size_t, oh::http_response&) {});
  other.join();
  CHECK(slow.max_concurrent() == 4);  // two callers share the bound
  CHECK(link.stats().max_in_flight_seen == 4);
  CHECK(link.stats().requests == 20);

  scripted_server dead([](const scripted_request&) { return scripted_response{.status = 502}; });
  oh::transport budget({.endpoints = {dead.base_url()}, .max_in_flight = 2, .max_attempts = 10,
                        .initial_backoff = 1ms, .retry_budget_min = 3, .retry_budget_ratio = 0.0});
  CHECK_THAT(run_error(budget, 8), Catch::Contains("retry budget is spent") && Catch::Contains("HTTP 502"));
  CHECK(budget.stats().retries <= 3);  // scheduled retries still backing off are never started
  CHECK(dead.requests() <= 8 + 3);
}

TEST_CASE("a stop request closes the transfers in flight", "[openai_http]") {
  scripted_server s([](const scripted_request&) { return scripted_response{.how = scripted_response::mode::stall}; });
  oh::transport link({.endpoints = {s.base_url()}, .max_in_flight = 3});
  std::stop_source stop;
  std::thread stopper([&] {
    while (s.requests() < 3) std::this_thread::sleep_for(1ms);
    stop.request_stop();
  });
  std::size_t done = 0;
  link.run(posts(5), [&](std::size_t, oh::http_response&) { ++done; }, stop.get_token());
  stopper.join();
  CHECK(done == 0);
  CHECK(link.stats().cancelled == 3);
  CHECK(link.in_flight() == 0);
}

TEST_CASE("the generator states every sampling field, a seed per item and the API key", "[openai_http]") {
  ::setenv("TTSCALE_TEST_API_KEY", "sk-test-42", 1);
  scripted_server s([](const scripted_request&) { return scripted_response{.body = vllm_choice("1+1=2")}; });
  oh::transport link({.endpoints = {s.base_url()}, .api_key_env = "TTSCALE_TEST_API_KEY"});
  oh::generator gen(link, vllm_steps());
  trajectory_tree tree("Q\n");
  const std::vector<trajectory> prefixes(3, tree.root());
  std::vector<random_engine> engines{random_engine(1), random_engine(2), random_engine(1)};
  std::vector<step> out(3);
  gen.extend(prefixes, engines, out);
  CHECK(out[0].text == "1+1=2\n");  // the stop string the server cut is put back
  CHECK(out[0].tokens == 3);
  CHECK_FALSE(out[0].finished);
  CHECK(out[0].logprob == -0.5);
  const auto received = s.received();
  REQUIRE(received.size() == 3);
  std::set<std::uint64_t> seeds;
  for (const scripted_request& r : received) {
    CHECK(r.header("authorization") == "Bearer sk-test-42");
    const nlohmann::json b = nlohmann::json::parse(r.body);
    CHECK(b["model"] == "m");
    CHECK(b["prompt"] == "Q\n");
    CHECK(b["max_tokens"] == 8);
    CHECK(b["stop"] == nlohmann::json::array({"\n"}));
    CHECK(b["temperature"] == 0.5);
    CHECK(b["top_k"] == 5);
    CHECK(b["top_p"] == 1.0);
    CHECK(b["min_p"] == 0.0);
    CHECK(b["logprobs"] == 1);
    seeds.insert(b["seed"].get<std::uint64_t>());
  }
  CHECK(seeds.size() == 2);  // items 0 and 2 share a stream, so a seed
  ::unsetenv("TTSCALE_TEST_API_KEY");
}

TEST_CASE("a JSON reward endpoint scores in batches at the configured pointers", "[openai_http]") {
  std::string shape = "scores";
  scripted_server s([&](const scripted_request& r) {
    const nlohmann::json in = nlohmann::json::parse(r.body);
    nlohmann::json data = nlohmann::json::array();
    for (const auto& text : in["texts"]) data.push_back({{"probs", {0.0, static_cast<double>(text.get<std::string>().size())}}});
    if (shape == "short" && data.size() > 1) data.erase(data.begin());  // the 3-text requests only: one message
    if (shape == "nan") data[0]["probs"][1] = "NaN";
    return scripted_response{.body = nlohmann::json{{"data", data}}.dump()};
  });
  oh::transport link({.endpoints = {s.base_url()}});
  oh::json_reward_verifier rm(link, {.path = "/classify", .input_field = "texts", .scores_pointer = "/data",
                                     .score_pointer = "/probs/1", .model = "rm", .items_per_request = 3});
  trajectory_tree tree("ab");
  std::vector<trajectory> items;
  for (int i = 0; i < 7; ++i) items.push_back(tree.append(tree.root().id(), step{.text = std::string(static_cast<std::size_t>(i), 'x')}));
  std::vector<double> scores(7);
  rm.score_steps(items, scores);
  for (int i = 0; i < 7; ++i) CHECK(scores[static_cast<std::size_t>(i)] == 2.0 + i);
  CHECK(s.requests() == 3);
  CHECK(nlohmann::json::parse(s.received()[0].body)["model"] == "rm");
  shape = "short";
  CHECK_THROWS_WITH(rm.score_outcomes(items, scores), Catch::Contains("\"/data\" has 2 entries for the 3 texts sent"));
  shape = "nan";
  CHECK_THROWS_WITH(rm.score_outcomes(items, scores),
                    Catch::Contains(s.base_url()) && Catch::Contains("\"/data/0/probs/1\" is a string"));
}
