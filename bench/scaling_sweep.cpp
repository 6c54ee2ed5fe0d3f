// scaling_sweep: which strategy, at which setting, gives the best answers for
// the compute — and what will more compute buy? Runs strategies x budgets x
// seeds over a problem set, then estimates, fits and allocates:
//
//  1. runs: every (strategy, N, seed, problem) search once (analysis/
//     strategy_grid.hpp: the same searches under the same names as the
//     examples), on all cores, with a progress bar; each result is appended
//     to <out>/runs.csv as it finishes, so an interrupted sweep resumes where
//     it stopped (rows already there are not run again; --fresh starts over).
//  2. a sample pool: `pool` best-of-N samples per (problem, seed), with their
//     answers, correctness and verifier scores (<out>/pool.csv), from which
//     coverage (pass@k, Chen et al. 2021), majority-of-k and best-of-k are
//     estimated for every k <= pool without running them (analysis/
//     pass_at_k.hpp, subset_accuracy.hpp), with bootstrap intervals.
//  3. fits (analysis/scaling_fit.hpp, Eigen): coverage's exponentiated power
//     law (Brown et al. 2024) fitted on k <= pool/16 and pool/4, predicting
//     4x and 16x further; each strategy's error against cost as a power law
//     with an offset, fitted on its small budgets and checked at the largest.
//  4. the compute-optimal table (Snell et al. 2024; analysis/compute_optimal.hpp):
//     problems binned by difficulty estimated from the pool's first samples,
//     the best strategy and setting per bin at each budget, its gain over
//     best-of-N at the same cost and the cost best-of-N needs to match it; and
//     for each strategy the cost at which it reaches best-of-N@max's accuracy.
// Cost is one number per search from analysis/cost_model.hpp: weighted
// generated tokens, prompt tokens and verifier items (--cost), or Kinetics'
// equivalent FLOPs for a model shape (--cost-model), which charges long
// generations for their attention over a growing KV cache.
//
// Worlds: `toy` (default: the arithmetic simulation, toy/arithmetic.hpp, with
// a noisy PRM of AUC --prm-auc; every search is independent and cheap), or
// `trained` (the tiny policy and PRM of models/ through llama.cpp in process;
// built only with -DTTSCALE_WITH_LLAMA_CPP=ON; one engine, one thread).
//
// Outputs in <out>: runs.csv, pool.csv, summary.csv, summary.json,
// accuracy_vs_cost.svg (one line per strategy, bootstrap bands, log x),
// coverage.svg (coverage, majority-of-k, best-of-k, the fitted law dashed).
// Options come from the command line or a config file (--config FILE: lines
// `key = value`, the option names without "--", '#' comments; the command
// line wins). Run with --help for the list.
#include <ttscale.hpp>

#include <ttscale/analysis/compute_optimal.hpp>
#include <ttscale/analysis/cost_model.hpp>
#include <ttscale/analysis/csv.hpp>
#include <ttscale/analysis/pass_at_k.hpp>
#include <ttscale/analysis/progress.hpp>
#include <ttscale/analysis/scaling_fit.hpp>
#include <ttscale/analysis/strategy_grid.hpp>
#include <ttscale/analysis/subset_accuracy.hpp>
#include <ttscale/analysis/svg_plot.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/toy/arithmetic_notation.hpp>

#ifdef TTSCALE_SWEEP_WITH_LLAMA
#include <ttscale/adapters/llama_cpp.hpp>
#include <ttscale/adapters/llama_cpp/verifier.hpp>
#endif

#include <fmt/format.h>

#include "report.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace ttscale;
namespace an = ttscale::analysis;
namespace fs = std::filesystem;

// --- options ---------------------------------------------------------------------------

struct options {
  std::string world = "toy";
  std::vector<an::strategy_kind> strategies{an::strategy_kind::best_of_n, an::strategy_kind::majority_vote,
                                            an::strategy_kind::weighted_majority, an::strategy_kind::beam_search,
                                            an::strategy_kind::dvts, an::strategy_kind::a_star,
                                            an::strategy_kind::particle_filter};
  std::vector<std::size_t> budgets{1, 2, 4, 8, 16, 32, 64};
  std::size_t seeds = 1;
  std::size_t problems = 200;
  int min_level = 1, max_level = 5;
  double prm_auc = 0.9;
  std::size_t pool = 64;
  std::size_t difficulty_samples = 4;  // pool samples that estimate a problem's difficulty
  std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::string cost = "generated=1,prompt=0,verifier=0";
  std::string cost_model;  // "" or a model-shape preset: Kinetics eFLOPs
  std::string out = "scaling_sweep";
  std::string models = TTSCALE_SWEEP_MODELS_DIR;
  std::uint64_t seed = 1;
  bool fresh = false;
};

const char* const usage_text = R"(usage: scaling_sweep [options]
  --world toy|trained        the toy arithmetic world (default) or the trained models through llama.cpp
  --strategies a,b,...       of: one_sample best_of_n majority_vote weighted_majority beam_search dvts
                             a_star particle_filter epf (default: all but one_sample and epf)
  --budgets 1,2,4,...        compute knobs N (default 1,2,4,8,16,32,64)
  --seeds K                  seeds per configuration (default 1)
  --problems P               problems (default 200)  --levels A-B  problem levels (default 1-5)
  --prm-auc X                the toy PRM's AUC in [0.5, 1) (default 0.9)
  --pool N                   best-of-N samples per problem for coverage and vote curves (default 64)
  --difficulty-samples M     pool samples that bin problems by difficulty (default 4)
  --cost generated=W,prompt=W,verifier=W   cost weights (default generated=1,prompt=0,verifier=0)
  --cost-model PRESET        Kinetics equivalent FLOPs for a model shape instead (see below)
  --threads T                searches at once (default: the cores; the trained world uses 1)
  --out DIR                  output folder (default scaling_sweep)
  --models DIR               the trained models' folder (world trained)
  --seed S                   base seed (default 1)
  --fresh                    discard DIR's earlier results instead of resuming
  --config FILE              options as `key = value` lines (command-line options win)
  --help                     this text
)";

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "scaling_sweep: {}\n{}", message, usage_text);
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::uint64_t whole(const std::string& key, const std::string& v, std::uint64_t min = 1) {
  try {
    std::size_t used = 0;
    const unsigned long long x = std::stoull(v, &used);
    if (used == v.size() && x >= min && v.find('-') == std::string::npos) return x;
  } catch (const std::exception&) {
  }
  usage_error(fmt::format("--{} wants a whole number >= {}, got \"{}\"", key, min, v));
}

double real(const std::string& key, const std::string& v) {
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && std::isfinite(x)) return x;
  } catch (const std::exception&) {
  }
  usage_error(fmt::format("--{} wants a number, got \"{}\"", key, v));
}

void set_option(options& o, const std::string& key, const std::string& v) {
  if (key == "world") {
    if (v != "toy" && v != "trained") usage_error(fmt::format("--world is toy or trained, got \"{}\"", v));
#ifndef TTSCALE_SWEEP_WITH_LLAMA
    if (v == "trained") usage_error("--world trained needs a build with -DTTSCALE_WITH_LLAMA_CPP=ON");
#endif
    o.world = v;
  } else if (key == "strategies") {
    o.strategies.clear();
    for (const std::string& name : split(v, ',')) {
      const auto s = an::strategy_from_key(trim(name));
      if (!s) usage_error(fmt::format("unknown strategy \"{}\"", trim(name)));
      if (std::find(o.strategies.begin(), o.strategies.end(), *s) == o.strategies.end()) o.strategies.push_back(*s);
    }
  } else if (key == "budgets") {
    o.budgets.clear();
    for (const std::string& b : split(v, ',')) o.budgets.push_back(whole(key, trim(b)));
    std::sort(o.budgets.begin(), o.budgets.end());
    o.budgets.erase(std::unique(o.budgets.begin(), o.budgets.end()), o.budgets.end());
  } else if (key == "seeds") {
    o.seeds = whole(key, v);
  } else if (key == "problems") {
    o.problems = whole(key, v);
  } else if (key == "levels") {
    const auto parts = split(v, '-');
    if (parts.size() != 2) usage_error(fmt::format("--levels wants A-B, got \"{}\"", v));
    o.min_level = static_cast<int>(whole(key, parts[0]));
    o.max_level = static_cast<int>(whole(key, parts[1]));
    if (o.max_level > 5 || o.min_level > o.max_level)
      usage_error(fmt::format("--levels wants 1 <= A <= B <= 5, got \"{}\"", v));
  } else if (key == "prm-auc") {
    o.prm_auc = real(key, v);
    if (!(o.prm_auc >= 0.5 && o.prm_auc < 1.0)) usage_error(fmt::format("--prm-auc must be in [0.5, 1), got {}", v));
  } else if (key == "pool") {
    o.pool = whole(key, v, 2);
  } else if (key == "difficulty-samples") {
    o.difficulty_samples = whole(key, v);
  } else if (key == "cost") {
    o.cost = v;
  } else if (key == "cost-model") {
    o.cost_model = v;
  } else if (key == "threads") {
    o.threads = whole(key, v);
  } else if (key == "out") {
    if (v.empty()) usage_error("--out wants a folder");
    o.out = v;
  } else if (key == "models") {
    o.models = v;
  } else if (key == "seed") {
    o.seed = whole(key, v, 0);
  } else if (key == "fresh") {
    o.fresh = v.empty() || v == "true" || v == "1";
  } else {
    usage_error(fmt::format("unknown option --{}", key));
  }
}

options parse(int argc, char** argv) {
  options o;
  std::vector<std::pair<std::string, std::string>> given;
  std::optional<std::string> config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", usage_text);
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) usage_error(fmt::format("unexpected argument \"{}\"", arg));
    const std::string key = arg.substr(2);
    if (key == "fresh") {
      given.emplace_back(key, "");
      continue;
    }
    if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0) usage_error(fmt::format("{} wants a value", arg));
    if (key == "config") config = argv[++i];
    else given.emplace_back(key, argv[++i]);
  }
  if (config) {
    std::ifstream in(*config);
    if (!in) usage_error(fmt::format("cannot read the config file \"{}\"", *config));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      const auto eq = line.find('=');
      if (eq == std::string::npos)
        usage_error(fmt::format("{}:{}: expected `key = value`, got \"{}\"", *config, number, line));
      set_option(o, trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    }
  }
  for (const auto& [k, v] : given) set_option(o, k, v);
  if (o.pool < o.difficulty_samples)
    usage_error(fmt::format("--difficulty-samples ({}) cannot exceed --pool ({})", o.difficulty_samples, o.pool));
  if (o.world == "trained") o.threads = 1;
  return o;
}

// --- worlds ----------------------------------------------------------------------------

// What one search left behind: the row of runs.csv.
struct run_record {
  an::strategy_kind strategy{};
  std::size_t n = 0;
  std::size_t seed = 0;     // 0 .. seeds-1
  std::size_t problem = 0;  // index into the world's problems
  int level = 0;
  bool correct = false;
  bool chose = false;
  accounting spent;
  std::uint64_t prompt_tokens = 0;  // prompt tokens of the world's prompt, once per sample started
  double seconds = 0;
};

// One sample of a problem's pool: the row of pool.csv.
struct pool_record {
  std::size_t seed = 0, problem = 0, sample = 0;
  int level = 0;
  std::optional<std::int64_t> answer;
  bool correct = false;
  double score = 0;
  std::uint64_t tokens = 0;
};

std::uint64_t unit_seed(std::uint64_t base, std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  return derive_seed(derive_seed(base, {a, b}), {c, d});
}

// The toy arithmetic world: the simulated reasoner and its noisy PRM, per problem.
class toy_world {
 public:
  explicit toy_world(const options& o)
      : o_(o),
        problems_(toy::make_problems(
            {.count = o.problems, .min_level = o.min_level, .max_level = o.max_level, .seed = o.seed})) {}

  [[nodiscard]] std::size_t size() const noexcept { return problems_.size(); }
  [[nodiscard]] int level(std::size_t i) const { return problems_[i].level; }
  // Prompt tokens: the toy world counts none (its steps carry their own token counts).
  [[nodiscard]] std::uint64_t prompt_tokens(std::size_t) const noexcept { return 0; }

  run_record run(an::strategy_kind s, std::size_t n, std::size_t seed, std::size_t i) const {
    const toy::arithmetic_problem& p = problems_[i];
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = o_.prm_auc, .seed = o_.seed + 17 + seed});
    std::mt19937_64 rng(unit_seed(o_.seed, static_cast<std::uint64_t>(s), n, seed, i));
    const auto o = an::run_strategy(s, gen, prm, p.prompt(), n, boxed_answer{},
                                    [&](const trajectory& t) { return toy::is_correct(p, t); }, rng, grid_);
    return {s, n, seed, i, p.level, o.correct, o.chose, o.spent, 0, 0};
  }

  std::vector<pool_record> pool(std::size_t seed, std::size_t i) const {
    const toy::arithmetic_problem& p = problems_[i];
    toy::arithmetic_generator gen(p);
    toy::noisy_prm prm(p, {.auc = o_.prm_auc, .seed = o_.seed + 17 + seed});
    std::mt19937_64 rng(unit_seed(o_.seed, 0x9001, o_.pool, seed, i));
    const auto r = best_of_n(gen, prm, p.prompt(),
                             best_of_n_options{.n = o_.pool, .max_steps = grid_.max_steps, .extract = boxed_answer{}}, rng);
    std::vector<pool_record> out;
    for (std::size_t k = 0; k < r.candidates.size(); ++k) {
      const auto& c = r.candidates[k];
      pool_record x{seed, i, k, p.level, std::nullopt, toy::is_correct(p, c.path), c.score, c.path.tokens()};
      if (c.answer) x.answer = std::strtoll(c.answer->c_str(), nullptr, 10);
      if (!std::isfinite(x.score)) x.score = 0;  // an unfinished sample: never chosen
      out.push_back(x);
    }
    return out;
  }

 private:
  const options& o_;
  std::vector<toy::arithmetic_problem> problems_;
  an::grid_settings grid_{.max_steps = 12, .mean_depth = 6.0};  // toy solutions: 3..7 steps plus re-checks
};


#ifdef TTSCALE_SWEEP_WITH_LLAMA
// The tiny policy and PRM trained on the arithmetic world (models/), through
// llama.cpp in process: the compact notation, a step per line, '.' ending the
// solution; the PRM reads a path and the tag "?" and predicts "+" or "-".
// One engine and one thread (searches share nothing else, and llama.cpp's
// decode threads spin: more threads than cores is slower).
class trained_world {
 public:
  explicit trained_world(const options& o)
      : o_(o),
        problems_(toy::make_problems(
            {.count = o.problems, .min_level = o.min_level, .max_level = o.max_level, .seed = o.seed})),
        backends_(load(o)),
        policy_(o.models + "/arithmetic-policy.gguf"),
        prm_model_(o.models + "/arithmetic-prm.gguf"),
        engine_(policy_, {.n_ctx = sequences * path_tokens, .n_seq_max = sequences, .n_threads = 1}),
        gen_(engine_, {.step_delimiter = "\n",
                       .max_step_tokens = 16,
                       .finish_strings = {"."},
                       .sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .min_p = 0.0}}),
        prm_(prm_model_, {.step_tag = "?", .outcome_tag = "?", .good = "+", .bad = "-"},
             {.n_ctx = sequences * path_tokens, .n_seq_max = sequences, .n_threads = 1}) {}

  [[nodiscard]] std::size_t size() const noexcept { return problems_.size(); }
  [[nodiscard]] int level(std::size_t i) const { return problems_[i].level; }

  run_record run(an::strategy_kind s, std::size_t n, std::size_t seed, std::size_t i) {
    const toy::arithmetic_problem& p = problems_[i];
    std::mt19937_64 rng(unit_seed(o_.seed, static_cast<std::uint64_t>(s), n, seed, i));
    const std::string prompt = toy::compact_prompt(p);
    const auto o = an::run_strategy(s, gen_, prm_, prompt, n, toy::compact_answer{},
                                    [&](const trajectory& t) { return toy::compact_is_correct(p, t); }, rng, grid_);
    prm_.forget_all();
    // One token per character, plus BOS: the prompt is prefilled once per search (shared KV).
    return {s, n, seed, i, p.level, o.correct, o.chose, o.spent, prompt.size() + 1, 0};
  }

  std::vector<pool_record> pool(std::size_t seed, std::size_t i) {
    const toy::arithmetic_problem& p = problems_[i];
    std::mt19937_64 rng(unit_seed(o_.seed, 0x9001, o_.pool, seed, i));
    const auto r = best_of_n(gen_, prm_, toy::compact_prompt(p),
                             best_of_n_options{.n = o_.pool, .max_steps = grid_.max_steps, .extract = toy::compact_answer{}},
                             rng);
    prm_.forget_all();
    std::vector<pool_record> out;
    for (std::size_t k = 0; k < r.candidates.size(); ++k) {
      const auto& c = r.candidates[k];
      pool_record x{seed, i, k, p.level, std::nullopt, toy::compact_is_correct(p, c.path), c.score, c.path.tokens()};
      if (c.answer) x.answer = *c.answer;
      if (!std::isfinite(x.score)) x.score = 0;
      out.push_back(x);
    }
    return out;
  }

 private:
  static constexpr std::uint32_t sequences = 256;    // llama.cpp's LLAMA_MAX_SEQ: A* at N = 64 needs ~250
  static constexpr std::uint32_t path_tokens = 160;  // BOS + prompt + 8 steps of 16 + the tag, rounded up
  static bool load(const options&) {
    const char* dir = std::getenv("TTSCALE_LLAMA_CPP_BACKEND_DIR");
    llama_cpp::load_backends(dir ? dir : TTSCALE_LLAMA_CPP_BACKEND_DIR);
    return true;
  }
  const options& o_;
  std::vector<toy::arithmetic_problem> problems_;
  bool backends_;
  llama_cpp::model policy_, prm_model_;
  llama_cpp::engine engine_;
  llama_cpp::generator gen_;
  llama_cpp::token_probability_verifier prm_;
  an::grid_settings grid_{.max_steps = 8, .mean_depth = 5.0};
};
#endif

// --- runs: what to do, what is done (runs.csv), doing the rest ---------------------------

struct unit {
  an::strategy_kind strategy{};
  std::size_t n = 0, seed = 0, problem = 0;
  friend auto operator<=>(const unit&, const unit&) = default;
};

const std::vector<std::string> runs_header{"strategy", "n",     "seed",  "problem", "level", "correct", "chose",
                                           "tokens",   "steps", "samples", "generator_calls", "verifier_calls",
                                           "verifier_items", "prompt_tokens", "seconds"};
const std::vector<std::string> pool_header{"seed", "problem", "sample", "level", "answer", "correct", "score", "tokens"};

std::vector<std::string> to_row(const run_record& r) {
  auto num = [](auto x) { return fmt::format("{}", x); };
  return {std::string(an::strategy_key(r.strategy)), num(r.n), num(r.seed), num(r.problem), num(r.level),
          num(int(r.correct)), num(int(r.chose)), num(r.spent.tokens), num(r.spent.steps), num(r.spent.samples),
          num(r.spent.generator_calls), num(r.spent.verifier_calls), num(r.spent.verifier_items),
          num(r.prompt_tokens), ttscale::detail::number_text(r.seconds)};
}

std::vector<std::string> to_row(const pool_record& r) {
  auto num = [](auto x) { return fmt::format("{}", x); };
  return {num(r.seed), num(r.problem), num(r.sample), num(r.level), r.answer ? num(*r.answer) : std::string(),
          num(int(r.correct)), ttscale::detail::number_text(r.score), num(r.tokens)};
}

// Reads a whole number field of a results file; a bad one names file, line and column.
std::uint64_t field_u64(const std::string& file, std::size_t line, const std::string& column, const std::string& v) {
  try {
    std::size_t used = 0;
    const unsigned long long x = std::stoull(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw std::runtime_error(fmt::format("{}:{}: column {} is \"{}\", not a whole number", file, line, column, v));
}
double field_double(const std::string& file, std::size_t line, const std::string& column, const std::string& v) {
  try {
    std::size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw std::runtime_error(fmt::format("{}:{}: column {} is \"{}\", not a number", file, line, column, v));
}

run_record parse_run(const std::string& file, std::size_t line, const std::vector<std::string>& f) {
  const auto s = an::strategy_from_key(f[0]);
  if (!s) throw std::runtime_error(fmt::format("{}:{}: unknown strategy \"{}\"", file, line, f[0]));
  auto u = [&](std::size_t i) { return field_u64(file, line, runs_header[i], f[i]); };
  run_record r;
  r.strategy = *s;
  r.n = u(1);
  r.seed = u(2);
  r.problem = u(3);
  r.level = static_cast<int>(u(4));
  r.correct = u(5) != 0;
  r.chose = u(6) != 0;
  r.spent.tokens = u(7);
  r.spent.steps = u(8);
  r.spent.samples = u(9);
  r.spent.generator_calls = u(10);
  r.spent.verifier_calls = u(11);
  r.spent.verifier_items = u(12);
  r.prompt_tokens = u(13);
  r.seconds = field_double(file, line, runs_header[14], f[14]);
  return r;
}

pool_record parse_pool(const std::string& file, std::size_t line, const std::vector<std::string>& f) {
  auto u = [&](std::size_t i) { return field_u64(file, line, pool_header[i], f[i]); };
  pool_record r;
  r.seed = u(0);
  r.problem = u(1);
  r.sample = u(2);
  r.level = static_cast<int>(u(3));
  if (!f[4].empty()) r.answer = static_cast<std::int64_t>(std::stoll(f[4]));
  r.correct = u(5) != 0;
  r.score = field_double(file, line, pool_header[6], f[6]);
  r.tokens = u(7);
  return r;
}

// A results file of this sweep: its rows so far, and appending new ones as they finish.
template <class Record>
class results_file {
 public:
  results_file(fs::path path, const std::vector<std::string>& header, bool fresh,
               Record (*parse)(const std::string&, std::size_t, const std::vector<std::string>&))
      : path_(std::move(path)) {
    if (fresh) fs::remove(path_);
    // Rows already there (a row cut short by a kill is dropped), then append.
    const an::resumed_csv done = an::resume_csv_file(path_.string(), header);
    for (std::size_t i = 0; i < done.rows.size(); ++i) rows_.push_back(parse(path_.string(), i + 2, done.rows[i]));
    out_.open(path_, std::ios::app | std::ios::binary);
    if (!out_) throw std::runtime_error(fmt::format("cannot write {}", path_.string()));
    writer_.emplace(out_, header, an::csv_append);
  }
  [[nodiscard]] const std::vector<Record>& rows() const noexcept { return rows_; }
  void append(const Record& r) {
    std::lock_guard lock(mutex_);
    const std::vector<std::string> fields = to_row(r);
    writer_->row(std::span<const std::string>(fields));
    out_.flush();  // a finished search is kept even if the sweep is killed next
    rows_.push_back(r);
  }
  template <class Range>
  void append_all(const Range& rs) {
    std::lock_guard lock(mutex_);
    for (const Record& r : rs) {
      const std::vector<std::string> fields = to_row(r);
      writer_->row(std::span<const std::string>(fields));
      rows_.push_back(r);
    }
    out_.flush();
  }

 private:
  fs::path path_;
  std::ofstream out_;
  std::optional<an::csv_writer> writer_;
  std::mutex mutex_;
  std::vector<Record> rows_;
};

// Runs `work(i)` for i in [0, count) on `threads` threads, advancing the bar.
template <class Work>
void run_parallel(std::size_t count, std::size_t threads, an::progress_bar& bar, Work work) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto loop = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        work(i);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = count;
      }
      bar.advance();
    }
  };
  std::vector<std::jthread> pool;
  for (std::size_t t = 1; t < std::min(threads, count); ++t) pool.emplace_back(loop);
  loop();
  pool.clear();
  if (failure) std::rethrow_exception(failure);
}


// --- settings a resumed sweep must share with the results on disk ----------------------

std::string settings_text(const options& o) {
  return fmt::format("world={}\nproblems={}\nlevels={}-{}\nprm_auc={}\nseed={}\npool={}\n", o.world, o.problems,
                     o.min_level, o.max_level, ttscale::detail::number_text(o.prm_auc), o.seed, o.pool);
}

void check_settings(const options& o) {
  const fs::path file = fs::path(o.out) / "settings.txt";
  const std::string now = settings_text(o);
  if (!o.fresh && fs::exists(file)) {
    std::ifstream in(file);
    std::stringstream before;
    before << in.rdbuf();
    if (before.str() != now)
      throw std::runtime_error(fmt::format(
          "{} holds results of other settings:\n{}this run has:\n{}use --fresh to discard them, or another --out",
          o.out, before.str(), now));
  }
  std::ofstream(file, std::ios::trunc) << now;
}

an::cost_weights parse_cost(const std::string& text) {
  an::cost_weights w{.generated_token = 0, .prompt_token = 0, .verifier_item = 0};
  for (const std::string& part : split(text, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) usage_error(fmt::format("--cost wants name=weight pairs, got \"{}\"", part));
    const std::string name = trim(part.substr(0, eq));
    const double v = real("cost", trim(part.substr(eq + 1)));
    if (!(v >= 0)) usage_error(fmt::format("--cost: the weight of {} must be >= 0, got {}", name, v));
    if (name == "generated") w.generated_token = v;
    else if (name == "prompt") w.prompt_token = v;
    else if (name == "verifier") w.verifier_item = v;
    else usage_error(fmt::format("--cost: unknown count \"{}\" (generated, prompt, verifier)", name));
  }
  return w;
}

std::optional<an::model_shape> parse_cost_model(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name == "arithmetic") return an::arithmetic_model_shape();
  if (name == "qwen2.5-7b") return an::qwen2_5_7b_shape();
  if (name == "llama3-8b") return an::llama3_8b_shape();
  usage_error(fmt::format("--cost-model: unknown shape \"{}\" (arithmetic, qwen2.5-7b, llama3-8b)", name));
}

// --- summaries ---------------------------------------------------------------------------

// One configuration over every problem (seeds averaged per problem).
struct config_summary {
  an::strategy_kind strategy{};
  std::size_t n = 0;
  an::estimate_interval accuracy{};
  double tokens = 0, verifier_items = 0, cost = 0, seconds = 0;
  std::vector<double> correct_per_problem, cost_per_problem;
};

template <class World>
void sweep(const options& opt, World& world, const an::cost_weights& weights,
           const std::optional<an::model_shape>& shape) {
  fmt::print("scaling_sweep: world {}, {} problems (levels {}-{}), PRM AUC {}, {} seed(s), budgets N = {}, pool {}\n",
             opt.world, world.size(), opt.min_level, opt.max_level, opt.prm_auc, opt.seeds, fmt::join(opt.budgets, ","),
             opt.pool);

  // 1. What is left to do.
  results_file<run_record> runs(fs::path(opt.out) / "runs.csv", runs_header, opt.fresh, parse_run);
  results_file<pool_record> pool(fs::path(opt.out) / "pool.csv", pool_header, opt.fresh, parse_pool);
  std::set<unit> done;
  for (const run_record& r : runs.rows()) done.insert({r.strategy, r.n, r.seed, r.problem});
  std::set<std::pair<std::size_t, std::size_t>> pooled;
  for (const pool_record& r : pool.rows()) pooled.insert({r.seed, r.problem});
  std::vector<unit> todo;
  std::size_t already = 0;
  for (an::strategy_kind s : opt.strategies)
    for (std::size_t n : opt.budgets)
      for (std::size_t seed = 0; seed < opt.seeds; ++seed)
        for (std::size_t p = 0; p < world.size(); ++p) {
          const unit u{s, n, seed, p};
          if (done.count(u)) ++already;
          else todo.push_back(u);
        }
  std::vector<std::pair<std::size_t, std::size_t>> pool_todo;
  for (std::size_t seed = 0; seed < opt.seeds; ++seed)
    for (std::size_t p = 0; p < world.size(); ++p) {
      if (pooled.count({seed, p})) ++already;
      else pool_todo.emplace_back(seed, p);
    }

  // 2. Do it, biggest first so the threads end together.
  std::stable_sort(todo.begin(), todo.end(), [](const unit& a, const unit& b) { return a.n > b.n; });
  {
    an::progress_bar bar(todo.size() + pool_todo.size() + already, "scaling_sweep");
    bar.skip(already);
    run_parallel(pool_todo.size(), opt.threads, bar, [&](std::size_t i) {
      pool.append_all(world.pool(pool_todo[i].first, pool_todo[i].second));
    });
    run_parallel(todo.size(), opt.threads, bar, [&](std::size_t i) {
      const unit& u = todo[i];
      const auto start = std::chrono::steady_clock::now();
      run_record r = world.run(u.strategy, u.n, u.seed, u.problem);
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      runs.append(r);
    });
    bar.finish();
  }

  // 3. Summaries per configuration (only this run's strategies, budgets, seeds and problems).
  auto cost_of = [&](const run_record& r) {
    if (!shape) return an::weighted_cost(r.spent, r.prompt_tokens, weights);
    // Kinetics: every sample generates tokens/samples after the prompt; a
    // tree search's shared prefixes are charged per trajectory (an upper bound).
    const std::uint64_t trajectories = std::max<std::uint64_t>(1, r.spent.samples);
    std::vector<std::uint64_t> per(trajectories, r.spent.tokens / trajectories);
    return an::search_cost(*shape, {}, 16, per).equivalent_flops;
  };
  std::map<std::pair<an::strategy_kind, std::size_t>, std::vector<const run_record*>> by_config;
  for (const run_record& r : runs.rows())
    if (r.seed < opt.seeds && r.problem < world.size()) by_config[{r.strategy, r.n}].push_back(&r);
  std::vector<config_summary> summaries;
  for (an::strategy_kind s : opt.strategies)
    for (std::size_t n : opt.budgets) {
      const auto& rs = by_config[{s, n}];
      config_summary c;
      c.strategy = s;
      c.n = n;
      c.correct_per_problem.assign(world.size(), 0.0);
      c.cost_per_problem.assign(world.size(), 0.0);
      for (const run_record* r : rs) {
        c.correct_per_problem[r->problem] += r->correct ? 1.0 / static_cast<double>(opt.seeds) : 0.0;
        c.cost_per_problem[r->problem] += cost_of(*r) / static_cast<double>(opt.seeds);
        c.tokens += static_cast<double>(r->spent.tokens);
        c.verifier_items += static_cast<double>(r->spent.verifier_items);
        c.seconds += r->seconds;
      }
      const double count = static_cast<double>(rs.size());
      c.tokens /= count;
      c.verifier_items /= count;
      c.seconds /= count;
      for (double x : c.cost_per_problem) c.cost += x / static_cast<double>(world.size());
      c.accuracy = an::bootstrap_mean(c.correct_per_problem, {.seed = opt.seed});
      summaries.push_back(std::move(c));
    }
  fmt::print("\n{:<18} {:>4} | {:>8} {:>17} | {:>9} | {:>10} | {:>11} | {:>9}\n", "strategy", "N", "accuracy",
             "95% interval", "tokens", "PRM items", "cost", "ms/search");
  fmt::print("{:-<18}-{:-<4}-+-{:-<8}-{:-<17}-+-{:-<9}-+-{:-<10}-+-{:-<11}-+-{:-<9}\n", "", "", "", "", "", "", "", "");
  for (const config_summary& c : summaries)
    fmt::print("{:<18} {:>4} | {:>8.3f} [{:>6.3f}, {:>6.3f}] | {:>9.0f} | {:>10.1f} | {:>11.4g} | {:>9.2f}\n",
               an::curve_name(c.strategy), c.n, c.accuracy.estimate, c.accuracy.low, c.accuracy.high, c.tokens,
               c.verifier_items, c.cost, c.seconds * 1e3);

  // 4. The pool: coverage, majority-of-k and best-of-k at every k, from one set of samples.
  std::map<std::pair<std::size_t, std::size_t>, std::vector<an::pool_sample>> pools;
  for (const pool_record& r : pool.rows())
    if (r.seed < opt.seeds && r.problem < world.size())
      pools[{r.seed, r.problem}].push_back({r.score, r.answer, r.correct});
  std::vector<std::vector<an::pool_sample>> pool_list;
  std::vector<an::problem_tally> tallies;
  for (auto& [key, samples] : pools) {
    samples.resize(std::min(samples.size(), opt.pool));
    std::uint64_t c = 0;
    for (const an::pool_sample& x : samples) c += x.correct;
    tallies.push_back({samples.size(), c});
    pool_list.push_back(samples);
  }
  std::vector<std::uint64_t> ks;
  for (std::uint64_t k = 1; k < opt.pool; k *= 2) ks.push_back(k);
  ks.push_back(opt.pool);
  const auto coverage = an::coverage_curve(tallies, ks, {.seed = opt.seed});
  const auto majority = an::majority_of_k_curve(pool_list, ks, {.seed = opt.seed}, {.seed = opt.seed});
  const auto best_of = an::best_of_k_curve(pool_list, ks, {.seed = opt.seed});
  fmt::print("\nFrom {} samples per problem ({} problem-seeds): coverage (pass@k), majority of k, best of k (PRM)\n",
             opt.pool, pool_list.size());
  fmt::print("{:>6} | {:>22} | {:>22} | {:>22}\n", "k", "coverage [95%]", "majority [95%]", "best-of-k [95%]");
  for (std::size_t j = 0; j < ks.size(); ++j) {
    auto cell = [](const an::estimate_interval& e) { return fmt::format("{:.3f} [{:.3f}, {:.3f}]", e.estimate, e.low, e.high); };
    fmt::print("{:>6} | {:>22} | {:>22} | {:>22}\n", ks[j], cell(coverage[j].coverage), cell(majority[j].accuracy),
               cell(best_of[j].accuracy));
  }

  // 5. Fits that predict: coverage's law on small k, checked at 4x and 16x.
  std::vector<double> kx, cy;
  for (std::size_t j = 0; j < ks.size(); ++j) {
    kx.push_back(static_cast<double>(ks[j]));
    cy.push_back(coverage[j].coverage.estimate);
  }
  fmt::print("\nCoverage law c(k) = exp(a k^-b) (Brown et al. 2024), fitted on small k, predicting larger k:\n");
  std::optional<an::coverage_law_fit> coverage_law;
  for (double up_to : {static_cast<double>(opt.pool) / 16, static_cast<double>(opt.pool) / 4}) {
    if (up_to < 2) continue;
    const auto f = an::fit_coverage_law_and_predict(kx, cy, up_to);
    coverage_law = f.fit;
    fmt::print("  fit on k <= {:>3}: a = {:.4f} +- {:.4f}, b = {:.4f} +- {:.4f}, R^2 = {:.4f}", up_to, f.fit.a,
               f.fit.a_standard_error, f.fit.b, f.fit.b_standard_error, f.fit.r_squared);
    double shown = 0;  // a multiple beyond the largest k falls back on it: show each k once
    for (const auto& p : f.predictions)
      if (p.check.x != shown) {
        shown = p.check.x;
        fmt::print(";  {:g}x (k = {:g}): predicted {:.3f}, measured {:.3f}, error {:+.3f}", p.check.x / f.largest_fitted_x,
                   p.check.x, p.check.predicted, p.check.observed, p.check.predicted - p.check.observed);
      }
    fmt::print("\n");
  }
  const auto full_coverage_law = an::fit_coverage_law(kx, cy);
  fmt::print("  fit on all k:    a = {:.4f} +- {:.4f}, b = {:.4f} +- {:.4f}, R^2 = {:.4f}\n", full_coverage_law.a,
             full_coverage_law.a_standard_error, full_coverage_law.b, full_coverage_law.b_standard_error,
             full_coverage_law.r_squared);

  fmt::print("\nError law e(C) = e_inf + A C^-alpha per strategy, fitted on budgets up to N_max/4, checked at N_max:\n");
  const double largest_n = static_cast<double>(opt.budgets.back());
  for (an::strategy_kind s : opt.strategies) {
    std::vector<double> cx, ey;
    double cut = 0;
    for (const config_summary& c : summaries)
      if (c.strategy == s && c.cost > 0) {
        cx.push_back(c.cost);
        ey.push_back(1.0 - c.accuracy.estimate);
        if (static_cast<double>(c.n) <= largest_n / 4) cut = std::max(cut, c.cost);
      }
    std::size_t fitted = 0;
    for (double x : cx) fitted += x <= cut;
    if (fitted < 3) {
      fmt::print("  {:<18} too few budgets at or below N_max/4 to fit 3 parameters\n", an::curve_name(s));
      continue;
    }
    try {
      const auto f = an::fit_error_law_and_predict(cx, ey, cut);
      fmt::print("  {:<18} e_inf = {:.3f} +- {:.3f}, A = {:.3f} +- {:.3f}, alpha = {:.3f} +- {:.3f}, R^2 = {:.3f}{}",
                 an::curve_name(s), f.fit.irreducible_error, f.fit.irreducible_error_standard_error, f.fit.scale,
                 f.fit.scale_standard_error, f.fit.exponent, f.fit.exponent_standard_error, f.fit.r_squared,
                 f.fit.exponent < 0 ? " (alpha < 0: error GROWS with compute)" : "");
      double shown = 0;
      for (const auto& p : f.predictions)
        if (p.check.x != shown) {
          shown = p.check.x;
          fmt::print(";  at {:.3g}x the cost: error predicted {:.3f}, measured {:.3f}", p.check.x / f.largest_fitted_x,
                     p.check.predicted, p.check.observed);
        }
      fmt::print("\n");
    } catch (const ttscale::error& e) {
      fmt::print("  {:<18} no fit: {}\n", an::curve_name(s), e.what());
    }
  }

  // 6. Compute-optimal allocation (Snell et al. 2024) and compute ratios.
  std::vector<an::measured_configuration> measured;
  for (const config_summary& c : summaries)
    measured.push_back({std::string(an::strategy_key(c.strategy)), static_cast<double>(c.n), c.correct_per_problem,
                        c.cost_per_problem});
  std::vector<double> difficulty(world.size(), 0.0);
  for (const auto& [key, samples] : pools) {
    double right = 0;
    const std::size_t m = std::min(opt.difficulty_samples, samples.size());
    for (std::size_t j = 0; j < m; ++j) right += samples[j].correct;
    difficulty[key.second] += (1.0 - right / static_cast<double>(m)) / static_cast<double>(opt.seeds);
  }
  const bool have_best_of_n =
      std::find(opt.strategies.begin(), opt.strategies.end(), an::strategy_kind::best_of_n) != opt.strategies.end();
  if (have_best_of_n && world.size() >= 10) {
    const an::difficulty_bins bins = an::bin_by_difficulty(difficulty, 5);
    const an::problem_split split = an::held_out_split(bins, opt.seed);
    const auto baseline = an::strategy_curve(measured, "best_of_n");
    fmt::print("\nCompute-optimal allocation: 5 difficulty bins from {} pool samples each; per bin the best strategy and"
               " N within the budget,\nchosen on half the problems and scored on the other half (two-fold), against "
               "best-of-N:\n",
               opt.difficulty_samples);
    fmt::print("{:>11} | {:>8} | {:>8} | {:>9} | {:>7} | {:>22} | {}\n", "budget", "2-fold", "oracle", "best-of-N",
               "gain", "best-of-N cost to match", "oracle's choice per bin (easy..hard)");
    std::vector<an::allocation> oracle_curve;
    for (const an::curve_point& b : baseline) {
      const auto two = an::two_fold_allocation(measured, bins, b.cost, split);
      const an::allocation oracle = an::compute_optimal_allocation(measured, bins, b.cost);
      oracle_curve.push_back(oracle);
      std::string choices;
      for (const an::bin_allocation& bin : oracle.bins)
        choices += (choices.empty() ? "" : ", ") +
                   (bin.configuration ? fmt::format("{} N={:g}", measured[*bin.configuration].strategy,
                                                    measured[*bin.configuration].setting)
                                      : std::string("-"));
      auto acc = [](const std::optional<double>& a) { return a ? fmt::format("{:.3f}", *a) : std::string("-"); };
      if (!two.accuracy) {
        fmt::print("{:>11.4g} | {:>8} | {:>8} | {:>9.3f} | {:>7} | {:>22} | {}\n", b.cost, "-", acc(oracle.accuracy),
                   b.accuracy, "-", "-", choices);
        continue;
      }
      const auto match = an::cost_to_reach(baseline, *two.accuracy);
      fmt::print("{:>11.4g} | {:>8.3f} | {:>8} | {:>9.3f} | {:>+7.3f} | {:>22} | {}\n", b.cost, *two.accuracy,
                 acc(oracle.accuracy), b.accuracy, *two.accuracy - b.accuracy,
                 match ? fmt::format("{:.4g} ({:.2f}x)", *match, *match / two.mean_cost) : std::string("never"),
                 choices);
    }
    std::vector<an::named_curve> curves = an::strategy_curves(measured);
    curves.push_back({"compute-optimal (oracle)", an::allocation_curve(oracle_curve)});
    // The target: best-of-N's accuracy at its largest N — or at its best N
    // where a weak verifier makes more samples worse (then N_max's accuracy
    // is reached by everything at N = 1 and the ratios say nothing).
    std::size_t best = baseline.size() - 1;
    for (std::size_t j = 0; j < baseline.size(); ++j)
      if (baseline[j].accuracy > baseline[best].accuracy) best = j;
    const double target = baseline[best].accuracy;
    const an::compute_ratio_summary ratios = an::compute_ratios(curves, "best_of_n", target);
    fmt::print("\nCost to reach best-of-N@{}'s accuracy {:.3f}{} (interpolated on log cost), and its ratio to best-of-N's:\n",
               measured[baseline[best].index].setting, target,
               best + 1 == baseline.size() ? "" : " (its best N: larger N did worse)");
    for (const an::cost_to_target& c : ratios.curves)
      fmt::print("  {:<26} {:>12} {}\n", c.name, c.cost ? fmt::format("{:.4g}", *c.cost) : std::string("never"),
                 c.name == "best_of_n"       ? std::string("(the baseline)")
                 : !c.ratio_to_baseline      ? std::string()
                 : *c.ratio_to_baseline <= 1 ? fmt::format("({:.2f}x less compute than best-of-N)", 1.0 / *c.ratio_to_baseline)
                                             : fmt::format("({:.2f}x MORE compute than best-of-N)", *c.ratio_to_baseline));
  }

  // 7. Files: summary.csv / .json and the two pictures.
  {
    std::ofstream out(fs::path(opt.out) / "summary.csv", std::ios::trunc | std::ios::binary);
    an::csv_writer w(out, {"strategy", "n", "accuracy", "accuracy_low", "accuracy_high", "tokens", "verifier_items",
                           "cost", "seconds_per_search"});
    for (const config_summary& c : summaries)
      w.row(std::string(an::strategy_key(c.strategy)), c.n, c.accuracy.estimate, c.accuracy.low, c.accuracy.high,
            c.tokens, c.verifier_items, c.cost, c.seconds);
  }
  {
    std::ofstream out(fs::path(opt.out) / "summary.json", std::ios::trunc);
    out << "{\n  \"settings\": {\"world\": \"" << opt.world << "\", \"problems\": " << world.size()
        << ", \"prm_auc\": " << ttscale::detail::number_text(opt.prm_auc) << ", \"seeds\": " << opt.seeds
        << ", \"pool\": " << opt.pool << "},\n  \"configurations\": [\n";
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      const config_summary& c = summaries[i];
      out << fmt::format("    {{\"strategy\": \"{}\", \"n\": {}, \"accuracy\": {}, \"low\": {}, \"high\": {}, "
                         "\"tokens\": {}, \"verifier_items\": {}, \"cost\": {}}}{}\n",
                         an::strategy_key(c.strategy), c.n, ttscale::detail::number_text(c.accuracy.estimate),
                         ttscale::detail::number_text(c.accuracy.low), ttscale::detail::number_text(c.accuracy.high),
                         ttscale::detail::number_text(c.tokens), ttscale::detail::number_text(c.verifier_items),
                         ttscale::detail::number_text(c.cost), i + 1 < summaries.size() ? "," : "");
    }
    out << "  ],\n  \"coverage\": [";
    for (std::size_t j = 0; j < ks.size(); ++j)
      out << (j ? ", " : "") << fmt::format("{{\"k\": {}, \"coverage\": {}, \"majority\": {}, \"best_of_k\": {}}}", ks[j],
                                            ttscale::detail::number_text(coverage[j].coverage.estimate),
                                            ttscale::detail::number_text(majority[j].accuracy.estimate),
                                            ttscale::detail::number_text(best_of[j].accuracy.estimate));
    out << "],\n  \"coverage_law\": {\"a\": " << ttscale::detail::number_text(full_coverage_law.a)
        << ", \"b\": " << ttscale::detail::number_text(full_coverage_law.b)
        << ", \"r_squared\": " << ttscale::detail::number_text(full_coverage_law.r_squared) << "}\n}\n";
  }
  std::vector<an::plot_series> curves;
  for (const config_summary& c : summaries)
    if (c.cost > 0)
      an::add_point(curves, std::string(an::curve_name(c.strategy)), c.cost, c.accuracy.estimate, c.accuracy.low,
                    c.accuracy.high);
  const std::string cost_label = shape ? fmt::format("equivalent FLOPs per problem (Kinetics, {})", shape->name)
                                       : fmt::format("cost per problem ({})", opt.cost);
  an::write_text_file((fs::path(opt.out) / "accuracy_vs_cost.svg").string(),
                      an::svg_line_plot(curves, {.title = fmt::format("Accuracy against compute, {} world", opt.world),
                                                 .x_label = cost_label,
                                                 .y_label = "accuracy (95% bootstrap band)",
                                                 .y_min = 0.0,
                                                 .y_max = 1.0}));
  std::vector<an::plot_series> cov;
  for (std::size_t j = 0; j < ks.size(); ++j) {
    const double k = static_cast<double>(ks[j]);
    an::add_point(cov, "coverage (pass@k)", k, coverage[j].coverage.estimate, coverage[j].coverage.low,
                  coverage[j].coverage.high);
    an::add_point(cov, "majority of k", k, majority[j].accuracy.estimate, majority[j].accuracy.low,
                  majority[j].accuracy.high);
    an::add_point(cov, "best of k (PRM)", k, best_of[j].accuracy.estimate, best_of[j].accuracy.low,
                  best_of[j].accuracy.high);
  }
  // The law in the colour of the coverage it was fitted to (the first series takes the palette's first, #1f77b4).
  an::plot_series law{.name = "fitted law exp(a k^-b)", .style = an::series_style::fitted, .colour = "#1f77b4"};
  for (double k = 1; k <= static_cast<double>(opt.pool) * 1.0001; k *= 1.25) {
    law.x.push_back(k);
    law.y.push_back(full_coverage_law.predict(k));
  }
  cov.push_back(law);
  an::write_text_file((fs::path(opt.out) / "coverage.svg").string(),
                      an::svg_line_plot(cov, {.title = "Coverage, majority and best-of-k from one pool of samples",
                                              .x_label = "samples k",
                                              .y_label = "accuracy",
                                              .y_min = 0.0,
                                              .y_max = 1.0}));
  fmt::print("\nwrote {0}/runs.csv, pool.csv, summary.csv, summary.json, accuracy_vs_cost.svg, coverage.svg\n",
             opt.out);
}
}  // namespace

int main(int argc, char** argv) try {
  const options opt = parse(argc, argv);
  const an::cost_weights weights = parse_cost(opt.cost);
  const std::optional<an::model_shape> shape = parse_cost_model(opt.cost_model);
  ttscale_bench::print_machine();
  fs::create_directories(opt.out);
  check_settings(opt);
  if (opt.world == "toy") {
    toy_world world(opt);
    sweep(opt, world, weights, shape);
  } else {
#ifdef TTSCALE_SWEEP_WITH_LLAMA
    trained_world world(opt);
    sweep(opt, world, weights, shape);
#endif
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "scaling_sweep: {}\n", e.what());
  return 1;
}
