// openai_http::sampled_judge: what needs no server — the verdict reader, the
// option checks, and that it is the judge a verifier_ensemble samples. Its
// requests against a real llama-server are not tested here yet.
#include <ttscale/adapters/openai_http/judge.hpp>

#include <ttscale/verifiers/ensemble.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <string>

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
