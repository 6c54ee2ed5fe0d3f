// ttscale/adapters/openai_http/verifier.hpp: reward models behind HTTP.
//
// token_probability_verifier — a Math-Shepherd-style PRM or an LLM judge
// served like any model (llama-server, vLLM, SGLang): the score of a
// trajectory is read from two next-token probabilities after a tag,
//
//   score = P(good) / (P(good) + P(bad)) = 1 / (1 + exp(logprob_bad - logprob_good)),
//
// the same formula as the in-process llama_cpp::token_probability_verifier.
// Each item is one completion request: prompt = render(t) + tag, max_tokens
// 1, logprobs = top_logprobs; the two log-probabilities are looked up by
// token text among the first token's top alternatives. Servers report those
// from the raw model distribution (llama-server without post_sampling_probs,
// vLLM's default), and temperature 1 with no truncation is sent anyway so
// that any reading agrees. If good or bad is not among the top alternatives
// the score cannot be computed: an http_error names the endpoint, the item
// and the tokens that were there (raise top_logprobs; vLLM caps it at 20 by
// default, llama-server allows the whole vocabulary). A PRM trained on the
// two tokens' ratio alone (as models/arithmetic-prm.gguf) leaves both far
// down the full distribution: ask for the whole vocabulary then.
//
// Which token is "good": by id where the server lists ids. Texts are not
// unique — a SentencePiece vocabulary with byte fallback has "+" as a
// character token and as the byte token <0x2B>, both listed as "+", with
// different probabilities. With llama-server the ids are learnt once from
// POST /tokenize (the token that tokenize(tag + good) adds to tokenize(tag),
// as the in-process verifier does); good_id / bad_id set them for any server.
// Matching by text is used only when no id is known, and a text listed twice
// is then an error rather than a guess.
//
// json_reward_verifier — a server that hosts a reward model behind its own
// JSON endpoint (vLLM's /classify or /pooling, a custom FastAPI service):
// POST path with {"model": ..., input_field: [texts...]}, scores read at a
// JSON pointer (scores_pointer: the array, one entry per text;
// score_pointer: the number inside an entry, "" for the entry itself). E.g.
// vLLM's /classify: scores_pointer "/data", score_pointer "/probs/1".
//
// Both are process verifiers (score_steps: the newest step in context) and
// outcome verifiers (score_outcomes), thread-safe, with their requests in
// flight concurrently over the transport's endpoints.
#pragma once

#include <ttscale/adapters/openai_http/completions.hpp>
#include <ttscale/adapters/openai_http/transport.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/trajectory.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <algorithm>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace openai_http {

namespace detail {
/// What a request sends for item `t`: render(t), or t's whole text (the
/// prompt and every step) written once into a string of its exact size, then
/// `tag`.
inline std::string prompt_text(const trajectory& t, const std::function<std::string(const trajectory&)>& render,
                               std::string_view tag = {}) {
  if (render) return render(t).append(tag);
  std::string out;
  out.reserve(t.text_size() + tag.size());
  t.append_text(out);
  return out.append(tag);
}
}  // namespace detail

/// Counters of a verifier over its life.
struct verifier_stats {
  std::uint64_t calls = 0;          ///< score calls with at least one item
  std::uint64_t items = 0;          ///< trajectories scored
  std::uint64_t prompt_tokens = 0;  ///< usage.prompt_tokens summed (token_probability_verifier, sampled_judge)
  std::uint64_t cached_prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;  ///< usage.completion_tokens summed (sampled_judge: rationales and verdicts)
};

struct token_probability_options {
  std::string step_tag = "\nIs this step correct? Answer:";     ///< after a prefix, for score_steps
  std::string outcome_tag = "\nIs the answer correct? Answer:";  ///< after a finished trajectory, for score_outcomes
  std::string good = " Yes";  ///< the good token's text as the server lists it
  std::string bad = " No";
  /// The text before the tag; empty: t.text() (the prompt and every step).
  std::function<std::string(const trajectory&)> render{};
  std::size_t top_logprobs = 20;  ///< alternatives asked for the first token
  std::optional<std::int64_t> good_id{};  ///< the good token's id (llama-server: learnt from /tokenize)
  std::optional<std::int64_t> bad_id{};
  request_options requests{};  ///< model, dialect, prompts per request (a list is fine here), extra fields
};

/// P(good) / (P(good) + P(bad)) after a tag, over HTTP; see the header comment.
class token_probability_verifier {
 public:
  token_probability_verifier(transport& link, token_probability_options options)
      : options_(std::move(options)),
        client_(link, options_.requests, /*which_stop=*/false, "openai_http::token_probability_verifier") {
    if (options_.good.empty() || options_.bad.empty() || options_.good == options_.bad)
      throw invalid_argument("openai_http::token_probability_verifier: good and bad must be two different "
                             "non-empty token texts (got \"" + options_.good + "\" and \"" + options_.bad + "\")");
    ttscale::detail::require_at_least("openai_http::token_probability_verifier", "top_logprobs", options_.top_logprobs, 2);
  }

  static constexpr bool thread_safe = true;

  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) {
    score(prefixes, out, options_.step_tag);
  }
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) {
    score(finished, out, options_.outcome_tag);
  }

  [[nodiscard]] verifier_stats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  void score(std::span<const trajectory> items, std::span<double> out, const std::string& tag) {
    if (items.size() != out.size())
      throw size_mismatch("openai_http::token_probability_verifier: items and out differ in size");
    if (items.empty()) return;
    const server_info server = client_.server();
    const judge_ids ids = ids_after(tag, server);
    std::vector<std::string> prompts(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
      prompts[i] = detail::prompt_text(items[i], options_.render, tag);
    nlohmann::json body = {{"max_tokens", 1}, {"logprobs", options_.top_logprobs}, {"stream", false}};
    put_sampling(body, kernels::sampling_params{}, server.dialect, "openai_http::token_probability_verifier");
    verifier_stats call;
    client_.run(
        prompts, body, [](std::size_t) { return std::optional<std::uint32_t>(0); },
        [&](std::size_t first, completions_response& r, const http_response& resp) {
          for (std::size_t k = 0; k < r.choices.size(); ++k)
            out[first + k] = read_score(r.choices[k], resp, first + k, ids);
          call.prompt_tokens += r.prompt_tokens;
          call.cached_prompt_tokens += r.cached_prompt_tokens;
        });
    std::lock_guard lock(stats_mutex_);
    ++stats_.calls;
    stats_.items += items.size();
    stats_.prompt_tokens += call.prompt_tokens;
    stats_.cached_prompt_tokens += call.cached_prompt_tokens;
  }

  struct judge_ids {
    std::optional<std::int64_t> good, bad;
  };

  /// The good and bad tokens' ids after `tag`: given, or asked of llama-server once.
  judge_ids ids_after(const std::string& tag, const server_info& server) {
    judge_ids ids{options_.good_id, options_.bad_id};
    if ((ids.good && ids.bad) || server.dialect != server_dialect::llama_server) return ids;
    std::lock_guard lock(ids_mutex_);
    if (const auto it = learnt_ids_.find(tag); it != learnt_ids_.end()) return it->second;
    const std::vector<std::int64_t> base = tokenize(tag);
    auto added = [&](const std::string& word) -> std::int64_t {
      const std::vector<std::int64_t> with = tokenize(tag + word);
      if (with.size() != base.size() + 1 || !std::equal(base.begin(), base.end(), with.begin()))
        throw invalid_argument("openai_http::token_probability_verifier: \"" + word +
                               "\" is not exactly one token after the tag \"" + tag + "\" (/tokenize gave " +
                               std::to_string(base.size()) + " tokens for the tag and " + std::to_string(with.size()) +
                               " with it)");
      return with.back();
    };
    if (!ids.good) ids.good = added(options_.good);
    if (!ids.bad) ids.bad = added(options_.bad);
    learnt_ids_.emplace(tag, ids);
    return ids;
  }

  /// llama-server's POST /tokenize (no BOS): the token ids of `text`.
  std::vector<std::int64_t> tokenize(const std::string& text) {
    const nlohmann::json body = {{"content", text}, {"add_special", false}};
    const std::vector<http_request> request{{"/tokenize", body.dump()}};
    std::vector<std::int64_t> out;
    client_.link().run(request, [&](std::size_t, http_response& resp) {
      const detail::response_reader in(resp, "/tokenize");
      const nlohmann::json j = in.parse();
      const nlohmann::json& tokens = in.array(j, "tokens", "tokens");
      for (std::size_t k = 0; k < tokens.size(); ++k) {
        if (!tokens[k].is_number_integer())
          in.fail("tokens[" + std::to_string(k) + "]", std::string("is ") + detail::json_kind(tokens[k]) + ", expected a token id");
        out.push_back(tokens[k].get<std::int64_t>());
      }
    });
    return out;
  }

  double read_score(const completion_choice& c, const http_response& resp, std::size_t item, const judge_ids& ids) const {
    auto fail = [&](const std::string& problem) {
      std::string listed;
      for (std::size_t k = 0; k < c.first_top.size() && k < 8; ++k)
        listed += (k ? ", \"" : "\"") + c.first_top[k].token + "\" " + ttscale::detail::number_text(c.first_top[k].logprob);
      throw http_error("openai_http::token_probability_verifier: " + resp.endpoint + " (HTTP " +
                           std::to_string(resp.status) + "): item " + std::to_string(item) + ": " + problem + " (" +
                           (listed.empty() ? std::string("none: the server returned no top_logprobs") : listed) + ")",
                       resp.endpoint, resp.status);
    };
    auto find = [&](const std::string& text, const std::optional<std::int64_t>& id) -> double {
      std::optional<double> found;
      std::size_t matches = 0;
      for (const top_logprob& t : c.first_top) {
        const bool hit = id && t.id ? *t.id == *id : t.token == text;
        if (!hit) continue;
        if (!found) found = t.logprob;
        ++matches;
      }
      if (!found)
        fail("\"" + text + "\"" + (id ? " (id " + std::to_string(*id) + ")" : std::string()) + " is not among the " +
             std::to_string(c.first_top.size()) + " top next tokens listed; raise top_logprobs or check the token texts");
      if (matches > 1)
        fail("\"" + text + "\" is listed " + std::to_string(matches) +
             " times among the top next tokens (different tokens with the same text, e.g. a byte-fallback token): "
             "set good_id and bad_id");
      return *found;
    };
    const double good = find(options_.good, ids.good);
    const double bad = find(options_.bad, ids.bad);
    return 1.0 / (1.0 + std::exp(bad - good));
  }

  token_probability_options options_;
  completions_client client_;
  std::mutex ids_mutex_;
  std::map<std::string, judge_ids> learnt_ids_;  // by tag
  mutable std::mutex stats_mutex_;
  verifier_stats stats_;
};

struct json_reward_options {
  std::string path = "/v1/rewards";    ///< appended to each endpoint
  std::string input_field = "input";   ///< the request's field holding the texts
  std::string scores_pointer = "/scores";  ///< JSON pointer to the array of results (one per text)
  std::string score_pointer{};         ///< JSON pointer inside a result to its number ("" = the result)
  std::string model{};                 ///< sent as "model" when not empty
  std::size_t items_per_request = 32;
  /// The text scored; empty: t.text().
  std::function<std::string(const trajectory&)> render{};
  nlohmann::json extra_body = nlohmann::json::object();
};

/// Scores from a JSON reward endpoint; see the header comment.
class json_reward_verifier {
 public:
  json_reward_verifier(transport& link, json_reward_options options) : link_(&link), options_(std::move(options)) {
    ttscale::detail::require_at_least("openai_http::json_reward_verifier", "items_per_request", options_.items_per_request, 1);
    try {
      scores_ = nlohmann::json::json_pointer(options_.scores_pointer);
      score_ = nlohmann::json::json_pointer(options_.score_pointer);
    } catch (const nlohmann::json::exception& e) {
      throw invalid_argument(std::string("openai_http::json_reward_verifier: a score pointer is not a JSON pointer "
                                         "(\"") + options_.scores_pointer + "\", \"" + options_.score_pointer +
                             "\"): " + e.what());
    }
    if (!options_.extra_body.is_object())
      throw invalid_argument("openai_http::json_reward_verifier: extra_body must be a JSON object");
  }

  static constexpr bool thread_safe = true;

  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) { score(prefixes, out); }
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) { score(finished, out); }

  [[nodiscard]] verifier_stats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  void score(std::span<const trajectory> items, std::span<double> out) {
    if (items.size() != out.size())
      throw size_mismatch("openai_http::json_reward_verifier: items and out differ in size");
    if (items.empty()) return;
    const std::size_t group = options_.items_per_request;
    std::vector<http_request> requests((items.size() + group - 1) / group);
    for (std::size_t r = 0; r < requests.size(); ++r) {
      nlohmann::json body = options_.extra_body;
      if (!options_.model.empty()) body["model"] = options_.model;
      nlohmann::json texts = nlohmann::json::array();
      for (std::size_t i = r * group; i < std::min(items.size(), (r + 1) * group); ++i)
        texts.push_back(detail::prompt_text(items[i], options_.render));
      body[options_.input_field] = std::move(texts);
      requests[r] = {options_.path, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
    }
    link_->run(requests, [&](std::size_t r, http_response& resp) {
      const std::size_t first = r * group, n = std::min(items.size(), first + group) - first;
      const detail::response_reader in(resp, options_.path);
      const nlohmann::json body = in.parse();
      if (!body.contains(scores_)) in.fail(options_.scores_pointer, "is missing");
      const nlohmann::json& scores = body.at(scores_);
      if (!scores.is_array()) in.fail(options_.scores_pointer, std::string("is ") + detail::json_kind(scores) + ", expected an array");
      if (scores.size() != n)
        in.fail(options_.scores_pointer, "has " + std::to_string(scores.size()) + " entries for the " + std::to_string(n) + " texts sent");
      for (std::size_t k = 0; k < n; ++k) {
        const std::string path = options_.scores_pointer + "/" + std::to_string(k) + options_.score_pointer;
        if (!scores[k].contains(score_)) in.fail(path, "is missing");
        const double s = in.number(scores[k].at(score_), path);
        if (!std::isfinite(s)) in.fail(path, "is " + ttscale::detail::number_text(s) + " (item " + std::to_string(first + k) + "), not a finite score");
        out[first + k] = s;
      }
    });
    std::lock_guard lock(stats_mutex_);
    ++stats_.calls;
    stats_.items += items.size();
  }

  transport* link_;
  json_reward_options options_;
  nlohmann::json::json_pointer scores_;
  nlohmann::json::json_pointer score_;
  mutable std::mutex stats_mutex_;
  verifier_stats stats_;
};

}  // namespace openai_http
TTSCALE_END_NAMESPACE
