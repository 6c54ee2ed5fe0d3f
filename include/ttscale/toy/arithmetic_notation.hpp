// ttscale/toy/arithmetic_notation.hpp: the arithmetic world (toy/arithmetic.hpp)
// written in the compact notation that the trained models under models/ read
// and write — the same problems, the same exact checker, text a real network
// produced instead of the simulation's engine_state.
//
// Every number has a fixed number of digits, written LEAST significant digit
// first (values 3 digits, operands of + and - 2, operands of * 1; the world's
// operands are 1..99 and 2..9):
//
//   417 + 23 * 3 - 5   ->  prompt:  "714+32*3-50\n"
//   417 + 23 = 440     ->  step:    "714+32=044\n"
//   440 * 3 = 320      ->  step:    "044*3=023\n"
//   320 - 5 = 315      ->  last:    "023-50=513."   the '.' finishes the trajectory
//                                                   (generator finish string ".")
//
// Least significant digit first lets a model that writes left to right make
// each digit of a sum or product from digits it has already seen plus a
// carry, as people do on paper, instead of knowing every lower carry in
// advance: small transformers learn addition far more easily so (Lee et al.
// 2023, "Teaching Arithmetic to Small Transformers", sec. 4, the reversed
// output). Fixed widths keep every step's digits aligned. The world's prose
// ("Start with 417. Then + 23. ...") would be about four times as long.
// tools/train_models/world.py is the Python twin the training data comes
// from: the two must agree character for character (tests/toy check the C++
// side against strings the Python side wrote).
#pragma once

#include <ttscale/config.hpp>
#include <ttscale/toy/arithmetic.hpp>
#include <ttscale/trajectory.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

TTSCALE_BEGIN_NAMESPACE
namespace toy {

namespace detail {
/// `value` (0 <= value < 10^width) in `width` digits, least significant first: (417, 3) -> "714".
inline std::string digits(int value, int width) {
  std::string out(static_cast<std::size_t>(width), '0');
  for (char& c : out) {
    c = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}
inline std::string operation_text(const operation& op) {
  return symbol(op.kind) + digits(op.operand, op.kind == op_kind::mul ? 1 : 2);
}
}  // namespace detail

/// The problem statement: "714+32*3-50\n" for 417 + 23 * 3 - 5.
[[nodiscard]] inline std::string compact_prompt(const arithmetic_problem& p) {
  std::string out = detail::digits(p.start, 3);
  for (const operation& op : p.ops) out += detail::operation_text(op);
  return out + '\n';
}

/// One step: "714+32=044\n" for 417 + 23 = 440, or "023-50=513." when it is the last.
[[nodiscard]] inline std::string compact_step(int value, const operation& op, int result, bool last) {
  return detail::digits(value, 3) + detail::operation_text(op) + '=' + detail::digits(result, 3) + (last ? "." : "\n");
}

/// The right solution, one string per step.
[[nodiscard]] inline std::vector<std::string> compact_solution(const arithmetic_problem& p) {
  std::vector<std::string> out;
  int value = p.start;
  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const int result = apply(p.ops[i].kind, value, p.ops[i].operand);
    out.push_back(compact_step(value, p.ops[i], result, i + 1 == p.ops.size()));
    value = result;
  }
  return out;
}

/// The value a final step states ("023-50=513." -> 315; a trailing newline
/// is allowed), or nullopt if the text is not a final step: it must end with
/// '=', three digits and '.'.
[[nodiscard]] inline std::optional<int> compact_final_value(std::string_view last_step) {
  if (!last_step.empty() && last_step.back() == '\n') last_step.remove_suffix(1);
  if (last_step.size() < 5 || last_step.back() != '.' || last_step[last_step.size() - 5] != '=') return std::nullopt;
  int value = 0;
  for (std::size_t i = last_step.size() - 1; i-- > last_step.size() - 4;) {  // most significant digit last
    if (last_step[i] < '0' || last_step[i] > '9') return std::nullopt;
    value = value * 10 + (last_step[i] - '0');
  }
  return value;
}

/// Answer extractor for voting: the value a finished trajectory ends with.
struct compact_answer {
  std::optional<int> operator()(const trajectory& t) const {
    if (t.is_root() || !t.finished()) return std::nullopt;
    return compact_final_value(t.last_step().text);
  }
};

/// The exact checker: the trajectory finished with the right value.
[[nodiscard]] inline bool compact_is_correct(const arithmetic_problem& p, const trajectory& t) {
  const std::optional<int> value = compact_answer{}(t);
  return value && *value == p.answer();
}

/// Math-Shepherd's label of a prefix, exact here: every step so far is the
/// right step, character for character.
[[nodiscard]] inline bool compact_prefix_correct(const arithmetic_problem& p, const trajectory& t) {
  const std::vector<std::string> right = compact_solution(p);
  const std::vector<const step_view*> steps = t.steps();
  if (steps.size() > right.size()) return false;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i]->text != right[i]) return false;
  return true;
}

/// Ground truth over compact text as an outcome verifier: 1 if right, else 0.
class compact_exact_verifier {
 public:
  static constexpr bool thread_safe = true;
  explicit compact_exact_verifier(const arithmetic_problem& p) : problem_(&p) {}
  void score_outcomes(std::span<const trajectory> finished, std::span<double> out) const {
    for (std::size_t i = 0; i < finished.size(); ++i) out[i] = compact_is_correct(*problem_, finished[i]) ? 1.0 : 0.0;
  }

 private:
  const arithmetic_problem* problem_;
};

}  // namespace toy
TTSCALE_END_NAMESPACE
