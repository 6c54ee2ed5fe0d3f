// ttscale/adapters/openai_http/completions.hpp: the OpenAI completions API as
// servers really speak it — what the adapter sends to POST /v1/completions and
// how it reads the answer, for llama-server, vLLM and SGLang alike.
//
// What differs between servers, and how it is handled:
//  - Which stop ended a choice. finish_reason is "stop" both at a stop string
//    and at end-of-generation, but a step that ended at the step delimiter
//    continues the trajectory while end-of-generation finishes it. vLLM says
//    which in choices[i].stop_reason (the stop string, a stop token id, or
//    null for EOS), SGLang in choices[i].matched_stop (the string, or the EOS
//    token id), llama-server only in its debug block "__verbose" (stop_type
//    "word" / "eos" / "limit" and stopping_word), which it adds when the
//    request says "verbose": true. The dialect (from GET /v1/models'
//    owned_by: "llamacpp", "vllm", "sglang") decides what to send; the reader
//    accepts any of the three.
//  - Log-probabilities: llama-server answers in the chat-style shape
//    logprobs.content[] = {token, logprob, top_logprobs[{token, logprob}]},
//    vLLM and SGLang in the legacy shape logprobs.tokens[],
//    token_logprobs[], top_logprobs[{token: logprob}]. Both are read.
//  - Stop strings are cut from the text (the OpenAI semantics): the reader
//    puts the matched one back, so a step's text is exactly what extends the
//    context.
//  - Token counts: usage.completion_tokens is the exact count when a response
//    holds one choice (it includes the stop string's tokens); with several
//    choices servers report usage for the first choice only, so each choice
//    is counted by its log-probability entries (llama-server drops the stop
//    string's tokens from those: a step that ended at the delimiter then
//    counts a token or two fewer — documented, not silent).
//  - Sampling defaults differ (llama-server applies top_k 40, top_p 0.95,
//    min_p 0.05 unless told): every request states temperature, top_p, top_k
//    and min_p explicitly, top_k "disabled" in each server's spelling.
#pragma once

#include <ttscale/adapters/openai_http/transport.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/sample_logits.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace openai_http {

/// Which server speaks: decides the extra fields sent (see the header comment).
enum class server_dialect {
  automatic,     ///< ask GET /v1/models once per endpoint (owned_by)
  llama_server,  ///< llama.cpp's llama-server: sends "verbose": true to learn which stop matched
  vllm,          ///< vLLM: top_k -1 when disabled; reads stop_reason
  sglang,        ///< SGLang: top_k -1 when disabled; reads matched_stop
  openai,        ///< strictly the OpenAI fields (no top_k / min_p; a "stop" is ambiguous)
};

inline const char* dialect_name(server_dialect d) noexcept {
  switch (d) {
    case server_dialect::automatic: return "automatic";
    case server_dialect::llama_server: return "llama_server";
    case server_dialect::vllm: return "vllm";
    case server_dialect::sglang: return "sglang";
    case server_dialect::openai: return "openai";
  }
  return "?";
}

/// What GET /v1/models said about one endpoint.
struct server_info {
  std::string model;  ///< the first model's id
  server_dialect dialect = server_dialect::openai;
};

/// Why a choice ended.
enum class choice_end {
  length,             ///< max_tokens reached
  stop_string,        ///< one of the request's stop strings (matched_stop says which)
  end_of_generation,  ///< the model's end-of-generation token (or a stop token id)
};

struct top_logprob {
  std::string token;
  double logprob = 0;
  std::optional<std::int64_t> id{};  ///< the token id where the server lists it (llama-server)
};

/// One choice of a completions response, as the adapter uses it.
struct completion_choice {
  std::string text;          ///< as the server returned it (the stop string cut)
  choice_end end = choice_end::length;
  std::string matched_stop;  ///< for stop_string
  std::uint32_t tokens = 0;  ///< see "Token counts" in the header comment
  double logprob = 0;        ///< sum of the listed tokens' log-probabilities (0 without logprobs)
  bool has_logprobs = false;
  std::vector<top_logprob> first_top{};  ///< the first generated token's top log-probabilities
};

namespace detail {
using json = nlohmann::json;

inline const char* json_kind(const json& j) noexcept {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "something else";
  }
}

/// Reads fields of one response, naming endpoint, status and field path in
/// every complaint.
class response_reader {
 public:
  response_reader(const http_response& r, std::string what) : r_(r), what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw http_error("openai_http: " + r_.endpoint + " " + what_ + " (HTTP " + std::to_string(r_.status) +
                         "): field \"" + field + "\" " + problem,
                     r_.endpoint, r_.status);
  }

  json parse() const {
    json j = json::parse(r_.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      std::string head = r_.body.substr(0, 80);
      for (char& c : head)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      throw http_error("openai_http: " + r_.endpoint + " " + what_ + " (HTTP " + std::to_string(r_.status) +
                           "): the body is not JSON (" + std::to_string(r_.body.size()) + " bytes: \"" + head +
                           (r_.body.size() > 80 ? "...\")" : "\")"),
                       r_.endpoint, r_.status);
    }
    if (!j.is_object()) fail("(top level)", std::string("is ") + json_kind(j) + ", expected an object");
    return j;
  }

  const json& member(const json& obj, const char* name, const std::string& path) const {
    const auto it = obj.find(name);
    if (it == obj.end()) fail(path, "is missing");
    return *it;
  }
  const json& array(const json& obj, const char* name, const std::string& path) const {
    const json& v = member(obj, name, path);
    if (!v.is_array()) fail(path, std::string("is ") + json_kind(v) + ", expected an array");
    return v;
  }
  std::string string(const json& obj, const char* name, const std::string& path) const {
    const json& v = member(obj, name, path);
    if (!v.is_string()) fail(path, std::string("is ") + json_kind(v) + ", expected a string");
    return v.get<std::string>();
  }
  double number(const json& v, const std::string& path) const {
    if (!v.is_number()) fail(path, std::string("is ") + json_kind(v) + ", expected a number");
    const double x = v.get<double>();
    if (std::isnan(x)) fail(path, "is NaN");
    return x;
  }

 private:
  const http_response& r_;
  std::string what_;
};

/// The log-probabilities of a choice, either shape.
inline void read_logprobs(const response_reader& in, const json& lp, const std::string& path, completion_choice& c) {
  if (lp.is_null()) return;
  if (!lp.is_object()) in.fail(path, std::string("is ") + json_kind(lp) + ", expected an object or null");
  c.has_logprobs = true;
  std::size_t count = 0;
  if (const auto content = lp.find("content"); content != lp.end()) {  // chat-style (llama-server)
    if (!content->is_array()) in.fail(path + ".content", std::string("is ") + json_kind(*content) + ", expected an array");
    for (std::size_t t = 0; t < content->size(); ++t) {
      const json& e = (*content)[t];
      const std::string ep = path + ".content[" + std::to_string(t) + "]";
      if (!e.is_object()) in.fail(ep, std::string("is ") + json_kind(e) + ", expected an object");
      c.logprob += in.number(in.member(e, "logprob", ep + ".logprob"), ep + ".logprob");
      if (t == 0)
        if (const auto top = e.find("top_logprobs"); top != e.end() && top->is_array())
          for (std::size_t k = 0; k < top->size(); ++k) {
            const json& o = (*top)[k];
            const std::string op = ep + ".top_logprobs[" + std::to_string(k) + "]";
            if (!o.is_object()) in.fail(op, std::string("is ") + json_kind(o) + ", expected an object");
            top_logprob alt{in.string(o, "token", op + ".token"),
                            in.number(in.member(o, "logprob", op + ".logprob"), op + ".logprob"), std::nullopt};
            if (const auto id = o.find("id"); id != o.end() && id->is_number_integer()) alt.id = id->get<std::int64_t>();
            c.first_top.push_back(std::move(alt));
          }
      ++count;
    }
  } else {  // legacy (vLLM, SGLang, OpenAI)
    const json& values = in.array(lp, "token_logprobs", path + ".token_logprobs");
    for (std::size_t t = 0; t < values.size(); ++t) {
      if (values[t].is_null()) continue;  // the legacy API puts null for a prompt's first token
      c.logprob += in.number(values[t], path + ".token_logprobs[" + std::to_string(t) + "]");
      ++count;
    }
    if (const auto top = lp.find("top_logprobs"); top != lp.end() && top->is_array() && !top->empty()) {
      const json& first = (*top)[0];
      const std::string fp = path + ".top_logprobs[0]";
      if (first.is_object())
        for (auto it = first.begin(); it != first.end(); ++it)
          c.first_top.push_back({it.key(), in.number(it.value(), fp + "[\"" + it.key() + "\"]"), std::nullopt});
      else if (!first.is_null())
        in.fail(fp, std::string("is ") + json_kind(first) + ", expected an object");
    }
  }
  c.tokens = static_cast<std::uint32_t>(count);
}

/// Which stop ended a "stop" choice: vLLM's stop_reason, SGLang's
/// matched_stop, or llama-server's __verbose block (single-choice responses).
inline void read_stop(const response_reader& in, const json& body, const json& choice, const std::string& path,
                      std::size_t n_choices, completion_choice& c) {
  auto from_value = [&](const json& v) -> bool {
    if (v.is_string()) {
      c.end = choice_end::stop_string;
      c.matched_stop = v.get<std::string>();
    } else {
      c.end = choice_end::end_of_generation;  // null (EOS) or a stop token id
    }
    return true;
  };
  if (const auto v = choice.find("stop_reason"); v != choice.end() && from_value(*v)) return;
  if (const auto v = choice.find("matched_stop"); v != choice.end() && from_value(*v)) return;
  if (const auto v = body.find("__verbose"); v != body.end() && v->is_object() && n_choices == 1) {
    const std::string type = v->value("stop_type", std::string());
    if (type == "word") {
      c.end = choice_end::stop_string;
      c.matched_stop = v->value("stopping_word", std::string());
      return;
    }
    if (type == "eos") {
      c.end = choice_end::end_of_generation;
      return;
    }
    if (type == "limit") {
      c.end = choice_end::length;
      return;
    }
  }
  in.fail(path + ".finish_reason",
          "is \"stop\" but the response does not say which stop matched (no choices[].stop_reason, "
          "choices[].matched_stop, or llama-server's __verbose.stop_type): the adapter cannot tell a step "
          "delimiter from the end of generation — set generator_options.dialect to the server's kind");
}
}  // namespace detail

/// A completions response as the adapter uses it.
struct completions_response {
  std::vector<completion_choice> choices;   ///< one per prompt sent, in prompt order
  std::uint64_t prompt_tokens = 0;          ///< usage.prompt_tokens (0 if not reported)
  std::uint64_t cached_prompt_tokens = 0;   ///< usage.prompt_tokens_details.cached_tokens (0 if not reported)
};

/// Reads a completions response: one choice per prompt, ordered by "index".
/// `expected` is the number of prompts sent; anything else is an http_error
/// naming endpoint, status and field. `which_stop`: a "stop" choice must say
/// which stop matched (a generator needs it; a one-token probe does not, and
/// then reads "stop" as end_of_generation).
inline completions_response read_completions(const http_response& r, std::size_t expected, bool which_stop = true) {
  const detail::response_reader in(r, "/v1/completions");
  const detail::json body = in.parse();
  const detail::json& choices = in.array(body, "choices", "choices");
  if (choices.size() != expected)
    in.fail("choices", "has " + std::to_string(choices.size()) + " entries, expected " + std::to_string(expected));
  completions_response result;
  std::vector<completion_choice>& out = result.choices;
  out.resize(expected);
  std::vector<bool> seen(expected, false);
  for (std::size_t k = 0; k < choices.size(); ++k) {
    const detail::json& ch = choices[k];
    const std::string path = "choices[" + std::to_string(k) + "]";
    if (!ch.is_object()) in.fail(path, std::string("is ") + detail::json_kind(ch) + ", expected an object");
    std::size_t index = k;
    if (const auto ix = ch.find("index"); ix != ch.end()) {
      if (!ix->is_number_unsigned() && !(ix->is_number_integer() && ix->get<long long>() >= 0))
        in.fail(path + ".index", std::string("is ") + detail::json_kind(*ix) + ", expected a non-negative integer");
      index = ix->get<std::size_t>();
      if (index >= expected) in.fail(path + ".index", "is " + std::to_string(index) + ", beyond the " + std::to_string(expected) + " prompts sent");
    }
    if (seen[index]) in.fail(path + ".index", "repeats index " + std::to_string(index));
    seen[index] = true;
    completion_choice& c = out[index];
    c.text = in.string(ch, "text", path + ".text");
    const detail::json& fr = in.member(ch, "finish_reason", path + ".finish_reason");
    if (!fr.is_string())
      in.fail(path + ".finish_reason", std::string("is ") + detail::json_kind(fr) + ", expected a string");
    if (const auto lp = ch.find("logprobs"); lp != ch.end()) detail::read_logprobs(in, *lp, path + ".logprobs", c);
    const std::string reason = fr.get<std::string>();
    if (reason == "length") c.end = choice_end::length;
    else if (reason == "stop" && which_stop) detail::read_stop(in, body, ch, path, expected, c);
    else if (reason == "stop") c.end = choice_end::end_of_generation;
    else in.fail(path + ".finish_reason", "is \"" + reason + "\", expected \"stop\" or \"length\"");
  }
  auto count = [&](const detail::json& v, const std::string& path) -> std::uint64_t {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
      in.fail(path, std::string("is ") + detail::json_kind(v) + ", expected a count");
    return v.get<std::uint64_t>();
  };
  bool counted = false;
  if (const auto usage = body.find("usage"); usage != body.end() && usage->is_object()) {
    if (const auto pt = usage->find("prompt_tokens"); pt != usage->end())
      result.prompt_tokens = count(*pt, "usage.prompt_tokens");
    if (const auto d = usage->find("prompt_tokens_details"); d != usage->end() && d->is_object())
      if (const auto c = d->find("cached_tokens"); c != d->end())
        result.cached_prompt_tokens = count(*c, "usage.prompt_tokens_details.cached_tokens");
    if (const auto ct = usage->find("completion_tokens"); ct != usage->end() && expected == 1) {
      out[0].tokens = static_cast<std::uint32_t>(count(*ct, "usage.completion_tokens"));
      counted = true;
    }
  }
  if (!counted)
    for (std::size_t k = 0; k < out.size(); ++k)
      if (!out[k].has_logprobs && !out[k].text.empty())
        in.fail("choices[" + std::to_string(k) + "].logprobs",
                "is missing and the response has no single-choice usage.completion_tokens: the adapter cannot "
                "count the choice's tokens (request logprobs)");
  return result;
}

/// GET /v1/models on one endpoint: the first model's id and the dialect its
/// owned_by names (llama-server: "llamacpp"; vLLM: "vllm"; SGLang: "sglang";
/// anything else or no /v1/models: openai).
inline server_info probe_server(transport& t, std::size_t endpoint) {
  const http_response r = t.get(endpoint, "/v1/models");
  server_info info;
  if (r.status == 404) return info;
  if (r.status < 200 || r.status >= 300)
    throw http_error("openai_http: " + r.endpoint + " GET /v1/models answered HTTP " + std::to_string(r.status),
                     r.endpoint, r.status);
  const detail::response_reader in(r, "GET /v1/models");
  const detail::json body = in.parse();
  const detail::json& data = in.array(body, "data", "data");
  if (data.empty()) in.fail("data", "is empty: the server serves no model");
  if (!data[0].is_object()) in.fail("data[0]", std::string("is ") + detail::json_kind(data[0]) + ", expected an object");
  info.model = in.string(data[0], "id", "data[0].id");
  const std::string owner = data[0].value("owned_by", std::string());
  if (owner == "llamacpp") info.dialect = server_dialect::llama_server;
  else if (owner == "vllm") info.dialect = server_dialect::vllm;
  else if (owner == "sglang") info.dialect = server_dialect::sglang;
  return info;
}

/// The sampling fields of a request, explicit for every server (see the
/// header comment); top_k / min_p cannot be sent to a strict OpenAI server.
inline void put_sampling(nlohmann::json& body, const kernels::sampling_params& s, server_dialect d,
                         const char* who) {
  if (!(s.temperature >= 0.0) || !std::isfinite(s.temperature))
    throw invalid_argument(std::string(who) + ": sampling.temperature must be finite and >= 0 (got " +
                           ttscale::detail::number_text(s.temperature) + ")");
  if (!(s.top_p > 0.0 && s.top_p <= 1.0))
    throw invalid_argument(std::string(who) + ": sampling.top_p must be in (0, 1] (got " +
                           ttscale::detail::number_text(s.top_p) + ")");
  if (!(s.min_p >= 0.0 && s.min_p <= 1.0))
    throw invalid_argument(std::string(who) + ": sampling.min_p must be in [0, 1] (got " +
                           ttscale::detail::number_text(s.min_p) + ")");
  body["temperature"] = s.temperature;
  body["top_p"] = s.top_p;
  if (d == server_dialect::openai) {
    if (s.top_k != 0 || s.min_p != 0.0)
      throw invalid_argument(std::string(who) + ": the OpenAI dialect has no top_k or min_p (got top_k " +
                             std::to_string(s.top_k) + ", min_p " + ttscale::detail::number_text(s.min_p) + ")");
    return;
  }
  const bool vllm_like = d == server_dialect::vllm || d == server_dialect::sglang;
  body["top_k"] = s.top_k == 0 ? (vllm_like ? -1 : 0) : static_cast<long long>(s.top_k);
  body["min_p"] = s.min_p;
}


/// How requests reach the server: the same for the generator and the
/// token-probability verifier.
struct request_options {
  std::string model{};  ///< "" = the first model GET /v1/models lists
  server_dialect dialect = server_dialect::automatic;
  /// Prompts per request (the completions API accepts a list). With more
  /// than 1 a request carries one seed, so a generator's results depend on
  /// how items were grouped; llama-server says which stop ended a choice
  /// only for a list's first prompt, so its generator needs 1.
  std::size_t prompts_per_request = 1;
  /// Extra request fields (e.g. {"logit_bias": ...}, {"repetition_penalty": 1.1});
  /// the adapter's own fields win.
  nlohmann::json extra_body = nlohmann::json::object();
};

/// Sends prompts to POST /v1/completions in requests of `prompts_per_request`
/// prompts and returns one choice per prompt; the model id and the dialect
/// are learnt once (GET /v1/models on the first endpoint that answers) unless
/// given. Shared by the generator and the token-probability verifier;
/// thread-safe. `which_stop`: see read_completions.
class completions_client {
 public:
  completions_client(transport& t, request_options o, bool which_stop, const char* who)
      : transport_(&t), options_(std::move(o)), which_stop_(which_stop), who_(who) {
    ttscale::detail::require_at_least(who_, "prompts_per_request", options_.prompts_per_request, 1);
    if (!options_.extra_body.is_object())
      throw invalid_argument(std::string(who_) + ": extra_body must be a JSON object (got " +
                             detail::json_kind(options_.extra_body) + ")");
  }

  /// The model and dialect in use (probing the server on first use).
  server_info server() {
    std::lock_guard lock(mutex_);
    if (resolved_) return *resolved_;
    server_info info{options_.model, options_.dialect};
    if (info.model.empty() || info.dialect == server_dialect::automatic) {
      std::string failures;
      std::optional<server_info> probed;
      for (std::size_t e = 0; e < transport_->options().endpoints.size() && !probed; ++e) {
        try {
          probed = probe_server(*transport_, e);
        } catch (const http_error& err) {
          failures += std::string(failures.empty() ? "" : "; ") + err.what();
        }
      }
      if (!probed)
        throw http_error(std::string(who_) + ": no endpoint answered GET /v1/models (" + failures + ")",
                         transport_->options().endpoints.front(), 0);
      if (info.model.empty()) info.model = probed->model;
      if (info.dialect == server_dialect::automatic) info.dialect = probed->dialect;
    }
    // llama-server reports which stop matched (its __verbose block) for the
    // first prompt of a list only, so a step delimiter and the end of
    // generation cannot be told apart for the others.
    if (info.dialect == server_dialect::llama_server && which_stop_ && options_.prompts_per_request > 1)
      throw invalid_argument(std::string(who_) + ": prompts_per_request is " +
                             std::to_string(options_.prompts_per_request) +
                             ", but llama-server says which stop ended a choice only for the first prompt of a "
                             "list: use 1 with llama-server (its slots batch concurrent requests anyway)");
    resolved_ = info;
    return info;
  }

  /// `body` holds the per-request fields common to all prompts (max_tokens,
  /// stop, sampling...); `seed_of(first_prompt_index)` gives a request's seed
  /// (nullopt: none sent). on_response(first, response, http) gets each
  /// request's choices, for prompts first, first + 1, ... A stop request
  /// closes the transfers in flight: their prompts get no on_response.
  template <class SeedOf, class OnResponse>
  void run(std::span<const std::string> prompts, const nlohmann::json& body, SeedOf&& seed_of,
           OnResponse&& on_response, std::stop_token stop = {}) {
    const std::size_t group = options_.prompts_per_request;
    const std::size_t n_requests = (prompts.size() + group - 1) / group;
    std::vector<http_request> requests(n_requests);
    const server_info info = server();
    for (std::size_t r = 0; r < n_requests; ++r) {
      nlohmann::json b = options_.extra_body;
      for (auto it = body.begin(); it != body.end(); ++it) b[it.key()] = it.value();
      b["model"] = info.model;
      // llama-server says which stop matched only in its debug block.
      if (info.dialect == server_dialect::llama_server && which_stop_) b["verbose"] = true;
      const std::size_t first = r * group, last = std::min(prompts.size(), first + group);
      if (last - first == 1) b["prompt"] = prompts[first];
      else b["prompt"] = std::vector<std::string>(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                                                  prompts.begin() + static_cast<std::ptrdiff_t>(last));
      if (const std::optional<std::uint32_t> seed = seed_of(first)) b["seed"] = *seed;
      requests[r] = {"/v1/completions", b.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
    }
    transport_->run(
        requests,
        [&](std::size_t r, http_response& resp) {
          const std::size_t first = r * group, last = std::min(prompts.size(), first + group);
          completions_response parsed = read_completions(resp, last - first, which_stop_);
          on_response(first, parsed, resp);
        },
        stop);
  }

  [[nodiscard]] transport& link() const noexcept { return *transport_; }

 private:
  transport* transport_;
  request_options options_;
  bool which_stop_;
  const char* who_;
  std::mutex mutex_;
  std::optional<server_info> resolved_;
};

}  // namespace openai_http
TTSCALE_END_NAMESPACE
