// The test support that runs a real llama-server (llama_server_process.hpp),
// before any adapter uses it: the server built by scripts/fetch_llama_server.sh
// starts on a free loopback port with the trained arithmetic policy, answers
// /health, /slots and an OpenAI-style POST /v1/completions, and is gone (its
// port refuses connections) once killed by PID. A server that cannot start is
// an exception carrying its log, not a hang.
#include "openai_http/llama_server_process.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <stdexcept>
#include <string>

using ttscale_test::llama_server_process;
using ttscale_test::loopback_port_refuses;

namespace {
const std::string policy_model = TTSCALE_MODELS_DIR "/arithmetic-policy.gguf";
}

TEST_CASE("llama_server_process runs a real llama-server until killed by PID", "[openai_http][llama_server]") {
  llama_server_process server({.model = policy_model, .parallel = 2});
  REQUIRE(server.running());
  CHECK(server.pid() > 0);
  CHECK(server.port() > 0);
  CHECK(server.base_url() == "http://127.0.0.1:" + std::to_string(server.port()));

  const auto health = server.request("GET", "/health");
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains("ok"));
  // One entry per slot: the adapter's tests read slot states here.
  const std::string slots = server.get("/slots");
  CHECK_THAT(slots, Catch::StartsWith("["));
  CHECK_THAT(slots, Catch::Contains("\"id\":1") || Catch::Contains("\"id\": 1"));

  const auto completion = server.request(
      "POST", "/v1/completions",
      R"({"prompt":"139*5+21-45+13+17\n","max_tokens":12,"temperature":0,"stop":["\n"]})");
  INFO(completion.body);
  CHECK(completion.status == 200);
  CHECK_THAT(completion.body, Catch::Contains("\"choices\""));
  CHECK_THAT(completion.body, Catch::Contains("\"text\""));

  const int port = server.port();
  server.kill();
  CHECK_FALSE(server.running());
  CHECK(loopback_port_refuses(port));
  server.stop();  // idempotent after kill
  server.kill();
  CHECK_FALSE(server.running());
}

TEST_CASE("llama_server_process stops a server with SIGTERM, and continues a suspended one first",
          "[openai_http][llama_server]") {
  llama_server_process server({.model = policy_model, .parallel = 1});
  const int port = server.port();
  server.suspend();
  // Stopped, the server still holds its port; the kernel accepts for it.
  CHECK_FALSE(loopback_port_refuses(port));
  server.resume();
  CHECK(server.request("GET", "/health").status == 200);
  server.suspend();
  server.stop();
  CHECK_FALSE(server.running());
  CHECK(loopback_port_refuses(port));
}

TEST_CASE("llama_server_process reports a server that cannot start, with its log",
          "[openai_http][llama_server]") {
  SECTION("no model file") {
    CHECK_THROWS_WITH(llama_server_process({.model = policy_model + ".missing"}),
                      Catch::Contains("no model file"));
  }
  SECTION("the server exits before it is ready") {
    // Not a GGUF file: llama-server starts, fails to load it, and exits.
    CHECK_THROWS_WITH(llama_server_process({.model = TTSCALE_MODELS_DIR "/README.md"}),
                      Catch::Contains("before GET /health answered 200") &&
                          Catch::Contains("last 40 lines of") && Catch::Contains("README.md"));
  }
}
