// Real faults of real llama-server processes: one killed mid-search (alone:
// a clear error with the exact accounting; beside a second endpoint: the
// search completes, with the result of an undisturbed run), one stopped with
// SIGSTOP (the request timeout fires), and a cancelled request (first-finish's
// losers) that the server must stop generating for, freeing its slot.
#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/best_of_n.hpp>

#include "adapters/openai_http/trained_servers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

using namespace ttscale;
namespace oh = ttscale::openai_http;
using namespace ttscale_test;

namespace {
// A PRM that costs nothing and needs no server: the faults under test are the generator's.
struct hash_prm {
  static constexpr bool thread_safe = true;
  void score_steps(std::span<const trajectory> p, std::span<double> out) const {
    for (std::size_t i = 0; i < p.size(); ++i) out[i] = static_cast<double>(p[i].path_hash() % 1009) / 1009.0;
  }
};

// Kills `server` once the generator has returned `steps` steps (watched from a thread).
std::jthread kill_after(const oh::generator& gen, llama_server_process& server, std::uint64_t steps) {
  return std::jthread([&gen, &server, steps](std::stop_token stop) {
    while (!stop.stop_requested() && gen.stats().steps < steps) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!stop.stop_requested()) server.kill(SIGKILL);
  });
}

std::vector<std::string> texts(const auto& result) {
  std::vector<std::string> out;
  for (const auto& c : result.candidates) out.push_back(c.path.text());
  return out;
}

const beam_search_options beam{.n = 16, .beam_width = 4, .max_depth = 8};
}  // namespace

TEST_CASE("a server killed mid-search is a clear error with the exact accounting so far", "[openai_http][faults]") {
  llama_server_process server(policy_server_options());
  oh::transport link({.endpoints = {server.base_url()}, .initial_backoff = std::chrono::milliseconds(20)});
  oh::generator gen(link, step_options());
  hash_prm prm;
  std::mt19937_64 rng(3);
  auto killer = kill_after(gen, server, 24);
  try {
    (void)beam_search(gen, prm, problem_prompt, beam, rng);
    FAIL("the search finished although its only server was killed");
  } catch (const generator_failure& e) {
    REQUIRE(e.spent() != nullptr);
    // Exactly what the generator returned before the failing call: the servers' own counts.
    CHECK(e.spent()->tokens == gen.stats().tokens);
    CHECK(e.spent()->steps == gen.stats().steps);
    CHECK(e.spent()->tokens > 0);
    // The whole round failed at once, so a dead cluster fails in milliseconds.
    check_nested_dead_endpoint(e, server.base_url());
  }
}

TEST_CASE("with a second endpoint the search survives a killed server, with the same result", "[openai_http][faults]") {
  llama_server_process a(policy_server_options(2)), b(policy_server_options(2));
  hash_prm prm;
  std::vector<std::string> undisturbed;
  std::uint64_t undisturbed_tokens = 0;
  {
    oh::transport link({.endpoints = {a.base_url(), b.base_url()}, .max_in_flight = 4});
    oh::generator gen(link, step_options());
    std::mt19937_64 rng(5);
    const auto r = beam_search(gen, prm, problem_prompt, beam, rng);
    undisturbed = texts(r);
    undisturbed_tokens = r.spent.tokens;
    const oh::transport_stats st = link.stats();
    CHECK(st.per_endpoint[0] > 0);  // requests spread over both
    CHECK(st.per_endpoint[1] > 0);
  }
  oh::transport link({.endpoints = {a.base_url(), b.base_url()}, .max_in_flight = 4});
  oh::generator gen(link, step_options());
  std::mt19937_64 rng(5);
  auto killer = kill_after(gen, b, 20);
  const auto r = beam_search(gen, prm, problem_prompt, beam, rng);
  killer.join();
  CHECK(b.pid() > 0);
  const oh::transport_stats st = link.stats();
  CHECK(st.per_endpoint[1] > 0);   // b served before it died
  CHECK(st.per_endpoint[0] > st.per_endpoint[1]);
  // Seeds travel with the items, so the endpoint that answers does not matter.
  CHECK(texts(r) == undisturbed);
  CHECK(r.spent.tokens == undisturbed_tokens);
}

TEST_CASE("a stalled server hits the request timeout", "[openai_http][faults]") {
  llama_server_process server(policy_server_options());
  oh::transport link({.endpoints = {server.base_url()}, .request_timeout = std::chrono::milliseconds(1500),
                      .max_attempts = 2, .initial_backoff = std::chrono::milliseconds(10)});
  oh::generator gen(link, step_options());
  (void)gen.server();  // learn the dialect while the server answers
  ::kill(server.pid(), SIGSTOP);
  trajectory_tree tree(problem_prompt);
  const trajectory root = tree.root();
  random_engine rng(1);
  step out;
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(gen.extend(std::span(&root, 1), std::span(&rng, 1), std::span(&out, 1)),
                    Catch::Contains(server.base_url()) && Catch::Contains("Timeout") && Catch::Contains("attempt 2 of 2"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds >= 3.0);  // two attempts of 1.5 s
  CHECK(seconds < 20.0);
  ::kill(server.pid(), SIGCONT);
}

TEST_CASE("a cancelled request closes its connection and the server frees the slot", "[openai_http][faults]") {
  // Long requests: no step delimiter, end-of-generation ignored, a large context.
  llama_server_options options = policy_server_options(2);
  options.ctx_per_slot = 8192;
  llama_server_process server(options);
  oh::transport link({.endpoints = {server.base_url()}});
  oh::generator gen(link, {.step_delimiter = "", .max_step_tokens = 8000, .sampling = {.temperature = 1.0},
                           .requests = {.extra_body = {{"ignore_eos", true}}}});
  (void)gen.server();
  trajectory_tree tree(problem_prompt);
  const std::vector<trajectory> prefixes(2, tree.root());
  std::vector<random_engine> engines{random_engine(1), random_engine(2)};
  std::vector<step> out(2);
  std::stop_source stop;
  auto busy_slots = [&] {
    const std::string slots = server.get("/slots");
    std::size_t n = 0;
    for (std::size_t at = slots.find("\"is_processing\":true"); at != std::string::npos;
         at = slots.find("\"is_processing\":true", at + 1))
      ++n;
    return n;
  };
  std::thread caller([&] { gen.extend(prefixes, engines, out, stop.get_token()); });
  const auto start = std::chrono::steady_clock::now();
  while (busy_slots() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(busy_slots() == 2);  // both requests are generating
  stop.request_stop();
  caller.join();
  const auto cancelled = std::chrono::steady_clock::now();
  while (busy_slots() > 0 && std::chrono::steady_clock::now() - cancelled < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(busy_slots() == 0);  // the server stopped generating for the closed connections
  CHECK(std::chrono::steady_clock::now() - cancelled < std::chrono::seconds(5));
  CHECK(link.stats().cancelled == 2);
  CHECK(out[0].text.empty());  // cancelled items stay unwritten: empty unfinished steps for a strategy
}
