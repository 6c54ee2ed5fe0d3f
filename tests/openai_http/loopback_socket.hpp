// Test support: plain POSIX-socket HTTP/1.x on 127.0.0.1, with no dependency on
// the HTTP client under test (libcurl). llama_server_process.hpp polls /health
// and reads /slots with it; scripted_server_test.cpp drives the scripted server
// byte by byte with it (keep-alive, 100-continue, a connection left open).
//
//   int port = free_loopback_port();
//   loopback_http_reply r = loopback_http(port, "GET", "/health");   // r.status, r.body
//   loopback_connection c(port);                                     // one kept-alive connection
//   c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
//   loopback_http_reply a = c.read_reply();                           // exactly one response
//
// Every call has a receive timeout, so a server that never answers fails the
// test with an exception instead of hanging it. Writes use MSG_NOSIGNAL: a peer
// that closed early is an error, not a SIGPIPE that kills the test process.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace ttscale_test {

// An owned file descriptor, closed on destruction.
class socket_fd {
 public:
  socket_fd() = default;
  explicit socket_fd(int fd) noexcept : fd_(fd) {}
  socket_fd(socket_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

namespace detail {

[[noreturn]] inline void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

inline sockaddr_in loopback_address(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

inline std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of the first header named `name` (any case) in headers whose names
// are lower case, or "" when absent.
inline std::string header_value(const std::vector<std::pair<std::string, std::string>>& headers,
                                std::string_view name) {
  const std::string key = lower(name);
  for (const auto& [n, v] : headers)
    if (n == key) return v;
  return {};
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace detail

// A port on 127.0.0.1 that nothing listens on at the moment of the call: the
// kernel's choice for a bind to port 0. Another process may take it before the
// caller binds it; llama_server_process retries once when that happens.
inline int free_loopback_port() {
  socket_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) detail::throw_errno("free_loopback_port: socket");
  sockaddr_in address = detail::loopback_address(0);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    detail::throw_errno("free_loopback_port: bind 127.0.0.1:0");
  socklen_t length = sizeof address;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    detail::throw_errno("free_loopback_port: getsockname");
  return ntohs(address.sin_port);
}

// A TCP connection to 127.0.0.1:port whose reads and writes give up after
// `timeout`. Throws std::system_error (code ECONNREFUSED when nothing listens).
inline socket_fd connect_loopback(int port, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  socket_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) detail::throw_errno("connect_loopback: socket");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in address = detail::loopback_address(port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    detail::throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  return fd;
}

// True when a connection to 127.0.0.1:port is refused (nothing listens there).
inline bool loopback_port_refuses(int port) {
  try {
    (void)connect_loopback(port, std::chrono::seconds(5));
    return false;
  } catch (const std::system_error& e) {
    return e.code() == std::errc::connection_refused;
  }
}

inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) detail::throw_errno("send");
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
}

// One HTTP response: status, headers (names lower-cased) and the body
// (de-chunked when the server sent Transfer-Encoding: chunked).
struct loopback_http_reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The value of the first header named `name` (any case), or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const { return detail::header_value(headers, name); }
};

// A client connection that reads responses one at a time, keeping any bytes
// past the current response for the next read (keep-alive).
class loopback_connection {
 public:
  explicit loopback_connection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : fd_(connect_loopback(port, timeout)) {}

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  void send(std::string_view data) { send_all(fd_.get(), data); }
  // Half-closes the sending side: the server reads end-of-stream.
  void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

  // Reads exactly one response. The body is Content-Length bytes, chunked, or,
  // with neither, everything up to the server's close. A 1xx, 204 or 304 has no
  // body. Throws std::runtime_error when the server closes early or times out.
  loopback_http_reply read_reply() {
    const std::size_t header_end = fill_until("\r\n\r\n");
    loopback_http_reply reply;
    const std::string head = buffer_.substr(0, header_end);
    buffer_.erase(0, header_end + 4);
    std::string_view rest = head;
    const auto line_end = rest.find("\r\n");
    const std::string_view status_line = rest.substr(0, line_end);
    rest.remove_prefix(line_end == std::string_view::npos ? rest.size() : line_end + 2);
    const auto space = status_line.find(' ');
    if (status_line.substr(0, 5) != "HTTP/" || space == std::string_view::npos)
      throw std::runtime_error("not an HTTP status line: " + std::string(status_line));
    reply.status = std::stoi(std::string(status_line.substr(space + 1, 3)));
    while (!rest.empty()) {
      const auto end = rest.find("\r\n");
      const std::string_view line = rest.substr(0, end);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      reply.headers.emplace_back(detail::lower(line.substr(0, colon)),
                                 std::string(detail::trim(line.substr(colon + 1))));
    }
    if (reply.status / 100 == 1 || reply.status == 204 || reply.status == 304) return reply;
    const std::string length = reply.header("content-length");
    if (!length.empty()) {
      reply.body = take(static_cast<std::size_t>(std::stoull(length)));
    } else if (detail::lower(reply.header("transfer-encoding")).find("chunked") != std::string::npos) {
      for (;;) {
        const std::size_t size_end = fill_until("\r\n");
        const std::size_t size = std::stoull(buffer_.substr(0, size_end), nullptr, 16);
        buffer_.erase(0, size_end + 2);
        reply.body += take(size);
        (void)take(2);  // the CRLF after each chunk
        if (size == 0) break;
      }
    } else {
      while (read_some()) {}
      reply.body = std::exchange(buffer_, {});
    }
    return reply;
  }

  // True when the server has closed the connection and no bytes are left.
  [[nodiscard]] bool closed_by_peer() { return buffer_.empty() && !read_some(); }

 private:
  // Appends what the socket has to the buffer; false at end of stream.
  bool read_some() {
    char chunk[16384];
    for (;;) {
      const ssize_t got = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        throw std::runtime_error("loopback_connection: no answer before the receive timeout");
      if (got < 0) detail::throw_errno("recv");
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return got > 0;
    }
  }
  std::size_t fill_until(std::string_view marker) {
    for (;;) {
      const auto at = buffer_.find(marker);
      if (at != std::string::npos) return at;
      if (!read_some()) throw std::runtime_error("loopback_connection: the server closed the connection mid-response");
    }
  }
  std::string take(std::size_t size) {
    while (buffer_.size() < size)
      if (!read_some()) throw std::runtime_error("loopback_connection: the server closed the connection mid-body");
    std::string out = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return out;
  }

  socket_fd fd_;
  std::string buffer_;
};

// One request on a fresh connection (HTTP/1.0, Connection: close), as a
// health check or a test does without the client under test. A non-empty body
// is sent with Content-Type: application/json.
inline loopback_http_reply loopback_http(int port, std::string_view method, std::string_view path,
                                         std::string_view body = {},
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  loopback_connection connection(port, timeout);
  std::string request;
  request.append(method).append(" ").append(path).append(" HTTP/1.0\r\n");
  request.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\nConnection: close\r\n");
  if (!body.empty() || method == "POST" || method == "PUT")
    request.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  request.append("\r\n").append(body);
  connection.send(request);
  return connection.read_reply();
}

}  // namespace ttscale_test
