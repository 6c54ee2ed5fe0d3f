// ttscale/adapters/openai_http.hpp: every ttscale strategy on OpenAI-compatible
// servers — llama-server, vLLM, SGLang, one or many behind a list of
// endpoints. Optional adapter: needs libcurl and nlohmann-json (Debian's
// libcurl4-openssl-dev and nlohmann-json3-dev; CMake: the target
// ttscale::openai_http); the umbrella header ttscale/ttscale.hpp never
// includes it.
//
//   namespace oh = ttscale::openai_http;
//   oh::transport link({.endpoints = {"http://127.0.0.1:8080", "http://127.0.0.1:8081"},
//                       .max_in_flight = 16});
//   oh::generator gen(link, {.step_delimiter = "\n", .max_step_tokens = 64});
//   oh::transport judge_link({.endpoints = {"http://127.0.0.1:8090"}});
//   oh::token_probability_verifier prm(judge_link, {.step_tag = "?", .good = "+", .bad = "-"});
//   auto r = ttscale::beam_search(gen, prm, prompt, options, rng);
//
// transport.hpp: requests in flight, endpoints, retries, timeouts, cancel.
// completions.hpp: the completions API as llama-server, vLLM and SGLang speak it.
// generator.hpp: the generator. verifier.hpp: the two reward models. judge.hpp: a
// sampled yes/no judge for ttscale/verifiers/ensemble.hpp.
#pragma once

#include <ttscale/adapters/openai_http/completions.hpp>
#include <ttscale/adapters/openai_http/generator.hpp>
#include <ttscale/adapters/openai_http/judge.hpp>
#include <ttscale/adapters/openai_http/transport.hpp>
#include <ttscale/adapters/openai_http/verifier.hpp>
