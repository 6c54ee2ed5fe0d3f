// llama_cpp_trained_scaling: accuracy against tokens for every search strategy on
// the two tiny models trained on the toy arithmetic world (models/, written by
// scripts/train_models.sh), run through llama.cpp in process — and the same
// table for the toy world's simulation with its knobs matched to what the
// trained models showed in this run, beside it.
//
// The policy (arithmetic-policy.gguf) continues a problem in the compact
// notation of toy/arithmetic_notation.hpp (digits least significant first:
// "714+32*3-50\n" -> "714+32=044\n" ... "023-50=513."), one step per line, '.'
// ending the trajectory. The process
// reward model (arithmetic-prm.gguf, Math-Shepherd style) reads a path followed
// by the tag "?" and predicts "+" (every step so far right) or "-": it guides
// the step-level searches (score_steps) and scores finished samples for
// best-of-N and the weighted vote (score_outcomes). Accuracy is the exact
// checker's (toy::compact_is_correct) on held-out problems of levels 1-5.
//
// Strategies at each N (compute knob): one sample (N = 1 only); best-of-N with
// the PRM as an outcome verifier; majority vote; PRM-weighted majority; beam
// search and DVTS with width M = gcd(N, 4); A* with K = gcd(N, 4) continuations
// and max(8, ceil(5N / K)) expansions (K expansions' steps per expansion, 5 the
// mean depth of levels 1-5: about N samples' worth of steps, and at least one
// path's worth); the particle filter and entropic particle filter (ePF, with
// look-ahead 1) with N particles. Paths have at most 8 steps of at most 16
// tokens. Compare rows at EQUAL tokens/prob, not at equal N. Each accuracy is
// followed by its binomial standard error sqrt(p(1-p)/P).
//
// The toy table: toy::arithmetic_generator + toy::noisy_prm on the same
// problems (prose notation, checker toy::is_correct), same strategies and N,
// with knobs fitted to this run: the per-step error base + level * (L - 1)
// fitted (least squares) to e_L = 1 - acc_L^(1/(L+2)) from the real one-sample
// accuracy per level (a level-L problem has L+2 steps); no trap step and no
// double-check steps (the trained model has neither); the PRM's AUC = the
// Mann-Whitney AUC of the trained PRM's outcome scores against correctness
// over every candidate scored in the real best-of-N runs.
//
// Usage:
//   llama_cpp_trained_scaling [--models DIR] [--problems 200] [--n 1,4,16,64]
//                             [--strategies a,b,...] [--seed 1] [--threads-searches K]
// Strategies: one_sample best_of_n majority_vote weighted_majority beam_search
// dvts a_star particle_filter epf (default: all). The one-sample run at N = 1
// always happens: the toy world's knobs are fitted to it.
//
// Writes llama_cpp_trained_scaling.csv (both worlds, accuracy per level too),
// llama_cpp_trained_scaling.svg (accuracy vs tokens per problem, the trained
// models) and llama_cpp_trained_scaling_toy.svg (the toy world) in the current
// folder.
//
// --threads-searches K runs K searches at once, one thread each with its own
// generator and PRM, over ONE policy engine that merges their token ticks into
// shared llama_decode calls; fewer when K searches would need more KV sequences
// than llama.cpp allows (256). K = 1 (the default) is deterministic for a seed.
// ggml's CPU backends come from $TTSCALE_LLAMA_CPP_BACKEND_DIR, else from the
// folder this program was built against. Each llama context decodes on
// $TTSCALE_LLAMA_THREADS threads, 1 by default (llama.cpp's threads spin at
// barriers: on a busy machine, more threads than idle cores are slower).
#include <ttscale.hpp>

#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/analysis/strategy_grid.hpp>
#include <ttscale/analysis/svg_plot.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#ifndef TTSCALE_MODELS_DIR
#define TTSCALE_MODELS_DIR "models"
#endif

namespace {
using namespace ttscale;
namespace lc = ttscale::llama_cpp;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_steps = 8;         // steps per path: problems have at most 7
constexpr std::uint32_t max_step_tokens = 16; // a step is at most 11 characters; a broken model may ramble
constexpr double mean_depth = 5.0;           // steps of a level 1..5 problem: 3..7
constexpr std::uint32_t path_tokens = 160;   // BOS + prompt (<= 25) + 8 * 16 + the PRM's tag, rounded up
constexpr std::size_t llama_max_sequences = 256;  // LLAMA_MAX_SEQ of llama.cpp
constexpr int levels = 5;

using analysis::strategy_kind;
using search_outcome = analysis::strategy_outcome;
const analysis::grid_settings grid{.max_steps = max_steps, .mean_depth = mean_depth};

std::size_t width_for(std::size_t n) { return analysis::grid_width(n); }
std::size_t a_star_expansions(std::size_t n) { return analysis::a_star_expansions(n, grid); }

// A row's label: the curve's name, with the width and expansions that change with N.
std::string label(strategy_kind kind, std::size_t n) {
  switch (kind) {
    case strategy_kind::beam_search: return fmt::format("beam search M={}", width_for(n));
    case strategy_kind::dvts: return fmt::format("DVTS M={}", width_for(n));
    case strategy_kind::a_star: return fmt::format("A* K={} E={}", width_for(n), a_star_expansions(n));
    default: return std::string(analysis::curve_name(kind));
  }
}

// KV sequences the policy engine may hold during one search: the live paths
// plus one per item of a generator call (each holds its path's KV).
std::size_t sequences_needed(strategy_kind kind, std::size_t n) {
  switch (kind) {
    case strategy_kind::one_sample: return 3;
    case strategy_kind::a_star: {  // every open state holds its path: K - 1 more per expansion
      const std::size_t k = width_for(n);
      return (k - 1) * a_star_expansions(n) + k + 2;
    }
    case strategy_kind::epf: return 3 * n + 1;  // particles, their children, the look-ahead successors
    default: return 2 * n + 1;                  // live paths and their children
  }
}

// Relative cost of one search, for the time estimate only.
double cost_weight(strategy_kind kind, std::size_t n) {
  if (kind == strategy_kind::one_sample) return 1.0;
  return static_cast<double>(n) * (kind == strategy_kind::epf ? 2.0 : 1.0);
}

std::mt19937_64 problem_rng(std::uint64_t seed, const toy::arithmetic_problem& p) {
  return std::mt19937_64(seed * 1000003 + p.id);
}

// One table row: a strategy at one N over every problem.
struct row {
  strategy_kind kind{};
  std::string strategy;
  std::size_t n = 0;
  double tokens = 0;          // generated tokens per problem
  double accuracy = 0;
  double standard_error = 0;
  double verifier_items = 0;  // PRM items per problem
  double seconds = 0;         // wall time of the whole row
  std::array<double, levels> level_accuracy{};
  std::size_t peak_sequences = 0;  // policy-engine KV sequences at the peak (an upper bound; 0: not measured)
};

row summarise(strategy_kind kind, std::size_t n, const std::vector<toy::arithmetic_problem>& problems,
              std::span<const search_outcome> outcomes, double seconds) {
  row x;
  x.kind = kind;
  x.strategy = label(kind, n);
  x.n = n;
  x.seconds = seconds;
  accounting spent;
  std::size_t correct = 0;
  std::array<std::size_t, levels> level_correct{}, level_count{};
  for (std::size_t i = 0; i < problems.size(); ++i) {
    spent += outcomes[i].spent;
    correct += outcomes[i].correct;
    const auto l = static_cast<std::size_t>(problems[i].level - 1);
    level_correct[l] += outcomes[i].correct;
    ++level_count[l];
  }
  const double count = static_cast<double>(problems.size());
  x.tokens = static_cast<double>(spent.tokens) / count;
  x.accuracy = static_cast<double>(correct) / count;
  x.standard_error = std::sqrt(x.accuracy * (1 - x.accuracy) / count);
  x.verifier_items = static_cast<double>(spent.verifier_items) / count;
  for (std::size_t l = 0; l < level_count.size(); ++l)
    x.level_accuracy[l] = level_count[l] ? static_cast<double>(level_correct[l]) / static_cast<double>(level_count[l])
                                         : std::nan("");
  return x;
}

void print_header(bool with_time) {
  fmt::print("{:<22} {:>4} | {:>11} | {:>8} {:>6} | {:>10}{}\n", "strategy", "N", "tokens/prob", "accuracy", "+-se",
             "PRM items", with_time ? " | seconds" : "");
  fmt::print("{:-<22}-{:-<4}-+-{:-<11}-+-{:-<8}-{:-<6}-+-{:-<10}{}\n", "", "", "", "", "", "", with_time ? "-+--------" : "");
}
void print_row(const row& x, bool with_time) {
  fmt::print("{:<22} {:>4} | {:>11.0f} | {:>8.3f} {:>6.3f} | {:>10.1f}", x.strategy, x.n, x.tokens, x.accuracy,
             x.standard_error, x.verifier_items);
  if (with_time) fmt::print(" | {:>7.1f}", x.seconds);
  fmt::print("\n");
  std::fflush(stdout);
}

// Mann-Whitney counts: pairs (right item, wrong item) in which the right one
// scores higher (ties count half), and all such pairs.
struct concordance {
  double concordant = 0;
  double pairs = 0;
};
concordance count_concordance(std::vector<std::pair<double, bool>> scored) {
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double right = 0, rank_sum = 0;
  for (std::size_t i = 0; i < scored.size();) {
    std::size_t j = i;
    while (j < scored.size() && scored[j].first == scored[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (scored[k].second) rank_sum += mean_rank, right += 1;
    i = j;
  }
  const double wrong = static_cast<double>(scored.size()) - right;
  return {rank_sum - right * (right + 1) / 2, right * wrong};
}

// The AUC P(score of a right item > score of a wrong one); nullopt without both kinds.
std::optional<double> auc(const concordance& c) {
  return c.pairs > 0 ? std::optional<double>(c.concordant / c.pairs) : std::nullopt;
}

// Scored candidates of the real runs, for the PRM's AUC: pooled over every
// search (the brief's knob), and within each search (right vs wrong candidates
// of the same problem: the ranking best-of-N actually makes).
struct score_pool {
  std::vector<std::pair<double, bool>> all;
  concordance within;
  void add(const std::vector<std::pair<double, bool>>& search) {
    all.insert(all.end(), search.begin(), search.end());
    const concordance c = count_concordance(search);
    within.concordant += c.concordant;
    within.pairs += c.pairs;
  }
};

// ----------------------------------------------------------------- progress

// Done/total runs, elapsed and time left on one stderr line when stderr is a
// terminal; else a plain line per finished (strategy, N).
class progress_meter {
 public:
  progress_meter(std::size_t runs, double total_weight)
      : runs_(runs), total_(total_weight), tty_(isatty(fileno(stderr)) != 0), started_(clock_type::now()) {}

  void problem_done(double weight, const std::string& what, std::size_t done, std::size_t of) {
    std::lock_guard lock(mutex_);
    done_ += weight;
    if (!tty_) return;
    const auto now = clock_type::now();
    if (now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    fmt::print(stderr, "\r[run {}/{}] {}, problem {}/{}: {:.0f} s elapsed, about {:.0f} s left      ", run_ + 1,
               runs_, what, done, of, elapsed(), left());
  }
  void run_done(const row& x) {
    std::lock_guard lock(mutex_);
    ++run_;
    if (tty_) {
      fmt::print(stderr, "\r{:<100}\r", "");
    } else {
      fmt::print(stderr, "llama_cpp_trained_scaling: [{}/{}] {} N={} done in {:.1f} s (accuracy {:.3f}); {:.0f} s elapsed, about {:.0f} s left\n",
                 run_, runs_, x.strategy, x.n, x.seconds, x.accuracy, elapsed(), left());
    }
  }
  double elapsed() const { return std::chrono::duration<double>(clock_type::now() - started_).count(); }

 private:
  double left() const { return done_ > 0 ? elapsed() / done_ * std::max(0.0, total_ - done_) : 0.0; }
  std::mutex mutex_;
  std::size_t runs_, run_ = 0;
  double total_, done_ = 0;
  bool tty_;
  clock_type::time_point started_, last_{};
};

// ----------------------------------------------------------------- the trained models

// The llama generator, counting the policy engine's sequences at each call's peak.
struct counting_generator {
  lc::generator& gen;
  const lc::engine& engine;
  std::size_t peak = 0;
  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) {
    // Each item takes a sequence; a new prompt takes one more.
    peak = std::max(peak, engine.sequences_in_use() + prefixes.size() + 1);
    gen.extend(prefixes, engines, out);
  }
  void release(std::span<const trajectory> nodes) { gen.release(nodes); }  // frees KV sequences
};

// One search thread's generator and PRM (the PRM owns its llama context).
struct real_worker {
  real_worker(lc::engine& e, const lc::model& prm_model, lc::engine_options prm_context)
      : gen(e, {.step_delimiter = "\n",
                .max_step_tokens = max_step_tokens,
                .finish_strings = {"."},
                // No truncation: the policy's own distribution.
                .sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .min_p = 0.0}}),
        prm(prm_model, {.step_tag = "?", .outcome_tag = "?", .good = "+", .bad = "-"}, prm_context),
        counting{gen, e} {}
  lc::generator gen;
  lc::token_probability_verifier prm;
  counting_generator counting;
  std::size_t leaks = 0;  // searches after which the generator still held KV sequences
};

struct options {
  std::string models_dir = TTSCALE_MODELS_DIR;
  std::size_t problems = 200;
  std::vector<std::size_t> n{1, 4, 16, 64};
  std::vector<strategy_kind> strategies;
  std::uint64_t seed = 1;
  std::size_t threads_searches = 1;
};

[[noreturn]] void usage_error(const std::string& what) {
  fmt::print(stderr,
             "llama_cpp_trained_scaling: {}\n"
             "usage: llama_cpp_trained_scaling [--models DIR] [--problems 200] [--n 1,4,16,64]\n"
             "                                 [--strategies a,b,...] [--seed 1] [--threads-searches K]\n"
             "strategies: one_sample best_of_n majority_vote weighted_majority beam_search dvts a_star "
             "particle_filter epf\n",
             what);
  std::exit(2);
}

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    out.emplace_back(list.substr(0, comma));
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  return out;
}

std::size_t positive(const std::string& text, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v == 0 || text[0] == '-')
    usage_error(fmt::format("{} must be a positive integer (got '{}')", what, text));
  return static_cast<std::size_t>(v);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage_error("test-time scaling on the trained arithmetic models");
    if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", flag));
    const std::string value = argv[++i];
    if (flag == "--models") {
      o.models_dir = value;
    } else if (flag == "--problems") {
      o.problems = positive(value, "--problems");
    } else if (flag == "--n") {
      o.n.clear();
      for (const std::string& v : split(value)) o.n.push_back(positive(v, "--n"));
    } else if (flag == "--strategies") {
      for (const std::string& name : split(value)) {
        const std::optional<strategy_kind> kind = analysis::strategy_from_key(name);
        if (!kind) usage_error(fmt::format("unknown strategy '{}'", name));
        o.strategies.push_back(*kind);
      }
    } else if (flag == "--seed") {
      o.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--threads-searches") {
      o.threads_searches = positive(value, "--threads-searches");
    } else {
      usage_error(fmt::format("unknown argument '{}'", flag));
    }
  }
  if (o.strategies.empty())
    o.strategies.assign(analysis::all_strategy_kinds.begin(), analysis::all_strategy_kinds.end());
  std::sort(o.n.begin(), o.n.end());
  o.n.erase(std::unique(o.n.begin(), o.n.end()), o.n.end());
  return o;
}

struct run_config {
  strategy_kind kind;
  std::size_t n;
  std::size_t concurrency;  // searches at once
};

// The (strategy, N) runs: one sample at N = 1 first (always: the toy's knobs
// are fitted to it), then each strategy at each N.
std::vector<run_config> plan_runs(const options& o) {
  std::vector<run_config> runs{{strategy_kind::one_sample, 1, 1}};
  for (strategy_kind kind : o.strategies) {
    if (kind == strategy_kind::one_sample) continue;
    for (std::size_t n : o.n) runs.push_back({kind, n, 1});
  }
  for (run_config& r : runs) {
    const std::size_t need = sequences_needed(r.kind, r.n);
    if (need > llama_max_sequences)
      usage_error(fmt::format("{} at N = {} may hold {} KV sequences, more than llama.cpp's {} (use a smaller N)",
                              label(r.kind, r.n), r.n, need, llama_max_sequences));
    r.concurrency = std::clamp<std::size_t>(llama_max_sequences / need, 1, o.threads_searches);
  }
  return runs;
}

std::string require_model(const std::string& dir, const char* file) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  if (!std::filesystem::exists(path))
    throw std::runtime_error("model file '" + path +
                             "' not found: run scripts/train_models.sh (it writes models/arithmetic-policy.gguf and "
                             "models/arithmetic-prm.gguf), or pass --models DIR");
  return path;
}

// ----------------------------------------------------------------- the toy world, matched

struct matched_knobs {
  toy::model_params params;
  double auc = 0.5;
  std::array<double, levels> real_level_accuracy{};
  std::array<double, levels> step_error{};  // e_L from the real accuracy
  std::optional<double> measured_auc;
  std::optional<double> within_auc;
  std::size_t auc_items = 0;
};

matched_knobs match_knobs(const row& one_sample, double tokens_per_step, const score_pool& scored) {
  matched_knobs k;
  k.real_level_accuracy = one_sample.level_accuracy;
  // e_L = 1 - acc_L^(1/(L+2)); least squares of base + slope * (L - 1) over the levels present.
  double sx = 0, sy = 0, sxx = 0, sxy = 0, count = 0;
  for (int l = 1; l <= levels; ++l) {
    const double acc = k.real_level_accuracy[static_cast<std::size_t>(l - 1)];
    if (std::isnan(acc)) {
      k.step_error[static_cast<std::size_t>(l - 1)] = std::nan("");
      continue;
    }
    const double e = 1.0 - std::pow(acc, 1.0 / (l + 2));
    k.step_error[static_cast<std::size_t>(l - 1)] = e;
    const double x = l - 1;
    sx += x, sy += e, sxx += x * x, sxy += x * e, count += 1;
  }
  double base = 0.0, slope = 0.0;
  if (count > 0) {
    const double denominator = count * sxx - sx * sx;
    slope = denominator > 0 ? (count * sxy - sx * sy) / denominator : 0.0;
    base = (sy - slope * sx) / count;
  }
  // Every level's step error stays in [0, 0.9].
  base = std::clamp(base, 0.0, 0.9);
  slope = std::clamp(slope, -base / (levels - 1), (0.9 - base) / (levels - 1));
  k.params.base_error = base;
  k.params.level_error = slope;
  // No designed trap step: the trap step is an ordinary one (its error rate the
  // ordinary rate, its mistakes random slips, not one systematic wrong operation).
  k.params.trap_error = base;
  k.params.trap_level_error = slope;
  k.params.trap_share = 0.0;
  k.params.recheck_probability = 0.0;  // the trained model never writes a double-check step
  k.params.step_tokens = static_cast<std::uint32_t>(std::max(5.0, std::round(tokens_per_step)));
  k.params.extra_wrong_tokens = 0;     // fixed-width steps: a wrong step is as long as a right one
  k.measured_auc = auc(count_concordance(scored.all));
  k.within_auc = auc(scored.within);
  k.auc_items = scored.all.size();
  k.auc = std::clamp(k.measured_auc.value_or(0.5), 0.5, 0.99);
  return k;
}

void print_knobs(const matched_knobs& k) {
  fmt::print("\nToy world knobs matched to this run\n");
  fmt::print("  real one-sample accuracy per level and per-step error e_L = 1 - acc_L^(1/(L+2)):\n");
  for (int l = 1; l <= levels; ++l) {
    const auto i = static_cast<std::size_t>(l - 1);
    fmt::print("    level {}: accuracy {:.3f}  e_L {:.4f}  fitted {:.4f}\n", l, k.real_level_accuracy[i], k.step_error[i],
               k.params.base_error + k.params.level_error * (l - 1));
  }
  fmt::print("  base_error {:.4f}, level_error {:.4f} (least squares over levels, every level's rate in [0, 0.9])\n",
             k.params.base_error, k.params.level_error);
  fmt::print("  no trap step: trap_error = base_error, trap_level_error = level_error, trap_share = 0\n"
             "    (the trained model has no designed trap step: the toy's trap step becomes an ordinary step;\n"
             "    trap_error = 0 would make it error-free and the toy more accurate than the fit)\n");
  fmt::print("  recheck_probability 0 (the trained model writes no double-check steps), step_tokens {}, "
             "extra_wrong_tokens 0\n    (its steps are fixed-width: tokens per step measured in the one-sample run)\n",
             k.params.step_tokens);
  if (k.measured_auc)
    fmt::print("  PRM AUC {:.3f}: the trained PRM's outcome scores against correctness, {} candidates of the best-of-N "
               "runs (Mann-Whitney; measured {:.3f}, clamped to [0.5, 0.99])\n",
               k.auc, k.auc_items, *k.measured_auc);
  if (k.within_auc)
    fmt::print("    within a search (right vs wrong candidates of the same problem, what best-of-N ranks): AUC {:.3f}\n"
               "    (the toy's noisy PRM has one AUC pooled and within a problem; the trained PRM's pooled AUC also\n"
               "    counts its telling easy problems from hard ones)\n",
               *k.within_auc);
  else
    fmt::print("  PRM AUC {:.3f}: not measurable ({} scored best-of-N candidates, not both right and wrong ones); "
               "0.5 = uninformative\n",
               k.auc, k.auc_items);
}

void write_outputs(const std::vector<row>& real, const std::vector<row>& toy_rows, std::size_t problem_count) {
  std::string csv =
      "world,strategy,n,tokens_per_problem,accuracy,standard_error,prm_items_per_problem,seconds,peak_sequences,"
      "accuracy_level1,accuracy_level2,accuracy_level3,accuracy_level4,accuracy_level5\n";
  auto add = [&](const char* world, const row& x) {
    csv += fmt::format("{},{},{},{:.1f},{:.4f},{:.4f},{:.1f},{:.2f},{}", world, x.strategy, x.n, x.tokens, x.accuracy,
                       x.standard_error, x.verifier_items, x.seconds, x.peak_sequences);
    for (double a : x.level_accuracy) csv += std::isnan(a) ? std::string(",") : fmt::format(",{:.4f}", a);
    csv += "\n";
  };
  for (const row& x : real) add("llama_cpp", x);
  for (const row& x : toy_rows) add("toy", x);
  analysis::write_text_file("llama_cpp_trained_scaling.csv", csv);

  auto plot = [&](const std::vector<row>& rows, const std::string& title, const char* file) {
    std::vector<analysis::plot_series> curves;
    for (const row& x : rows)
      if (x.tokens > 0) analysis::add_point(curves, std::string(analysis::curve_name(x.kind)), x.tokens, x.accuracy);
    analysis::write_text_file(file, analysis::svg_line_plot(curves, {.title = title,
                                                                     .x_label = "tokens per problem",
                                                                     .y_label = "accuracy",
                                                                     .y_min = 0.0,
                                                                     .y_max = 1.0}));
  };
  plot(real, fmt::format("Trained policy + PRM via llama.cpp, {} problems (levels 1-5)", problem_count),
       "llama_cpp_trained_scaling.svg");
  plot(toy_rows, fmt::format("Toy world, knobs matched, {} problems (levels 1-5)", problem_count),
       "llama_cpp_trained_scaling_toy.svg");
  fmt::print("\nwrote llama_cpp_trained_scaling.csv ({} rows), llama_cpp_trained_scaling.svg and "
             "llama_cpp_trained_scaling_toy.svg (accuracy vs tokens)\n",
             real.size() + toy_rows.size());
}

}  // namespace

int main(int argc, char** argv) try {
  const options opt = parse(argc, argv);
  const std::vector<run_config> runs = plan_runs(opt);
  const auto problems =
      toy::make_problems({.count = opt.problems, .min_level = 1, .max_level = levels, .seed = opt.seed});

  const std::string policy_path = require_model(opt.models_dir, "arithmetic-policy.gguf");
  const std::string prm_path = require_model(opt.models_dir, "arithmetic-prm.gguf");
  const char* backends = std::getenv("TTSCALE_LLAMA_CPP_BACKEND_DIR");
  lc::load_backends(backends ? backends : TTSCALE_LLAMA_CPP_BACKEND_DIR);
  const char* threads_env = std::getenv("TTSCALE_LLAMA_THREADS");
  const std::int32_t threads = threads_env ? std::max(1, std::atoi(threads_env)) : 1;

  // Contexts sized for the widest run: the policy engine for every concurrent
  // search's sequences, each PRM for a call of N distinct items plus the states
  // it keeps; each sequence may hold a whole path's KV without sharing.
  std::size_t engine_sequences = 1, workers = 1, max_n = 1;
  for (const run_config& r : runs) {
    engine_sequences = std::max(engine_sequences, r.concurrency * sequences_needed(r.kind, r.n));
    workers = std::max(workers, r.concurrency);
    max_n = std::max(max_n, r.n);
  }
  engine_sequences = std::min(engine_sequences, llama_max_sequences);
  const auto prm_sequences = static_cast<std::uint32_t>(std::min(llama_max_sequences, 2 * max_n + 16));
  const lc::model policy(policy_path);
  const lc::model prm_model(prm_path);
  lc::engine engine(policy, {.n_ctx = static_cast<std::uint32_t>(engine_sequences) * path_tokens,
                             .n_seq_max = static_cast<std::uint32_t>(engine_sequences),
                             .n_threads = threads});
  std::vector<std::unique_ptr<real_worker>> crew;
  for (std::size_t w = 0; w < workers; ++w)
    crew.push_back(std::make_unique<real_worker>(
        engine, prm_model,
        lc::engine_options{.n_ctx = prm_sequences * path_tokens, .n_seq_max = prm_sequences, .n_threads = threads}));

  fmt::print("llama_cpp_trained_scaling: {} held-out problems (levels 1-5, seed {}), N in {{{}}}\n", problems.size(),
             opt.seed, fmt::join(opt.n, ", "));
  fmt::print("policy {}\nPRM    {}\n", policy_path, prm_path);
  fmt::print("{} decode thread(s) per context; up to {} concurrent search(es); policy engine {} sequences x {} cells, "
             "PRM {} sequences\n",
             threads, workers, engine_sequences, engine.options().n_ctx, prm_sequences);
  fmt::print("Sampling at temperature 1, no truncation; paths of at most {} steps of {} tokens.\n", max_steps,
             max_step_tokens);
  fmt::print("Compare accuracy at EQUAL tokens/prob (the column), not at equal N.\n\n");
  fmt::print("Trained models via llama.cpp (exact checker; best-of-N and the weighted vote score finished samples\n"
             "with the PRM as an outcome verifier, the step searches every step)\n");
  print_header(true);

  double total_weight = 0;
  for (const run_config& r : runs) total_weight += cost_weight(r.kind, r.n) * static_cast<double>(problems.size());
  progress_meter meter(runs.size(), total_weight);

  std::vector<row> real_rows;
  score_pool orm_scores, weighted_scores;  // (PRM outcome score, right) of best-of-N's and the weighted vote's candidates
  double tokens_per_step = 11;
  for (const run_config& r : runs) {
    const bool keep_scores = r.kind == strategy_kind::best_of_n || r.kind == strategy_kind::weighted_majority;
    std::vector<search_outcome> outcomes(problems.size());
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<bool> failed{false};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const std::string what = label(r.kind, r.n) + fmt::format(" N={}", r.n);
    auto work = [&](real_worker& w) {
      try {
        for (std::size_t i = next++; i < problems.size() && !failed; i = next++) {
          const toy::arithmetic_problem& p = problems[i];
          std::mt19937_64 rng = problem_rng(opt.seed, p);
          outcomes[i] = analysis::run_strategy(
              r.kind, w.counting, w.prm, toy::compact_prompt(p), r.n, toy::compact_answer{},
              [&](const trajectory& t) { return toy::compact_is_correct(p, t); }, rng, grid, keep_scores);
          w.prm.forget_all();  // the PRM's KV sequences; the generator released its own through the release hook
          w.leaks += w.gen.live_sequences() != 0;
          meter.problem_done(cost_weight(r.kind, r.n), what, ++done, problems.size());
        }
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    };
    for (auto& w : crew) w->counting.peak = 0;
    const auto started = clock_type::now();
    {
      std::vector<std::jthread> helpers;
      for (std::size_t t = 1; t < r.concurrency; ++t) helpers.emplace_back(work, std::ref(*crew[t]));
      work(*crew[0]);
    }
    if (failure) std::rethrow_exception(failure);
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    row x = summarise(r.kind, r.n, problems, outcomes, seconds);
    for (auto& w : crew) x.peak_sequences = std::max(x.peak_sequences, w->counting.peak);
    if (r.kind == strategy_kind::one_sample) {
      accounting spent;
      for (const search_outcome& o : outcomes) spent += o.spent;
      if (spent.steps > 0) tokens_per_step = static_cast<double>(spent.tokens) / static_cast<double>(spent.steps);
    }
    auto& scores = r.kind == strategy_kind::best_of_n ? orm_scores : weighted_scores;
    for (const search_outcome& o : outcomes) scores.add(o.scored);
    meter.run_done(x);
    print_row(x, true);
    real_rows.push_back(std::move(x));
  }
  for (auto& w : crew)
    if (w->leaks)
      fmt::print(stderr, "llama_cpp_trained_scaling: warning: the generator still held KV sequences after {} searches\n",
                 w->leaks);

  // The toy world with matched knobs: the real one-sample accuracy per level,
  // the trained PRM's AUC (from best-of-N; else the weighted vote's candidates,
  // scored by the PRM as an outcome verifier all the same).
  const bool has_best_of_n = std::any_of(runs.begin(), runs.end(), [](const run_config& r) {
    return r.kind == strategy_kind::best_of_n;
  });
  if (!has_best_of_n && !weighted_scores.all.empty())
    fmt::print("\n(no best-of-N run: the PRM's AUC is measured on the weighted-majority candidates instead)\n");
  const matched_knobs knobs = match_knobs(real_rows.front(), tokens_per_step, has_best_of_n ? orm_scores : weighted_scores);
  print_knobs(knobs);

  fmt::print("\nToy world (simulation, prose notation, knobs matched; checker toy::is_correct)\n"
             "The toy's noisy PRM is a process verifier only: best-of-N and the weighted vote rank by its score of\n"
             "the last step (every step right, i.e. the outcome), so they count one PRM item per step.\n");
  print_header(false);
  std::vector<row> toy_rows;
  for (const run_config& r : runs) {
    std::vector<search_outcome> outcomes(problems.size());
    const auto started = clock_type::now();
    for (std::size_t i = 0; i < problems.size(); ++i) {
      const toy::arithmetic_problem& p = problems[i];
      toy::arithmetic_generator gen(p, knobs.params);
      toy::noisy_prm prm(p, {.auc = knobs.auc, .seed = opt.seed + 17});
      std::mt19937_64 rng = problem_rng(opt.seed, p);
      outcomes[i] = analysis::run_strategy(
          r.kind, gen, prm, p.prompt(), r.n, boxed_answer{}, [&](const trajectory& t) { return toy::is_correct(p, t); },
          rng, grid);
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    toy_rows.push_back(summarise(r.kind, r.n, problems, outcomes, seconds));
    print_row(toy_rows.back(), false);
  }
  fmt::print("  toy one-sample accuracy per level (the fit's check): ");
  for (int l = 0; l < levels; ++l)
    fmt::print("L{} {:.3f} (real {:.3f}){}", l + 1, toy_rows.front().level_accuracy[static_cast<std::size_t>(l)],
               real_rows.front().level_accuracy[static_cast<std::size_t>(l)], l + 1 < levels ? ", " : "\n");

  // Side by side: accuracy (tokens/prob) at each N, real vs toy.
  fmt::print("\nSide by side: accuracy (tokens/prob), trained models | toy world\n");
  std::vector<std::size_t> columns;  // every N run (one sample adds N = 1)
  for (const run_config& r : runs) columns.push_back(r.n);
  std::sort(columns.begin(), columns.end());
  columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
  fmt::print("{:<22}", "strategy");
  for (std::size_t n : columns) fmt::print(" | {:>25}", fmt::format("N={}", n));
  fmt::print("\n");
  for (std::size_t s = 0; s < real_rows.size();) {
    const strategy_kind kind = real_rows[s].kind;
    fmt::print("{:<22}", analysis::curve_name(kind));
    for (std::size_t n : columns) {
      std::string cell = "-";
      for (std::size_t j = s; j < real_rows.size() && real_rows[j].kind == kind; ++j)
        if (real_rows[j].n == n)
          cell = fmt::format("{:.2f} ({:.0f}) | {:.2f} ({:.0f})", real_rows[j].accuracy, real_rows[j].tokens,
                             toy_rows[j].accuracy, toy_rows[j].tokens);
      fmt::print(" | {:>25}", cell);
    }
    fmt::print("\n");
    while (s < real_rows.size() && real_rows[s].kind == kind) ++s;
  }
  fmt::print("\ntotal wall time {:.0f} s\n", meter.elapsed());
  write_outputs(real_rows, toy_rows, problems.size());
} catch (const std::exception& e) {
  fmt::print(stderr, "\nllama_cpp_trained_scaling: {}\n", e.what());
  return 1;
}
