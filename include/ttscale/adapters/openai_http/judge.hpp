// ttscale/adapters/openai_http/judge.hpp: a sampled generative judge over
// HTTP — the stochastic judge a verifier_ensemble (ttscale/verifiers/
// ensemble.hpp) samples k times per item.
//
// sampled_judge asks a model served like any other (llama-server, vLLM,
// SGLang) to think about an item and then give a verdict, as GenRM-CoT does
// (Zhang et al. 2024, "Generative Verifiers: Reward Modeling as Next-Token
// Prediction": a verification rationale, then Yes or No). Each judgment is
// one completion request: prompt = render(t) + tag, sampled at
// sampling.temperature > 0 with the judgment's own seed (its 64-bit seed
// folded to 31 bits, as the generator's: every server's seed type holds them,
// and llama-server reads 0xFFFFFFFF as "pick a random seed"), so k judgments
// of one item are k different rationales and the same seed asks for the same
// one again (as far as the server honours seeds: llama-server and vLLM do for
// one prompt per request, which is why prompts_per_request must be 1). The
// judgment's score is its verdict: 1 if the last of the words `yes` / `no` in
// the completion (matched as whole words, case-sensitive) is `yes`, 0 if it
// is `no`, and unparsed_score if neither appears (a rationale cut by
// max_tokens, a model that does not answer) — an ensemble's mean of these is
// GenRM's majority vote, the share of Yes verdicts.
//
// It is an outcome judge (judge_outcomes: outcome_tag after a finished
// trajectory) and a process judge (judge_steps: step_tag after a prefix),
// thread-safe, with its requests in flight concurrently over the transport's
// endpoints. Cost: one request of up to max_tokens generated tokens per
// judgment; stats() counts both as the servers report them (usage).
#pragma once

#include <ttscale/adapters/openai_http/completions.hpp>
#include <ttscale/adapters/openai_http/transport.hpp>
#include <ttscale/adapters/openai_http/verifier.hpp>
#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/detail/require.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/kernels/sample_logits.hpp>
#include <ttscale/trajectory.hpp>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace openai_http {

struct sampled_judge_options {
  std::string outcome_tag = "\nIs the answer above correct? Check it step by step, then end with Yes or No.\n";
  std::string step_tag = "\nIs the last step above correct? Check it, then end with Yes or No.\n";
  std::string yes = "Yes";  ///< the verdict word that approves (score 1)
  std::string no = "No";    ///< the verdict word that rejects (score 0)
  std::uint32_t max_tokens = 256;  ///< rationale and verdict
  /// Must have temperature > 0: at 0 every judgment of an item is the same
  /// and an ensemble pays k times for one.
  kernels::sampling_params sampling{.temperature = 0.8};
  double unparsed_score = 0.0;  ///< the score of a judgment with no verdict word (finite)
  /// The text before the tag; empty: t.text() (the prompt and every step).
  std::function<std::string(const trajectory&)> render{};
  request_options requests{};  ///< model, dialect, extra fields; prompts_per_request must be 1
};

/// The verdict in a judge's completion: 1 if the last whole-word occurrence
/// of `yes` or `no` is `yes`, 0 if it is `no`, nullopt if neither occurs.
[[nodiscard]] inline std::optional<double> read_verdict(std::string_view text, std::string_view yes,
                                                        std::string_view no) {
  auto last_word = [&](std::string_view word) -> std::optional<std::size_t> {
    for (std::size_t at = text.rfind(word); at != std::string_view::npos;
         at = at == 0 ? std::string_view::npos : text.rfind(word, at - 1)) {
      const bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]));
      const std::size_t end = at + word.size();
      const bool ends = end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
      if (starts && ends) return at;
    }
    return std::nullopt;
  };
  const std::optional<std::size_t> y = last_word(yes), n = last_word(no);
  if (!y && !n) return std::nullopt;
  if (!n) return 1.0;
  if (!y) return 0.0;
  return *y > *n ? 1.0 : 0.0;
}

/// A sampled yes/no judge over HTTP; see the header comment.
class sampled_judge {
 public:
  sampled_judge(transport& link, sampled_judge_options options)
      : options_(std::move(options)), client_(link, options_.requests, /*which_stop=*/false, who) {
    if (options_.yes.empty() || options_.no.empty() || options_.yes == options_.no)
      throw invalid_argument(std::string(who) + ": yes and no must be two different non-empty words (got \"" +
                             options_.yes + "\" and \"" + options_.no + "\")");
    ttscale::detail::require_at_least(who, "max_tokens", options_.max_tokens, 1u);
    if (!(options_.sampling.temperature > 0.0))
      throw invalid_argument(std::string(who) + ": sampling.temperature must be > 0 for judgments to differ (got " +
                             ttscale::detail::number_text(options_.sampling.temperature) + ")");
    if (!std::isfinite(options_.unparsed_score))
      throw invalid_argument(std::string(who) + ": unparsed_score must be finite (got " +
                             ttscale::detail::number_text(options_.unparsed_score) + ")");
    if (options_.requests.prompts_per_request != 1)
      throw invalid_argument(std::string(who) + ": requests.prompts_per_request must be 1 (got " +
                             std::to_string(options_.requests.prompts_per_request) +
                             "): a request carries one seed, and every judgment needs its own");
  }

  static constexpr bool thread_safe = true;
  static constexpr const char* who = "openai_http::sampled_judge";

  void judge_outcomes(std::span<const trajectory> finished, std::span<const std::uint64_t> seeds,
                      std::span<double> out) {
    judge(finished, seeds, out, options_.outcome_tag);
  }
  void judge_steps(std::span<const trajectory> prefixes, std::span<const std::uint64_t> seeds,
                   std::span<double> out) {
    judge(prefixes, seeds, out, options_.step_tag);
  }

  /// Calls, items (judgments), prompt and generated tokens (the servers'
  /// usage counts) over the judge's life; a call that throws adds nothing.
  [[nodiscard]] verifier_stats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  void judge(std::span<const trajectory> items, std::span<const std::uint64_t> seeds, std::span<double> out,
             const std::string& tag) {
    if (items.size() != out.size() || items.size() != seeds.size())
      throw size_mismatch(std::string(who) + ": " + std::to_string(items.size()) + " items, " +
                          std::to_string(seeds.size()) + " seeds and " + std::to_string(out.size()) + " outputs");
    if (items.empty()) return;
    const server_info server = client_.server();
    std::vector<std::string> prompts(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
      prompts[i] = detail::prompt_text(items[i], options_.render, tag);
    nlohmann::json body = {{"max_tokens", options_.max_tokens}, {"stream", false}};
    put_sampling(body, options_.sampling, server.dialect, who);
    std::uint64_t prompt_tokens = 0, cached = 0, generated = 0;
    client_.run(
        prompts, body,
        [&](std::size_t i) {
          return std::optional<std::uint32_t>(static_cast<std::uint32_t>((seeds[i] ^ (seeds[i] >> 32)) & 0x7fff'ffffu));
        },
        [&](std::size_t first, completions_response& r, const http_response&) {
          for (std::size_t c = 0; c < r.choices.size(); ++c) {
            out[first + c] =
                read_verdict(r.choices[c].text, options_.yes, options_.no).value_or(options_.unparsed_score);
            generated += r.choices[c].tokens;  // usage.completion_tokens: one prompt per request
          }
          prompt_tokens += r.prompt_tokens;  // on_response runs on this thread, one at a time
          cached += r.cached_prompt_tokens;
        });
    std::lock_guard lock(stats_mutex_);
    ++stats_.calls;
    stats_.items += items.size();
    stats_.prompt_tokens += prompt_tokens;
    stats_.cached_prompt_tokens += cached;
    stats_.completion_tokens += generated;
  }

  sampled_judge_options options_;
  completions_client client_;
  mutable std::mutex stats_mutex_;
  verifier_stats stats_;
};

}  // namespace openai_http
TTSCALE_END_NAMESPACE
