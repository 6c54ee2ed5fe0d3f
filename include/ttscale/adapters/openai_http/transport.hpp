// ttscale/adapters/openai_http/transport.hpp: HTTP for the OpenAI-compatible
// adapter — many requests in flight over several endpoints, with timeouts,
// retries, endpoints marked down, and cancellation.
//
// Optional adapter: needs libcurl (CMake: TTSCALE_WITH_OPENAI_HTTP and the
// target ttscale::openai_http); the umbrella header never includes it.
//
// Why libcurl (Debian's libcurl4-openssl-dev) and not cpp-httplib: its multi
// interface runs every request of a batch from the calling thread — no thread
// per request — with per-request timeouts, connection reuse, HTTPS and
// proxies; and removing a transfer from the multi handle closes its
// connection at once, which is how a cancelled request tells the server to
// free its slot (llama-server and vLLM abort a request whose client
// disconnected, streamed or not). Debian's cpp-httplib 0.11 is a compiled
// library with a blocking client: N requests in flight would need N threads,
// and a cancel would need each client's socket closed from outside.
//
// One client serves any number of concurrent callers (a thread-safe
// generator's batches may run on several threads): each call drives its own
// curl multi handle (taken from a pool, so connections are reused across
// calls), while the bound on requests in flight, the endpoints' health and
// the counters are shared.
//
// Retries. A request that fails with a connection error (refused, reset,
// nothing received, truncated), a timeout, HTTP 429 or 5xx is retried after an
// exponential backoff with jitter (delay = min(max_backoff, initial_backoff *
// 2^(attempt-1)) * U[0.5, 1]), on another endpoint when there is one, up to
// max_attempts per request and a retry budget per call (retry_budget_min +
// retry_budget_ratio * requests) so that a dead cluster fails fast instead of
// multiplying its load. An endpoint that failed with anything but 429 is
// marked down for `down_for`: requests go to the others meanwhile (or to the
// one down the longest, when all are down). Other statuses (400, 401, 404...)
// are not retried: the request itself is wrong.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace openai_http {

/// An HTTP exchange failed or answered something the adapter cannot use.
/// The message names the endpoint, the HTTP status (0: no response) and, for
/// a malformed body, the field; endpoint() and status() give them too.
class http_error : public ttscale::error {
 public:
  http_error(const std::string& what, std::string endpoint, long status)
      : ttscale::error(what), endpoint_(std::move(endpoint)), status_(status) {}
  [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }
  /// The HTTP status of the last response, 0 when there was none.
  [[nodiscard]] long status() const noexcept { return status_; }

 private:
  std::string endpoint_;
  long status_;
};

struct transport_options {
  /// Base URLs, e.g. {"http://10.0.0.1:8000", "http://10.0.0.2:8000"}; the
  /// API paths ("/v1/completions") are appended. At least one.
  std::vector<std::string> endpoints{};
  /// Environment variable holding the API key, sent as "Authorization:
  /// Bearer <key>"; unset or empty variable: no header.
  std::string api_key_env = "OPENAI_API_KEY";
  std::chrono::milliseconds connect_timeout{5'000};
  /// Whole-request limit for one attempt: a stalled server fails here (and is
  /// retried elsewhere). Generous by default — a long step takes long.
  std::chrono::milliseconds request_timeout{120'000};
  /// Requests in flight over all endpoints and all concurrent callers.
  std::size_t max_in_flight = 16;
  std::size_t max_attempts = 4;  ///< per request, the first included
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  std::size_t retry_budget_min = 8;  ///< retries one call may spend: min + ratio * requests
  double retry_budget_ratio = 0.25;
  std::chrono::milliseconds down_for{10'000};  ///< how long a failed endpoint is avoided
};

/// One request: POST `body` (JSON) to endpoint + `path`, or GET when body is empty.
struct http_request {
  std::string path;
  std::string body;
};

struct http_response {
  long status = 0;
  std::string body;
  std::string endpoint;  ///< the base URL that answered
};

/// Counters over the client's life (all callers).
struct transport_stats {
  std::uint64_t requests = 0;        ///< requests completed with a usable response
  std::uint64_t attempts = 0;        ///< HTTP attempts started (retries included)
  std::uint64_t retries = 0;         ///< attempts after a failed one
  std::uint64_t cancelled = 0;       ///< transfers closed because the caller's stop was requested
  std::uint64_t bytes_sent = 0;      ///< request bodies
  std::uint64_t bytes_received = 0;  ///< response bodies
  std::size_t max_in_flight_seen = 0;
  std::vector<std::uint64_t> per_endpoint{};  ///< usable responses per endpoint, in options order
};

namespace detail {
inline void curl_global_once() {
  static const bool ok = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!ok) throw ttscale::error("openai_http: curl_global_init failed");
}

inline std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

inline std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}
}  // namespace detail

/// The HTTP client; see the header comment.
class transport {
 public:
  explicit transport(transport_options options) : options_(std::move(options)) {
    if (options_.endpoints.empty()) throw invalid_argument("openai_http: options.endpoints is empty (give at least one base URL)");
    ttscale::detail::require_at_least("openai_http", "options.max_in_flight", options_.max_in_flight, 1);
    ttscale::detail::require_at_least("openai_http", "options.max_attempts", options_.max_attempts, 1);
    if (!(options_.retry_budget_ratio >= 0.0))
      throw invalid_argument("openai_http: options.retry_budget_ratio must be >= 0");
    for (std::string& e : options_.endpoints) {
      e = detail::trim_slash(e);
      if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
        throw invalid_argument("openai_http: endpoint \"" + e + "\" is not an http:// or https:// URL");
    }
    detail::curl_global_once();
    health_.resize(options_.endpoints.size());
    stats_.per_endpoint.assign(options_.endpoints.size(), 0);
    if (const char* key = std::getenv(options_.api_key_env.c_str()); key != nullptr && *key != '\0')
      auth_header_ = std::string("Authorization: Bearer ") + key;
  }
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  ~transport() {
    for (CURLM* m : idle_multis_) curl_multi_cleanup(m);
  }

  [[nodiscard]] const transport_options& options() const noexcept { return options_; }

  [[nodiscard]] transport_stats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  /// Requests in flight right now (all callers).
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(); }

  /// Runs every request, at most options.max_in_flight at a time over all
  /// callers, and calls on_done(i, response) on this thread as each one
  /// succeeds (status 2xx). Throws http_error once a request fails for good
  /// (after its retries; the other transfers are closed first); an exception
  /// from on_done closes the others and propagates. If `stop` is requested,
  /// the transfers in flight are closed (the servers see the disconnect) and
  /// run returns: the requests not done never get on_done.
  void run(std::span<const http_request> requests, const std::function<void(std::size_t, http_response&)>& on_done,
           std::stop_token stop = {}) {
    if (requests.empty()) return;
    multi_lease multi(*this);
    call state(*this, multi.get(), requests, on_done);
    std::stop_callback wake(stop, [&] { curl_multi_wakeup(multi.get()); });
    try {
      state.loop(stop);
    } catch (...) {
      state.close_all(false);
      throw;
    }
    state.close_all(true);
  }

  /// GET `path` from one endpoint (no retries, no bound): for probing.
  http_response get(std::size_t endpoint, const std::string& path) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
    if (!easy) throw ttscale::error("openai_http: curl_easy_init failed");
    http_response r;
    r.endpoint = options_.endpoints.at(endpoint);
    const std::string url = r.endpoint + path;
    curl_slist* headers = auth_header_.empty() ? nullptr : curl_slist_append(nullptr, auth_header_.c_str());
    setup_easy(easy.get(), url, nullptr, headers, &r.body);
    const CURLcode rc = curl_easy_perform(easy.get());
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
      throw http_error("openai_http: GET " + url + " failed: " + curl_easy_strerror(rc), r.endpoint, 0);
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

 private:
  using clock = std::chrono::steady_clock;

  struct endpoint_health {
    clock::time_point down_until{};
    std::size_t in_flight = 0;
  };

  /// A multi handle from the pool (connections stay cached in it).
  class multi_lease {
   public:
    explicit multi_lease(transport& t) : t_(t) {
      std::lock_guard lock(t_.mutex_);
      if (!t_.idle_multis_.empty()) {
        multi_ = t_.idle_multis_.back();
        t_.idle_multis_.pop_back();
      }
      if (multi_ == nullptr) multi_ = curl_multi_init();
      if (multi_ == nullptr) throw ttscale::error("openai_http: curl_multi_init failed");
    }
    ~multi_lease() {
      std::lock_guard lock(t_.mutex_);
      t_.idle_multis_.push_back(multi_);
    }
    multi_lease(const multi_lease&) = delete;
    multi_lease& operator=(const multi_lease&) = delete;
    [[nodiscard]] CURLM* get() const noexcept { return multi_; }

   private:
    transport& t_;
    CURLM* multi_ = nullptr;
  };

  void setup_easy(CURL* e, const std::string& url, const std::string* body, curl_slist* headers,
                  std::string* sink) const {
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &detail::append_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (body != nullptr) {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
  }

  /// The endpoint for a new attempt: the least loaded of those up, avoiding
  /// `avoid` when another is up; when all are down, the one down longest.
  std::size_t pick_endpoint(std::optional<std::size_t> avoid) {
    const auto now = clock::now();
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < health_.size(); ++k) {
      const std::size_t e = (next_endpoint_ + k) % health_.size();
      if (health_[e].down_until > now || (avoid && *avoid == e && health_.size() > 1)) continue;
      if (!best || health_[e].in_flight < health_[*best].in_flight) best = e;
    }
    if (!best) {  // every endpoint is down (or the only other one is `avoid`)
      best = 0;
      for (std::size_t e = 1; e < health_.size(); ++e)
        if (health_[e].down_until < health_[*best].down_until) best = e;
    }
    next_endpoint_ = (*best + 1) % health_.size();
    return *best;
  }

  /// One run()'s transfers.
  struct call {
    struct transfer {
      std::size_t request = 0;
      std::size_t endpoint = 0;
      std::size_t attempt = 0;  ///< 1 for the first
      CURL* easy = nullptr;
      std::string body;
      clock::time_point not_before{};  ///< a retry waits for its backoff
    };

    transport& t;
    CURLM* multi;
    std::span<const http_request> requests;
    const std::function<void(std::size_t, http_response&)>& on_done;
    curl_slist* headers = nullptr;
    std::vector<transfer> waiting{};       // not started (or backing off), in order
    std::vector<transfer> running{};       // in the multi handle
    std::size_t retries_left = 0;
    std::mt19937_64 jitter{};

    call(transport& owner, CURLM* m, std::span<const http_request> reqs,
         const std::function<void(std::size_t, http_response&)>& done)
        : t(owner), multi(m), requests(reqs), on_done(done) {
      headers = curl_slist_append(nullptr, "Content-Type: application/json");
      if (!t.auth_header_.empty()) headers = curl_slist_append(headers, t.auth_header_.c_str());
      // Empty "Expect:" stops libcurl from waiting for "100 Continue" before large bodies.
      headers = curl_slist_append(headers, "Expect:");
      retries_left = t.options_.retry_budget_min +
                     static_cast<std::size_t>(t.options_.retry_budget_ratio * static_cast<double>(reqs.size()));
      // Jitter only spreads retries in time; results never depend on it.
      jitter.seed(static_cast<std::uint64_t>(clock::now().time_since_epoch().count()));
      waiting.reserve(reqs.size());
      for (std::size_t i = reqs.size(); i-- > 0;) {
        transfer tr;
        tr.request = i;
        waiting.push_back(std::move(tr));
      }
    }
    call(const call&) = delete;
    call& operator=(const call&) = delete;
    ~call() { curl_slist_free_all(headers); }

    void loop(const std::stop_token& stop) {
      while (!waiting.empty() || !running.empty()) {
        if (stop.stop_requested()) {
          close_all(true);
          return;
        }
        start_ready();
        int still = 0;
        const CURLMcode pm = curl_multi_perform(multi, &still);
        if (pm != CURLM_OK) throw ttscale::error(std::string("openai_http: curl_multi_perform: ") + curl_multi_strerror(pm));
        collect();
        if (waiting.empty() && running.empty()) break;
        int timeout_ms = 50;
        if (running.empty() && !waiting.empty()) {
          const auto wait = waiting.back().not_before - clock::now();
          timeout_ms = static_cast<int>(std::clamp<long long>(
              std::chrono::duration_cast<std::chrono::milliseconds>(wait).count(), 0, 50));
        }
        curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
      }
    }

    /// Starts waiting transfers while the shared bound allows.
    void start_ready() {
      const auto now = clock::now();
      // `waiting` is a stack: the next request (lowest index) is at the back;
      // retries are inserted by their not_before so they start in time order.
      while (!waiting.empty() && waiting.back().not_before <= now) {
        std::size_t cur = t.in_flight_.load();
        bool got = false;
        while (cur < t.options_.max_in_flight) {
          if (t.in_flight_.compare_exchange_weak(cur, cur + 1)) {
            got = true;
            break;
          }
        }
        if (!got) return;
        transfer tr = std::move(waiting.back());
        waiting.pop_back();
        start(std::move(tr));
      }
    }

    void start(transfer tr) {
      std::optional<std::size_t> avoid;
      if (tr.attempt > 0) avoid = tr.endpoint;
      {
        std::lock_guard lock(t.mutex_);
        tr.endpoint = t.pick_endpoint(avoid);
        ++t.health_[tr.endpoint].in_flight;
        ++t.stats_.attempts;
        if (tr.attempt > 0) ++t.stats_.retries;
        t.stats_.max_in_flight_seen = std::max(t.stats_.max_in_flight_seen, t.in_flight_.load());
        t.stats_.bytes_sent += requests[tr.request].body.size();
      }
      ++tr.attempt;
      tr.body.clear();
      tr.easy = curl_easy_init();
      if (tr.easy == nullptr) {
        release_slot(tr);
        throw ttscale::error("openai_http: curl_easy_init failed");
      }
      const http_request& rq = requests[tr.request];
      const std::string url = t.options_.endpoints[tr.endpoint] + rq.path;
      running.push_back(std::move(tr));
      transfer& r = running.back();
      t.setup_easy(r.easy, url, rq.body.empty() ? nullptr : &rq.body, headers, &r.body);
      // running may reallocate: the sink pointer must follow the element.
      curl_easy_setopt(r.easy, CURLOPT_PRIVATE, reinterpret_cast<char*>(r.easy));
      curl_multi_add_handle(multi, r.easy);
      fix_sinks();
    }

    void fix_sinks() {
      for (transfer& r : running) curl_easy_setopt(r.easy, CURLOPT_WRITEDATA, &r.body);
    }

    void release_slot(const transfer& tr) {
      t.in_flight_.fetch_sub(1);
      std::lock_guard lock(t.mutex_);
      --t.health_[tr.endpoint].in_flight;
    }

    void finish_easy(transfer& tr) {
      curl_multi_remove_handle(multi, tr.easy);
      curl_easy_cleanup(tr.easy);
      tr.easy = nullptr;
      release_slot(tr);
    }

    /// Handles every transfer curl reports done.
    void collect() {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        const auto it = std::find_if(running.begin(), running.end(),
                                     [&](const transfer& r) { return r.easy == msg->easy_handle; });
        if (it == running.end()) continue;
        const CURLcode rc = msg->data.result;
        long status = 0;
        curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
        transfer tr = std::move(*it);
        running.erase(it);
        fix_sinks();
        finish_easy(tr);
        handle(std::move(tr), rc, status);
      }
    }

    void handle(transfer tr, CURLcode rc, long status) {
      const std::string& endpoint = t.options_.endpoints[tr.endpoint];
      const bool ok = rc == CURLE_OK && status >= 200 && status < 300;
      if (ok) {
        http_response resp{status, std::move(tr.body), endpoint};
        {
          std::lock_guard lock(t.mutex_);
          ++t.stats_.requests;
          ++t.stats_.per_endpoint[tr.endpoint];
          t.stats_.bytes_received += resp.body.size();
        }
        on_done(tr.request, resp);
        return;
      }
      const bool retryable = rc != CURLE_OK || status == 429 || status >= 500;
      std::string what = rc != CURLE_OK ? std::string(curl_easy_strerror(rc))
                                        : "HTTP " + std::to_string(status) + body_excerpt(tr.body);
      if (retryable && status != 429) mark_down(tr.endpoint);
      if (!retryable)
        throw http_error("openai_http: " + endpoint + requests[tr.request].path + " answered " + what +
                             " (request " + std::to_string(tr.request) + ", not retried: the request itself was refused)",
                         endpoint, status);
      if (tr.attempt >= t.options_.max_attempts || retries_left == 0)
        throw http_error("openai_http: " + endpoint + requests[tr.request].path + " failed: " + what + " (request " +
                             std::to_string(tr.request) + ", attempt " + std::to_string(tr.attempt) + " of " +
                             std::to_string(t.options_.max_attempts) +
                             (retries_left == 0 ? "; the call's retry budget is spent" : "") + ")",
                         endpoint, status);
      --retries_left;
      const double base = std::min<double>(static_cast<double>(t.options_.max_backoff.count()),
                                           static_cast<double>(t.options_.initial_backoff.count()) *
                                               static_cast<double>(1ULL << std::min<std::size_t>(tr.attempt - 1, 30)));
      const double scale = 0.5 + 0.5 * std::uniform_real_distribution<double>(0.0, 1.0)(jitter);
      tr.not_before = clock::now() + std::chrono::microseconds(static_cast<long long>(base * scale * 1000.0));
      // Keep `waiting` ordered so that its back is the earliest ready.
      const auto pos = std::find_if(waiting.begin(), waiting.end(),
                                    [&](const transfer& w) { return w.not_before <= tr.not_before; });
      waiting.insert(pos, std::move(tr));
    }

    void mark_down(std::size_t endpoint) {
      std::lock_guard lock(t.mutex_);
      t.health_[endpoint].down_until = clock::now() + t.options_.down_for;
    }

    static std::string body_excerpt(const std::string& body) {
      if (body.empty()) return "";
      std::string s = body.substr(0, 200);
      for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
      return ": " + s + (body.size() > 200 ? "..." : "");
    }

    /// Closes every running transfer (cancelled: counted as such).
    void close_all(bool count_cancelled) {
      for (transfer& r : running) {
        if (r.easy == nullptr) continue;
        finish_easy(r);
        if (count_cancelled) {
          std::lock_guard lock(t.mutex_);
          ++t.stats_.cancelled;
        }
      }
      running.clear();
      waiting.clear();
    }
  };

  transport_options options_;
  std::string auth_header_;
  std::atomic<std::size_t> in_flight_{0};
  mutable std::mutex mutex_;  // health_, stats_, idle_multis_, next_endpoint_
  std::vector<endpoint_health> health_;
  transport_stats stats_;
  std::vector<CURLM*> idle_multis_;
  std::size_t next_endpoint_ = 0;
};

}  // namespace openai_http
TTSCALE_END_NAMESPACE
