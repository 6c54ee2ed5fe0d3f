// Reading completions responses as llama-server, vLLM and SGLang write them
// (bodies shaped as each server answered; see completions.hpp), and every
// malformed one is an http_error naming the endpoint, the status and the field.
#include <ttscale/adapters/openai_http/completions.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace ttscale;
namespace oh = ttscale::openai_http;

namespace {
oh::http_response response(std::string body, long status = 200) {
  return {status, std::move(body), "http://127.0.0.1:9"};
}

std::string error_of(const std::string& body, std::size_t expected = 1) {
  try {
    (void)oh::read_completions(response(body), expected);
  } catch (const oh::http_error& e) {
    CHECK(e.endpoint() == "http://127.0.0.1:9");
    CHECK(e.status() == 200);
    return e.what();
  }
  FAIL("no error for " << body);
  return {};
}
}  // namespace

TEST_CASE("llama-server's chat-style logprobs and its __verbose stop type") {
  // As llama-server answers /v1/completions with "verbose": true, "logprobs": 2.
  const std::string body = R"({"choices":[{"text":"714+32=044","index":0,"finish_reason":"stop",
    "logprobs":{"content":[{"id":1,"token":"7","logprob":-0.25,"top_logprobs":[{"id":1,"token":"7","logprob":-0.25},{"id":2,"token":"8","logprob":-1.5}]},
                           {"id":3,"token":"1","logprob":-0.5,"top_logprobs":[]}]}}],
    "usage":{"completion_tokens":11,"prompt_tokens":12,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":10}},
    "__verbose":{"stop_type":"word","stopping_word":"\n"}})";
  const oh::completions_response r = oh::read_completions(response(body), 1);
  REQUIRE(r.choices.size() == 1);
  const oh::completion_choice& c = r.choices[0];
  CHECK(c.text == "714+32=044");
  CHECK(c.end == oh::choice_end::stop_string);
  CHECK(c.matched_stop == "\n");
  CHECK(c.tokens == 11);  // usage counts the stop string's token, which the logprobs leave out
  CHECK(c.logprob == Approx(-0.75));
  REQUIRE(c.first_top.size() == 2);
  CHECK(c.first_top[1].token == "8");
  CHECK(c.first_top[1].logprob == -1.5);
  CHECK(r.prompt_tokens == 12);
  CHECK(r.cached_prompt_tokens == 10);

  const std::string eos = R"({"choices":[{"text":"","index":0,"finish_reason":"stop","logprobs":null}],
    "usage":{"completion_tokens":1,"prompt_tokens":3},"__verbose":{"stop_type":"eos","stopping_word":""}})";
  CHECK(oh::read_completions(response(eos), 1).choices[0].end == oh::choice_end::end_of_generation);
}

TEST_CASE("vLLM's legacy logprobs and stop_reason; SGLang's matched_stop") {
  const std::string vllm = R"({"choices":[
      {"index":1,"text":"b","finish_reason":"stop","stop_reason":null,
       "logprobs":{"tokens":["b"],"token_logprobs":[-2.0],"top_logprobs":[{"b":-2.0,"c":-0.5}]}},
      {"index":0,"text":"a","finish_reason":"stop","stop_reason":"\n\n",
       "logprobs":{"tokens":["a","x"],"token_logprobs":[-1.0,-0.5],"top_logprobs":null}}],
    "usage":{"completion_tokens":3,"prompt_tokens":8}})";
  const oh::completions_response r = oh::read_completions(response(vllm), 2);
  CHECK(r.choices[0].text == "a");  // ordered by "index"
  CHECK(r.choices[0].end == oh::choice_end::stop_string);
  CHECK(r.choices[0].matched_stop == "\n\n");
  CHECK(r.choices[0].tokens == 2);  // two choices: counted from logprobs, not the first choice's usage
  CHECK(r.choices[0].logprob == -1.5);
  CHECK(r.choices[1].end == oh::choice_end::end_of_generation);
  REQUIRE(r.choices[1].first_top.size() == 2);
  CHECK(r.choices[1].first_top[0].token == "b");

  const std::string sglang = R"({"choices":[{"index":0,"text":"x","finish_reason":"stop","matched_stop":2,
    "logprobs":null}],"usage":{"completion_tokens":2,"prompt_tokens":3}})";
  CHECK(oh::read_completions(response(sglang), 1).choices[0].end == oh::choice_end::end_of_generation);
  const std::string length = R"({"choices":[{"index":0,"text":"xy","finish_reason":"length"}],
    "usage":{"completion_tokens":2}})";
  const oh::completion_choice l = oh::read_completions(response(length), 1).choices[0];
  CHECK(l.end == oh::choice_end::length);
  CHECK(l.tokens == 2);
}

TEST_CASE("malformed completions responses are errors naming endpoint, status and field") {
  CHECK_THAT(error_of("<html>502 Bad Gateway</html>"),
             Catch::Contains("http://127.0.0.1:9") && Catch::Contains("HTTP 200") && Catch::Contains("not JSON") &&
                 Catch::Contains("<html>502"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"len)"), Catch::Contains("not JSON"));
  CHECK_THAT(error_of("[1,2]"), Catch::Contains("(top level)") && Catch::Contains("an array"));
  CHECK_THAT(error_of(R"({"object":"text_completion"})"), Catch::Contains("\"choices\" is missing"));
  CHECK_THAT(error_of(R"({"choices":{}})"), Catch::Contains("\"choices\" is an object, expected an array"));
  CHECK_THAT(error_of(R"({"choices":[]})"), Catch::Contains("\"choices\" has 0 entries, expected 1"));
  CHECK_THAT(error_of(R"({"choices":[{"text":7,"finish_reason":"stop"}]})"),
             Catch::Contains("\"choices[0].text\" is a number, expected a string"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a"}]})"), Catch::Contains("\"choices[0].finish_reason\" is missing"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"content_filter"}]})"),
             Catch::Contains("\"content_filter\""));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"stop","logprobs":null}],"usage":{"completion_tokens":1}})"),
             Catch::Contains("does not say which stop matched"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","index":3,"finish_reason":"length"}]})"),
             Catch::Contains("\"choices[0].index\" is 3"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","index":0,"finish_reason":"length"},{"text":"b","index":0,"finish_reason":"length"}]})", 2),
             Catch::Contains("repeats index 0"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"length","logprobs":{"content":[{"token":"a","logprob":"x"}]}}]})"),
             Catch::Contains("\"choices[0].logprobs.content[0].logprob\" is a string, expected a number"));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"length"}],"usage":{"completion_tokens":-1}})"),
             Catch::Contains("\"usage.completion_tokens\""));
  CHECK_THAT(error_of(R"({"choices":[{"text":"a","finish_reason":"length"}]})"),
             Catch::Contains("cannot count"));
}

TEST_CASE("sampling is stated in full, in each server's spelling") {
  nlohmann::json body;
  oh::put_sampling(body, {.temperature = 0.7, .top_k = 0, .top_p = 1.0, .min_p = 0.0}, oh::server_dialect::llama_server, "t");
  CHECK(body["top_k"] == 0);
  CHECK(body["min_p"] == 0.0);
  body = {};
  oh::put_sampling(body, {.temperature = 0.7}, oh::server_dialect::vllm, "t");
  CHECK(body["top_k"] == -1);
  CHECK_FALSE(body.contains("verbose"));
  body = {};
  CHECK_THROWS_WITH(oh::put_sampling(body, {.top_k = 40}, oh::server_dialect::openai, "gen"),
                    Catch::Contains("gen: the OpenAI dialect has no top_k or min_p (got top_k 40"));
  CHECK_THROWS_AS(oh::put_sampling(body, {.temperature = -1}, oh::server_dialect::vllm, "gen"), ttscale::invalid_argument);
  CHECK_THROWS_WITH(oh::put_sampling(body, {.top_p = 0}, oh::server_dialect::vllm, "gen"),
                    Catch::Contains("top_p must be in (0, 1] (got 0)"));
}
