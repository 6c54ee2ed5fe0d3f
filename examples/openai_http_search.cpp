// openai_http_search: majority vote and beam search against any OpenAI-compatible
// server — llama-server, vLLM, SGLang — or several of them. The PRM is a
// second endpoint serving a token-probability reward model (--prm), or,
// without one, the policy's own confidence in each step (exp of its mean token
// log-probability). Prints, for each strategy, the chosen text, what the search
// spent, the wall time, and what the transport did (requests, retries, most in
// flight, per endpoint).
//
//   openai_http_search --endpoint http://127.0.0.1:8080 [--endpoint URL ...]
//                      [--prm URL --tag "?" --good "+" --bad "-" --top-logprobs 354]
//                      [--prompt TEXT] [--delimiter "\n"] [--finish "."] [--n 16]
//                      [--in-flight 16] [--max-step-tokens 64] [--seed 1]
//
// With the trained models of models/ (two llama-servers, e.g.
//   llama-server -m models/arithmetic-policy.gguf --port 8080 -np 16 -c 4096 &
//   llama-server -m models/arithmetic-prm.gguf --port 8090 -np 16 -c 4096 &):
//   openai_http_search --endpoint http://127.0.0.1:8080 --prm http://127.0.0.1:8090
//       --prompt $'139*5+21-45+13+17\n' --delimiter $'\n' --finish . --top-logprobs 354
//       --tag '?' --good + --bad -
// The API key, if the servers want one, comes from $OPENAI_API_KEY.
#include <ttscale/adapters/openai_http.hpp>
#include <ttscale/strategies/beam_search.hpp>
#include <ttscale/strategies/majority_vote.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oh = ttscale::openai_http;

namespace {
struct arguments {
  std::vector<std::string> endpoints;
  std::optional<std::string> prm;
  std::string tag = "\nIs this step correct? Answer:", good = " Yes", bad = " No";
  std::size_t top_logprobs = 20;
  std::string prompt =
      "Question: A baker sells muffins for $3 each and cookies for $2 each. On Monday she sold 14 muffins and "
      "twice as many cookies. How much money did she make? Think step by step, one step per line, and end "
      "with 'The answer is N.'\nAnswer:\n";
  std::string delimiter = "\n";
  std::vector<std::string> finish;
  std::size_t n = 16, in_flight = 16, max_step_tokens = 64;
  std::uint64_t seed = 1;
};

[[noreturn]] void usage(const std::string& problem) {
  fmt::print(stderr,
             "openai_http_search: {}\nusage: openai_http_search --endpoint URL [--endpoint URL ...] [--prm URL "
             "--tag T --good G --bad B --top-logprobs K] [--prompt TEXT] [--delimiter D] [--finish S] [--n N] "
             "[--in-flight K] [--max-step-tokens T] [--seed S]\n",
             problem);
  std::exit(2);
}

std::size_t count(std::string_view flag, const std::string& value) {
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(value, &used);
    if (used == value.size() && v > 0) return static_cast<std::size_t>(v);
  } catch (const std::exception&) {
  }
  usage(fmt::format("{} wants a positive whole number, got \"{}\"", flag, value));
}

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage("help");
    if (i + 1 >= argc) usage(fmt::format("{} wants a value", flag));
    const std::string value = argv[++i];
    if (flag == "--endpoint") a.endpoints.push_back(value);
    else if (flag == "--prm") a.prm = value;
    else if (flag == "--tag") a.tag = value;
    else if (flag == "--good") a.good = value;
    else if (flag == "--bad") a.bad = value;
    else if (flag == "--top-logprobs") a.top_logprobs = count(flag, value);
    else if (flag == "--prompt") a.prompt = value;
    else if (flag == "--delimiter") a.delimiter = value;
    else if (flag == "--finish") a.finish.push_back(value);
    else if (flag == "--n") a.n = count(flag, value);
    else if (flag == "--in-flight") a.in_flight = count(flag, value);
    else if (flag == "--max-step-tokens") a.max_step_tokens = count(flag, value);
    else if (flag == "--seed") a.seed = count(flag, value);
    else usage(fmt::format("unknown option {}", flag));
  }
  if (a.endpoints.empty()) usage("give at least one --endpoint");
  return a;
}

// One line of at most `width` bytes, newlines shown as "\n".
std::string shorten(const std::string& text, std::size_t width = 96) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out.size() <= width ? out : out.substr(0, width - 3) + "...";
}

// The policy's confidence in its newest step: exp(mean token log-probability).
struct step_confidence_prm {
  static constexpr bool thread_safe = true;
  void score_steps(std::span<const ttscale::trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const ttscale::step_view& s = prefixes[i].last_step();
      out[i] = s.tokens == 0 ? 0.5 : std::exp(s.logprob / static_cast<double>(s.tokens));
    }
  }
};

// The last run of digits in the text (with a leading minus): the vote's answer.
struct last_number {
  std::optional<std::string> operator()(const ttscale::trajectory& t) const {
    const std::string text = t.text().substr(t.prompt().size());
    std::size_t end = text.find_last_of("0123456789");
    if (end == std::string::npos) return std::nullopt;
    std::size_t begin = end;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(text[begin - 1]))) --begin;
    return text.substr(begin, end - begin + 1);
  }
};

void report(const char* name, const auto& r, double seconds, const oh::transport& link) {
  fmt::print("{}\n", name);
  if (r.has_choice()) fmt::print("  chosen: \"{}\"\n", shorten(r.chosen().path.text().substr(r.chosen().path.prompt().size())));
  else fmt::print("  no candidate chosen ({} finished)\n", r.finished_count());
  fmt::print("  tokens {}  steps {}  generator calls {}  verifier items {}  stopped: {}  {:.2f} s\n", r.spent.tokens,
             r.spent.steps, r.spent.generator_calls, r.spent.verifier_items, ttscale::to_string(r.stopped), seconds);
  const oh::transport_stats st = link.stats();
  fmt::print("  transport (so far): {} requests, {} retries, at most {} in flight, per endpoint {}\n", st.requests,
             st.retries, st.max_in_flight_seen, fmt::join(st.per_endpoint, "/"));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) try {
  const arguments a = parse(argc, argv);
  oh::transport link({.endpoints = a.endpoints, .max_in_flight = a.in_flight});
  oh::generator gen(link, {.step_delimiter = a.delimiter,
                           .max_step_tokens = static_cast<std::uint32_t>(a.max_step_tokens),
                           .finish_strings = a.finish,
                           .sampling = {.temperature = 0.8}});
  const oh::server_info server = gen.server();
  fmt::print("policy: {} at {} ({}), {} requests in flight at most\n", server.model, fmt::join(a.endpoints, ", "),
             oh::dialect_name(server.dialect), a.in_flight);

  std::mt19937_64 rng(a.seed);
  auto start = std::chrono::steady_clock::now();
  const auto vote =
      ttscale::majority_vote(gen, a.prompt, ttscale::vote_options<last_number>{.n = a.n, .max_steps = 16}, rng);
  report("majority vote", vote, seconds_since(start), link);
  auto beam = [&](auto& prm) {
    start = std::chrono::steady_clock::now();
    const auto r = ttscale::beam_search(
        gen, prm, a.prompt,
        ttscale::beam_search_options{.n = a.n, .beam_width = std::min<std::size_t>(4, a.n), .max_depth = 16}, rng);
    report("beam search", r, seconds_since(start), link);
  };
  if (a.prm) {
    oh::transport judge({.endpoints = {*a.prm}, .max_in_flight = a.in_flight});
    oh::token_probability_verifier prm(
        judge, {.step_tag = a.tag, .outcome_tag = a.tag, .good = a.good, .bad = a.bad, .top_logprobs = a.top_logprobs});
    beam(prm);
  } else {
    step_confidence_prm prm;
    beam(prm);
  }
} catch (const ttscale::error& e) {
  fmt::print(stderr, "openai_http_search: {}\n", e.what());
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& nested) {
    fmt::print(stderr, "  because: {}\n", nested.what());
  }
  return 1;
}
