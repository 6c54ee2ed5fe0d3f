// Test support for the llama-server tests: the trained arithmetic models of
// models/ as llama-server serves them, and the adapter options that fit them
// (a step is a line of the compact notation, "." ends the solution).
#pragma once

#include <ttscale/adapters/openai_http.hpp>

#include "openai_http/llama_server_process.hpp"

#include <catch2/catch.hpp>

#include <exception>
#include <string>

namespace ttscale_test {

inline std::string trained_model(const char* file) { return std::string(TTSCALE_MODELS_DIR) + "/" + file; }

inline llama_server_options policy_server_options(int parallel = 4) {
  return {.model = trained_model("arithmetic-policy.gguf"), .parallel = parallel};
}
inline llama_server_options prm_server_options(int parallel = 4) {
  return {.model = trained_model("arithmetic-prm.gguf"), .parallel = parallel};
}

inline ttscale::openai_http::generator_options step_options(double temperature = 1.0) {
  return {.step_delimiter = "\n", .max_step_tokens = 16, .finish_strings = {"."},
          .sampling = {.temperature = temperature}};
}

// The PRM was trained on the ratio of its two tag tokens only, so after the tag
// "+" and "-" sit far down the full next-token distribution (logprobs near -11,
// below the digits the language-model head still predicts): ask for the whole
// 354-token vocabulary, which llama-server allows.
inline ttscale::openai_http::token_probability_options prm_options() {
  return {.step_tag = "?", .outcome_tag = "?", .good = "+", .bad = "-", .top_logprobs = 354};
}

// 931 * 5 + 12 - 54 + 31 + 71 (mod 1000) = 715, digits least significant first.
inline const std::string problem_prompt = "139*5+21-45+13+17\n";

// What a strategy's error nests when its only server was killed: the http_error
// of the endpoint, status 0 (no answer), once the call's retries are spent (a
// whole round failing at once spends the retry budget before any attempt 4).
inline void check_nested_dead_endpoint(const std::exception& e, const std::string& base_url) {
  try {
    std::rethrow_if_nested(e);
    FAIL("no nested exception");
  } catch (const ttscale::openai_http::http_error& inner) {
    CHECK(inner.endpoint() == base_url);
    CHECK(inner.status() == 0);
    CHECK_THAT(std::string(inner.what()), Catch::Contains(base_url + "/v1/completions failed") &&
                                              (Catch::Contains("retry budget is spent") ||
                                               Catch::Contains("attempt 4 of 4")));
  }
}

}  // namespace ttscale_test
