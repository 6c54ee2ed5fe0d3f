// The scripted loopback server (scripted_server.hpp) that the OpenAI HTTP
// adapter's tests use for answers no real server gives, checked byte by byte
// with plain sockets, not with the client under test: status, headers and
// body as scripted; keep-alive; 100-continue; each broken answer (truncated,
// closed, stalled); the in-flight and connection counts; and a destructor
// that ends stalled connections instead of hanging the test.
#include "openai_http/scripted_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using ttscale_test::loopback_connection;
using ttscale_test::loopback_http;
using ttscale_test::scripted_request;
using ttscale_test::scripted_response;
using ttscale_test::scripted_server;
using mode = scripted_response::mode;

namespace {

// Polls until `done` holds; fails the test after 10 s instead of hanging it.
template <class Predicate>
void wait_until(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string http11(const std::string& method, const std::string& path, const std::string& body = {},
                   const std::string& extra_headers = {}) {
  std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
  if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + body;
}

}  // namespace

TEST_CASE("scripted_server answers with the script's status, headers and body", "[openai_http][scripted_server]") {
  scripted_server server([](const scripted_request& r) {
    return scripted_response{.status = r.path == "/missing" ? 404 : 200,
                             .body = R"({"method":")" + r.method + R"("})",
                             .headers = {{"X-Test", "yes"}}};
  });
  const auto ok = loopback_http(server.port(), "GET", "/v1/models");
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"method":"GET"})");
  CHECK(ok.header("x-test") == "yes");
  CHECK(ok.header("content-type") == "application/json");
  CHECK(ok.header("content-length") == std::to_string(ok.body.size()));
  CHECK(loopback_http(server.port(), "GET", "/missing").status == 404);

  const auto posted = loopback_http(server.port(), "POST", "/v1/completions", R"({"prompt":"1+1\n"})");
  CHECK(posted.status == 200);
  CHECK(posted.body == R"({"method":"POST"})");

  REQUIRE(server.requests() == 3);
  const std::vector<scripted_request> seen = server.received();
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].path == "/v1/models");
  CHECK(seen[0].version == "HTTP/1.0");
  CHECK(seen[0].header("HOST") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(seen[2].method == "POST");
  CHECK(seen[2].body == R"({"prompt":"1+1\n"})");
  CHECK(seen[2].header("content-type") == "application/json");
  CHECK(server.base_url() == "http://127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("scripted_server keeps an HTTP/1.1 connection alive across requests", "[openai_http][scripted_server]") {
  scripted_server server([](const scripted_request& r) { return scripted_response{.body = r.path}; });
  loopback_connection connection(server.port());
  connection.send(http11("GET", "/first"));
  const auto first = connection.read_reply();
  connection.send(http11("POST", "/second", "{}"));
  const auto second = connection.read_reply();
  CHECK(first.status == 200);
  CHECK(first.body == "/first");
  CHECK(second.body == "/second");
  CHECK(first.header("connection").empty());
  CHECK(server.connections() == 1);
  CHECK(server.requests() == 2);

  SECTION("until the client asks to close") {
    connection.send(http11("GET", "/last", {}, "Connection: close\r\n"));
    const auto last = connection.read_reply();
    CHECK(last.body == "/last");
    CHECK(last.header("connection") == "close");
    CHECK(connection.closed_by_peer());
  }
  SECTION("until the script says Connection: close") {
    scripted_server closing([](const scripted_request&) {
      return scripted_response{.body = "bye", .headers = {{"Connection", "close"}}};
    });
    loopback_connection other(closing.port());
    other.send(http11("GET", "/"));
    CHECK(other.read_reply().body == "bye");
    CHECK(other.closed_by_peer());
  }
  SECTION("but an HTTP/1.0 request is answered and closed") {
    loopback_connection old(server.port());
    old.send("GET /old HTTP/1.0\r\n\r\n");
    CHECK(old.read_reply().body == "/old");
    CHECK(old.closed_by_peer());
  }
}

TEST_CASE("scripted_server answers Expect: 100-continue before reading the body", "[openai_http][scripted_server]") {
  scripted_server server([](const scripted_request& r) {
    return scripted_response{.body = std::to_string(r.body.size())};
  });
  const std::string body(2000, 'x');  // libcurl sends Expect for bodies over 1 KB
  loopback_connection connection(server.port());
  connection.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Content-Length: 2000\r\nExpect: 100-continue\r\n\r\n");
  // No body has been sent: an answer here can only be the interim one.
  const auto interim = connection.read_reply();
  CHECK(interim.status == 100);
  CHECK(server.requests() == 0);
  connection.send(body);
  const auto final_reply = connection.read_reply();
  CHECK(final_reply.status == 200);
  CHECK(final_reply.body == "2000");
  REQUIRE(server.requests() == 1);
  CHECK(server.received()[0].body == body);
}

TEST_CASE("scripted_server sends the broken answers it is told to", "[openai_http][scripted_server]") {
  SECTION("truncated: a Content-Length the body never reaches, then close") {
    scripted_server server([](const scripted_request&) {
      return scripted_response{.body = R"({"choices":[)", .how = mode::truncated};
    });
    loopback_connection connection(server.port());
    connection.send(http11("GET", "/"));
    CHECK_THROWS_WITH(connection.read_reply(), Catch::Contains("mid-body"));
    CHECK(server.requests() == 1);
  }
  SECTION("close_without_answer: not one byte") {
    scripted_server server([](const scripted_request&) {
      return scripted_response{.how = mode::close_without_answer};
    });
    loopback_connection connection(server.port());
    connection.send(http11("POST", "/v1/completions", "{}"));
    CHECK(connection.closed_by_peer());
    CHECK(server.requests() == 1);
  }
  SECTION("a delay holds the answer back") {
    scripted_server server([](const scripted_request&) {
      return scripted_response{.body = "late", .delay = std::chrono::milliseconds(200)};
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK(loopback_http(server.port(), "GET", "/").body == "late");
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
  }
  SECTION("a script that throws gives a 500 naming the exception") {
    scripted_server server([](const scripted_request&) -> scripted_response {
      throw std::runtime_error("no such route");
    });
    const auto reply = loopback_http(server.port(), "GET", "/");
    CHECK(reply.status == 500);
    CHECK_THAT(reply.body, Catch::Contains("no such route"));
  }
}

TEST_CASE("scripted_server's destructor ends stalled connections without hanging", "[openai_http][scripted_server]") {
  auto server = std::make_unique<scripted_server>([](const scripted_request&) {
    return scripted_response{.how = mode::stall};
  });
  loopback_connection stalled(server->port());
  stalled.send(http11("GET", "/"));
  loopback_connection idle(server->port());  // connected, no request at all
  wait_until([&] { return server->requests() == 1 && server->connections() == 2; });
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(stalled.closed_by_peer());
  CHECK(idle.closed_by_peer());
}

TEST_CASE("scripted_server counts requests in flight and open connections", "[openai_http][scripted_server]") {
  SECTION("stalled requests on separate connections are all in flight at once") {
    constexpr std::size_t clients = 6;
    auto server = std::make_unique<scripted_server>([](const scripted_request&) {
      return scripted_response{.how = mode::stall};
    });
    std::vector<std::unique_ptr<loopback_connection>> connections;
    for (std::size_t i = 0; i < clients; ++i) {
      connections.push_back(std::make_unique<loopback_connection>(server->port()));
      // Not "/" + std::to_string(i): GCC 12 warns wrongly about that (-Wrestrict, bug 105329).
      std::string path = "/";
      path += std::to_string(i);
      connections.back()->send(http11("GET", path));
    }
    wait_until([&] { return server->requests() == clients; });
    CHECK(server->max_concurrent() == clients);
    CHECK(server->max_connections() == clients);
    CHECK(server->connections() == clients);
    server.reset();
    for (auto& c : connections) CHECK(c->closed_by_peer());
  }
  SECTION("requests one after another on one connection are never two in flight") {
    scripted_server server([](const scripted_request&) {
      return scripted_response{.body = "x", .delay = std::chrono::milliseconds(20)};
    });
    loopback_connection connection(server.port());
    for (int i = 0; i < 5; ++i) {
      connection.send(http11("GET", "/"));
      CHECK(connection.read_reply().body == "x");
    }
    CHECK(server.requests() == 5);
    CHECK(server.max_concurrent() == 1);
    CHECK(server.max_connections() == 1);
  }
  SECTION("many short connections, each closed and its thread joined") {
    scripted_server server([](const scripted_request&) { return scripted_response{.body = "ok"}; });
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        // Catch2 assertions are not thread-safe: count here, check below.
        for (int i = 0; i < 25; ++i) try {
            if (loopback_http(server.port(), "GET", "/").body == "ok") ++answered;
          } catch (const std::exception&) {
          }
      });
    for (auto& t : threads) t.join();
    CHECK(answered == 100);
    CHECK(server.requests() == 100);
    CHECK(server.connections() == 100);
    CHECK(server.max_concurrent() <= 4);
  }
}
