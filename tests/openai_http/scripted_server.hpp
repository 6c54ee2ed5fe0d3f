// Test support: an HTTP/1.1 server on 127.0.0.1 whose every answer is written
// by the test, for the answers no real server can be made to give: a body cut
// short, a connection closed without an answer, a server that never answers,
// JSON of the wrong shape, a 429 or 503 on the third request. Everything a
// real server can do is tested against llama-server (llama_server_process.hpp);
// this is the one mock, where no real part can exist.
//
//   ttscale_test::scripted_server server([](const ttscale_test::scripted_request& r) {
//     if (r.path != "/v1/completions") return ttscale_test::scripted_response{.status = 404};
//     return ttscale_test::scripted_response{.body = R"({"choices": 7})"};   // wrong shape
//   });
//   adapter.endpoints = {server.base_url()};
//   ... CHECK(server.requests() == 1); CHECK(server.max_concurrent() <= 4);
//
// The script is called once per request, one call at a time (a script may keep
// plain counters), with the request's method, path, headers (names in lower
// case) and body. One thread per connection; several requests per connection
// (HTTP/1.1 keep-alive, as libcurl reuses connections) unless the request or
// the script's headers say `Connection: close`, or the answer's mode ends the
// connection. Request bodies need a Content-Length (libcurl sends one for a
// body it is given whole); `Expect: 100-continue` (libcurl's, for bodies over
// 1 KB) is answered with 100 Continue before the body is read. A chunked
// request is answered 501 and the connection closed.
//
// The destructor never hangs: it shuts down the listening socket and every
// connection, wakes stalled and delayed answers, and joins every thread.
#pragma once

#include "loopback_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ttscale_test {

struct scripted_request {
  std::string method;   // "POST"
  std::string path;     // "/v1/completions", with any query string
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case, in order
  std::string body;

  // The value of the first header named `name` (any case), or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const { return detail::header_value(headers, name); }
};

struct scripted_response {
  enum class mode {
    whole,                 // status, headers, Content-Length and the body
    truncated,             // the body whole, but a Content-Length 1024 bytes larger; then close
    close_without_answer,  // close the connection without a byte of answer
    stall,                 // never answer; the connection stays open until the server is destroyed
  };
  int status = 200;
  std::string body{};
  // Sent after the status line. Content-Type is application/json unless given
  // here; a Content-Length given here replaces the true one (mode::whole);
  // `Connection: close` closes the connection after this answer.
  std::vector<std::pair<std::string, std::string>> headers{};
  mode how = mode::whole;
  std::chrono::milliseconds delay{0};  // before the answer (or the close), counted as in flight
};

class scripted_server {
 public:
  using script_type = std::function<scripted_response(const scripted_request&)>;

  explicit scripted_server(script_type script) : script_(std::move(script)) {
    listener_ = socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) detail::throw_errno("scripted_server: socket");
    const int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address = detail::loopback_address(0);
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      detail::throw_errno("scripted_server: bind 127.0.0.1:0");
    socklen_t length = sizeof address;
    if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
      detail::throw_errno("scripted_server: getsockname");
    port_ = ntohs(address.sin_port);
    if (::listen(listener_.get(), SOMAXCONN) != 0) detail::throw_errno("scripted_server: listen");
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  scripted_server(const scripted_server&) = delete;
  scripted_server& operator=(const scripted_server&) = delete;

  ~scripted_server() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      // Wakes every thread blocked in recv or send on a connection; the threads
      // close the descriptors themselves, so none is closed twice or reused here.
      for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    wake_.notify_all();
    // On Linux this makes the blocked accept() return.
    ::shutdown(listener_.get(), SHUT_RDWR);
    acceptor_.join();
    // The acceptor has ended, so the list no longer changes shape.
    for (worker& w : workers_) w.thread.join();
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Requests read whole so far (each one was passed to the script).
  [[nodiscard]] std::size_t requests() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  // The most requests in flight at once: read whole and not yet answered (a
  // delayed or stalled one counts until its answer or close). With keep-alive
  // an idle connection is not a request in flight, so this, not
  // max_connections(), is the bound an adapter's concurrency limit must keep.
  [[nodiscard]] std::size_t max_concurrent() const {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }
  // The most connections open at once, and all connections accepted so far.
  [[nodiscard]] std::size_t max_connections() const {
    std::lock_guard lock(mutex_);
    return max_open_;
  }
  [[nodiscard]] std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  // Every request read so far, in the order they were read.
  [[nodiscard]] std::vector<scripted_request> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  struct worker {
    std::thread thread;
    bool done = false;
  };

  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
      std::list<worker> finished;
      {
        std::lock_guard lock(mutex_);
        if (fd < 0 || stopping_) {
          if (fd >= 0) ::close(fd);
          return;
        }
        open_fds_.insert(fd);
        ++accepted_;
        max_open_ = std::max(max_open_, open_fds_.size());
        const auto slot = workers_.emplace(workers_.end());
        slot->thread = std::thread([this, fd, slot] {
          serve(fd);
          std::lock_guard done_lock(mutex_);
          open_fds_.erase(fd);
          ::close(fd);
          slot->done = true;
        });
        // Threads of closed connections are joined as new ones come, so a
        // long test does not keep a thread per connection it ever made.
        for (auto w = workers_.begin(); w != workers_.end();) {
          const auto next = std::next(w);
          if (w->done) finished.splice(finished.end(), workers_, w);
          w = next;
        }
      }
      for (worker& w : finished) w.thread.join();
    }
  }

  // Appends what the connection has; false at its end (or after shutdown).
  static bool read_more(int fd, std::string& buffer) {
    char chunk[16384];
    for (;;) {
      const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }

  static bool send_text(int fd, std::string_view text) {
    try {
      send_all(fd, text);
      return true;
    } catch (const std::exception&) {
      return false;  // the client went away; its connection ends here
    }
  }

  static const char* reason(int status) {
    switch (status) {
      case 100: return "Continue";
      case 200: return "OK";
      case 400: return "Bad Request";
      case 401: return "Unauthorized";
      case 404: return "Not Found";
      case 408: return "Request Timeout";
      case 429: return "Too Many Requests";
      case 500: return "Internal Server Error";
      case 501: return "Not Implemented";
      case 502: return "Bad Gateway";
      case 503: return "Service Unavailable";
      case 504: return "Gateway Timeout";
      default: return "Status";
    }
  }

  // Waits `delay`, or until the server is being destroyed; false in that case.
  bool wait_for(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, delay, [this] { return stopping_; });
  }

  // Reads the next request into `request`; false when the connection ended first.
  bool read_request(int fd, std::string& buffer, scripted_request& request, bool& chunked) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos)
      if (buffer.size() > (1u << 20) || !read_more(fd, buffer)) return false;
    std::string_view head(buffer.data(), header_end);
    const auto line_end = std::min(head.find("\r\n"), head.size());
    const std::string_view line = head.substr(0, line_end);
    head.remove_prefix(std::min(line_end + 2, head.size()));
    const auto first = line.find(' ');
    const auto second = line.find(' ', first == std::string_view::npos ? line.size() : first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) return false;
    request.method = std::string(line.substr(0, first));
    request.path = std::string(line.substr(first + 1, second - first - 1));
    request.version = std::string(line.substr(second + 1));
    while (!head.empty()) {
      const auto end = std::min(head.find("\r\n"), head.size());
      const std::string_view header = head.substr(0, end);
      head.remove_prefix(std::min(end + 2, head.size()));
      const auto colon = header.find(':');
      if (colon == std::string_view::npos) continue;
      request.headers.emplace_back(detail::lower(header.substr(0, colon)),
                                   std::string(detail::trim(header.substr(colon + 1))));
    }
    buffer.erase(0, header_end + 4);
    chunked = detail::lower(request.header("transfer-encoding")).find("chunked") != std::string::npos;
    if (chunked) return true;
    if (detail::lower(request.header("expect")) == "100-continue" &&
        !send_text(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
      return false;
    const std::string length_text = request.header("content-length");
    const std::size_t length = length_text.empty() ? 0 : std::stoull(length_text);
    while (buffer.size() < length)
      if (!read_more(fd, buffer)) return false;
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);
    return true;
  }

  void serve(int fd) {
    std::string buffer;
    for (;;) {
      scripted_request request;
      bool chunked = false;
      try {
        if (!read_request(fd, buffer, request, chunked)) return;
      } catch (const std::exception&) {
        return;  // an unreadable Content-Length
      }
      if (chunked) {
        send_text(fd, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      {
        std::lock_guard lock(mutex_);
        received_.push_back(request);
        ++in_flight_;
        max_in_flight_ = std::max(max_in_flight_, in_flight_);
      }
      in_flight_request counted{*this};
      if (!answer(fd, request, counted)) return;
    }
  }

  // Ends a request's time in flight once: before the first byte of its answer
  // goes out (a client that has its answer may send the next request at once,
  // and the two must not count as in flight together), or at the latest when
  // its connection is closed.
  struct in_flight_request {
    scripted_server& server;
    bool counted = true;
    explicit in_flight_request(scripted_server& s) : server(s) {}
    in_flight_request(const in_flight_request&) = delete;
    in_flight_request& operator=(const in_flight_request&) = delete;
    void end() {
      if (!std::exchange(counted, false)) return;
      std::lock_guard lock(server.mutex_);
      --server.in_flight_;
    }
    ~in_flight_request() { end(); }
  };

  // Answers one request as the script says; false when the connection ends.
  bool answer(int fd, const scripted_request& request, in_flight_request& counted) {
    scripted_response response;
    try {
      std::lock_guard lock(script_mutex_);
      response = script_(request);
    } catch (const std::exception& e) {
      response = {.status = 500, .body = std::string("scripted_server: the script threw: ") + e.what()};
    }
    if (response.delay.count() > 0 && !wait_for(response.delay)) return false;
    using mode = scripted_response::mode;
    if (response.how == mode::close_without_answer) return false;
    if (response.how == mode::stall) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_; });
      return false;
    }
    const auto has = [&](std::string_view name) {
      return std::any_of(response.headers.begin(), response.headers.end(),
                         [&](const auto& h) { return detail::lower(h.first) == name; });
    };
    const auto says_close = [](const std::vector<std::pair<std::string, std::string>>& headers) {
      return std::any_of(headers.begin(), headers.end(), [](const auto& h) {
        return detail::lower(h.first) == "connection" && detail::lower(h.second) == "close";
      });
    };
    const std::string client_connection = detail::lower(request.header("connection"));
    const bool close = response.how == mode::truncated || says_close(response.headers) ||
                       client_connection == "close" ||
                       (request.version == "HTTP/1.0" && client_connection != "keep-alive");
    std::string text = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    if (!has("content-length")) {
      const std::size_t announced = response.body.size() + (response.how == mode::truncated ? 1024 : 0);
      text += "Content-Length: " + std::to_string(announced) + "\r\n";
    }
    if (!has("content-type")) text += "Content-Type: application/json\r\n";
    for (const auto& [name, value] : response.headers) text += name + ": " + value + "\r\n";
    if (close && !says_close(response.headers)) text += "Connection: close\r\n";
    text += "\r\n";
    text += response.body;
    counted.end();
    return send_text(fd, text) && !close;
  }

  script_type script_;
  std::mutex script_mutex_;  // one script call at a time
  socket_fd listener_;
  int port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::list<worker> workers_;
  std::set<int> open_fds_;
  std::size_t accepted_ = 0;
  std::size_t max_open_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t max_in_flight_ = 0;
  std::vector<scripted_request> received_;
};

}  // namespace ttscale_test
