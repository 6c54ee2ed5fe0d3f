// ttscale/adapters/openai_http/generator.hpp: every ttscale strategy on
// OpenAI-compatible servers (llama-server, vLLM, SGLang) — a batch-first
// generator whose items are concurrent POST /v1/completions requests.
//
//   ttscale::openai_http::transport link({.endpoints = {"http://gpu1:8000", "http://gpu2:8000"},
//                                         .max_in_flight = 64});
//   ttscale::openai_http::generator gen(link, {.step_delimiter = "\n\n",
//                                              .sampling = {.temperature = 0.8}});
//   auto r = ttscale::beam_search(gen, prm, prompt, options, rng);
//
// One step of item i is one completion: prompt = the trajectory's text
// (render(t), default t.text()), stop = [step_delimiter] + finish_strings,
// max_tokens = max_step_tokens, sampling stated in full, and a seed drawn
// from the item's random stream (engines[i]), so that a run replays: the same
// seed gives the same requests, whichever endpoint serves them and however
// the strategy batched the items (llama-server and vLLM sample a seeded
// request reproducibly; continuous batching can still move a logit by
// rounding, which flips a draw only at a near tie: 960 seeded requests to
// llama-server under 16-way concurrency gave the serial texts, while their
// log-probabilities moved by ~1e-5 — so a verifier that reads step.logprob
// can rank differently from run to run). The returned step is the
// text plus the stop string that ended it (servers cut it), finished at
// end-of-generation or a finish string; step.tokens and step.logprob come
// from the response (completions.hpp, "Token counts").
//
// Requests run concurrently, at most transport_options::max_in_flight over
// every endpoint and every thread (the generator is thread-safe, so
// strategies that run batches on several threads may). The prefix is sent in
// full each time: the servers' prefix caches (llama-server's cache_prompt,
// vLLM's automatic prefix caching, SGLang's radix cache) make a shared prefix
// cheap on the server, so no node state is kept here and there is nothing to
// release.
//
// Cancellation: the generator is stoppable — first-finish search in threads
// mode stops the losers, and their transfers are closed at once, which
// llama-server and vLLM take as a client disconnect and free the slot
// (tested against llama-server). A cancelled item's slot stays unwritten
// (an empty unfinished step for the strategy).
//
// Prompt lists: with requests.prompts_per_request > 1 a request carries
// several prompts (the completions API accepts a list) and one seed, the
// first item's; results then depend on how items were grouped. Keep 1 (the
// default) where runs must replay across batch sizes; llama-server needs 1.
//
// Errors: an http_error (a ttscale::error) naming the endpoint, the HTTP
// status and the field, raised from extend; a strategy wraps it into
// generator_failure with the exact accounting so far.
#pragma once

#include <ttscale/adapters/openai_http/completions.hpp>
#include <ttscale/adapters/openai_http/transport.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/generator.hpp>
#include <ttscale/kernels/sample_logits.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace openai_http {

struct generator_options {
  std::string step_delimiter = "\n\n";  ///< a step ends with it ("" = no delimiter: a step is a whole completion)
  std::uint32_t max_step_tokens = 256;  ///< max_tokens of each request; the step ends there, unfinished
  /// Stop strings that end the trajectory (e.g. "</answer>"): the step ends,
  /// finished, with the string; end-of-generation finishes it too.
  std::vector<std::string> finish_strings{};
  kernels::sampling_params sampling{};  ///< temperature, top_k (0 = off), top_p, min_p: all sent
  bool logprobs = true;                 ///< ask for token log-probabilities (step.logprob)
  request_options requests{};           ///< model, dialect, prompts per request, extra fields
  /// The prompt text of a prefix; empty: t.text() (the prompt and every step).
  std::function<std::string(const trajectory&)> render{};
};

/// What the generator did, over its life.
struct generator_stats {
  std::uint64_t calls = 0;           ///< extend calls with at least one item
  std::uint64_t items = 0;           ///< steps requested
  std::uint64_t steps = 0;           ///< steps returned (cancelled items excluded)
  std::uint64_t tokens = 0;          ///< their tokens
  std::uint64_t prompt_tokens = 0;   ///< usage.prompt_tokens summed over responses
  std::uint64_t cached_prompt_tokens = 0;  ///< usage.prompt_tokens_details.cached_tokens where reported
  double cpu_seconds = 0;            ///< CPU time of the calling threads inside extend (JSON, curl): the adapter's own cost
};

/// The generator; see the header comment.
class generator {
 public:
  generator(transport& link, generator_options options)
      : options_(std::move(options)), client_(link, options_.requests, true, "openai_http::generator") {
    ttscale::detail::require_at_least("openai_http::generator", "max_step_tokens", options_.max_step_tokens, 1);
    for (const std::string& f : options_.finish_strings)
      if (f.empty()) throw invalid_argument("openai_http::generator: a finish string is empty");
  }

  static constexpr bool thread_safe = true;

  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out,
              std::stop_token stop = {}) {
    if (prefixes.size() != engines.size() || prefixes.size() != out.size())
      throw size_mismatch("openai_http::generator: prefixes, engines and out differ in size");
    if (prefixes.empty()) return;
    const double cpu_start = thread_cpu_seconds();
    const server_info server = client_.server();

    std::vector<std::string> prompts(prefixes.size());
    std::vector<std::uint32_t> seeds(prefixes.size());
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      prompts[i] = options_.render ? options_.render(prefixes[i]) : prefixes[i].text();
      seeds[i] = static_cast<std::uint32_t>(engines[i]() >> 33);  // 31 bits: every server's seed type holds it
    }
    nlohmann::json body = {{"max_tokens", options_.max_step_tokens}, {"stream", false}};
    std::vector<std::string> stops;
    if (!options_.step_delimiter.empty()) stops.push_back(options_.step_delimiter);
    stops.insert(stops.end(), options_.finish_strings.begin(), options_.finish_strings.end());
    if (!stops.empty()) body["stop"] = stops;
    if (options_.logprobs) body["logprobs"] = 1;
    put_sampling(body, options_.sampling, server.dialect, "openai_http::generator");

    generator_stats call;
    call.calls = 1;
    call.items = prefixes.size();
    try {
      client_.run(
          prompts, body, [&](std::size_t first) { return std::optional<std::uint32_t>(seeds[first]); },
          [&](std::size_t first, completions_response& r, const http_response& resp) {
            for (std::size_t k = 0; k < r.choices.size(); ++k) {
              out[first + k] = to_step(r.choices[k], resp, first + k);
              ++call.steps;
              call.tokens += out[first + k].tokens;
            }
            call.prompt_tokens += r.prompt_tokens;
            call.cached_prompt_tokens += r.cached_prompt_tokens;
          },
          stop);
    } catch (...) {
      record(call, cpu_start);
      throw;
    }
    record(call, cpu_start);
  }

  [[nodiscard]] generator_stats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }
  [[nodiscard]] const generator_options& options() const noexcept { return options_; }
  /// The model and dialect in use (probes the server on first use).
  server_info server() { return client_.server(); }

 private:
  static double thread_cpu_seconds() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }

  void record(const generator_stats& call, double cpu_start) {
    const double cpu = thread_cpu_seconds() - cpu_start;
    std::lock_guard lock(stats_mutex_);
    stats_.calls += call.calls;
    stats_.items += call.items;
    stats_.steps += call.steps;
    stats_.tokens += call.tokens;
    stats_.prompt_tokens += call.prompt_tokens;
    stats_.cached_prompt_tokens += call.cached_prompt_tokens;
    stats_.cpu_seconds += cpu;
  }

  step to_step(completion_choice& c, const http_response& resp, std::size_t item) const {
    step s;
    s.text = std::move(c.text);
    s.tokens = c.tokens;
    s.logprob = c.logprob;
    switch (c.end) {
      case choice_end::length: break;
      case choice_end::end_of_generation: s.finished = true; break;
      case choice_end::stop_string: {
        s.text += c.matched_stop;
        if (c.matched_stop == options_.step_delimiter && !options_.step_delimiter.empty()) break;
        if (std::find(options_.finish_strings.begin(), options_.finish_strings.end(), c.matched_stop) !=
            options_.finish_strings.end()) {
          s.finished = true;
          break;
        }
        throw http_error("openai_http::generator: " + resp.endpoint + " (HTTP " + std::to_string(resp.status) +
                             "): item " + std::to_string(item) + " stopped at \"" + c.matched_stop +
                             "\", which is neither the step delimiter nor a finish string sent",
                         resp.endpoint, resp.status);
      }
    }
    if (!s.finished && s.text.empty() && s.tokens == 0)
      throw http_error("openai_http::generator: " + resp.endpoint + " (HTTP " + std::to_string(resp.status) +
                           "): item " + std::to_string(item) +
                           " came back empty and unfinished (no text, 0 tokens, finish_reason \"length\")",
                       resp.endpoint, resp.status);
    return s;
  }

  generator_options options_;
  completions_client client_;
  mutable std::mutex stats_mutex_;
  generator_stats stats_;
};

}  // namespace openai_http
TTSCALE_END_NAMESPACE
