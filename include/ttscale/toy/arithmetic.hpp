// ttscale/toy/arithmetic.hpp: the embedded toy world — a SIMULATION of a
// reasoning model on multi-step arithmetic, with ground truth and reward
// models of tunable quality. Nothing here is a language model: it exists so
// examples and tests run anywhere in milliseconds with known answers.
//
// A problem is a start value and k operations (+a, -a, *a, all mod 1000);
// the answer is the final value. The simulated model performs one operation
// per step ("Step 2: 417 * 3 = 251.", phrased one of three ways), and the last step ends with
// "\boxed{value}". Each step is right with a probability that depends on the
// problem's level (1 easy .. 5 hard); a wrong step makes a plausible mistake.
// Knobs (model_params):
//  - step_error(level) = base_error + level_error * (level - 1): the error
//    rate of an ordinary step;
//  - every problem has one trap step whose error rate is
//    trap_error + trap_level_error * (level - 1); a trap mistake is
//    systematic — with probability trap_share it is always the same wrong
//    operation (for + it subtracts, for - it adds, for * it adds) — so on hard
//    problems one wrong final answer recurs and majority voting can lock onto
//    it while coverage (any sample right) keeps growing, as with real models
//    (Brown et al. 2024, "Large Language Monkeys", sec. 4);
//  - wrong reasoning runs longer, as First Finish Search observed (Agarwal et
//    al. 2025, sec. 3): a wrong step has extra_wrong_tokens more tokens, and
//    after a mistake the model inserts a "let me double-check" step with
//    probability recheck_probability;
//  - log-probabilities: right steps are confident, random mistakes are not,
//    trap mistakes are as confident as right steps (systematic errors are).
// With the defaults, single-sample accuracy is about 0.85 at level 1 and 0.15
// at level 5, where the trap answer (about 0.28) out-polls the right one.
//
// Reward models: exact_verifier (ground truth); noisy_orm scores a finished
// trajectory sigmoid(mu * [answer right] + z); noisy_prm scores a step
// sigmoid(mu * [every step so far right] + z), z ~ N(0,1) drawn from a hash
// of (seed, trajectory text) so a trajectory always gets the same score.
// mu = sqrt(2) * Phi^-1(auc) makes `auc` the exact probability that a random
// right item outscores a random wrong one (auc = 0.5: uninformative).
// Everything is deterministic given the seeds; generators are thread-safe.
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/detail/number_text.hpp>
#include <ttscale/errors.hpp>
#include <ttscale/random.hpp>
#include <ttscale/trajectory.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace toy {

enum class op_kind : std::uint8_t { add, sub, mul };

struct operation {
  op_kind kind = op_kind::add;
  int operand = 0;
};

inline constexpr int modulus = 1000;

constexpr int apply(op_kind kind, int value, int operand) noexcept {
  long r = 0;
  switch (kind) {
    case op_kind::add: r = long{value} + operand; break;
    case op_kind::sub: r = long{value} - operand; break;
    case op_kind::mul: r = long{value} * operand; break;
  }
  r %= modulus;
  return static_cast<int>(r < 0 ? r + modulus : r);
}

constexpr char symbol(op_kind kind) noexcept {
  return kind == op_kind::add ? '+' : kind == op_kind::sub ? '-' : '*';
}

struct arithmetic_problem {
  std::uint64_t id = 0;
  int level = 1;                 ///< 1 (easy) .. 5 (hard)
  int start = 0;
  std::vector<operation> ops{};
  std::size_t trap_step = 0;     ///< index into ops of the systematic-mistake step

  /// Right value after the first `steps` operations.
  [[nodiscard]] int value_after(std::size_t steps) const {
    int v = start;
    for (std::size_t i = 0; i < steps && i < ops.size(); ++i) v = apply(ops[i].kind, v, ops[i].operand);
    return v;
  }
  [[nodiscard]] int answer() const { return value_after(ops.size()); }
  [[nodiscard]] std::string prompt() const {
    std::string p = "Start with " + std::to_string(start) + ".";
    for (const operation& o : ops) p += std::string(" Then ") + symbol(o.kind) + ' ' + std::to_string(o.operand) + '.';
    return p + " Work mod 1000. Give the final value.\n";
  }
};

struct problem_set_options {
  std::size_t count = 100;
  int min_level = 1;
  int max_level = 5;             ///< levels cycle min..max, so a set is evenly mixed
  std::uint64_t seed = 0;
};

inline std::vector<arithmetic_problem> make_problems(const problem_set_options& o) {
  if (o.min_level < 1 || o.max_level > 5 || o.min_level > o.max_level)
    throw invalid_argument("toy::make_problems: levels must satisfy 1 <= min_level <= max_level <= 5 (got " +
                           std::to_string(o.min_level) + ".." + std::to_string(o.max_level) + ")");
  std::vector<arithmetic_problem> out(o.count);
  for (std::size_t i = 0; i < o.count; ++i) {
    random_engine rng(o.seed, {0x70b1e, i});
    arithmetic_problem& p = out[i];
    p.id = i;
    p.level = o.min_level + static_cast<int>(i % static_cast<std::size_t>(o.max_level - o.min_level + 1));
    p.start = static_cast<int>(rng() % modulus);
    p.ops.resize(static_cast<std::size_t>(2 + p.level));
    for (operation& op : p.ops) {
      op.kind = static_cast<op_kind>(rng() % 3);
      op.operand = op.kind == op_kind::mul ? 2 + static_cast<int>(rng() % 8) : 1 + static_cast<int>(rng() % 99);
    }
    p.trap_step = rng() % p.ops.size();
  }
  return out;
}

struct model_params {
  double base_error = 0.03;         ///< error rate of an ordinary step at level 1
  double level_error = 0.02;        ///< added per level above 1
  double trap_error = 0.10;         ///< error rate of the trap step at level 1
  double trap_level_error = 0.15;   ///< added per level above 1
  double trap_share = 0.8;          ///< share of trap-step errors that are the systematic one
  double recheck_probability = 0.35;///< chance of a "double-check" step after a mistake
  std::uint32_t step_tokens = 12;   ///< mean tokens of a right step (uniform +-4)
  std::uint32_t extra_wrong_tokens = 6;
  std::uint32_t recheck_tokens = 20;
};

namespace detail {
// engine_state layout: value (bits 0-15), next operation index (16-31),
// pending double-check flag (bit 32), made-a-mistake flag (bit 33).
constexpr std::int64_t pack(int value, std::size_t next_op, bool recheck, bool erred) noexcept {
  return static_cast<std::int64_t>(value) | (static_cast<std::int64_t>(next_op) << 16) |
         (static_cast<std::int64_t>(recheck) << 32) | (static_cast<std::int64_t>(erred) << 33);
}
struct unpacked {
  int value;
  std::size_t next_op;
  bool recheck;
  bool erred;
};
constexpr unpacked unpack(std::int64_t s) noexcept {
  return {static_cast<int>(s & 0xffff), static_cast<std::size_t>((s >> 16) & 0xffff), ((s >> 32) & 1) != 0,
          ((s >> 33) & 1) != 0};
}

inline double standard_normal(random_engine& rng) {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - rng.uniform();
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

/// Phi^-1(p) by bisection on erfc: exact to ~1e-15, run once per verifier.
inline double inverse_normal_cdf(double p) {
  double lo = -40.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::numbers::sqrt2) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

inline double separation_for_auc(double auc, const char* who) {
  if (!(auc >= 0.5 && auc < 1.0))
    throw invalid_argument(std::string(who) + ": auc must be in [0.5, 1) (got " + ttscale::detail::number_text(auc) + ")");
  return std::numbers::sqrt2 * inverse_normal_cdf(auc);
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace detail

/// The simulated reasoning model for one problem (see the header comment).
class arithmetic_generator {
 public:
  static constexpr bool thread_safe = true;

  explicit arithmetic_generator(const arithmetic_problem& problem, model_params params = {})
      : problem_(&problem), params_(params) {
    if (problem.ops.empty()) throw invalid_argument("toy::arithmetic_generator: the problem has no operations");
  }

  void extend(std::span<const trajectory> prefixes, std::span<random_engine> engines, std::span<step> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i) out[i] = next_step(prefixes[i], engines[i]);
  }

  [[nodiscard]] const arithmetic_problem& problem() const noexcept { return *problem_; }

 private:
  step next_step(const trajectory& prefix, random_engine& rng) const {
    const arithmetic_problem& p = *problem_;
    const detail::unpacked s =
        prefix.is_root() ? detail::unpacked{p.start, 0, false, false} : detail::unpack(prefix.last_step().engine_state);
    step out;
    const auto jitter = [&] { return static_cast<std::uint32_t>(rng() % 9); };  // 0..8
    if (s.next_op >= p.ops.size()) {  // continuing a finished trajectory: restate the answer
      out.text = "The answer is \\boxed{" + std::to_string(s.value) + "}.\n";
      out.tokens = 8;
      out.logprob = -0.1 * 8;
      out.finished = true;
      out.engine_state = detail::pack(s.value, s.next_op, false, s.erred);
      return out;
    }
    if (s.recheck) {
      out.text = "Let me double-check that: it gives " + std::to_string(s.value) + ".\n";
      out.tokens = params_.recheck_tokens + jitter();
      out.logprob = per_token_logprob(rng, -0.45) * out.tokens;
      out.engine_state = detail::pack(s.value, s.next_op, false, s.erred);
      return out;
    }
    const std::size_t k = s.next_op;
    const operation& op = p.ops[k];
    const int right = apply(op.kind, s.value, op.operand);
    const double error_rate = k == p.trap_step ? params_.trap_error + params_.trap_level_error * (p.level - 1)
                                               : params_.base_error + params_.level_error * (p.level - 1);
    int result = right;
    double confidence = -0.15;  // mean per-token log-probability
    bool wrong = rng.uniform() < error_rate;
    if (wrong) {
      if (k == p.trap_step && rng.uniform() < params_.trap_share) {
        const op_kind slip = op.kind == op_kind::add ? op_kind::sub : op_kind::add;
        result = apply(slip, s.value, op.operand);
        confidence = -0.18;
      } else {
        static constexpr int slips[] = {1, -1, 10, -10, 100, 2};
        result = apply(op_kind::add, right, slips[rng() % 6]);
        confidence = -0.6;
      }
      wrong = result != right;  // a slip can land on the right value by chance
    }
    const bool last = k + 1 == p.ops.size();
    // Phrasing varies, so right completions are not all one text (a reward model
    // scores each distinct text with its own noise).
    static constexpr const char* openings[] = {"Step ", "Next, step ", "Then step "};
    out.text = openings[rng() % 3] + std::to_string(k + 1) + ": " + std::to_string(s.value) + ' ' + symbol(op.kind) +
               ' ' + std::to_string(op.operand) + " = " + std::to_string(result) + ".";
    if (last) out.text += " The answer is \\boxed{" + std::to_string(result) + "}.";
    out.text += '\n';
    out.tokens = params_.step_tokens - 4 + jitter() + (wrong ? params_.extra_wrong_tokens : 0) + (last ? 6 : 0);
    out.logprob = per_token_logprob(rng, confidence) * out.tokens;
    out.finished = last;
    const bool recheck = wrong && !last && rng.uniform() < params_.recheck_probability;
    out.engine_state = detail::pack(result, k + 1, recheck, s.erred || wrong);
    return out;
  }

  static double per_token_logprob(random_engine& rng, double mean) {
    return std::min(0.0, mean + 0.05 * detail::standard_normal(rng));
  }

  const arithmetic_problem* problem_;
  model_params params_;
};

/// The final value a toy trajectory reached (from its engine_state).
inline int final_value(const trajectory& t) { return detail::unpack(t.last_step().engine_state).value; }

/// Whether a finished toy trajectory's answer is right.
inline bool is_correct(const arithmetic_problem& p, const trajectory& t) {
  return t.finished() && final_value(t) == p.answer();
}

/// Whether every operation so far is right (what an ideal PRM would know).
inline bool prefix_correct(const arithmetic_problem& p, const trajectory& t) {
  if (t.is_root()) return true;
  const detail::unpacked s = detail::unpack(t.last_step().engine_state);
  return !s.erred && s.value == p.value_after(s.next_op);
}

/// Ground truth as an outcome verifier: 1 if the answer is right, else 0.
class exact_verifier {
 public:
  static constexpr bool thread_safe = true;
  explicit exact_verifier(const arithmetic_problem& p) : problem_(&p) {}
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) const {
    for (std::size_t i = 0; i < finished.size(); ++i) out[i] = is_correct(*problem_, finished[i]) ? 1.0 : 0.0;
  }

 private:
  const arithmetic_problem* problem_;
};

struct reward_model_params {
  double auc = 0.8;          ///< P(score of a right item > score of a wrong one), in [0.5, 1)
  std::uint64_t seed = 0;    ///< noise seed: a different seed is a different reward model
};

namespace detail {
/// The reward of a text: sigmoid(mu * right + z) with z ~ N(0, 1) drawn from
/// (seed, salt, path hash), so equal texts always get equal scores.
inline double noisy_reward(std::uint64_t seed, std::uint64_t salt, const trajectory& t, double mu, bool right) {
  random_engine noise(seed, {salt, t.path_hash()});
  return sigmoid(mu * (right ? 1.0 : 0.0) + standard_normal(noise));
}
}  // namespace detail

/// A noisy outcome reward model with a given AUC over finished texts.
class noisy_orm {
 public:
  static constexpr bool thread_safe = true;
  noisy_orm(const arithmetic_problem& p, reward_model_params params)
      : problem_(&p), seed_(params.seed), mu_(detail::separation_for_auc(params.auc, "toy::noisy_orm")) {}
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) const {
    for (std::size_t i = 0; i < finished.size(); ++i)
      out[i] = detail::noisy_reward(seed_, 0x0a11, finished[i], mu_, is_correct(*problem_, finished[i]));
  }

 private:
  const arithmetic_problem* problem_;
  std::uint64_t seed_;
  double mu_;
};

/// A noisy process reward model with a given AUC over prefixes.
class noisy_prm {
 public:
  static constexpr bool thread_safe = true;
  noisy_prm(const arithmetic_problem& p, reward_model_params params)
      : problem_(&p), seed_(params.seed), mu_(detail::separation_for_auc(params.auc, "toy::noisy_prm")) {}
  void score_steps(std::span<const trajectory> prefixes, std::span<double> out) const {
    for (std::size_t i = 0; i < prefixes.size(); ++i)
      out[i] = detail::noisy_reward(seed_, 0x0b22, prefixes[i], mu_, prefix_correct(*problem_, prefixes[i]));
  }

 private:
  const arithmetic_problem* problem_;
  std::uint64_t seed_;
  double mu_;
};

}  // namespace toy
TTSCALE_END_NAMESPACE
