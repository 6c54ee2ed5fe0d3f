// Test support: a real llama-server on 127.0.0.1 for the length of a test, so
// that the OpenAI HTTP adapter is tested against the engine users run, and
// faults are injected by killing a real process (STYLE.md, "Adapters to real
// engines"). The binary is the one scripts/fetch_llama_server.sh builds; CMake
// passes its path as TTSCALE_LLAMA_SERVER.
//
//   ttscale_test::llama_server_process server({.model = TTSCALE_MODELS_DIR "/arithmetic-policy.gguf"});
//   adapter.endpoints = {server.base_url()};       // "http://127.0.0.1:<port>"
//   server.kill();                                  // SIGKILL by PID mid-search, then reaped
//
// The constructor forks and execs the server on a free loopback port, with its
// stdout and stderr in a log file of a temporary folder, and returns once GET
// /health answers 200 (the model is loaded). A server that exits first, or is
// not ready within the timeout, is an exception carrying the end of its log.
// The child gets SIGKILL when the thread that started it dies
// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind; start servers
// from the test's own thread, not from a thread that ends before the test.
#pragma once

#include "loopback_socket.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ttscale_test {

struct llama_server_options {
  std::string model{};       // a GGUF file
  int parallel = 4;          // slots: requests decoded together (-np)
  int ctx_per_slot = 256;    // tokens of context per slot (-c is parallel * this)
  int threads = 1;           // CPU threads (-t); the test machines have 2 cores
  std::vector<std::string> extra_args{};  // appended last, so they override the above
  std::chrono::seconds ready_timeout{60};
#ifdef TTSCALE_LLAMA_SERVER
  std::string executable = TTSCALE_LLAMA_SERVER;
#else
  std::string executable{};
#endif
};

class llama_server_process {
 public:
  explicit llama_server_process(llama_server_options options) : options_(std::move(options)) {
    if (options_.executable.empty() || !std::filesystem::exists(options_.executable))
      throw std::runtime_error("llama_server_process: no llama-server at '" + options_.executable +
                               "' (bash scripts/fetch_llama_server.sh builds it)");
    if (!std::filesystem::exists(options_.model))
      throw std::runtime_error("llama_server_process: no model file at '" + options_.model + "'");
    std::string folder = (std::filesystem::temp_directory_path() / "ttscale-llama-server-XXXXXX").string();
    if (::mkdtemp(folder.data()) == nullptr) detail::throw_errno("llama_server_process: mkdtemp");
    folder_ = folder;
    log_path_ = folder_ / "llama-server.log";
    try {
      start();
    } catch (...) {
      stop();
      remove_folder();
      throw;
    }
  }

  llama_server_process(const llama_server_process&) = delete;
  llama_server_process& operator=(const llama_server_process&) = delete;

  ~llama_server_process() {
    stop();
    remove_folder();
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_path_; }

  // Sends `sig` to the server's PID and waits for it to end (reaps it). For a
  // fault in the middle of a search: SIGKILL drops every connection at once. A
  // stopped server (suspend()) is continued so that the signal takes effect.
  void kill(int sig = SIGKILL) {
    if (!running_) return;
    ::kill(pid_, sig);
    ::kill(pid_, SIGCONT);
    reap(true);
  }

  // SIGSTOP: the server keeps its port and accepts connections (the kernel
  // does) but never answers, as a hung server does; resume() continues it.
  void suspend() {
    if (running_) ::kill(pid_, SIGSTOP);
  }
  void resume() {
    if (running_) ::kill(pid_, SIGCONT);
  }

  // SIGTERM (llama-server shuts down cleanly), SIGKILL after 5 s; reaped either
  // way. Does nothing when the server has already ended.
  void stop() noexcept {
    if (!running_) return;
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (reap(false)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    reap(true);
  }

  // The last `lines` lines of the server's log (stdout and stderr).
  [[nodiscard]] std::string log_tail(int lines) const {
    std::ifstream in(log_path_);
    std::deque<std::string> tail;
    for (std::string line; std::getline(in, line);) {
      tail.push_back(std::move(line));
      if (static_cast<int>(tail.size()) > lines) tail.pop_front();
    }
    std::string out;
    for (const std::string& line : tail) out += line + "\n";
    return out;
  }

  // A request over a plain socket, not through the client under test: the
  // tests read /health and /slots (slot states, to check that cancelled
  // requests free their slots) with it.
  [[nodiscard]] loopback_http_reply request(std::string_view method, std::string_view path,
                                            std::string_view body = {}) const {
    return loopback_http(port_, method, path, body);
  }
  // The body of GET `path`, whatever the status.
  [[nodiscard]] std::string get(const std::string& path) const { return request("GET", path).body; }

 private:
  [[nodiscard]] std::vector<std::string> arguments() const {
    std::vector<std::string> args = {
        options_.executable,
        "--model", options_.model,
        "--host", "127.0.0.1",
        "--port", std::to_string(port_),
        "--parallel", std::to_string(options_.parallel),
        "--ctx-size", std::to_string(options_.parallel * options_.ctx_per_slot),
        "--threads", std::to_string(options_.threads),
        "--no-webui",  // nothing to serve: built without the UI
        "--slots",     // GET /slots, on by default at this commit; the tests rely on it
    };
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    return args;
  }

  void start() {
    // The port is free when chosen but may be taken before the server binds it
    // (by a client socket's ephemeral port, say): then the server exits saying
    // so, and a second port is tried.
    for (int attempt = 0;; ++attempt) {
      port_ = free_loopback_port();
      spawn();
      const std::string failure = wait_until_ready();
      if (failure.empty()) return;
      const bool port_taken = log_tail(40).find("couldn't bind HTTP server socket") != std::string::npos;
      if (attempt == 0 && port_taken && !running_) continue;
      stop();
      std::string message = "llama_server_process: " + failure + "\ncommand:";
      for (const std::string& arg : arguments()) message += " " + arg;
      message += "\nlast 40 lines of " + log_path_.string() + ":\n" + log_tail(40);
      throw std::runtime_error(message);
    }
  }

  void spawn() {
    // Everything the child needs is made before fork: between fork and exec a
    // child of a multi-threaded process may only make async-signal-safe calls.
    std::vector<std::string> args = arguments();
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    socket_fd log(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log) detail::throw_errno("llama_server_process: open " + log_path_.string());
    socket_fd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_input) detail::throw_errno("llama_server_process: open /dev/null");
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) detail::throw_errno("llama_server_process: fork");
    if (child == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
      ::dup2(null_input.get(), 0);
      ::dup2(log.get(), 1);
      ::dup2(log.get(), 2);
      // The test's own sockets (listeners of a scripted server, libcurl's
      // connections) must not live on in the server, or a closed port would
      // still be bound. close_range is Linux 5.9; the loop covers older kernels.
      if (::close_range(3, ~0U, 0) != 0)
        for (int fd = 3; fd < 4096; ++fd) ::close(fd);
      ::execv(argv[0], argv.data());
      constexpr char failed[] = "llama_server_process: execv failed\n";
      [[maybe_unused]] const ssize_t ignored = ::write(2, failed, sizeof failed - 1);
      ::_exit(127);
    }
    pid_ = child;
    running_ = true;
  }

  // "" once GET /health answers 200; otherwise why not.
  std::string wait_until_ready() {
    const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (reap(false)) return "llama-server " + exit_description_ + " before GET /health answered 200";
      try {
        if (loopback_http(port_, "GET", "/health", {}, std::chrono::seconds(5)).status == 200) return {};
      } catch (const std::exception&) {
        // Not listening yet, or closed the connection while starting.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "GET /health did not answer 200 within " + std::to_string(options_.ready_timeout.count()) + " s";
  }

  // Reaps the child if it has ended (or, with `block`, once it ends); true when reaped.
  bool reap(bool block) noexcept {
    if (!running_) return true;
    int status = 0;
    pid_t got;
    do got = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == 0) return false;
    running_ = false;
    if (got < 0)
      exit_description_ = "could not be waited for";
    else if (WIFEXITED(status))
      exit_description_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      exit_description_ = "was killed by signal " + std::to_string(WTERMSIG(status));
    return true;
  }

  void remove_folder() noexcept {
    std::error_code ignored;
    if (!folder_.empty()) std::filesystem::remove_all(folder_, ignored);
  }

  llama_server_options options_;
  std::filesystem::path folder_;
  std::filesystem::path log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool running_ = false;
  std::string exit_description_;
};

}  // namespace ttscale_test
